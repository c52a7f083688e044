package merge

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jax-desktop/jax/store/tree"
)

func mustMerge(t testing.TB, base, a, b *tree.Snapshot, opt Options) *Result {
	t.Helper()
	r, err := Merge(base, a, b, opt)
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	if err := r.Tree.Validate(); err != nil {
		t.Fatalf("merged tree invalid: %v\n%s", err, dump(r.Tree))
	}
	return r
}

// check merges a and b both ways with the default resolver and requires the
// same valid tree either way. It also requires the result to be stable:
// merging it again with either side, or with itself, gives it back, so
// re-merging a conflict never makes a second copy.
func check(t *testing.T, base, a, b *tree.Snapshot) *Result {
	t.Helper()
	r := mustMerge(t, base, a, b, Options{})
	r2 := mustMerge(t, base, b, a, Options{})
	if !r.Tree.Equal(r2.Tree) {
		t.Fatalf("merge is not symmetric\nmerge(a, b):\n%smerge(b, a):\n%s", dump(r.Tree), dump(r2.Tree))
	}
	if len(r.Conflicts) != len(r2.Conflicts) {
		t.Fatalf("%d conflicts one way, %d the other: %v / %v", len(r.Conflicts), len(r2.Conflicts), r.Conflicts, r2.Conflicts)
	}
	for _, x := range []*tree.Snapshot{a, b, r.Tree} {
		for _, rr := range []*Result{mustMerge(t, base, r.Tree, x, Options{}), mustMerge(t, base, x, r.Tree, Options{})} {
			if !rr.Tree.Equal(r.Tree) {
				t.Fatalf("re-merging the result changed it\nresult:\n%sre-merged:\n%s", dump(r.Tree), dump(rr.Tree))
			}
		}
	}
	return r
}

func kinds(cs []Conflict) []ConflictKind {
	var ks []ConflictKind
	for _, c := range cs {
		ks = append(ks, c.Kind)
	}
	return ks
}

func wantConflicts(t *testing.T, r *Result, want ...ConflictKind) {
	t.Helper()
	got := kinds(r.Conflicts)
	if len(got) != len(want) {
		t.Fatalf("conflicts %v, want %v", r.Conflicts, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("conflicts %v, want %v", r.Conflicts, want)
		}
	}
}

// base tree shared by most cases:
//
//	/doc.txt        (f) "v1"
//	/notes.md       (g) "n1"
//	/docs/          (D)
//	/docs/plan.txt  (p) "p1"
//	/docs/old/      (E)
//	/docs/old/x     (x) "x1"
//	/X/ (X)  /Y/ (Y)
func baseTree(t *testing.T) *tree.Snapshot {
	r := rv(1, devA)
	return snap(t,
		file("f", "", "doc.txt", "v1", r),
		file("g", "", "notes.md", "n1", r),
		dir("D", "", "docs", r),
		file("p", "D", "plan.txt", "p1", r),
		dir("E", "D", "old", r),
		file("x", "E", "x", "x1", r),
		dir("X", "", "X", r),
		dir("Y", "", "Y", r),
	)
}

func TestEditVersusDelete(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, edited(b, "f", "v2", rv(2, devA)))
	d := del(t, b, "f")
	r := check(t, b, a, d)
	hasData(t, r.Tree, "/doc.txt", "v2")
	wantConflicts(t, r, EditDelete)
	if c := r.Conflicts[0]; c.ID != id("f") || c.Path != "/doc.txt" || c.Ours != rv(2, devA) || c.Theirs != (tree.Rev{}) {
		t.Fatalf("conflict %+v", c)
	}
}

func TestDeleteUntouched(t *testing.T) {
	b := baseTree(t)
	a := del(t, b, "f")
	o := put(t, b, edited(b, "g", "n2", rv(2, devB)))
	r := check(t, b, a, o)
	absent(t, r.Tree, "/doc.txt")
	hasData(t, r.Tree, "/notes.md", "n2")
	wantConflicts(t, r)
}

