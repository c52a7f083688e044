package bucket

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/merge"
)

// conflictSet lists a device's recorded conflicts as comparable lines.
func conflictSet(t *testing.T, s *Store, id string, unresolvedOnly bool) []string {
	t.Helper()
	cs, err := s.DB.Conflicts(id, unresolvedOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s|%s|%s|%x", c.Kind, c.Path, c.CopyPath, c.CopyID))
	}
	slices.Sort(out)
	return out
}

// diverge has both devices edit /report.txt (and A delete /notes.txt that
// B edits) after a common version.
func diverge(t *testing.T, a, b *Bucket) {
	t.Helper()
	ctx := context.Background()
	a.Add(ctx, strings.NewReader("from A"), "/report.txt", 0o644, 2, nil)
	b.Add(ctx, strings.NewReader("from B"), "/report.txt", 0o644, 3, nil)
	a.Edit(ctx, func(tx *Tx) error { return tx.Remove("/notes.txt", false) })
	b.Add(ctx, strings.NewReader("B's notes"), "/notes.txt", 0o644, 3, nil)
}

func TestAdoptedMergeRecordsConflicts(t *testing.T) {
	ctx := context.Background()
	ss, id := devices(t, 2)
	A, B := ss[0], ss[1]
	a, _ := current(t, A, id)
	a.Add(ctx, strings.NewReader("base"), "/report.txt", 0o644, 1, nil)
	a.Add(ctx, strings.NewReader("notes"), "/notes.txt", 0o644, 1, nil)
	transfer(t, A, B, id)
	b, _ := current(t, B, id)
	diverge(t, a, b)

	// A merges B's head; B takes A's merge by fast-forward.
	if res := transfer(t, B, A, id); res.Action != merge.NeedCommit || len(res.Conflicts) == 0 {
		t.Fatalf("A's merge: %v, %d conflicts", res.Action, len(res.Conflicts))
	}
	want := conflictSet(t, A, id, false)
	if res := transfer(t, A, B, id); res.Action != merge.FastForward {
		t.Fatalf("B took A's merge by %v", res.Action)
	}
	got := conflictSet(t, B, id, false)
	if !slices.Equal(got, want) {
		t.Fatalf("B recorded\n%q\nA recorded\n%q", got, want)
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "edit/edit|/report.txt|/report (conflict from") }) {
		t.Fatalf("no edit/edit conflict with a copy: %q", got)
	}
	cs, _ := B.DB.Conflicts(id, false)
	_, head := current(t, B, id)
	for _, c := range cs {
		if !bytes.Equal(c.Version, head.Link[:]) {
			t.Errorf("conflict %s recorded under version %x, not the merge %s", c.Path, c.Version, head.Link.Short())
		}
		if aid := A.ID.ID(); c.Kind == "edit/edit" && !bytes.Equal(c.OtherDevice, aid[:]) {
			t.Errorf("edit/edit names device %x as the other, not A", c.OtherDevice)
		}
	}

	// Taking it again, or again from the same range, records nothing new.
	transfer(t, A, B, id)
	bb, _ := current(t, B, id)
	_, base := current(t, A, id)
	bb.recordAdopted(base.Manifest.Parents[0], head)
	if again := conflictSet(t, B, id, false); !slices.Equal(again, want) {
		t.Fatalf("after taking it again: %q", again)
	}

	// A version that is no merge records nothing.
	before := len(conflictSet(t, B, id, false))
	a.Add(ctx, strings.NewReader("later"), "/later.txt", 0o644, 4, nil)
	if res := transfer(t, A, B, id); res.Action != merge.FastForward {
		t.Fatalf("B took A's edit by %v", res.Action)
	}
	if n := len(conflictSet(t, B, id, false)); n != before {
		t.Fatalf("%d conflicts after a plain edit, %d before", n, before)
	}

	// A device new to the bucket records them with its first version; the
	// copy A's user deleted meanwhile counts as resolved there.
	a.Edit(ctx, func(tx *Tx) error {
		for _, e := range tx.Tree.Children(tx.Tree.Root().ID) {
			if strings.Contains(e.Name, "(conflict from") {
				return tx.Remove("/"+e.Name, false)
			}
		}
		return fmt.Errorf("no copy in %s", a.Name)
	})
	C := TestStore(t, "dev2")
	if _, err := a.Share(ctx, deviceOf(C), Owner); err != nil {
		t.Fatal(err)
	}
	transfer(t, A, C, id)
	if got := conflictSet(t, C, id, false); !slices.Equal(got, want) {
		t.Fatalf("new device recorded\n%q\nwant\n%q", got, want)
	}
	for _, c := range conflictSet(t, C, id, true) {
		if strings.Contains(c, "(conflict from") {
			t.Fatalf("a copy deleted before the device had the bucket is open: %s", c)
		}
	}
}

