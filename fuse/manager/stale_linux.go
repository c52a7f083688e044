package manager

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/jax-desktop/jax/fuse/mountinfo"
)

// mountAt returns the filesystem type mounted exactly at p, or "".
func mountAt(p string) (string, error) {
	ms, err := mountinfo.Read(mountinfo.Self)
	if err != nil {
		return "", err
	}
	fstype := ""
	for _, m := range ms {
		if m.Point == p {
			fstype = m.FSType // the last mount at p is the visible one
		}
	}
	return fstype, nil
}

// lazyUnmount detaches p now; as root directly, else through fusermount3.
func lazyUnmount(p string) error {
	err := syscall.Unmount(p, syscall.MNT_DETACH)
	if err == nil {
		return nil
	}
	for _, tool := range []string{"fusermount3", "fusermount"} {
		if out, err2 := exec.Command(tool, "-uz", p).CombinedOutput(); err2 == nil {
			return nil
		} else if !errors.Is(err2, exec.ErrNotFound) {
			err = fmt.Errorf("%v: %s", err2, strings.TrimSpace(string(out)))
		}
	}
	return fmt.Errorf("unmount stale mount %s: %w", p, err)
}
