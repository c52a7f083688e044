package merge

import (
	"bytes"
	"container/heap"
	"encoding/hex"
	"fmt"
	"slices"
)

// Link names a version (a manifest) in the version DAG.
type Link [32]byte

func (l Link) String() string { return hex.EncodeToString(l[:]) }

// Short is the first 8 hex digits, for display.
func (l Link) Short() string { return l.String()[:8] }

func cmpLink(a, b Link) int { return bytes.Compare(a[:], b[:]) }

// Graph is the version DAG as the merge needs it. Height is the length of the
// longest path to a genesis version: 0 for a version without parents, else one
// more than its highest parent. Heights let walks stop early: a version can
// only be an ancestor of versions higher than itself.
type Graph interface {
	Parents(Link) ([]Link, error)
	Height(Link) (uint64, error)
}

// walker caches heights for one walk over a Graph.
type walker struct {
	g       Graph
	heights map[Link]uint64
}

func newWalker(g Graph) *walker { return &walker{g: g, heights: map[Link]uint64{}} }

func (w *walker) height(l Link) (uint64, error) {
	if h, ok := w.heights[l]; ok {
		return h, nil
	}
	h, err := w.g.Height(l)
	if err != nil {
		return 0, fmt.Errorf("height of version %s: %w", l.Short(), err)
	}
	w.heights[l] = h
	return h, nil
}

func (w *walker) parents(l Link) ([]Link, error) {
	ps, err := w.g.Parents(l)
	if err != nil {
		return nil, fmt.Errorf("parents of version %s: %w", l.Short(), err)
	}
	return ps, nil
}

// IsAncestor reports whether a is b or one of b's ancestors.
func IsAncestor(g Graph, a, b Link) (bool, error) {
	return newWalker(g).isAncestor(a, b)
}

func (w *walker) isAncestor(a, b Link) (bool, error) {
	if a == b {
		return true, nil
	}
	ha, err := w.height(a)
	if err != nil {
		return false, err
	}
	stack := []Link{b}
	seen := map[Link]bool{b: true}
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ps, err := w.parents(l)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			if p == a {
				return true, nil
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			// Versions no higher than a cannot descend from it.
			if hp, err := w.height(p); err != nil {
				return false, err
			} else if hp > ha {
				stack = append(stack, p)
			}
		}
	}
	return false, nil
}

// CommonAncestors returns the best common ancestors of a and b: the common
// ancestors that are not ancestors of another common ancestor, sorted by
// bytes. It is empty when the histories are unrelated.
func CommonAncestors(g Graph, a, b Link) ([]Link, error) {
	return newWalker(g).commonAncestors([]Link{a}, []Link{b})
}

const (
	fromA = 1 << iota
	fromB
	stale
)

// commonAncestors paints the DAG down from two sets of heads, highest version
// first, the way git's merge-base does. A version reached from both sides is
// a candidate and marks everything below it stale; the walk stops as soon as
// only stale versions are queued, so it only goes as deep as the fork.
// Visiting by height guarantees every version's marks are complete when it
// is taken from the queue, since all its descendants are higher.
func (w *walker) commonAncestors(as, bs []Link) ([]Link, error) {
	flags := map[Link]uint8{}
	q := &linkQueue{}
	queued := map[Link]bool{}
	live := 0 // queued versions that are not stale
	mark := func(l Link, f uint8) error {
		old := flags[l]
		nf := old | f
		if nf == old {
			return nil
		}
		flags[l] = nf
		if queued[l] {
			if old&stale == 0 && nf&stale != 0 {
				live--
			}
			return nil
		}
		h, err := w.height(l)
		if err != nil {
			return err
		}
		heap.Push(q, queuedLink{l, h})
		queued[l] = true
		if nf&stale == 0 {
			live++
		}
		return nil
	}
	for _, l := range as {
		if err := mark(l, fromA); err != nil {
			return nil, err
		}
	}
	for _, l := range bs {
		if err := mark(l, fromB); err != nil {
			return nil, err
		}
	}
	var found []Link
	for live > 0 {
		l := heap.Pop(q).(queuedLink).l
		queued[l] = false
		f := flags[l]
		if f&stale == 0 {
			live--
			if f&(fromA|fromB) == fromA|fromB {
				found = append(found, l)
				f |= stale
			}
		}
		ps, err := w.parents(l)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if err := mark(p, f); err != nil {
				return nil, err
			}
		}
	}
	// The height order already keeps out candidates below other candidates;
	// this check guards against a Graph whose heights are off.
	if len(found) > 1 {
		var best []Link
		for i, c := range found {
			redundant := false
			for j, d := range found {
				if i == j {
					continue
				}
				anc, err := w.isAncestor(c, d)
				if err != nil {
					return nil, err
				}
				if anc {
					redundant = true
					break
				}
			}
			if !redundant {
				best = append(best, c)
			}
		}
		found = best
	}
	slices.SortFunc(found, cmpLink)
	return slices.Compact(found), nil
}

type queuedLink struct {
	l Link
	h uint64
}

// linkQueue is a max-heap by height (then bytes, to be deterministic).
type linkQueue []queuedLink

func (q linkQueue) Len() int { return len(q) }
func (q linkQueue) Less(i, j int) bool {
	if q[i].h != q[j].h {
		return q[i].h > q[j].h
	}
	return cmpLink(q[i].l, q[j].l) < 0
}
func (q linkQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *linkQueue) Push(x any)   { *q = append(*q, x.(queuedLink)) }
func (q *linkQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