func TestDeleteBothSides(t *testing.T) {
	b := baseTree(t)
	r := check(t, b, del(t, b, "D"), del(t, b, "D", "f"))
	absent(t, r.Tree, "/docs")
	absent(t, r.Tree, "/doc.txt")
	if r.Tree.Len() != 4 { // root, notes.md, X, Y
		t.Fatalf("%d entries\n%s", r.Tree.Len(), dump(r.Tree))
	}
}

func TestRenameAndEdit(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, moved(b, "f", "X", "final.txt", rv(2, devA)))
	e := put(t, b, edited(b, "f", "v2", rv(3, devB)))
	r := check(t, b, a, e)
	got := hasData(t, r.Tree, "/X/final.txt", "v2")
	absent(t, r.Tree, "/doc.txt")
	if got.ID != id("f") || got.Rev != rv(3, devB) {
		t.Fatalf("entry %+v", got)
	}
	wantConflicts(t, r)
}

func TestDeleteDirectoryCreateInside(t *testing.T) {
	b := baseTree(t)
	a := del(t, b, "D")
	c := put(t, b, file("n", "E", "new.txt", "new", rv(2, devB)))
	r := check(t, b, a, c)
	hasData(t, r.Tree, "/docs/old/new.txt", "new")
	// What the deleting side saw and removed stays removed.
	absent(t, r.Tree, "/docs/plan.txt")
	absent(t, r.Tree, "/docs/old/x")
	wantConflicts(t, r, Restored, Restored)
}

func TestDeleteDirectoryEditInside(t *testing.T) {
	b := baseTree(t)
	a := del(t, b, "D")
	e := put(t, b, edited(b, "p", "p2", rv(2, devB)))
	r := check(t, b, a, e)
	hasData(t, r.Tree, "/docs/plan.txt", "p2")
	absent(t, r.Tree, "/docs/old")
	wantConflicts(t, r, Restored, EditDelete)
}

func TestDeleteDirectoryMoveIn(t *testing.T) {
	b := baseTree(t)
	a := del(t, b, "E")
	m := put(t, b, moved(b, "g", "E", "notes.md", rv(2, devB)))
	r := check(t, b, a, m)
	hasData(t, r.Tree, "/docs/old/notes.md", "n1")
	absent(t, r.Tree, "/docs/old/x")
}

func TestEditEdit(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, edited(b, "f", "ours", rv(3, devA)))
	o := put(t, b, edited(b, "f", "theirs", rv(5, devB)))
	r := check(t, b, a, o)
	win := hasData(t, r.Tree, "/doc.txt", "theirs")
	if win.ID != id("f") || win.Rev != rv(5, devB) {
		t.Fatalf("winner %+v", win)
	}
	loser := a.Get(id("f"))
	h := loser.DataHash()
	name := ConflictName("doc.txt", devA.Short(), loser.MTime, h)
	if !strings.HasPrefix(name, "doc (conflict from aaaaaaaa 2026-11-25 ") || !strings.HasSuffix(name, ").txt") {
		t.Fatalf("conflict name %q", name)
	}
	cp := hasData(t, r.Tree, "/"+name, "ours")
	if cp.ID != copyID(id("f"), h) || cp.Rev != rv(3, devA) || cp.MTime != loser.MTime {
		t.Fatalf("copy %+v", cp)
	}
	wantConflicts(t, r, EditEdit)
	if c := r.Conflicts[0]; c.ID != id("f") || c.Path != "/doc.txt" || c.CopyID != cp.ID || c.CopyPath != "/"+name ||
		c.Ours != rv(3, devA) || c.Theirs != rv(5, devB) {
		t.Fatalf("conflict %+v", c)
	}
}

