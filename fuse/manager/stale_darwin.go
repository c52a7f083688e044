package manager

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// mountAt returns the filesystem type mounted exactly at p, or "".
// macOS has no mountinfo: the kernel's mount table comes from getfsstat.
func mountAt(p string) (string, error) {
	n, err := unix.Getfsstat(nil, unix.MNT_NOWAIT)
	if err != nil {
		return "", err
	}
	buf := make([]unix.Statfs_t, n)
	if n, err = unix.Getfsstat(buf, unix.MNT_NOWAIT); err != nil {
		return "", err
	}
	fstype := ""
	for _, st := range buf[:n] {
		if unix.ByteSliceToString(st.Mntonname[:]) == p {
			fstype = unix.ByteSliceToString(st.Fstypename[:])
		}
	}
	return fstype, nil
}

// lazyUnmount detaches p now: macOS has no lazy unmount, so it forces one,
// then asks diskutil, which also knows macFUSE volumes.
func lazyUnmount(p string) error {
	err := unix.Unmount(p, unix.MNT_FORCE)
	if err == nil {
		return nil
	}
	if out, err2 := exec.Command("diskutil", "unmount", "force", p).CombinedOutput(); err2 == nil {
		return nil
	} else if !errors.Is(err2, exec.ErrNotFound) {
		err = fmt.Errorf("%v: %s", err2, strings.TrimSpace(string(out)))
	}
	return fmt.Errorf("unmount stale mount %s: %w", p, err)
}
