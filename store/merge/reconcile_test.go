package merge

import (
	"slices"
	"testing"
)

func reconcile(t *testing.T, r *memRepo, ours, theirs Link, want Action) *Outcome {
	t.Helper()
	out, err := Reconcile(r, ours, theirs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != want {
		t.Fatalf("Reconcile = %v, want %v", out.Action, want)
	}
	return out
}

func TestReconcile(t *testing.T) {
	tb := baseTree(t)
	r := newRepo()
	g := r.add(nil, tb, devA, false)
	a1 := r.add([]Link{g}, put(t, tb, edited(tb, "f", "A", rv(2, devA))), devA, false)
	b1 := r.add([]Link{g}, put(t, tb, edited(tb, "g", "B", rv(2, devB))), devB, false)

	reconcile(t, r, a1, g, UpToDate)
	reconcile(t, r, a1, a1, UpToDate)
	if out := reconcile(t, r, g, a1, FastForward); out.Head != a1 || out.Tree != r.vs[a1].tree {
		t.Fatalf("outcome %+v", out)
	}

	out := reconcile(t, r, a1, b1, NeedCommit)
	if !slices.Equal(out.Parents, sorted(a1, b1)) || out.Head != (Link{}) {
		t.Fatalf("outcome %+v", out)
	}
	hasData(t, out.Tree, "/doc.txt", "A")
	hasData(t, out.Tree, "/notes.md", "B")

	// Both devices commit the merge on their own: same tree, two links. Each
	// then adopts the same one of them.
	ma := r.add(out.Parents, out.Tree, devA, true)
	mb := r.add(reconcile(t, r, b1, a1, NeedCommit).Parents, reconcile(t, r, b1, a1, NeedCommit).Tree, devB, true)
	canon, other := ma, mb
	if cmpLink(mb, ma) < 0 {
		canon, other = mb, ma
	}
	reconcile(t, r, canon, other, KeepOurs)
	if out := reconcile(t, r, other, canon, AdoptTheirs); out.Head != canon {
		t.Fatalf("adopted %v", out.Head)
	}

	// A merge that gives exactly their tree adopts their head: both deleted
	// doc.txt, B also edited notes.md.
	c1 := r.add([]Link{g}, del(t, tb, "f"), devA, false)
	d1 := r.add([]Link{g}, put(t, del(t, tb, "f"), edited(tb, "g", "D", rv(2, devB))), devB, false)
	reconcile(t, r, c1, d1, AdoptTheirs)
	reconcile(t, r, d1, c1, KeepOurs)

	if _, err := Reconcile(r, a1, Link{7}, Options{}); err == nil {
		t.Fatal("unknown head: no error")
	}
}

func TestReconcileCrissCross(t *testing.T) {
	// g; A and B edit doc.txt differently; each merges the other (two merge
	// versions with the same tree: criss-cross). Then each edits on: the next
	// merge must use the virtual base (the merged tree), so the old conflict
	// is not raised again and no second copy appears.
	tb := baseTree(t)
	r := newRepo()
	g := r.add(nil, tb, devA, false)
	a1 := r.add([]Link{g}, put(t, tb, edited(tb, "f", "A", rv(2, devA))), devA, false)
	b1 := r.add([]Link{g}, put(t, tb, edited(tb, "f", "B", rv(2, devB))), devB, false)
	oa := reconcile(t, r, a1, b1, NeedCommit)
	if len(oa.Conflicts) != 1 || oa.Conflicts[0].Kind != EditEdit {
		t.Fatalf("conflicts %v", oa.Conflicts)
	}
	ma := r.add(oa.Parents, oa.Tree, devA, true)
	ob := reconcile(t, r, b1, a1, NeedCommit)
	mb := r.add(ob.Parents, ob.Tree, devB, true)

	ta := r.vs[ma].tree
	a2 := r.add([]Link{ma}, put(t, ta, edited(ta, "g", "A2", rv(4, devA))), devA, false)
	tb2 := r.vs[mb].tree
	b2 := r.add([]Link{mb}, put(t, tb2, edited(tb2, "p", "B2", rv(4, devB)), file("n", "", "new", "new", rv(4, devB))), devB, false)

	out := reconcile(t, r, a2, b2, NeedCommit)
	if len(out.Conflicts) != 0 {
		t.Fatalf("conflicts %v", out.Conflicts)
	}
	hasData(t, out.Tree, "/doc.txt", "B")
	hasData(t, out.Tree, "/notes.md", "A2")
	hasData(t, out.Tree, "/docs/plan.txt", "B2")
	if out.Tree.Len() != tb.Len()+2 { // the copy and "new"
		t.Fatalf("\n%s", dump(out.Tree))
	}
	back := reconcile(t, r, b2, a2, NeedCommit)
	if !back.Tree.Equal(out.Tree) {
		t.Fatal("devices disagree")
	}

	// Three merge bases: a third device merged too, differently.
	c1 := r.add([]Link{g}, put(t, tb, file("c", "", "c.txt", "C", rv(2, dev(0xcc)))), dev(0xcc), false)
	mc := r.add([]Link{a1, b1, c1}, nil, dev(0xcc), true)
	rc := mustMerge(t, tb, r.vs[c1].tree, oa.Tree, Options{})
	r.vs[mc].tree = rc.Tree
	x := r.add([]Link{ma, c1}, nil, devA, true)
	rx := mustMerge(t, tb, ta, r.vs[c1].tree, Options{})
	r.vs[x].tree = rx.Tree
	cas, err := CommonAncestors(r, x, mc)
	if err != nil {
		t.Fatal(err)
	}
	if len(cas) != 3 {
		t.Fatalf("want 3 merge bases, got %d", len(cas))
	}
	o1, err := Reconcile(r, x, mc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o2, err := Reconcile(r, mc, x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o1.Action == NeedCommit && !o1.Tree.Equal(o2.Tree) {
		t.Fatal("devices disagree")
	}
	if o1.Tree.Get(id("c")) == nil {
		t.Fatal("lost c.txt")
	}
}
