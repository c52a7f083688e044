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

// A large blob in page-aligned memory is written and read around the page
// cache (whole pages with direct I/O, the last part page through the
// cache); the bytes and the hash check are the same as through the cache.
func TestDirectIO(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const size = 300<<10 + 123
	buf, err := unix.Mmap(-1, 0, 320<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	data := buf[:size]
	rand.Read(data)
	want := bytes.Clone(data)
	id, err := s.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	known := directKnown(s.Path(id))
	if c := cachedPages(t, s.Path(id)); known && c != 1 {
		t.Fatalf("%d pages of a blob written directly are in the page cache, want 1 (the part page at its end)", c)
	}
	clear(buf)
	f, err := os.Open(s.Path(id))
	if err != nil {
		t.Fatal(err)
	}
	direct := readDirect(f, buf, size)
	f.Close()
	if !direct && known {
		t.Fatal("direct I/O not used on a filesystem that supports it")
	}
	if !bytes.Equal(buf[:size], want) {
		t.Fatal("direct read: other bytes")
	}
	// With none of it cached, the part page is read directly too.
	f, _ = os.Open(s.Path(id))
	dropCache(t, f)
	clear(buf)
	direct = readDirect(f, buf, size)
	f.Close()
	if known && (!direct || cachedPages(t, s.Path(id)) != 0) {
		t.Fatalf("a blob not in the page cache: direct %v, %d pages cached after", direct, cachedPages(t, s.Path(id)))
	}
	if !bytes.Equal(buf[:size], want) {
		t.Fatal("direct read of the whole blob: other bytes")
	}
	got, err := s.Get(id, buf)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("get into an aligned buffer: %v (equal %v)", err, bytes.Equal(got, want))
	}
	// Unaligned memory is never used for direct I/O, and its blob comes
	// out the same.
	f, _ = os.Open(s.Path(id))
	if readDirect(f, buf[1:], size) {
		t.Fatal("direct I/O into an unaligned buffer")
	}
	f.Close()
	copy(buf[1:], want)
	if err := s.Remove(id); err != nil {
		t.Fatal(err)
	}
	if err := s.PutVerified(id, buf[1:size+1]); err != nil {
		t.Fatal(err)
	}
	if c := cachedPages(t, s.Path(id)); known && c < size/4096 {
		t.Fatalf("a blob from unaligned memory was written directly (%d pages cached)", c)
	}
	// Its pages are in the page cache now, so it is read from there.
	f, _ = os.Open(s.Path(id))
	if readDirect(f, buf, size) {
		t.Fatal("direct I/O for a blob in the page cache")
	}
	f.Close()
	if got, err := s.Get(id, nil); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("get through the page cache: %v", err)
	}
	// Damage one byte: the direct read fails the hash check too.
	raw, _ := os.ReadFile(s.Path(id))
	raw[200<<10] ^= 1
	os.WriteFile(s.Path(id), raw, 0o600)
	f, _ = os.Open(s.Path(id))
	dropCache(t, f)
	f.Close()
	if _, err := s.Get(id, buf); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged blob read directly: %v", err)
	}
}
