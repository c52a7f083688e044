package blob

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPutVerified(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("chunk "), 20000) // over 64 KiB: the write-back path
	id := Sum(data)
	if err := s.PutVerified(id, data); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(id, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
	// Same file as Put would write: Put finds it and writes nothing.
	fi, _ := os.Stat(s.path(id))
	if id2, err := s.Put(data); err != nil || id2 != id {
		t.Fatalf("put after: %v %v", id2, err)
	}
	if fi2, _ := os.Stat(s.path(id)); !os.SameFile(fi, fi2) {
		t.Fatal("Put rewrote a blob PutVerified stored")
	}
	// A damaged blob of the wrong size is rewritten.
	os.WriteFile(s.path(id), data[:10], 0o600)
	if err := s.PutVerified(id, data); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(id, nil); err != nil {
		t.Fatalf("after rewrite: %v", err)
	}
	// Nothing is left in the temporary directory.
	if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
		t.Fatalf("%d temporary files left", len(ents))
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestGetUnverified(t *testing.T) {
	s, _ := Open(t.TempDir())
	id, err := s.Put([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUnverified(id, make([]byte, 0, 100))
	if err != nil || string(got) != "hello" {
		t.Fatalf("get: %q %v", got, err)
	}
	// Damaged bytes come back as they are (the receiver checks them).
	os.WriteFile(s.path(id), []byte("hellO"), 0o600)
	if got, err := s.GetUnverified(id, nil); err != nil || string(got) != "hellO" {
		t.Fatalf("damaged: %q %v", got, err)
	}
	if _, err := s.GetUnverified(Sum([]byte("nope")), nil); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing blob: got %v", err)
	}
}

// GetDirect fills a page-aligned buffer with room using direct I/O; the
// bytes and the hash check are the same as through the page cache.
func TestGetDirect(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 300<<10+123)
	rand.Read(data)
	id, err := s.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	buf, err := unix.Mmap(-1, 0, 320<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	f, err := os.Open(s.Path(id))
	if err != nil {
		t.Fatal(err)
	}
	dropCache(t, f) // a blob in the page cache is read from there
	direct := readDirect(f, buf, len(data))
	f.Close()
	if !direct && directKnown(s.Path(id)) {
		t.Fatal("direct I/O not used on a filesystem that supports it")
	}
	got, err := s.GetDirect(id, buf)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get into an aligned buffer: %v (equal %v)", err, bytes.Equal(got, data))
	}
	// An unaligned buffer is never used for direct I/O.
	f, _ = os.Open(s.Path(id))
	if readDirect(f, buf[1:], len(data)) {
		t.Fatal("direct I/O into an unaligned buffer")
	}
	f.Close()
	// Damage one byte: the direct read fails the hash check too.
	raw, _ := os.ReadFile(s.Path(id))
	raw[200<<10] ^= 1
	os.WriteFile(s.Path(id), raw, 0o600)
	if _, err := s.GetDirect(id, buf); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged blob read directly: %v", err)
	}
}