// Both devices merge at once: each then takes one of the two merges (the
// same tree), and both list the same conflicts, once.
func TestConcurrentMergesRecordOnce(t *testing.T) {
	ctx := context.Background()
	ss, id := devices(t, 2)
	A, B := ss[0], ss[1]
	a, _ := current(t, A, id)
	a.Add(ctx, strings.NewReader("base"), "/report.txt", 0o644, 1, nil)
	a.Add(ctx, strings.NewReader("notes"), "/notes.txt", 0o644, 1, nil)
	transfer(t, A, B, id)
	b, _ := current(t, B, id)
	diverge(t, a, b)
	// Each merges the other's head before hearing of the other's merge.
	headOf := func(s *Store) blob.ID { r, _ := s.DB.BucketByID(id); return blob.ID(r.Head) }
	ha, hb := headOf(A), headOf(B)
	sendHead(t, B, A, id, hb)
	sendHead(t, A, B, id, ha)
	if headOf(A) == ha || headOf(B) == hb || headOf(A) == headOf(B) {
		t.Fatal("the devices did not each make a merge")
	}
	converge(t, ss, id)
	ca, cb := conflictSet(t, A, id, false), conflictSet(t, B, id, false)
	if len(ca) == 0 || !slices.Equal(ca, cb) {
		t.Fatalf("A recorded\n%q\nB recorded\n%q", ca, cb)
	}
	var dup []db.Conflict
	cs, _ := A.DB.Conflicts(id, false)
	seen := map[string]bool{}
	for _, c := range cs {
		k := fmt.Sprintf("%s|%x|%x", c.Kind, c.FileID, c.CopyID)
		if seen[k] {
			dup = append(dup, c)
		}
		seen[k] = true
	}
	if len(dup) > 0 {
		t.Fatalf("duplicates: %+v", dup)
	}
}

// sendHead gives dst everything src has of a bucket, as transfer does, and
// brings in head, which need not be src's current version.
func sendHead(t *testing.T, src, dst *Store, id string, head blob.ID) {
	t.Helper()
	ctx := context.Background()
	src.Blobs.Walk(func(b blob.ID) error {
		raw, err := src.Blobs.Get(b, nil)
		if err == nil {
			_, err = dst.Blobs.Put(raw)
		}
		return err
	})
	vs, _ := src.DB.Versions(id)
	for i := len(vs) - 1; i >= 0; i-- {
		raw, _ := src.Blobs.Get(blob.ID(vs[i].Link), nil)
		if _, _, err := dst.Import(ctx, raw); err != nil {
			t.Fatalf("import: %v", err)
		}
	}
	if _, err := dst.Incoming(ctx, id, head, merge.Options{}); err != nil {
		t.Fatalf("incoming: %v", err)
	}
}

// BenchmarkAdoptWalk is the cost of looking through an adopted range of 500
// versions (none of them merges) for merges made elsewhere.
func BenchmarkAdoptWalk(b *testing.B) {
	ctx := context.Background()
	s := TestStore(b, "bench")
	bk, _ := s.Create(ctx, "b")
	first, _ := bk.HeadLink()
	for i := 0; i < 500; i++ {
		if _, err := bk.Edit(ctx, func(tx *Tx) error {
			_, err := tx.Mkdir(fmt.Sprintf("/d%d", i), 0o755, false)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	head, _ := bk.Current()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bk.recordAdopted(first, head)
	}
}
