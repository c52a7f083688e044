package blob

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// startWriteBack does nothing: macOS has no call that starts write-back
// without waiting for it (F_BARRIERFSYNC waits), and syncFS writes all.
func startWriteBack(f *os.File) {}

// From <sys/fsctl.h>; x/sys/unix does not define them.
const (
	fsctlSyncVolume   = 0x80004101 // IOCBASECMD(_IOW('A', 1, uint32_t))
	fsctlSyncFullSync = 1 << 0     // also flush the drive's cache
	fsctlSyncWait     = 1 << 1     // return when done, not when started
)

// syncFS makes everything written so far on the volume holding dir durable,
// as syncfs does on Linux: ffsctl(FSCTL_SYNC_VOLUME) waiting and with a
// full flush of the drive's cache (what fsync_volume_np does in libc).
// fsync alone leaves data in the drive's cache on macOS, and F_FULLFSYNC
// covers one file, not every blob written since the last Sync.
func syncFS(dir *os.File) error {
	flags := uint32(fsctlSyncFullSync | fsctlSyncWait)
	_, _, errno := unix.Syscall6(unix.SYS_FFSCTL, dir.Fd(), fsctlSyncVolume,
		uintptr(unsafe.Pointer(&flags)), 0, 0, 0)
	if errno == 0 {
		return nil
	}
	if errno != unix.ENOTSUP && errno != unix.ENOTTY && errno != unix.EINVAL {
		return errno
	}
	// A filesystem without volume sync: fsync every blob and folder, then
	// flush the drive's cache once. Slow, but nothing is left unsynced.
	return syncEach(dir)
}

func syncEach(dir *os.File) error {
	err := filepath.WalkDir(dir.Name(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer f.Close()
		return unix.Fsync(int(f.Fd()))
	})
	if err != nil {
		return err
	}
	_, err = unix.FcntlInt(dir.Fd(), unix.F_FULLFSYNC, 0)
	return err
}

// writeDirect does nothing on macOS, where the equivalent (F_NOCACHE) has
// not been measured: writes stay buffered.
func writeDirect(f *os.File, data []byte) (bool, error) { return false, nil }

// readDirect does nothing on macOS, where the equivalent (F_NOCACHE) has
// not been measured: reads stay buffered.
func readDirect(f *os.File, dst []byte, n int) bool { return false }
