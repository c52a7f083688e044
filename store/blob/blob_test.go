package blob

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

func TestPutGetVerify(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Put([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if id != Sum([]byte("hello")) {
		t.Fatal("id is not the hash of the bytes")
	}
	got, err := s.Get(id, nil)
	if err != nil || !bytes.Equal(got, []byte("hello")) {
		t.Fatalf("get: %q %v", got, err)
	}
	// Alter the stored bytes: reads must fail, not return garbage.
	if err := os.WriteFile(s.path(id), []byte("hellO"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(id, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("altered blob: got %v", err)
	}
	// A damaged blob of the wrong size is rewritten by the next Put.
	os.WriteFile(s.path(id), nil, 0o600)
	if _, err := s.Put([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(id, nil); err != nil {
		t.Fatalf("after rewrite: %v", err)
	}
	if _, err := s.Get(Sum([]byte("nope")), nil); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing blob: got %v", err)
	}
	var n int
	s.Walk(func(ID) error { n++; return nil })
	if n != 1 {
		t.Fatalf("walk found %d blobs", n)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestCleanTemp(t *testing.T) {
	s, _ := Open(t.TempDir())
	os.WriteFile(s.tmp+"/put-123", []byte("partial"), 0o600)
	if n, _ := s.CleanTemp(time.Hour); n != 0 {
		t.Fatal("a fresh temp file was removed")
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(s.tmp+"/put-123", old, old)
	n, err := s.CleanTemp(time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("clean: %d %v", n, err)
	}
}
