package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

// abortFUSE unmounts mp by force (macOS has no FUSE connection to abort),
// so a test that found a deadlock can still clean up.
func abortFUSE(t *testing.T, mp string) { unix.Unmount(mp, unix.MNT_FORCE) }

// unmountDetach is the unmount flag test cleanup uses: macOS has no lazy
// unmount, so by force.
const unmountDetach = unix.MNT_FORCE
