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

// readDirect reads the n bytes of f into dst around the page cache, with
// O_DIRECT from the disk straight into dst. It reports whether it did; it
// does not if dst is not page-aligned, if the blob is small, or if its
// whole pages are in the page cache already (written through it, or read
// lately), and where direct I/O is refused: the caller reads normally then.
// The part page at the end comes from the page cache if it is there (a
// blob written with writeDirect leaves it there), so it is not written
// back first; if not, it is read with the rest, which needs room in dst
// for n rounded up to a page.
func readDirect(f *os.File, dst []byte, n int) bool {
	head := n &^ (page - 1)
	if n < directMin || cap(dst) < n || !aligned(dst) {
		return false
	}
	fd := int(f.Fd())
	// (Asking with a RWF_NOWAIT read would start readahead. Before Linux
	// 6.5 there is no cachestat: whole pages are read directly.)
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(fd), &unix.CachestatRange{Len: uint64(head)}, &cs, 0); err == nil && cs.Cache > 0 {
		return false
	}
	end := head // read directly up to here
	if head < n {
		err := unix.Cachestat(uint(fd), &unix.CachestatRange{Off: uint64(head), Len: page}, &cs, 0)
		if err != nil || cs.Cache == 0 {
			if r := head + page; cap(dst) >= r {
				end = r
			}
		}
	}
	if setDirect(fd, true) != nil {
		return false
	}
	buf := dst[:end]
	got := 0
	for got < end {
		k, err := unix.Pread(fd, buf[got:], int64(got))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k == 0 { // (a direct read stops at the end of the file)
			break
		}
		got += k
	}
	switch {
	case got == n:
		return true
	case got == head && end == head: // the part page follows
	default:
		// Refused (EINVAL on some filesystems), cut short, or the file
		// changed size since it was measured: the caller reads the whole
		// blob again the usual way.
		setDirect(fd, false)
		return false
	}
	if setDirect(fd, false) != nil {
		return false
	}
	for got < n {
		k, err := unix.Pread(fd, dst[got:n], int64(got))
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
