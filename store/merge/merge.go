package merge

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/jax-desktop/jax/store/tree"
)

// Options tunes a merge. The zero value is the default for sync.
type Options struct {
	// Resolver decides clashes; nil means ConflictCopy.
	Resolver Resolver
	// DeviceName names a device in conflict copy names; nil, or an empty
	// answer, means the device ID's short form. It must give every device
	// the same answer, or devices would name the same copy differently.
	DeviceName func(tree.DeviceID) string
}

// Result is a merged tree and the conflicts resolved to make it.
type Result struct {
	Tree      *tree.Snapshot
	Conflicts []Conflict
}

// Merge merges ours and theirs, two versions that descend from base. A nil
// base is the empty tree (no common ancestor). The inputs are not modified;
// the result shares unchanged entries with them.
//
// Each entry is merged by ID, attribute by attribute: its place (parent and
// name) and its data are each taken from the side that changed them, and
// only when both sides changed the same attribute differently is there a
// conflict. The steps after that repair what per-entry merging cannot see:
// directories deleted under a surviving entry are restored, move cycles are
// broken, conflict copies are placed next to their files, data both sides
// still hold is kept, and finally every directory is made free of duplicate
// names.
func Merge(base, ours, theirs *tree.Snapshot, opt Options) (*Result, error) {
	if ours == nil || theirs == nil {
		return nil, errors.New("merge: missing tree")
	}
	if base == nil {
		base = tree.New()
	}
	m := &merger{
		base:    base,
		ours:    ours,
		theirs:  theirs,
		res:     opt.Resolver,
		devName: opt.DeviceName,
		out:     make(map[tree.ID]*tree.Entry, max(ours.Len(), theirs.Len())),
		owned:   map[tree.ID]bool{},
		made:    map[tree.ID]bool{},
	}
	if m.res == nil {
		m.res = ConflictCopy{}
	}
	m.mergeEntries()
	m.restoreParents()
	m.breakCycles()
	m.placeCopies()
	if m.keepShared() {
		m.restoreParents()
		m.breakCycles()
	}
	m.resolveNames()
	return m.result()
}

type merger struct {
	base, ours, theirs *tree.Snapshot
	res                Resolver
	devName            func(tree.DeviceID) string

	out       map[tree.ID]*tree.Entry // the result being built
	owned     map[tree.ID]bool        // entries in out allocated here, safe to modify
	made      map[tree.ID]bool        // conflict copies created by this merge
	copies    []copyReq
	conflicts []Conflict
}

type copyReq struct {
	id       tree.ID // the copy's ID, from copyID
	orig     tree.ID // the file it is a version of
	loser    *tree.Entry
	side     Side // the side loser comes from
	conflict int  // index of the conflict reporting it
}

// edit returns a modifiable version of out[id]. Entries from the inputs are
// shared, so they are cloned before the first change.
func (m *merger) edit(id tree.ID) *tree.Entry {
	if !m.owned[id] {
		m.out[id] = m.out[id].Clone()
		m.owned[id] = true
	}
	return m.out[id]
}

func (m *merger) conflict(c Conflict) { m.conflicts = append(m.conflicts, c) }

func revOf(e *tree.Entry) tree.Rev {
	if e == nil {
		return tree.Rev{}
	}
	return e.Rev
}

// mergeEntries merges every ID found in ours or theirs. IDs found only in the
// base were deleted on both sides.
func (m *merger) mergeEntries() {
	m.ours.Each(func(o *tree.Entry) {
		switch t := m.theirs.Get(o.ID); {
		case t == o: // shared pointer: nobody touched it since a common clone
			m.out[o.ID] = o
		case t == nil:
			m.oneSide(o, Ours)
		default:
			m.both(o, t)
		}
	})
	m.theirs.Each(func(t *tree.Entry) {
		if m.ours.Get(t.ID) == nil {
			m.oneSide(t, Theirs)
		}
	})
}

