package merge

import (
	"fmt"
	"slices"

	"github.com/jax-desktop/jax/store/tree"
)

// Source is the version DAG with the tree of each version.
type Source interface {
	Graph
	Tree(Link) (*tree.Snapshot, error)
}

// Action is what a device does on learning another head.
type Action uint8

const (
	// UpToDate: theirs is ours or an ancestor of it. Nothing to do.
	UpToDate Action = iota + 1
	// FastForward: ours is an ancestor of theirs. Switch to theirs.
	FastForward
	// KeepOurs: merging would give exactly our tree. Stay; the other device
	// will adopt our head.
	KeepOurs
	// AdoptTheirs: merging would give exactly their tree. Switch to theirs
	// without a merge version.
	AdoptTheirs
	// NeedCommit: commit Outcome.Tree as a new version with Outcome.Parents.
	NeedCommit
)

func (a Action) String() string {
	switch a {
	case UpToDate:
		return "up to date"
	case FastForward:
		return "fast-forward"
	case KeepOurs:
		return "keep ours"
	case AdoptTheirs:
		return "adopt theirs"
	case NeedCommit:
		return "commit merge"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Outcome is Reconcile's decision.
type Outcome struct {
	Action Action
	// Head is the head to be at afterwards; zero for NeedCommit.
	Head Link
	// Tree is the tree to be at afterwards; nil for UpToDate.
	Tree *tree.Snapshot
	// Parents of the merge version, sorted by bytes (NeedCommit only).
	Parents []Link
	// Conflicts the merge resolved (KeepOurs, AdoptTheirs, NeedCommit).
	Conflicts []Conflict
}

// Reconcile decides what a device at head ours does on learning head theirs.
//
// When neither head contains the other, the two trees are merged three-way
// against their common ancestor. Several best common ancestors (criss-cross
// merges) are first merged into one virtual base, git "recursive" style,
// less the entries they disagree on; unrelated histories merge against the
// empty tree. A merge whose tree equals
// one of the heads' trees adopts that head instead of committing, and when it
// equals both, every device picks the same one (the smaller link): this is
// what lets devices converge instead of trading merge versions forever.
func Reconcile(src Source, ours, theirs Link, opt Options) (*Outcome, error) {
	w := newWalker(src)
	if ok, err := w.isAncestor(theirs, ours); err != nil {
		return nil, err
	} else if ok {
		return &Outcome{Action: UpToDate, Head: ours}, nil
	}
	if ok, err := w.isAncestor(ours, theirs); err != nil {
		return nil, err
	} else if ok {
		t, err := loadTree(src, theirs)
		if err != nil {
			return nil, err
		}
		return &Outcome{Action: FastForward, Head: theirs, Tree: t}, nil
	}
	base, err := mergeBase(src, w, []Link{ours}, []Link{theirs}, opt, 0)
	if err != nil {
		return nil, err
	}
	ot, err := loadTree(src, ours)
	if err != nil {
		return nil, err
	}
	tt, err := loadTree(src, theirs)
	if err != nil {
		return nil, err
	}
	r, err := Merge(base, ot, tt, opt)
	if err != nil {
		return nil, fmt.Errorf("merge %s into %s: %w", theirs.Short(), ours.Short(), err)
	}
	eqOurs, eqTheirs := r.Tree.Equal(ot), r.Tree.Equal(tt)
	out := &Outcome{Conflicts: r.Conflicts}
	switch {
	case eqOurs && (!eqTheirs || cmpLink(ours, theirs) < 0):
		out.Action, out.Head, out.Tree = KeepOurs, ours, ot
	case eqTheirs:
		out.Action, out.Head, out.Tree = AdoptTheirs, theirs, tt
	default:
		out.Action, out.Tree = NeedCommit, r.Tree
		out.Parents = []Link{ours, theirs}
		slices.SortFunc(out.Parents, cmpLink)
	}
	return out, nil
}

func loadTree(src Source, l Link) (*tree.Snapshot, error) {
	t, err := src.Tree(l)
	if err != nil {
		return nil, fmt.Errorf("load tree of version %s: %w", l.Short(), err)
	}
	return t, nil
}

// maxVirtualDepth bounds the recursion through nested criss-crosses; past it
// the first common ancestor serves as base, which is still deterministic.
const maxVirtualDepth = 16

// mergeBase returns the base tree for merging the versions as and bs: the
// tree of their only best common ancestor, or of a virtual version made by
// merging several in byte order, each step against its own merge base.
//
// Entries the common ancestors changed in different ways have no common
// version, so they are left out of a virtual base, and so are the conflict
// copies merging the ancestors made: both sides' versions then meet as if
// both had created them, and the later one wins with the other kept as a
// copy. Keeping the virtual merge's pick instead would make a side that
// still holds the losing ancestor's version look as if it had changed it
// (and that stale version would silently win), and a side without the
// virtual copy look as if it had deleted it.
func mergeBase(src Source, w *walker, as, bs []Link, opt Options, depth int) (*tree.Snapshot, error) {
	cas, err := w.commonAncestors(as, bs)
	if err != nil {
		return nil, err
	}
	switch {
	case len(cas) == 0:
		return tree.New(), nil
	case len(cas) == 1 || depth >= maxVirtualDepth:
		return loadTree(src, cas[0])
	}
	acc, err := loadTree(src, cas[0])
	if err != nil {
		return nil, err
	}
	var disputed []tree.ID
	for i := 1; i < len(cas); i++ {
		b, err := mergeBase(src, w, cas[:i], cas[i:i+1], opt, depth+1)
		if err != nil {
			return nil, err
		}
		t, err := loadTree(src, cas[i])
		if err != nil {
			return nil, err
		}
		// The virtual base always uses the symmetric default, whatever the
		// caller's resolver: neither ancestor is "ours".
		r, err := Merge(b, acc, t, Options{DeviceName: opt.DeviceName})
		if err != nil {
			return nil, fmt.Errorf("merge common ancestors: %w", err)
		}
		disputed = append(disputed, bothChanged(b, acc, t)...)
		// Conflict copies this merge made are no common version either.
		r.Tree.Each(func(e *tree.Entry) {
			if acc.Get(e.ID) == nil && t.Get(e.ID) == nil {
				disputed = append(disputed, e.ID)
			}
		})
		acc = r.Tree
	}
	if len(disputed) > 0 {
		// The result is only looked up by ID, so it need not be a valid tree.
		acc = acc.Clone()
		for _, id := range disputed {
			acc.Delete(id)
		}
	}
	return acc, nil
}

// bothChanged lists the entries that x and y both changed from base b, in
// different ways.
func bothChanged(b, x, y *tree.Snapshot) []tree.ID {
	var ids []tree.ID
	x.Each(func(e *tree.Entry) {
		o := y.Get(e.ID)
		if o == nil || o == e || o.Equal(e) || e.ID == tree.Root {
			return
		}
		if be := b.Get(e.ID); be == nil || !be.Equal(e) && !be.Equal(o) {
			ids = append(ids, e.ID)
		}
	})
	return ids
}
