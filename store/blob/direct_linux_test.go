package blob

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// directKnown reports whether path is on a filesystem known to allow
// O_DIRECT reads.
func directKnown(path string) bool {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return false
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC:
		return true
	}
	return false
}

// dropCache writes f back and evicts its pages from the page cache.
func dropCache(t *testing.T, f *os.File) {
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}
