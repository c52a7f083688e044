package app

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// onFUSE reports whether f lives on a FUSE filesystem (macFUSE names its
// volumes macfuse, older releases osxfuse). See the Linux version for why.
func onFUSE(f *os.File) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(int(f.Fd()), &st) != nil {
		return false
	}
	t := unix.ByteSliceToString(st.Fstypename[:])
	return strings.HasPrefix(t, "macfuse") || strings.HasPrefix(t, "osxfuse")
}
