package fuse

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	gofuse "github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

const (
	fallocKeepSize  = unix.FALLOC_FL_KEEP_SIZE
	statxBasicStats = unix.STATX_BASIC_STATS
	renameNoReplace = unix.RENAME_NOREPLACE
)

// allocate applies an fallocate made on the mount to the staging file.
func allocate(f *os.File, mode uint32, off, size int64) error {
	return unix.Fallocate(int(f.Fd()), mode, off, size)
}

func statfs(path string, out *gofuse.StatfsOut) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return err
	}
	out.Blocks, out.Bfree, out.Bavail = st.Blocks, st.Bfree, st.Bavail
	out.Files, out.Ffree = st.Files, st.Ffree
	out.Bsize, out.Frsize = uint32(st.Bsize), uint32(st.Frsize)
	return nil
}

// setReadahead sets the kernel readahead of the filesystem mounted on dir.
// Only root may; others keep the default.
func setReadahead(dir string, kb int) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	return os.WriteFile(p, []byte(strconv.Itoa(kb)), 0)
}

// lazyUnmount detaches a mount now and lets the kernel finish it when the
// last user leaves.
func lazyUnmount(dir string) error {
	out, err := exec.Command("fusermount3", "-uz", dir).CombinedOutput()
	if err == nil {
		return nil
	}
	out2, err2 := exec.Command("umount", "-l", dir).CombinedOutput()
	if err2 == nil {
		return nil
	}
	return fmt.Errorf("unmount %s: %w (%s); %w (%s)", dir, err, bytes.TrimSpace(out), err2, bytes.TrimSpace(out2))
}
