package blob

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// startWriteBack starts writing f's data to disk without waiting for it, so
// the Sync before the next commit finds little left to do and disk and CPU
// work overlap. Only a hint: errors change nothing.
func startWriteBack(f *os.File) {
	unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}

// syncFS makes everything written so far on the filesystem holding dir
// durable: one syncfs instead of an fsync per blob.
func syncFS(dir *os.File) error {
	return unix.Syncfs(int(dir.Fd()))
}

// directMin is the smallest blob moved with direct I/O: below it the page
// cache costs little, and a whole-page head would be a small part.
const directMin = 64 << 10

const page = 4096

func aligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%page == 0
}

func setDirect(fd int, on bool) error {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		fl |= unix.O_DIRECT
	} else {
		fl &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
	return err
}

// writeDirect writes data to the new, empty file f: its whole pages with
// O_DIRECT, from data straight to the disk, and the last part page through
// the page cache. Blobs are written once and mostly read by another device
// or much later; through the page cache, each costs a copy into pages the
// kernel must find first, then write back. It reports false, having
// written nothing, where direct I/O does not apply (small or unaligned
// data, a filesystem that refuses it): the caller writes normally then.
func writeDirect(f *os.File, data []byte) (bool, error) {
	head := len(data) &^ (page - 1)
	if len(data) < directMin || !aligned(data) {
		return false, nil
	}
	fd := int(f.Fd())
	if setDirect(fd, true) != nil {
		return false, nil
	}
	done := 0
	for done < head {
		k, err := unix.Pwrite(fd, data[done:head], int64(done))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err == nil && k == 0 {
			err = unix.ENOSPC
		}
		if err != nil {
			if done == 0 && errors.Is(err, unix.EINVAL) {
				setDirect(fd, false)
				return false, nil // refused: nothing written
			}
			return true, err
		}
		done += k
	}
	if err := setDirect(fd, false); err != nil {
		return true, err
	}
	for done < len(data) {
		k, err := unix.Pwrite(fd, data[done:], int64(done))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return true, err
		}
		done += k
	}
	return true, nil
}

// readDirect reads the n bytes of f into dst: the whole pages with
// O_DIRECT, from the disk straight into dst, and the last part page
// through the page cache. It reports whether it did; it does not if dst is
// not page-aligned, if the blob is small, or if its pages are in the page
// cache already (just written through it, or read lately), and where
// direct I/O is refused: the caller reads normally then.
func readDirect(f *os.File, dst []byte, n int) bool {
	head := n &^ (page - 1)
	if n < directMin || cap(dst) < n || !aligned(dst) {
		return false
	}
	fd := int(f.Fd())
	// Pages in the page cache are read from there: direct I/O would write
	// dirty ones back first, then read the disk. (Asking with a
	// RWF_NOWAIT read would start readahead.)
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(fd), &unix.CachestatRange{Len: uint64(head)}, &cs, 0); err == nil && cs.Cache > 0 {
		return false // (before Linux 6.5 there is no cachestat: read directly)
	}
	if setDirect(fd, true) != nil {
		return false
	}
	dst = dst[:n]
	got := 0
	for got < head {
		k, err := unix.Pread(fd, dst[got:head], int64(got))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k == 0 {
			// Refused (EINVAL on some filesystems) or cut short: the
			// caller reads the whole blob again the usual way.
			setDirect(fd, false)
			return false
		}
		got += k
	}
	if setDirect(fd, false) != nil {
		return false
	}
	for got < n {
		k, err := unix.Pread(fd, dst[got:], int64(got))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k == 0 { // the file changed size since it was measured
			return false
		}
		got += k
	}
	return true
}
