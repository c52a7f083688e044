package app

import (
	"os"

	"golang.org/x/sys/unix"
)

// onFUSE reports whether f lives on a FUSE filesystem. WriteData maps
// files it is given as *os.File; mapping one of the daemon's own mounts
// would deadlock it: a page fault served by the daemon blocks a thread
// that the Go runtime must stop for a garbage collection, while the
// goroutines that would serve the fault wait for that collection.
func onFUSE(f *os.File) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(int(f.Fd()), &st) == nil && st.Type == unix.FUSE_SUPER_MAGIC
}