func TestEditEditTies(t *testing.T) {
	b := baseTree(t)
	// Same height: the device ID decides.
	r := check(t, b, put(t, b, edited(b, "f", "A", rv(3, devA))), put(t, b, edited(b, "f", "B", rv(3, devB))))
	hasData(t, r.Tree, "/doc.txt", "B")
	// Same Rev (one device that forked its own history): the data hash decides,
	// symmetrically.
	r = check(t, b, put(t, b, edited(b, "f", "one", rv(3, devA))), put(t, b, edited(b, "f", "two", rv(3, devA))))
	if r.Tree.Len() != b.Len()+1 {
		t.Fatalf("want one copy\n%s", dump(r.Tree))
	}
}

func TestEditEditCreatedBothSides(t *testing.T) {
	// The same ID created on both sides (e.g. by two earlier merges) with
	// different data is an edit/edit without base.
	base := tree.New()
	a := snap(t, file("f", "", "doc.txt", "A", rv(2, devA)))
	b := snap(t, file("f", "", "doc.txt", "B", rv(2, devB)))
	r := check(t, base, a, b)
	hasData(t, r.Tree, "/doc.txt", "B")
	wantConflicts(t, r, EditEdit)
	if r.Tree.Len() != 3 {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	// nil base means the same.
	r2 := mustMerge(t, nil, a, b, Options{})
	if !r2.Tree.Equal(r.Tree) {
		t.Fatal("nil base differs from empty base")
	}
}

func TestEditEditInRenamedFile(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, edited(b, "f", "A", rv(4, devA)))
	m := put(t, b, moved(b, "f", "X", "renamed.txt", rv(2, devB)))
	m = put(t, m, edited(m, "f", "B", rv(3, devB)))
	r := check(t, b, a, m)
	hasData(t, r.Tree, "/X/renamed.txt", "A")
	// The copy sits next to the file's final place.
	if len(r.Tree.Children(id("X"))) != 2 {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	if !strings.HasPrefix(r.Conflicts[0].CopyPath, "/X/renamed (conflict from bbbbbbbb ") {
		t.Fatalf("conflicts %v", r.Conflicts)
	}
}

func TestMetadataOnly(t *testing.T) {
	b := baseTree(t)
	ea := b.Get(id("f")).Clone()
	ea.Mode, ea.Rev = 0o600, rv(3, devA)
	eb := b.Get(id("f")).Clone()
	eb.Mode, eb.MTime, eb.Rev = 0o640, t0+1, rv(4, devB)
	r := check(t, b, put(t, b, ea), put(t, b, eb))
	got := lookup(t, r.Tree, "/doc.txt")
	// Mode changed on both sides: the later one wins. MTime changed on one side.
	if got.Mode != 0o640 || got.MTime != t0+1 || r.Tree.Len() != b.Len() {
		t.Fatalf("got %+v\n%s", got, dump(r.Tree))
	}
	wantConflicts(t, r)
}

func TestChmodAndEdit(t *testing.T) {
	b := baseTree(t)
	ea := b.Get(id("f")).Clone()
	ea.Mode, ea.Rev = 0o600, rv(5, devA)
	e := put(t, b, edited(b, "f", "v2", rv(3, devB)))
	r := check(t, b, put(t, b, ea), e)
	got := hasData(t, r.Tree, "/doc.txt", "v2")
	if got.Mode != 0o600 || got.MTime != mtime(rv(3, devB)) || got.Rev != rv(5, devA) {
		t.Fatalf("got %+v", got)
	}
}

func TestTypeClash(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, file("n", "", "build", "bin", rv(2, devA)))
	d := put(t, b, dir("B", "", "build", rv(2, devB)), file("o", "B", "out.o", "obj", rv(2, devB)))
	r := check(t, b, a, d)
	if e := lookup(t, r.Tree, "/build"); e.ID != id("B") {
		t.Fatal("directory lost its name")
	}
	hasData(t, r.Tree, "/build/out.o", "obj")
	moved := r.Tree.Get(id("n"))
	if !strings.HasPrefix(moved.Name, "build (conflict from aaaaaaaa 2026-11-25 ") || strings.Contains(moved.Name, ".") {
		t.Fatalf("renamed file %q", moved.Name)
	}
	wantConflicts(t, r, TypeClash)
	// The directory wins whatever the Revs say.
	a2 := put(t, b, file("n", "", "build", "bin", rv(9, devA)))
	r = check(t, b, a2, d)
	if lookup(t, r.Tree, "/build").Kind != tree.Dir {
		t.Fatal("file took the name")
	}
}

