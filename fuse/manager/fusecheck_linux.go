package manager

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// The FUSE device is the misc character device 10:229 on every Linux.
const fuseMajor, fuseMinor = 10, 229

// checkFUSE says, in words a user can act on, why mounting cannot work here,
// before go-fuse fails with a bare errno. It opens the device the way a
// mount will.
func checkFUSE(fuseDevice string) error {
	hint := "install fuse3 and load the fuse kernel module ('modprobe fuse'); in a container, pass --device /dev/fuse"
	var st unix.Stat_t
	if err := unix.Stat(fuseDevice, &st); err != nil {
		return fmt.Errorf("%w: %s is missing (%v); %s", ErrNoFUSE, fuseDevice, err, hint)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != fuseMajor || unix.Minor(st.Rdev) != fuseMinor {
		return fmt.Errorf("%w: %s is not the FUSE device (it is device %d:%d, not %d:%d); %s",
			ErrNoFUSE, fuseDevice, unix.Major(st.Rdev), unix.Minor(st.Rdev), fuseMajor, fuseMinor, hint)
	}
	if os.Geteuid() != 0 {
		// Without root, fusermount3 (setuid) opens the device and mounts.
		if _, err := exec.LookPath("fusermount3"); err != nil {
			if _, err := exec.LookPath("fusermount"); err != nil {
				return fmt.Errorf("%w: fusermount3 is not installed, and it is needed to mount without root; install fuse3", ErrNoFUSE)
			}
		}
		return nil
	}
	fd, err := unix.Open(fuseDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
			return fmt.Errorf("%w: the fuse kernel module is not loaded (%v); %s", ErrNoFUSE, err, hint)
		}
		return fmt.Errorf("%w: cannot open %s: %v; %s", ErrNoFUSE, fuseDevice, err, hint)
	}
	unix.Close(fd)
	return nil
}
