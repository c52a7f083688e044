//go:build linux

package fuse

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"
)

// posixSkips lists the go-fuse posixtest cases our filesystem cannot pass,
// each with the reason.
var posixSkips = map[string]string{
	"Link":                "no hard links: a tree entry has exactly one parent and name",
	"LinkUnlinkRename":    "no hard links: a tree entry has exactly one parent and name",
	"FcntlFlockLocksFile": "no lock support; go-fuse's own TestAll skips it too (known TODO)",
}

func TestPosix(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if why, ok := posixSkips[name]; ok {
				t.Skip(why)
			}
			dir := filepath.Join(m.dir, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			posixtest.All[name](t, dir)
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("clean up: %v", err)
			}
		})
	}
}
