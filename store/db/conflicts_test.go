package db

import (
	"context"
	"testing"
)

func TestConflictKeys(t *testing.T) {
	d, _ := open(t)
	if err := d.AddVersion(context.Background(), "b", "bucket", Version{Link: []byte("v1"), Author: []byte("dev")}, true); err != nil {
		t.Fatal(err)
	}
	withCopy := Conflict{BucketID: "b", Version: []byte("v1"), Kind: "edit/edit", Path: "/a", CopyPath: "/a (conflict)", FileID: []byte{1}, CopyID: []byte{2}}
	noCopy := Conflict{BucketID: "b", Version: []byte("v1"), Kind: "edit/delete", Path: "/b", FileID: []byte{3}}
	if n, err := d.AddConflicts([]Conflict{withCopy, noCopy}); err != nil || n != 2 {
		t.Fatalf("first record: %d new, %v", n, err)
	}
	// The same merge's conflicts again: nothing new, with or without a copy.
	if n, err := d.AddConflicts([]Conflict{withCopy, noCopy}); err != nil || n != 0 {
		t.Fatalf("recorded again: %d new, %v", n, err)
	}
	// The same copy from another version is the same conflict; a copy-less
	// conflict of a later merge is a new one.
	later := noCopy
	later.Version = []byte("v2")
	again := withCopy
	again.Version = []byte("v2")
	if n, err := d.AddConflicts([]Conflict{again, later}); err != nil || n != 1 {
		t.Fatalf("later merge: %d new, %v", n, err)
	}
	resolved := Conflict{BucketID: "b", Version: []byte("v3"), Kind: "edit/edit", Path: "/c", CopyPath: "/c (conflict)", FileID: []byte{5}, CopyID: []byte{6}, ResolvedAt: 7}
	if _, err := d.AddConflicts([]Conflict{resolved}); err != nil {
		t.Fatal(err)
	}
	open, _ := d.Conflicts("b", true)
	all, _ := d.Conflicts("b", false)
	if len(open) != 3 || len(all) != 4 {
		t.Fatalf("%d open, %d in all", len(open), len(all))
	}
	if ok, _ := d.HasConflicts("b", []byte("v1")); !ok {
		t.Fatal("v1 has no conflicts")
	}
	if ok, _ := d.HasConflicts("b", []byte("v9")); ok {
		t.Fatal("v9 has conflicts")
	}
	last, _ := d.LastConflictID()
	after, _ := d.ConflictsAfter("b", all[len(all)-1].ID)
	if len(after) != 3 || after[2].ID != last || after[0].ID > after[1].ID {
		t.Fatalf("after the first: %+v (last id %d)", after, last)
	}
}

func TestMergesOf(t *testing.T) {
	d, _ := open(t)
	ctx := context.Background()
	add := func(link string, parents ...string) {
		v := Version{Link: []byte(link), Author: []byte("dev")}
		for _, p := range parents {
			v.Parents = append(v.Parents, []byte(p))
		}
		if err := d.AddVersion(ctx, "b", "bucket", v, true); err != nil {
			t.Fatal(err)
		}
	}
	add("r")
	add("a", "r")
	add("b", "r")
	add("c", "r")
	add("m1", "a", "b")
	add("m2", "a", "b")
	add("m3", "a", "c")
	add("m4", "a", "b", "c")
	got, err := d.MergesOf("b", []byte("b"), []byte("a"))
	if err != nil || len(got) != 2 || string(got[0]) != "m1" || string(got[1]) != "m2" {
		t.Fatalf("merges of a and b: %q %v", got, err)
	}
}
