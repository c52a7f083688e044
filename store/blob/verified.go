package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PutVerified stores data under id, which the caller has already checked is
// Sum(data) (a blob received from another device is hashed once, to check
// it, not again here). Writing works as in Put: a temporary file renamed
// into place, made durable by the next Sync. A blob already present with
// the right size is not written again. A large blob in page-aligned memory
// is written around the page cache (see writeDirect).
func (s *Store) PutVerified(id ID, data []byte) error {
	p := s.path(id)
	if fi, err := os.Stat(p); err == nil && fi.Size() == int64(len(data)) {
		return nil
	}
	f, err := os.CreateTemp(s.tmp, "put-")
	if err != nil {
		return fmt.Errorf("write blob %s: %w", id.Short(), err)
	}
	direct, err := writeDirect(f, data)
	if !direct && err == nil {
		_, err = f.Write(data)
		if err == nil && len(data) >= 64<<10 {
			// Start writing back now, so the Sync before the next
			// commit finds little left to do.
			startWriteBack(f)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(p), 0o700)
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write blob %s: %w", id.Short(), err)
	}
	return nil
}

// GetUnverified reads a blob without checking its hash (Get checks it),
// appending it to dst[:0]: for sending it to another device, which checks
// every blob it receives anyway. The size limit is Get's. A large blob not
// in the page cache is read around it into a page-aligned dst with room
// (see readDirect).
func (s *Store) GetUnverified(id ID, dst []byte) ([]byte, error) {
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", id.Short(), ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", id.Short(), err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", id.Short(), err)
	}
	if fi.Size() > 64<<20 {
		return nil, fmt.Errorf("blob %s is %d bytes: %w", id.Short(), fi.Size(), ErrCorrupt)
	}
	n := int(fi.Size())
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	if readDirect(f, dst, n) {
		return dst[:n], nil
	}
	dst = dst[:n]
	if _, err := readFull(f, dst); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", id.Short(), err)
	}
	return dst, nil
}
