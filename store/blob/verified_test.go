package blob

import (
	"bytes"
	"errors"
	"os"
	"testing"
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
