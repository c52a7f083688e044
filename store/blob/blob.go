// Package blob is a content-addressed store of immutable blobs in a directory.
//
// A blob's ID is the BLAKE3 hash of its stored bytes, so anyone can verify a
// blob without knowing what it holds. Writes go to a temporary file that is
// renamed into place, so a blob is either absent or whole under its name;
// Sync makes every blob written so far durable and is called before anything
// that refers to them is committed. Every read verifies the hash.
package blob

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zeebo/blake3"
)

// ID is the BLAKE3-256 hash of a blob's bytes.
type ID [32]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short is the first 8 hex digits, for display.
func (id ID) Short() string { return id.String()[:8] }

// IsZero reports whether id is the zero ID (no blob).
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("invalid blob id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// Sum returns the ID of data.
func Sum(data []byte) ID { return blake3.Sum256(data) }

var (
	// ErrMissing means the store has no blob with that ID.
	ErrMissing = errors.New("data is missing")
	// ErrCorrupt means a blob's bytes no longer match its ID.
	ErrCorrupt = errors.New("data failed its integrity check")
)

// Store keeps blobs under dir/xx/xxxxxxxx...
type Store struct {
	dir string
	tmp string
}

// Open opens (creating if needed) a store in dir and removes temporary files
// left by a process that was killed while writing.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir, tmp: filepath.Join(dir, "tmp")}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return s, nil
}

// CleanTemp removes temporary files older than minAge, left by processes
// killed while writing. A blob write takes milliseconds, so a file minutes
// old belongs to no live writer.
func (s *Store) CleanTemp(minAge time.Duration) (int, error) {
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) >= minAge {
			if os.Remove(filepath.Join(s.tmp, e.Name())) == nil {
				n++
			}
		}
	}
	return n, nil
}

// Path is where a blob's file lives (for messages and for tests that damage it).
func (s *Store) Path(id ID) string { return s.path(id) }

func (s *Store) path(id ID) string {
	h := id.String()
	return filepath.Join(s.dir, h[:2], h[2:])
}

// Put stores data and returns its ID. A blob already present with the right
// size is not written again.
func (s *Store) Put(data []byte) (ID, error) {
	id := Sum(data)
	return id, s.PutVerified(id, data)
}

// Get reads and verifies a blob, appending it to dst[:0].
func (s *Store) Get(id ID, dst []byte) ([]byte, error) {
	dst, err := s.GetUnverified(id, dst)
	if err != nil {
		return nil, err
	}
	return verify(id, dst)
}

func verify(id ID, data []byte) ([]byte, error) {
	if Sum(data) != id {
		return nil, fmt.Errorf("blob %s: %w", id.Short(), ErrCorrupt)
	}
	return data, nil
}

func readFull(f *os.File, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := f.Read(b[n:])
		n += m
		if err != nil {
			if n == len(b) {
				break
			}
			return n, err
		}
	}
	return n, nil
}

// Has reports whether a blob is present (without verifying it).
func (s *Store) Has(id ID) bool {
	_, err := os.Stat(s.path(id))
	return err == nil
}

// Size returns a stored blob's size in bytes.
func (s *Store) Size(id ID) (int64, error) {
	fi, err := os.Stat(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", id.Short(), ErrMissing)
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Remove deletes a blob.
func (s *Store) Remove(id ID) error {
	err := os.Remove(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Sync makes every blob written so far durable (one sync of the whole
// filesystem instead of an fsync per blob, which costs milliseconds each on
// many disks; see syncFS).
func (s *Store) Sync() error {
	f, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syncFS(f); err != nil {
		return fmt.Errorf("sync blob store: %w", err)
	}
	return nil
}

// Walk calls f with the ID of every stored blob.
func (s *Store) Walk(f func(ID) error) error {
	return filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != s.dir && (d.Name() == "tmp" || len(d.Name()) != 2) {
				return filepath.SkipDir
			}
			return nil
		}
		name := filepath.Base(filepath.Dir(p)) + d.Name()
		if len(name) != 64 || strings.ToLower(name) != name {
			return nil
		}
		id, err := ParseID(name)
		if err != nil {
			return nil
		}
		return f(id)
	})
}