// oneSide merges an entry that only side s has: it was created there, or the
// other side deleted it. A deletion only wins over an untouched entry.
func (m *merger) oneSide(e *tree.Entry, s Side) {
	b := m.base.Get(e.ID)
	switch {
	case b == nil:
		m.out[e.ID] = e
	case e.Equal(b):
	default:
		m.out[e.ID] = e
		c := Conflict{Kind: EditDelete, ID: e.ID}
		if s == Ours {
			c.Ours = e.Rev
		} else {
			c.Theirs = e.Rev
		}
		m.conflict(c)
	}
}

// both merges an entry present on both sides.
func (m *merger) both(o, t *tree.Entry) {
	if o.Equal(t) {
		m.out[o.ID] = o
		return
	}
	b := m.base.Get(o.ID)
	e := &tree.Entry{ID: o.ID}
	m.mergePlace(e, b, o, t)
	m.mergeContent(e, b, o, t)
	e.Rev = mergedRev(e, o, t)
	switch {
	case e.Equal(o):
		e = o
	case e.Equal(t):
		e = t
	default:
		m.owned[e.ID] = true
	}
	m.out[e.ID] = e
}

// mergedRev is the Rev of a side whose version the merge kept, else the
// higher of the two: the result is at least as new as what it contains.
func mergedRev(e, o, t *tree.Entry) tree.Rev {
	var r tree.Rev
	found := false
	for _, s := range []*tree.Entry{o, t} {
		if s.SamePlace(e) && s.SameContent(e) && (!found || r.Less(s.Rev)) {
			r, found = s.Rev, true
		}
	}
	if found {
		return r
	}
	if o.Rev.Less(t.Rev) {
		return t.Rev
	}
	return o.Rev
}

func (m *merger) mergePlace(e, b, o, t *tree.Entry) {
	if e.ID == tree.Root {
		return
	}
	var w *tree.Entry
	switch {
	case o.SamePlace(t):
		w = o
	case b != nil && b.SamePlace(o):
		w = t
	case b != nil && b.SamePlace(t):
		w = o
	case o.Rev == t.Rev:
		// One version, placed differently by earlier merges (a directory
		// merged away, a conflict name). Prefer the place both sides still
		// have: that is what a merge moved it to.
		w = o
		if ko, kt := m.keeps(o.Parent), m.keeps(t.Parent); kt && !ko || kt == ko && cmpPlace(t, o) > 0 {
			w = t
		}
	default:
		// Both moved it: the later move wins.
		w = o
		if cmpVersion(t, o) > 0 {
			w = t
		}
		m.conflict(Conflict{Kind: Moved, ID: e.ID, Ours: o.Rev, Theirs: t.Rev})
	}
	e.Parent, e.Name = w.Parent, w.Name
}

// keeps reports whether both sides have directory id.
func (m *merger) keeps(id tree.ID) bool {
	o, t := m.ours.Get(id), m.theirs.Get(id)
	return o != nil && t != nil && o.Kind == tree.Dir && t.Kind == tree.Dir
}

func setData(e, src *tree.Entry) {
	e.Kind, e.Size, e.Chunks, e.Target = src.Kind, src.Size, src.Chunks, src.Target
}

