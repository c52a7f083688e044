package blob

import (
	"os"

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
