package blob

import (
	"os"
	"testing"
)

// directKnown: readDirect is not used on macOS.
func directKnown(path string) bool { return false }

func dropCache(t *testing.T, f *os.File) {}

func cachedPages(t *testing.T, path string) int { return 0 }
