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

// readDirect reads the n bytes of f into dst with O_DIRECT, if dst allows
// it (page-aligned, with room for n rounded up to a page), reporting
// whether it did; or from the page cache if they are all there already.
// Where direct I/O is refused the caller reads normally.
func readDirect(f *os.File, dst []byte, n int) bool {
	const page = 4096
	r := (n + page - 1) &^ (page - 1)
	if n < 16*page || cap(dst) < r || uintptr(unsafe.Pointer(unsafe.SliceData(dst)))%page != 0 {
		return false
	}
	fd := int(f.Fd())
	// A blob with pages in the page cache (just written or fetched) is
	// read from there: direct I/O would write them back first, then read
	// the disk. (Asking with a RWF_NOWAIT read would start readahead.)
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(fd), &unix.CachestatRange{Len: uint64(n)}, &cs, 0); err == nil && cs.Cache > 0 {
		return false // (before Linux 6.5 there is no cachestat: read directly)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return false
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|unix.O_DIRECT); err != nil {
		return false
	}
	dst = dst[:r]
	got := 0
	for got < n {
		k, err := unix.Pread(fd, dst[got:], int64(got))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k == 0 || k%page != 0 && got+k < n {
			// Refused (EINVAL on some filesystems) or cut short: the
			// caller reads the whole blob again the usual way.
			unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
			return false
		}
		got += k
	}
	if got != n { // the file changed size since it was measured
		unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
		return false
	}
	return true
}