func TestSameNameCreates(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, file("na", "X", "todo.md", "from A", rv(2, devA)))
	o := put(t, b, file("nb", "X", "todo.md", "from B", rv(3, devB)))
	r := check(t, b, a, o)
	hasData(t, r.Tree, "/X/todo.md", "from B")
	ren := r.Tree.Get(id("na"))
	if !strings.HasPrefix(ren.Name, "todo (conflict from aaaaaaaa ") || !strings.HasSuffix(ren.Name, ").md") {
		t.Fatalf("loser named %q", ren.Name)
	}
	wantConflicts(t, r, NameClash)
	if c := r.Conflicts[0]; c.ID != id("nb") || c.CopyID != id("na") || c.CopyPath != "/X/"+ren.Name {
		t.Fatalf("conflict %+v", c)
	}
}

func TestRenameOntoNewName(t *testing.T) {
	// A renames an existing file to the name B gives a new file.
	b := baseTree(t)
	a := put(t, b, moved(b, "g", "", "todo.md", rv(4, devA)))
	o := put(t, b, file("n", "", "todo.md", "new", rv(3, devB)))
	r := check(t, b, a, o)
	hasData(t, r.Tree, "/todo.md", "n1")
	wantConflicts(t, r, NameClash)
}

func TestConcurrentMkdir(t *testing.T) {
	b := baseTree(t)
	ra, rb := rv(2, devA), rv(2, devB)
	a := put(t, b,
		dir("PA", "", "photos", ra), file("a1", "PA", "1.jpg", "A1", ra),
		dir("SA", "PA", "2026", ra), file("a2", "SA", "x.jpg", "AX", ra), file("a3", "SA", "same.jpg", "AS", ra))
	o := put(t, b,
		dir("PB", "", "photos", rb), file("b1", "PB", "2.jpg", "B2", rb),
		dir("SB", "PB", "2026", rb), file("b2", "SB", "y.jpg", "BY", rb), file("b3", "SB", "same.jpg", "BS", rb))
	r := check(t, b, a, o)
	if lookup(t, r.Tree, "/photos").ID != id("PB") || lookup(t, r.Tree, "/photos/2026").ID != id("SB") {
		t.Fatalf("wrong directories won\n%s", dump(r.Tree))
	}
	hasData(t, r.Tree, "/photos/1.jpg", "A1")
	hasData(t, r.Tree, "/photos/2.jpg", "B2")
	hasData(t, r.Tree, "/photos/2026/x.jpg", "AX")
	hasData(t, r.Tree, "/photos/2026/y.jpg", "BY")
	hasData(t, r.Tree, "/photos/2026/same.jpg", "BS")
	if r.Tree.Get(id("PA")) != nil || r.Tree.Get(id("SA")) != nil || len(r.Tree.Children(id("SB"))) != 4 {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	wantConflicts(t, r, DirsMerged, DirsMerged, NameClash)
}

func TestMoveCycle(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, moved(b, "X", "Y", "X", rv(3, devA)))
	o := put(t, b, moved(b, "Y", "X", "Y", rv(4, devB)))
	r := check(t, b, a, o)
	// Y has the later move; it goes back to its base place.
	if lookup(t, r.Tree, "/Y/X").ID != id("X") {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	wantConflicts(t, r, Cycle)
	if c := r.Conflicts[0]; c.ID != id("Y") || c.Path != "/Y" || c.Ours != rv(1, devA) || c.Theirs != rv(4, devB) {
		t.Fatalf("conflict %+v", c)
	}
}

func TestMoveCycleThree(t *testing.T) {
	// A: X into Y, Y into Z. B: Z into X. Cycle X→Y→Z→X.
	b := put(t, baseTree(t), dir("Z", "", "Z", rv(1, devA)))
	a := put(t, b, moved(b, "X", "Y", "X", rv(2, devA)), moved(b, "Y", "Z", "Y", rv(3, devA)))
	o := put(t, b, moved(b, "Z", "X", "Z", rv(2, devB)))
	r := check(t, b, a, o)
	if lookup(t, r.Tree, "/Y/X/Z").ID != id("Z") {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	wantConflicts(t, r, Cycle)
}

func TestMoveCycleBasePlaceInside(t *testing.T) {
	// Y's base place is inside X. A moves X into Y; B moves Y (the later
	// move) to the root and X into ... nothing: put X's base parent under Y
	// so that undoing Y's move cannot work and Y goes to the root.
	r1 := rv(1, devA)
	b := snap(t, dir("X", "", "X", r1), dir("Y", "X", "Y", r1))
	// A: Y to the root, then X into Y.
	a := put(t, b, moved(b, "Y", "", "Y", rv(2, devA)), moved(b, "X", "Y", "X", rv(3, devA)))
	// B: Y renamed in place, later than anything on A.
	o := put(t, b, moved(b, "Y", "X", "Y2", rv(5, devB)))
	r := check(t, b, a, o)
	if lookup(t, r.Tree, "/Y2/X").ID != id("X") {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	wantConflicts(t, r, Moved, Cycle)
}

func TestBothMoved(t *testing.T) {
	b := baseTree(t)
	r := check(t, b, put(t, b, moved(b, "f", "X", "a.txt", rv(3, devA))), put(t, b, moved(b, "f", "Y", "b.txt", rv(5, devB))))
	hasData(t, r.Tree, "/Y/b.txt", "v1")
	absent(t, r.Tree, "/X/a.txt")
	wantConflicts(t, r, Moved)
}

func TestDeleteVersusMove(t *testing.T) {
	b := baseTree(t)
	r := check(t, b, del(t, b, "f"), put(t, b, moved(b, "f", "X", "doc.txt", rv(2, devB))))
	hasData(t, r.Tree, "/X/doc.txt", "v1")
	wantConflicts(t, r, EditDelete)
}

func TestSymlinkEditEdit(t *testing.T) {
	r1 := rv(1, devA)
	b := snap(t, symlink("l", "", "current", "v1", r1))
	a := put(t, b, symlink("l", "", "current", "v2", rv(2, devA)))
	o := put(t, b, symlink("l", "", "current", "v3", rv(2, devB)))
	r := check(t, b, a, o)
	if e := lookup(t, r.Tree, "/current"); e.Target != "v3" {
		t.Fatalf("target %q", e.Target)
	}
	cp := r.Tree.Get(r.Conflicts[0].CopyID)
	if cp == nil || cp.Kind != tree.Symlink || cp.Target != "v2" {
		t.Fatalf("copy %+v", cp)
	}
}

func TestKindChangeSameID(t *testing.T) {
	// Peers should never change an entry's kind, but a merge must survive it.
	b := baseTree(t)
	d := b.Get(id("f")).Clone()
	d.Kind, d.Chunks, d.Size, d.Rev = tree.Dir, nil, 0, rv(2, devA)
	a := put(t, b, d, file("in", "f", "inside", "i", rv(2, devA)))
	o := put(t, b, edited(b, "f", "v2", rv(3, devB)))
	r := check(t, b, a, o)
	if lookup(t, r.Tree, "/doc.txt").Kind != tree.Dir {
		t.Fatal("directory lost")
	}
	hasData(t, r.Tree, "/doc.txt/inside", "i")
	cp := r.Tree.Get(r.Conflicts[0].CopyID)
	if cp == nil || cp.Kind != tree.File || cp.Parent != tree.Root {
		t.Fatalf("copy %+v\n%s", cp, dump(r.Tree))
	}
}

func TestConflictCopyNameTaken(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, edited(b, "f", "ours", rv(3, devA)))
	loser := a.Get(id("f"))
	name := ConflictName("doc.txt", devA.Short(), loser.MTime, loser.DataHash())
	o := put(t, b, edited(b, "f", "theirs", rv(5, devB)), file("squat", "", name, "squatter", rv(5, devB)))
	r := check(t, b, a, o)
	hasData(t, r.Tree, "/"+name, "squatter")
	want := strings.TrimSuffix(name, ".txt") + " 2.txt"
	hasData(t, r.Tree, "/"+want, "ours")
}

func TestReMergeNoSecondCopy(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, edited(b, "f", "ours", rv(3, devA)))
	o := put(t, b, edited(b, "f", "theirs", rv(5, devB)))
	// Each device merges on its own and gets the same copy.
	m1 := mustMerge(t, b, a, o, Options{}).Tree
	m2 := mustMerge(t, b, o, a, Options{}).Tree
	r := check(t, b, m1, m2)
	if r.Tree.Len() != b.Len()+1 {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	// A renames and edits its copy; B keeps its stale edit. No second copy,
	// and A's changes to the copy stand.
	cid := copyID(id("f"), a.Get(id("f")).DataHash())
	c := m1.Get(cid).Clone()
	c.Name, c.Chunks, c.Rev = "kept.txt", chunks("mine now"), rv(7, devA)
	a2 := put(t, m1, c)
	r = check(t, b, a2, o)
	hasData(t, r.Tree, "/kept.txt", "mine now")
	hasData(t, r.Tree, "/doc.txt", "theirs")
	if r.Tree.Len() != b.Len()+1 {
		t.Fatalf("\n%s", dump(r.Tree))
	}
	// A deleted the copy after seeing it: it stays deleted.
	a3 := m1.Clone()
	a3.Delete(cid)
	r = check(t, b, a3, o)
	if r.Tree.Get(cid) != nil || r.Tree.Len() != b.Len() {
		t.Fatalf("\n%s", dump(r.Tree))
	}
}

func TestUnrelatedHistories(t *testing.T) {
	a := snap(t, file("a", "", "readme", "A", rv(1, devA)))
	b := snap(t, file("b", "", "readme", "B", rv(1, devB)))
	r := check(t, nil, a, b)
	hasData(t, r.Tree, "/readme", "B")
	wantConflicts(t, r, NameClash)
}

func TestResolvers(t *testing.T) {
	b := baseTree(t)
	// Ours is older by Rev but newer by mtime.
	ea := edited(b, "f", "ours", rv(3, devA))
	ea.MTime = t0 + int64(1e15)
	a := put(t, b, ea, file("na", "", "new.txt", "A new", rv(3, devA)))
	o := put(t, b, edited(b, "f", "theirs", rv(5, devB)), file("nb", "", "new.txt", "B new", rv(5, devB)))
	cases := []struct {
		name      string
		res       Resolver
		doc, newf string // data at /doc.txt and /new.txt
		entries   int    // in the result
	}{
		{"ConflictCopy", ConflictCopy{}, "theirs", "B new", b.Len() + 3},
		{"nil", nil, "theirs", "B new", b.Len() + 3},
		{"LastWriterWins", LastWriterWins{}, "ours", "B new", b.Len() + 1},
		{"KeepLocal", KeepLocal{}, "ours", "A new", b.Len() + 1},
		{"KeepBoth", KeepBoth{}, "ours", "A new", b.Len() + 3},
		{"custom", ResolverFunc(func(Clash) Decision { return Decision{Winner: Theirs} }), "theirs", "B new", b.Len() + 1},
		{"undecided", ResolverFunc(func(Clash) Decision { return Decision{} }), "theirs", "B new", b.Len() + 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustMerge(t, b, a, o, Options{Resolver: c.res})
			hasData(t, r.Tree, "/doc.txt", c.doc)
			hasData(t, r.Tree, "/new.txt", c.newf)
			if r.Tree.Len() != c.entries {
				t.Fatalf("%d entries, want %d\n%s", r.Tree.Len(), c.entries, dump(r.Tree))
			}
			wantConflicts(t, r, EditEdit, NameClash)
			// Deletions never reach a resolver: the edit survives even KeepLocal.
			r = mustMerge(t, b, del(t, b, "f"), o, Options{Resolver: c.res})
			hasData(t, r.Tree, "/doc.txt", "theirs")
		})
	}
	// LastWriterWins is symmetric too.
	r1 := mustMerge(t, b, a, o, Options{Resolver: LastWriterWins{}})
	r2 := mustMerge(t, b, o, a, Options{Resolver: LastWriterWins{}})
	if !r1.Tree.Equal(r2.Tree) {
		t.Fatal("LastWriterWins is not symmetric")
	}
	// KeepBoth copies theirs even when theirs is later.
	r := mustMerge(t, b, a, o, Options{Resolver: KeepBoth{}})
	cp := r.Tree.Get(r.Conflicts[0].CopyID)
	if cp == nil || cp.Rev != rv(5, devB) {
		t.Fatalf("copy %+v", cp)
	}
}

func TestDeviceName(t *testing.T) {
	b := baseTree(t)
	a := put(t, b, edited(b, "f", "ours", rv(3, devA)))
	o := put(t, b, edited(b, "f", "theirs", rv(5, devB)))
	names := map[tree.DeviceID]string{devA: "laptop", devB: "desk/top"}
	r := mustMerge(t, b, a, o, Options{DeviceName: func(d tree.DeviceID) string { return names[d] }})
	if p := r.Conflicts[0].CopyPath; !strings.HasPrefix(p, "/doc (conflict from laptop 2026-11-25 ") {
		t.Fatalf("copy at %q", p)
	}
	r = mustMerge(t, b, o, a, Options{Resolver: KeepBoth{}, DeviceName: func(d tree.DeviceID) string { return names[d] }})
	if p := r.Conflicts[0].CopyPath; !strings.HasPrefix(p, "/doc (conflict from laptop ") {
		t.Fatalf("copy at %q", p)
	}
	r = mustMerge(t, b, a, o, Options{Resolver: KeepBoth{}, DeviceName: func(d tree.DeviceID) string { return names[d] }})
	if p := r.Conflicts[0].CopyPath; !strings.HasPrefix(p, "/doc (conflict from desk_top ") {
		t.Fatalf("copy at %q", p)
	}
}

func TestConflictName(t *testing.T) {
	var h [32]byte
	copy(h[:], []byte{0xa1, 0xb2, 0xc3, 0xd4, 0xff})
	mt := t0 + int64(20*3600e9) // 2026-11-26 05:00 UTC
	long := strings.Repeat("x", 250)
	cases := []struct{ in, want string }{
		{"report.txt", "report (conflict from laptop 2026-11-26 a1b2c3d4).txt"},
		{"Makefile", "Makefile (conflict from laptop 2026-11-26 a1b2c3d4)"},
		{".bashrc", ".bashrc (conflict from laptop 2026-11-26 a1b2c3d4)"},
		{"archive.tar.gz", "archive.tar (conflict from laptop 2026-11-26 a1b2c3d4).gz"},
		{"trailing.", "trailing. (conflict from laptop 2026-11-26 a1b2c3d4)"},
		{"notes from the.meeting today", "notes from the.meeting today (conflict from laptop 2026-11-26 a1b2c3d4)"},
		{long + ".txt", long[:255-len(" (conflict from laptop 2026-11-26 a1b2c3d4).txt")] + " (conflict from laptop 2026-11-26 a1b2c3d4).txt"},
	}
	for _, c := range cases {
		if got := ConflictName(c.in, "laptop", mt, h); got != c.want {
			t.Errorf("ConflictName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Trimming never splits a character and always fits.
	for _, stem := range []string{strings.Repeat("é", 127), strings.Repeat("日本", 42) + "x", strings.Repeat("a", 255)} {
		for _, ext := range []string{"", ".txt"} {
			got := ConflictName(stem+ext, strings.Repeat("dev", 40), mt, h)
			if len(got) > 255 || !utf8.ValidString(got) || !strings.HasSuffix(got, "a1b2c3d4)"+ext) || tree.ValidName(got) != nil {
				t.Errorf("ConflictName(%q...) = %q (%d bytes)", stem[:6], got, len(got))
			}
			if n := numbered(got, 12); len(n) > 255 || !strings.HasSuffix(n, " 12"+ext) || !utf8.ValidString(n) {
				t.Errorf("numbered = %q", n)
			}
		}
	}
	if got := ConflictName("a", "x/y\x00z", mt, h); got != "a (conflict from x_y_z 2026-11-26 a1b2c3d4)" {
		t.Errorf("device name not cleaned: %q", got)
	}
}

func TestLoserChangedItsCopy(t *testing.T) {
	// The losing side holds its version in the file and also has that
	// version's conflict copy from an earlier merge, which its user has since
	// emptied: the file's data was never given up, so it gets a copy derived
	// from the first.
	b := baseTree(t)
	l := put(t, b, edited(b, "f", "mine", rv(3, devA)))
	cid := copyID(id("f"), l.Get(id("f")).DataHash())
	cp := file("", "", "doc (old copy).txt", "", rv(4, devA))
	cp.ID = cid
	l = put(t, l, cp)
	w := put(t, b, edited(b, "f", "theirs", rv(5, devB)))
	r := check(t, b, l, w)
	hasData(t, r.Tree, "/doc.txt", "theirs")
	hasData(t, r.Tree, "/doc (old copy).txt", "")
	c := r.Conflicts[0]
	if c.Kind != EditEdit || c.CopyID != copyID(cid, l.Get(id("f")).DataHash()) {
		t.Fatalf("conflicts %v", r.Conflicts)
	}
	hasData(t, r.Tree, c.CopyPath, "mine")
	if r.Tree.Len() != b.Len()+2 {
		t.Fatalf("\n%s", dump(r.Tree))
	}
}

func TestSharedDataSurvives(t *testing.T) {
	// The base holds "old" twice: in doc.txt and in its conflict copy. One
	// side deletes the copy (the file still has the data), the other puts new
	// data in the file (the copy still has the old). Neither gave up "old".
	b := baseTree(t)
	b = put(t, b, edited(b, "f", "old", rv(2, devA)))
	cp := file("", "", "doc (conflict).txt", "old", rv(2, devA))
	cp.ID = copyID(id("f"), b.Get(id("f")).DataHash())
	b = put(t, b, cp)
	a := b.Clone()
	a.Delete(cp.ID)
	o := put(t, b, edited(b, "f", "new", rv(5, devB)))
	r := check(t, b, a, o)
	hasData(t, r.Tree, "/doc.txt", "new")
	hasData(t, r.Tree, "/doc (conflict).txt", "old")
	wantConflicts(t, r, Restored)
	// Both sides deleting both holders is a real deletion.
	r = check(t, b, del(t, a, "f"), del(t, o, "f"))
	if r.Tree.Get(cp.ID) != nil {
		t.Fatalf("\n%s", dump(r.Tree))
	}
}
