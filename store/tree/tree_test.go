package tree

import (
	"errors"
	"strings"
	"testing"
)

func entry(id byte, parent ID, name string, k Kind) *Entry {
	return &Entry{ID: ID{id}, Parent: parent, Name: name, Kind: k}
}

func TestLookupPathAndValidate(t *testing.T) {
	s := New()
	s.Put(entry(1, Root, "docs", Dir))
	s.Put(entry(2, ID{1}, "a.txt", File))
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Lookup("/docs/../docs/./a.txt"); err != nil || e.ID != (ID{2}) {
		t.Fatalf("lookup: %v", err)
	}
	if _, err := s.Lookup("/docs/a.txt/x"); !errors.Is(err, ErrNotDir) {
		t.Fatalf("through a file: %v", err)
	}
	if _, err := s.Lookup("/nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if p := s.Path(ID{2}); p != "/docs/a.txt" {
		t.Fatalf("path %q", p)
	}
	c := s.Clone()
	c.Put(entry(3, ID{1}, "b.txt", File))
	if s.Child(ID{1}, "b.txt") != nil || s.Equal(c) {
		t.Fatal("clone shares state")
	}

	bad := s.Clone()
	bad.Put(entry(4, ID{9}, "orphan", File))
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("orphan: %v", err)
	}
	bad = s.Clone()
	bad.Put(entry(5, ID{2}, "under-a-file", File))
	if err := bad.Validate(); err == nil {
		t.Fatal("entry under a file accepted")
	}
	bad = s.Clone()
	bad.Put(entry(6, ID{7}, "x", Dir))
	bad.Put(entry(7, ID{6}, "y", Dir))
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
	bad = s.Clone()
	bad.Put(entry(8, ID{1}, "a.txt", File)) // same name as entry 2
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "share the name") {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, n := range []string{"", ".", "..", "a/b", "a\x00", strings.Repeat("x", 256)} {
		if ValidName(n) == nil {
			t.Fatalf("name %q accepted", n)
		}
	}
	s.DeleteTree(ID{1})
	if s.Len() != 1 {
		t.Fatalf("delete tree left %d entries", s.Len())
	}
}

func TestRevOrderAndDataHash(t *testing.T) {
	a, b := Rev{Height: 2, Device: DeviceID{1}}, Rev{Height: 2, Device: DeviceID{2}}
	if !a.Less(b) || b.Less(a) || !(Rev{Height: 1, Device: DeviceID{9}}).Less(a) {
		t.Fatal("rev order")
	}
	x := &Entry{Kind: File, Size: 3, Chunks: []ChunkRef{{Blob: [32]byte{1}, Size: 3}}}
	y := x.Clone()
	y.Name, y.MTime = "other", 5
	if x.DataHash() != y.DataHash() || !x.SameData(y) {
		t.Fatal("data hash depends on name or time")
	}
	y.Chunks[0].Blob[0] = 2
	if x.DataHash() == y.DataHash() || x.SameData(y) {
		t.Fatal("data hash ignores content")
	}
}
