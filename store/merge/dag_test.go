package merge

import (
	"slices"
	"testing"

	"github.com/jax-desktop/jax/store/tree"
)

// countingGraph counts calls, to check that walks stop early.
type countingGraph struct {
	Graph
	calls int
}

func (g *countingGraph) Parents(l Link) ([]Link, error) { g.calls++; return g.Graph.Parents(l) }
func (g *countingGraph) Height(l Link) (uint64, error)  { g.calls++; return g.Graph.Height(l) }

func chain(r *memRepo, from Link, n int, d tree.DeviceID) []Link {
	var out []Link
	for range n {
		var ps []Link
		if from != (Link{}) {
			ps = []Link{from}
		}
		from = r.add(ps, tree.New(), d, false)
		out = append(out, from)
	}
	return out
}

func sorted(ls ...Link) []Link {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, cmpLink)
	return ls
}

func wantCA(t *testing.T, g Graph, a, b Link, want ...Link) {
	t.Helper()
	got, err := CommonAncestors(g, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, sorted(want...)) {
		t.Fatalf("CommonAncestors = %v, want %v", got, sorted(want...))
	}
	back, err := CommonAncestors(g, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, got) {
		t.Fatalf("CommonAncestors not symmetric: %v / %v", got, back)
	}
}

func wantAnc(t *testing.T, g Graph, a, b Link, want bool) {
	t.Helper()
	got, err := IsAncestor(g, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("IsAncestor(%s, %s) = %v", a.Short(), b.Short(), got)
	}
}

func TestDAG(t *testing.T) {
	r := newRepo()
	g := chain(r, Link{}, 3, devA)[2]                // genesis → … → g
	a := chain(r, g, 2, devA)                        // g → a0 → a1
	b := chain(r, g, 3, devB)                        // g → b0 → b1 → b2
	m1 := r.add([]Link{a[1], b[2]}, nil, devA, true) // merge
	m2 := r.add([]Link{b[2], a[1]}, nil, devB, true) // the same merge, made by B: criss-cross
	m1b := chain(r, m1, 1, devA)[0]
	m2b := chain(r, m2, 1, devB)[0]
	other := chain(r, Link{}, 2, devB)[1] // unrelated history

	wantAnc(t, r, g, g, true)
	wantAnc(t, r, g, a[1], true)
	wantAnc(t, r, a[1], g, false)
	wantAnc(t, r, a[0], b[2], false)
	wantAnc(t, r, b[0], m1b, true)
	wantAnc(t, r, other, m1, false)

	wantCA(t, r, a[1], a[1], a[1])
	wantCA(t, r, a[0], a[1], a[0])
	wantCA(t, r, a[1], b[2], g)
	wantCA(t, r, m1, b[2], b[2])
	wantCA(t, r, m1, m2, a[1], b[2])
	wantCA(t, r, m1b, m2b, a[1], b[2])
	wantCA(t, r, m1b, a[0], a[0])
	wantCA(t, r, other, m1, nil...)

	if _, err := CommonAncestors(r, a[1], Link{1}); err == nil {
		t.Fatal("unknown version: no error")
	}
	if _, err := IsAncestor(r, a[1], Link{1}); err == nil {
		t.Fatal("unknown version: no error")
	}
}

func TestCommonAncestorsLongHistoryIsCheap(t *testing.T) {
	r := newRepo()
	h := chain(r, Link{}, 10000, devA)
	tip := h[len(h)-1]
	side := chain(r, h[len(h)-3], 2, devB)[1]
	g := &countingGraph{Graph: r}
	wantCA(t, g, tip, side, h[len(h)-3])
	if g.calls > 60 {
		t.Fatalf("%d graph calls for a fork 3 versions deep", g.calls)
	}
	g.calls = 0
	wantAnc(t, g, h[9990], tip, true)
	if g.calls > 60 {
		t.Fatalf("%d graph calls for IsAncestor 10 versions deep", g.calls)
	}
	// An old fork walks the history once.
	old := chain(r, h[0], 1, devB)[0]
	wantCA(t, r, tip, old, h[0])
}
