package bucket

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/merge"
	"github.com/jax-desktop/jax/store/tree"
)

func deviceOf(s *Store) Device {
	return Device{ID: s.ID.ID(), Name: s.DeviceName(), Recipient: s.ID.Recipient()}
}

// transfer sends everything src has of a bucket to dst the way sync will:
// blobs first, then versions oldest first (verified on import), then the head.
func transfer(t *testing.T, src, dst *Store, bucketID string) *MergeResult {
	t.Helper()
	ctx := context.Background()
	err := src.Blobs.Walk(func(id blob.ID) error {
		if dst.Blobs.Has(id) {
			return nil
		}
		raw, err := src.Blobs.Get(id, nil)
		if err != nil {
			return err
		}
		_, err = dst.Blobs.Put(raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := src.DB.Versions(bucketID)
	for i := len(vs) - 1; i >= 0; i-- {
		raw, _ := src.Blobs.Get(blob.ID(vs[i].Link), nil)
		if _, _, err := dst.Import(ctx, raw); err != nil {
			t.Fatalf("import: %v", err)
		}
	}
	row, _ := src.DB.BucketByID(bucketID)
	res, err := dst.Incoming(ctx, bucketID, blob.ID(row.Head), merge.Options{})
	if err != nil {
		t.Fatalf("incoming: %v", err)
	}
	return res
}

// devices returns n stores sharing one bucket as owners.
func devices(t *testing.T, n int) ([]*Store, string) {
	ctx := context.Background()
	var ss []*Store
	for i := 0; i < n; i++ {
		ss = append(ss, TestStore(t, fmt.Sprintf("dev%d", i)))
	}
	b, err := ss[0].Create(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss[1:] {
		if _, err := b.Share(ctx, deviceOf(s), Owner); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range ss[1:] {
		transfer(t, ss[0], s, b.ID.String())
	}
	return ss, b.ID.String()
}

func current(t *testing.T, s *Store, id string) (*Bucket, *Version) {
	t.Helper()
	b, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Current()
	if err != nil {
		t.Fatal(err)
	}
	return b, v
}

// converge exchanges heads between every pair until all trees are equal.
func converge(t *testing.T, ss []*Store, id string) *tree.Snapshot {
	t.Helper()
	for round := 0; round < 6; round++ {
		for i := range ss {
			for j := range ss {
				if i != j {
					transfer(t, ss[i], ss[j], id)
				}
			}
		}
		_, v0 := current(t, ss[0], id)
		same := true
		for _, s := range ss[1:] {
			_, v := current(t, s, id)
			same = same && v.Tree.Equal(v0.Tree)
		}
		if same {
			if err := v0.Tree.Validate(); err != nil {
				t.Fatal(err)
			}
			return v0.Tree
		}
	}
	t.Fatal("devices did not converge")
	return nil
}

func TestPartitionedEditsConverge(t *testing.T) {
	ctx := context.Background()
	ss, id := devices(t, 2)
	a, _ := current(t, ss[0], id)
	a.Add(ctx, strings.NewReader("base"), "/report.txt", 0o644, 1, nil)
	a.Add(ctx, strings.NewReader("keep me"), "/old/notes.txt", 0o644, 1, nil)
	a.Add(ctx, strings.NewReader("draft"), "/draft.md", 0o644, 1, nil)
	a.Add(ctx, strings.NewReader("gone?"), "/edited-vs-deleted.txt", 0o644, 1, nil)
	transfer(t, ss[0], ss[1], id)
	b, _ := current(t, ss[1], id)

	// Partitioned: both edit the same file; A deletes a directory in which B
	// creates a file; A renames a file B edits; B deletes a file A edits.
	a.Add(ctx, strings.NewReader("from A"), "/report.txt", 0o644, 2, nil)
	b.Add(ctx, strings.NewReader("from B"), "/report.txt", 0o644, 3, nil)
	a.Edit(ctx, func(tx *Tx) error { return tx.Remove("/old", true) })
	b.Add(ctx, strings.NewReader("new in old"), "/old/new.txt", 0o644, 3, nil)
	a.Edit(ctx, func(tx *Tx) error { return tx.Move("/draft.md", "/final.md") })
	b.Add(ctx, strings.NewReader("draft v2"), "/draft.md", 0o644, 3, nil)
	a.Add(ctx, strings.NewReader("edited"), "/edited-vs-deleted.txt", 0o644, 2, nil)
	b.Edit(ctx, func(tx *Tx) error { return tx.Remove("/edited-vs-deleted.txt", false) })

	final := converge(t, ss, id)
	_, v := current(t, ss[0], id)
	read := func(p string) string {
		var sb strings.Builder
		if _, err := a.Cat(v, p, &sb); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return sb.String()
	}
	var copies []string
	for _, e := range final.Children(tree.Root) {
		if strings.Contains(e.Name, "(conflict from") {
			copies = append(copies, e.Name)
		}
	}
	if len(copies) != 1 || !strings.HasSuffix(copies[0], ".txt") || !strings.HasPrefix(copies[0], "report (conflict from dev") {
		t.Fatalf("conflict copies: %v", copies)
	}
	both := read("/report.txt") + "|" + read("/"+copies[0])
	if both != "from A|from B" && both != "from B|from A" {
		t.Fatalf("edit/edit lost a side: %s", both)
	}
	if read("/old/new.txt") != "new in old" {
		t.Fatal("file created in a deleted directory was lost")
	}
	if read("/final.md") != "draft v2" {
		t.Fatal("rename + edit did not give the edited content at the new name")
	}
	if read("/edited-vs-deleted.txt") != "edited" {
		t.Fatal("edit lost to a delete")
	}
	recorded := 0
	for _, s := range ss { // on the device(s) that made the merge
		cs, _ := s.DB.Conflicts(id, true)
		recorded += len(cs)
	}
	if recorded == 0 {
		t.Fatal("no conflict recorded")
	}
	for _, s := range ss {
		b, _ := s.Open(id)
		if rep, err := b.Check(ctx, nil); err != nil || !rep.OK() {
			t.Fatalf("check on %s: %v %+v", s.DeviceName(), err, rep)
		}
	}
}

// Random edits on three real stores, exchanged in random order with some
// devices cut off; at the end every device holds the same tree.
func TestRandomSyncConverges(t *testing.T) {
	ctx := context.Background()
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	ss, id := devices(t, 3)
	paths := []string{"/a.txt", "/b.txt", "/d1/c.txt", "/d1/d2/e.txt", "/d2/f.txt"}
	for step := 0; step < 120; step++ {
		s := ss[rng.Intn(len(ss))]
		b, v := current(t, s, id)
		switch op := rng.Intn(10); {
		case op < 5:
			_, err := b.Add(ctx, strings.NewReader(fmt.Sprintf("%s step %d", s.DeviceName(), step)), paths[rng.Intn(len(paths))], 0o644, int64(step), nil)
			if err != nil && !errors.Is(err, ErrIsDir) && !errors.Is(err, tree.ErrNotDir) {
				t.Fatal(err)
			}
		case op < 7:
			ids := v.Tree.IDs()
			victim := v.Tree.Get(ids[rng.Intn(len(ids))])
			if victim.ID != tree.Root {
				b.Edit(ctx, func(tx *Tx) error { return tx.Remove(v.Tree.Path(victim.ID), true) })
			}
		case op < 9:
			ids := v.Tree.IDs()
			e := v.Tree.Get(ids[rng.Intn(len(ids))])
			if e.ID != tree.Root {
				b.Edit(ctx, func(tx *Tx) error { return tx.Move(v.Tree.Path(e.ID), paths[rng.Intn(len(paths))]+".mv") })
			}
		default:
			i, j := rng.Intn(len(ss)), rng.Intn(len(ss))
			if i != j {
				transfer(t, ss[i], ss[j], id)
			}
		}
	}
	converge(t, ss, id)
}

func TestMirrorAndUnshare(t *testing.T) {
	ctx := context.Background()
	a, m, gone := TestStore(t, "laptop"), TestStore(t, "nas"), TestStore(t, "old-phone")
	b, _ := a.Create(ctx, "docs")
	b.Share(ctx, deviceOf(m), Mirror)
	b.Share(ctx, deviceOf(gone), Owner)
	b.Add(ctx, strings.NewReader("before"), "/f", 0o644, 1, nil)
	id := b.ID.String()
	transfer(t, a, m, id)
	transfer(t, a, gone, id)

	mb, _ := current(t, m, id)
	if _, err := mb.Add(ctx, strings.NewReader("x"), "/g", 0o644, 1, nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("mirror wrote: %v", err)
	}
	// A version forged by the mirror is refused by the owner.
	mv, _ := mb.Current()
	forged := *mv.Manifest
	forged.Parents, forged.Height, forged.Author = []blob.ID{mv.Link}, mv.Manifest.Height+1, m.ID.ID()
	raw, _ := forged.Sign(m.ID.Sign)
	if _, _, err := a.Import(ctx, raw); !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), "may not write") {
		t.Fatalf("mirror's version accepted: %v", err)
	}

	v, err := b.Unshare(ctx, gone.ID.ID())
	if err != nil || v.Manifest.Epoch != 1 {
		t.Fatalf("unshare: %v", err)
	}
	b.Add(ctx, strings.NewReader("after"), "/secret", 0o644, 2, nil)
	transfer(t, a, m, id)
	mb, mv = current(t, m, id)
	var sb strings.Builder
	if _, err := mb.Cat(mv, "/secret", &sb); err != nil || sb.String() != "after" {
		t.Fatalf("remaining device cannot read new data: %v", err)
	}
	// The removed device gets the versions but cannot open them.
	gb, _ := gone.Open(id)
	head, _ := a.DB.BucketByID(id)
	for _, raw := range exported(t, b) {
		gone.Blobs.Put(raw)
		gone.Import(ctx, raw)
	}
	if _, err := gb.Load(blob.ID(head.Head)); !errors.Is(err, ErrNoAccess) {
		t.Fatalf("removed device read a later version: %v", err)
	}
}
