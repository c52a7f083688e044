package bucket

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRename(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	s.Create(ctx, "photos")
	before, _ := b.Current()
	v, err := b.Rename(ctx, "papers")
	if err != nil {
		t.Fatal(err)
	}
	if v.Manifest.Name != "papers" || v.Manifest.Height != before.Manifest.Height+1 || !v.Tree.Equal(before.Tree) || b.Name != "papers" {
		t.Fatalf("renamed version: %q at %d", v.Manifest.Name, v.Manifest.Height)
	}
	if o, err := s.Open("papers"); err != nil || o.ID != b.ID {
		t.Fatalf("open by the new name: %v", err)
	}
	if _, err := s.Open("docs"); !errors.Is(err, ErrNoBucket) {
		t.Fatalf("the old name still opens: %v", err)
	}
	if _, err := b.Rename(ctx, "photos"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("a taken name: %v", err)
	}
	for _, bad := range []string{"", " x", "x ", "a/b", "a\nb", "..", strings.Repeat("x", 256), "bad\xff"} {
		if _, err := b.Rename(ctx, bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if v2, err := b.Rename(ctx, "papers"); err != nil || v2.Link != v.Link {
		t.Fatalf("renaming to its own name made a version: %v", err)
	}
	if cur, _ := b.Current(); cur.Link != v.Link {
		t.Fatal("a refused rename changed the bucket")
	}
}

// A rename travels with the version; a rename on one device and an edit on
// another both survive; two renames end in one name on both.
func TestRenameSyncs(t *testing.T) {
	ctx := context.Background()
	ss, id := devices(t, 2)
	A, B := ss[0], ss[1]
	a, _ := current(t, A, id)
	if _, err := a.Rename(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	transfer(t, A, B, id)
	if row, _ := B.DB.BucketByID(id); row.Name != "team" {
		t.Fatalf("the other device calls it %q", row.Name)
	}

	// Partitioned: A renames, B writes a file.
	b, _ := current(t, B, id)
	a.Rename(ctx, "team2")
	b.Add(ctx, strings.NewReader("from B"), "/b.txt", 0o644, 1, nil)
	converge(t, ss, id)
	for _, s := range ss {
		bb, v := current(t, s, id)
		if v.Manifest.Name != "team2" || bb.Name != "team2" || v.Tree.Len() != 2 {
			t.Fatalf("on %s: %q with %d entries", s.DeviceName(), v.Manifest.Name, v.Tree.Len())
		}
	}

	// Both rename: one name wins everywhere.
	a, _ = current(t, A, id)
	b, _ = current(t, B, id)
	a.Rename(ctx, "alpha")
	b.Rename(ctx, "beta")
	converge(t, ss, id)
	_, va := current(t, A, id)
	_, vb := current(t, B, id)
	if va.Manifest.Name != vb.Manifest.Name || va.Manifest.Name != "beta" {
		t.Fatalf("names after both renamed: %q and %q", va.Manifest.Name, vb.Manifest.Name)
	}
}
