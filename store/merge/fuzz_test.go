package merge

import (
	"math/rand/v2"
	"testing"

	"github.com/jax-desktop/jax/store/tree"
)

// FuzzMergeSymmetric merges two random edits of a random tree. Its seed
// corpus runs in every `go test`; `go test -fuzz FuzzMergeSymmetric` explores.
func FuzzMergeSymmetric(f *testing.F) {
	for seed := range uint64(16) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { randomMerge(t, seed) })
}

func TestMergeRandomTrees(t *testing.T) {
	n := uint64(3000)
	if testing.Short() {
		n = 200
	}
	for seed := uint64(1000); seed < 1000+n; seed++ {
		randomMerge(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

// randomMerge checks, for one random case, that Merge is symmetric, valid,
// keeps every piece of data either side wrote, and never makes a second
// conflict copy when merged again.
func randomMerge(t *testing.T, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := &gen{rng: rng}
	base := tree.New()
	h := uint64(0)
	for range 10 + rng.IntN(40) {
		h++
		g.op(base, rv(h, dev(byte(rng.IntN(3)))))
	}
	edit := func(d tree.DeviceID) *tree.Snapshot {
		s := base.Clone()
		for i := range 1 + rng.IntN(15) {
			g.op(s, rv(h+1+uint64(i), d))
		}
		return s
	}
	a := edit(devA)
	db := devB
	if rng.IntN(8) == 0 {
		db = devA // equal Revs on both sides: only the data can break ties
	}
	b := edit(db)

	r1, err := Merge(base, a, b, Options{})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	r2, err := Merge(base, b, a, Options{})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if !r1.Tree.Equal(r2.Tree) {
		t.Fatalf("seed %d: not symmetric\nbase:\n%sa:\n%sb:\n%smerge(a, b):\n%smerge(b, a):\n%s", seed, dump(base), dump(a), dump(b), dump(r1.Tree), dump(r2.Tree))
	}
	have := chunkSet(r1.Tree)
	for _, side := range []*tree.Snapshot{a, b} {
		side.Each(func(e *tree.Entry) {
			if be := base.Get(e.ID); be != nil && be.SameData(e) {
				return
			}
			for _, c := range e.Chunks {
				if !have[c.Blob] {
					t.Fatalf("seed %d: data written on one side lost\nbase:\n%sa:\n%sb:\n%smerged:\n%s", seed, dump(base), dump(a), dump(b), dump(r1.Tree))
				}
			}
		})
	}
	// Merging the result with itself changes nothing. Merging it again with
	// a side against the old base (which Reconcile never does: the result
	// would be the base) may place things differently, but makes no second
	// copy.
	for _, x := range []*tree.Snapshot{r1.Tree, a, b} {
		r, err := Merge(base, r1.Tree, x, Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if x == r1.Tree && !r.Tree.Equal(r1.Tree) {
			t.Fatalf("seed %d: merging the result with itself changed it\n%s", seed, diff(r1.Tree, r.Tree))
		}
		r.Tree.Each(func(e *tree.Entry) {
			if r1.Tree.Get(e.ID) == nil && x.Get(e.ID) == nil {
				t.Fatalf("seed %d: re-merge made a new entry %s\nmerged:\n%sre-merged:\n%s", seed, r.Tree.Path(e.ID), dump(r1.Tree), dump(r.Tree))
			}
		})
	}
	// Every resolver gives a valid tree.
	for _, res := range []Resolver{LastWriterWins{}, KeepLocal{}, KeepBoth{}} {
		if _, err := Merge(base, a, b, Options{Resolver: res}); err != nil {
			t.Fatalf("seed %d: %T: %v", seed, res, err)
		}
	}
}