func (m *merger) mergeContent(e, b, o, t *tree.Entry) {
	oDir, tDir := o.Kind == tree.Dir, t.Kind == tree.Dir
	switch {
	case oDir != tDir:
		// One side holds a directory under this ID, the other not. The
		// directory keeps the ID so that its children keep a directory for a
		// parent; the other version's data survives as a copy unless it is
		// just the base's.
		d, f := o, t
		if tDir {
			d, f = t, o
		}
		setData(e, d)
		e.Mode, e.MTime = d.Mode, d.MTime
		if b == nil || !b.SameData(f) {
			side := Theirs
			if f == o {
				side = Ours
			}
			m.addCopy(e.ID, f, side, Conflict{Kind: TypeClash, ID: e.ID, Ours: o.Rev, Theirs: t.Rev})
		}
	case o.SameData(t):
		setData(e, o)
		m.mergeMeta(e, b, o, t)
	case b != nil && b.SameData(o):
		setData(e, t)
		m.mergeMeta(e, b, o, t)
	case b != nil && b.SameData(t):
		setData(e, o)
		m.mergeMeta(e, b, o, t)
	case oDir:
		// Two directories differing in size: nothing worth a copy.
		w := o
		if cmpVersion(t, o) > 0 {
			w = t
		}
		setData(e, w)
		m.mergeMeta(e, b, o, t)
	default:
		d := resolve(m.res, Clash{Kind: EditEdit, Base: b, Ours: o, Theirs: t})
		w, l := o, t
		if d.Winner == Theirs {
			w, l = t, o
		}
		// The winner's data comes with its own mode and time.
		setData(e, w)
		e.Mode, e.MTime = w.Mode, w.MTime
		c := Conflict{Kind: EditEdit, ID: e.ID, Ours: o.Rev, Theirs: t.Rev}
		if !d.KeepLoser {
			m.conflict(c)
		} else if d.Winner == Ours {
			m.addCopy(e.ID, l, Theirs, c)
		} else {
			m.addCopy(e.ID, l, Ours, c)
		}
	}
}

// mergeMeta merges mode and mtime three-way, each on its own, so that a chmod
// on one side and an edit on the other both survive. When both sides changed
// one of them, the later version's value wins.
//
// Equal Revs (a device that forked its own history) fall back to the larger
// value, not to a comparison of whole versions: a merged version mixes
// attributes of both, and merging it again must pick the same values.
func (m *merger) mergeMeta(e, b, o, t *tree.Entry) {
	r := cmpRev(o.Rev, t.Rev)
	modeO, timeO := r > 0 || r == 0 && o.Mode >= t.Mode, r > 0 || r == 0 && o.MTime >= t.MTime
	if b != nil {
		e.Mode = three(b.Mode, o.Mode, t.Mode, true, modeO)
		e.MTime = three(b.MTime, o.MTime, t.MTime, true, timeO)
	} else {
		e.Mode = three(0, o.Mode, t.Mode, false, modeO)
		e.MTime = three(0, o.MTime, t.MTime, false, timeO)
	}
}

func cmpPlace(a, b *tree.Entry) int {
	if c := bytes.Compare(a.Parent[:], b.Parent[:]); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func three[T comparable](b, o, t T, hasBase, oWins bool) T {
	switch {
	case o == t:
		return o
	case hasBase && b == o:
		return t
	case hasBase && b == t:
		return o
	case oWins:
		return o
	}
	return t
}

// addCopy asks for a conflict copy of loser's version of orig, coming from
// side s, and records conflict c for it.
func (m *merger) addCopy(orig tree.ID, loser *tree.Entry, s Side, c Conflict) {
	c.CopyID = copyID(orig, loser.DataHash())
	m.conflict(c)
	m.copies = append(m.copies, copyReq{id: c.CopyID, orig: orig, loser: loser, side: s, conflict: len(m.conflicts) - 1})
}

func (m *merger) result() (*Result, error) {
	t := tree.New()
	for id, e := range m.out {
		if id == tree.Root && !m.owned[id] {
			e = e.Clone() // Put normalises the root in place
		}
		t.Put(e)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("merge: result is not a valid tree (a bug in the merge): %w", err)
	}
	for i := range m.conflicts {
		c := &m.conflicts[i]
		if t.Get(c.ID) != nil {
			c.Path = t.Path(c.ID)
		}
		if c.CopyID != (tree.ID{}) && t.Get(c.CopyID) != nil {
			c.CopyPath = t.Path(c.CopyID)
		}
	}
	sortConflicts(m.conflicts)
	return &Result{Tree: t, Conflicts: m.conflicts}, nil
}
