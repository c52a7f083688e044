package fuse

import (
	"errors"
	"fmt"
	"os"

	gofuse "github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// The FUSE protocol carries Linux's values for these, macFUSE included;
// macOS's own headers do not define them.
const (
	fallocKeepSize  = 0x1   // FALLOC_FL_KEEP_SIZE
	statxBasicStats = 0x7ff // STATX_BASIC_STATS
	// macFUSE passes renamex_np's flags; RENAME_EXCL is Linux's NOREPLACE.
	renameNoReplace = unix.RENAME_EXCL
)

// allocate applies an fallocate made on the mount (mode 0 or
// FALLOC_FL_KEEP_SIZE) to the staging file: F_PREALLOCATE reserves the
// space past the end, and without KEEP_SIZE the file grows to off+size as
// posix_fallocate would. Other modes (punching holes) are not supported.
func allocate(f *os.File, mode uint32, off, size int64) error {
	if mode&^fallocKeepSize != 0 {
		return unix.ENOTSUP
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	end := off + size
	if end <= fi.Size() {
		return nil
	}
	// Counted from the physical end of the file, so this may reserve a
	// little more than needed, never less.
	st := unix.Fstore_t{Flags: unix.F_ALLOCATECONTIG | unix.F_ALLOCATEALL, Posmode: unix.F_PEOFPOSMODE, Length: end - fi.Size()}
	if err := unix.FcntlFstore(f.Fd(), unix.F_PREALLOCATE, &st); err != nil {
		st.Flags = unix.F_ALLOCATEALL // contiguous space is a wish, not a need
		if err := unix.FcntlFstore(f.Fd(), unix.F_PREALLOCATE, &st); err != nil {
			return err
		}
	}
	if mode&fallocKeepSize != 0 {
		return nil
	}
	return f.Truncate(end)
}

func statfs(path string, out *gofuse.StatfsOut) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return err
	}
	out.Blocks, out.Bfree, out.Bavail = st.Blocks, st.Bfree, st.Bavail
	out.Files, out.Ffree = st.Files, st.Ffree
	// Block counts are in f_bsize units; there is no separate fragment size.
	out.Bsize, out.Frsize = st.Bsize, st.Bsize
	return nil
}

// setReadahead does nothing on macOS, which has no per-mount readahead
// setting for FUSE.
func setReadahead(dir string, kb int) error {
	return errors.ErrUnsupported
}

// lazyUnmount unmounts by force: macOS has no lazy unmount, so open files
// on the mount fail from then on instead of keeping it alive.
func lazyUnmount(dir string) error {
	if err := unix.Unmount(dir, unix.MNT_FORCE); err != nil {
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	return nil
}
