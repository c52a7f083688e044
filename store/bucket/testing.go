package bucket

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/identity"
)

// TestStore opens a real store (SQLite file, blob directory, fresh device
// identity) in a temporary directory, for tests of this and other packages.
func TestStore(t testing.TB, device string) *Store {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "jax.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return NewStore(d, blobs, id, device, filepath.Join(dir, "locks"), nil)
}

// CorruptBlob flips a byte in the middle of a stored blob, as a failing disk
// would.
func CorruptBlob(t testing.TB, s *Store, id blob.ID) {
	t.Helper()
	p := s.Blobs.Path(id)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	if err := os.WriteFile(p, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}
