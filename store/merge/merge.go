package merge

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
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

// restoreParents brings back directories that one side deleted while the
// other still keeps something in them, with their own missing ancestors.
func (m *merger) restoreParents() {
	var orphans []*tree.Entry
	for id, e := range m.out {
		if id != tree.Root && m.out[e.Parent] == nil {
			orphans = append(orphans, e)
		}
	}
	for _, e := range orphans {
		for p := e.Parent; p != tree.Root && m.out[p] == nil; {
			// Only one side has p, or it would have been merged: the side that
			// placed a child in it.
			src, s := m.ours.Get(p), Ours
			if src == nil {
				src, s = m.theirs.Get(p), Theirs
			}
			if src == nil {
				break // invalid input; repaired below
			}
			m.out[p] = src
			c := Conflict{Kind: Restored, ID: p}
			if s == Ours {
				c.Ours = src.Rev
			} else {
				c.Theirs = src.Rev
			}
			m.conflict(c)
			p = src.Parent
		}
	}
	// Only invalid inputs leave an entry without a directory for a parent;
	// the root takes it in rather than failing the merge.
	for id, e := range m.out {
		if id == tree.Root {
			continue
		}
		if p := m.out[e.Parent]; p == nil || p.Kind != tree.Dir {
			m.edit(id).Parent = tree.Root
		}
	}
}

// breakCycles undoes, in every cycle made by concurrent moves, the move of
// the latest member (highest Rev, then ID): back to its base place if that
// does not lie inside itself, else to the root.
func (m *merger) breakCycles() {
	for {
		cycles := m.findCycles()
		if len(cycles) == 0 {
			return
		}
		var undo []*tree.Entry
		for _, c := range cycles {
			var x *tree.Entry
			for _, id := range c {
				e := m.out[id]
				if x == nil || cmpRevID(e, x) > 0 {
					x = e
				}
			}
			undo = append(undo, x)
		}
		slices.SortFunc(undo, func(a, b *tree.Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		for _, x := range undo {
			parent, name := tree.Root, x.Name
			if b := m.base.Get(x.ID); b != nil && b.ID != tree.Root {
				if p := m.out[b.Parent]; p != nil && p.Kind == tree.Dir && !m.under(b.Parent, x.ID) {
					parent, name = b.Parent, b.Name
				}
			}
			e := m.edit(x.ID)
			e.Parent, e.Name = parent, name
			m.conflict(Conflict{Kind: Cycle, ID: x.ID, Ours: revOf(m.ours.Get(x.ID)), Theirs: revOf(m.theirs.Get(x.ID))})
		}
	}
}

func cmpRevID(a, b *tree.Entry) int {
	if c := cmpRev(a.Rev, b.Rev); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// findCycles returns the members of every cycle of parent links in out.
func (m *merger) findCycles() [][]tree.ID {
	const (
		onPath = 1
		done   = 2
	)
	state := make(map[tree.ID]uint8, len(m.out))
	var cycles [][]tree.ID
	var path []tree.ID
	for id := range m.out {
		path = path[:0]
		cur := id
		for cur != tree.Root && state[cur] == 0 {
			state[cur] = onPath
			path = append(path, cur)
			cur = m.out[cur].Parent
		}
		if cur != tree.Root && state[cur] == onPath {
			i := slices.Index(path, cur)
			cycles = append(cycles, slices.Clone(path[i:]))
		}
		for _, p := range path {
			state[p] = done
		}
	}
	return cycles
}

// under reports whether id is x or lies below x in out.
func (m *merger) under(id, x tree.ID) bool {
	for steps := 0; steps <= len(m.out); steps++ {
		if id == x {
			return true
		}
		e := m.out[id]
		if id == tree.Root || e == nil {
			return false
		}
		id = e.Parent
	}
	return false // in another cycle, which will be broken on its own
}

// placeCopies puts each conflict copy next to the final place of its file.
//
// A copy already in the result was made by an earlier merge of the same
// conflict and merged like any other entry since: it is left as it is, so
// re-merging never makes a second copy, and if the other side has edited or
// emptied it, that was that side's decision about the losing data. A copy
// the merge of its ID dropped is made again: the losing side may have lost it
// to a merge that moved its data back into the file itself, and that data is
// the loser here, so the copy is its only place. Only when the losing side
// itself changed the copy while its file still held the data does it get a
// further copy, derived from the first: changing a copy is no decision about
// the file.
func (m *merger) placeCopies() {
	slices.SortFunc(m.copies, func(a, b copyReq) int { return bytes.Compare(a.id[:], b.id[:]) })
	for _, c := range m.copies {
		m.placeCopy(c)
	}
}

func (m *merger) placeCopy(c copyReq) {
	id := c.id
	for range 8 {
		e := m.out[id]
		if e == nil {
			orig := m.out[c.orig]
			e = c.loser.Clone()
			e.ID, e.Parent, e.Name = id, orig.Parent, m.conflictName(orig.Name, c.loser)
			m.out[e.ID] = e
			m.owned[e.ID] = true
			m.made[e.ID] = true
			break
		}
		if e.SameData(c.loser) {
			break
		}
		side := m.ours
		if c.side == Theirs {
			side = m.theirs
		}
		if l := side.Get(id); l == nil || l.SameData(c.loser) {
			break
		}
		id = copyID(id, c.loser.DataHash())
	}
	m.conflicts[c.conflict].CopyID = id
}

// dataKey groups entries that may hold the same data; SameData decides.
type dataKey struct {
	kind        tree.Kind
	size        int64
	n           int
	first, last [32]byte
	target      string
}

func keyOf(e *tree.Entry) dataKey {
	k := dataKey{kind: e.Kind, size: e.Size, n: len(e.Chunks), target: e.Target}
	if k.n > 0 {
		k.first, k.last = e.Chunks[0].Blob, e.Chunks[k.n-1].Blob
	}
	return k
}

type dataIndex map[dataKey][]*tree.Entry

func (x dataIndex) add(e *tree.Entry) {
	k := keyOf(e)
	x[k] = append(x[k], e)
}

// addIf adds e if its key is wanted.
func (x dataIndex) addIf(e *tree.Entry, want map[dataKey]bool) {
	if e.Kind == tree.Dir {
		return
	}
	if k := keyOf(e); want[k] {
		x[k] = append(x[k], e)
	}
}

// holders lists the entries holding e's data.
func (x dataIndex) holders(e *tree.Entry) []*tree.Entry {
	var hs []*tree.Entry
	for _, h := range x[keyOf(e)] {
		if h.SameData(e) {
			hs = append(hs, h)
		}
	}
	return hs
}

// keepShared makes sure that data both sides still hold survives. Merging
// entry by entry can lose it when it sits in two entries, typically a file
// and its conflict copy, and each side gave up a different one: one side
// deleted the copy because the file holds the data too, the other put new
// data in the file because the copy holds the old. Neither gave up the data
// itself, so one of its entries comes back: the first by ID among those one
// side dropped, or else a conflict copy of the first overwritten one. It
// reports whether anything came back.
func (m *merger) keepShared() bool {
	var gone []*tree.Entry // versions the result does not hold at their ID
	for _, s := range []*tree.Snapshot{m.ours, m.theirs} {
		s.Each(func(e *tree.Entry) {
			if e.Kind == tree.Dir || len(e.Chunks) == 0 && e.Target == "" {
				return
			}
			if o := m.out[e.ID]; o == nil || o != e && !o.SameData(e) {
				gone = append(gone, e)
			}
		})
	}
	if len(gone) == 0 {
		return false
	}
	// Index only the data that went missing somewhere: most merges have
	// thousands of overwritten versions and none of them shared.
	want := make(map[dataKey]bool, len(gone))
	for _, e := range gone {
		want[keyOf(e)] = true
	}
	out := dataIndex{}
	for _, e := range m.out {
		out.addIf(e, want)
	}
	gone = slices.DeleteFunc(gone, func(e *tree.Entry) bool { return len(out.holders(e)) > 0 })
	if len(gone) == 0 {
		return false
	}
	clear(want)
	for _, e := range gone {
		want[keyOf(e)] = true
	}
	ours, theirs := dataIndex{}, dataIndex{}
	m.ours.Each(func(e *tree.Entry) { ours.addIf(e, want) })
	m.theirs.Each(func(e *tree.Entry) { theirs.addIf(e, want) })
	slices.SortFunc(gone, byID)
	restored := false
	for _, e := range gone {
		if len(out.holders(e)) > 0 {
			continue
		}
		ho, ht := ours.holders(e), theirs.holders(e)
		if len(ho) == 0 || len(ht) == 0 {
			continue
		}
		hs := append(ho, ht...)
		slices.SortFunc(hs, byID)
		side := func(h *tree.Entry) Side {
			if ours.has(h) {
				return Ours
			}
			return Theirs
		}
		if i := slices.IndexFunc(hs, func(h *tree.Entry) bool { return m.out[h.ID] == nil }); i >= 0 {
			h := hs[i]
			m.out[h.ID] = h
			c := Conflict{Kind: Restored, ID: h.ID}
			if side(h) == Ours {
				c.Ours = h.Rev
			} else {
				c.Theirs = h.Rev
			}
			m.conflict(c)
		} else {
			// Every holder's ID holds other data now: copy the first.
			h := hs[0]
			m.addCopy(h.ID, h, side(h), Conflict{Kind: EditEdit, ID: h.ID, Ours: revOf(m.ours.Get(h.ID)), Theirs: revOf(m.theirs.Get(h.ID))})
			m.placeCopy(m.copies[len(m.copies)-1])
		}
		out.add(e)
		restored = true
	}
	return restored
}

func byID(a, b *tree.Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) }

func (x dataIndex) has(e *tree.Entry) bool {
	return slices.Contains(x[keyOf(e)], e)
}

// resolveNames makes names unique in every directory, from the root down, so
// that children moved by a directory merge are checked in their new home.
func (m *merger) resolveNames() {
	kids := make(map[tree.ID][]tree.ID)
	for id, e := range m.out {
		if id != tree.Root {
			kids[e.Parent] = append(kids[e.Parent], id)
		}
	}
	queue := []tree.ID{tree.Root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		m.resolveDir(d, kids)
		for _, id := range kids[d] {
			if m.out[id].Kind == tree.Dir {
				queue = append(queue, id)
			}
		}
	}
}

func (m *merger) resolveDir(d tree.ID, kids map[tree.ID][]tree.ID) {
	ids := kids[d]
	if len(ids) < 2 {
		return
	}
	groups := make(map[string][]*tree.Entry, len(ids))
	for _, id := range ids {
		e := m.out[id]
		groups[e.Name] = append(groups[e.Name], e)
	}
	if len(groups) == len(ids) {
		return
	}
	taken := make(map[string]bool, len(groups))
	var clashing []string
	for n, g := range groups {
		taken[n] = true
		if len(g) > 1 {
			clashing = append(clashing, n)
		}
	}
	slices.Sort(clashing)

	type rename struct {
		id   tree.ID
		want string
	}
	var renames []rename
	gone := map[tree.ID]bool{}
	for _, n := range clashing {
		g := groups[n]
		slices.SortFunc(g, func(a, b *tree.Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		var made, dirs, others []*tree.Entry
		for _, e := range g {
			switch {
			case m.made[e.ID]:
				made = append(made, e)
			case e.Kind == tree.Dir:
				dirs = append(dirs, e)
			default:
				others = append(others, e)
			}
		}
		switch {
		case len(dirs) > 0:
			// A directory keeps the name: renaming it would move everything
			// below it. Other directories are merged into it, files and
			// symlinks get conflict names.
			w := dirs[0]
			for _, e := range dirs[1:] {
				if cmpRevID(e, w) > 0 {
					w = e
				}
			}
			for _, l := range dirs {
				if l != w {
					m.mergeDirs(w.ID, l.ID, kids)
					gone[l.ID] = true
					m.conflict(Conflict{Kind: DirsMerged, ID: w.ID, CopyID: l.ID, Ours: w.Rev, Theirs: l.Rev})
				}
			}
			for _, f := range others {
				renames = append(renames, rename{f.ID, m.conflictName(n, f)})
				m.conflict(Conflict{Kind: TypeClash, ID: w.ID, CopyID: f.ID, Ours: w.Rev, Theirs: f.Rev})
			}
		case len(others) > 0:
			w, losers, keep, revs := m.pickName(others)
			for i, l := range losers {
				if keep {
					renames = append(renames, rename{l.ID, m.conflictName(n, l)})
				} else {
					delete(m.out, l.ID)
					gone[l.ID] = true
				}
				m.conflict(Conflict{Kind: NameClash, ID: w.ID, CopyID: l.ID, Ours: revs[i][0], Theirs: revs[i][1]})
			}
		default:
			made = made[1:] // copies only: the first keeps the name
		}
		for _, e := range made {
			renames = append(renames, rename{e.ID, n})
		}
	}
	if len(gone) > 0 {
		kids[d] = slices.DeleteFunc(kids[d], func(id tree.ID) bool { return gone[id] })
	}
	slices.SortFunc(renames, func(a, b rename) int {
		if c := strings.Compare(a.want, b.want); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	for _, r := range renames {
		name := r.want
		for i := 2; taken[name]; i++ {
			name = numbered(r.want, i)
		}
		taken[name] = true
		m.edit(r.id).Name = name
	}
}

// pickName decides which of several files wanting one name keeps it. Two
// files placed one by each side go to the resolver; anything else (a clash
// the merge itself caused) gets the default rule, the later version wins.
func (m *merger) pickName(es []*tree.Entry) (w *tree.Entry, losers []*tree.Entry, keep bool, revs [][2]tree.Rev) {
	if len(es) == 2 {
		o, t := es[0], es[1]
		so, st := m.sideOf(o), m.sideOf(t)
		if so == Theirs && st == Ours {
			o, t, so, st = t, o, st, so
		}
		if so == Ours && st == Theirs {
			d := resolve(m.res, Clash{Kind: NameClash, Ours: o, Theirs: t})
			if d.Winner == Ours {
				return o, []*tree.Entry{t}, d.KeepLoser, [][2]tree.Rev{{o.Rev, t.Rev}}
			}
			return t, []*tree.Entry{o}, d.KeepLoser, [][2]tree.Rev{{o.Rev, t.Rev}}
		}
	}
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b *tree.Entry) int { return cmpVersion(b, a) })
	for _, l := range es[1:] {
		revs = append(revs, [2]tree.Rev{es[0].Rev, l.Rev})
	}
	return es[0], es[1:], true, revs
}

// sideOf says which inputs have e where the result puts it.
func (m *merger) sideOf(e *tree.Entry) Side {
	var s Side
	if o := m.ours.Get(e.ID); o != nil && o.SamePlace(e) {
		s |= Ours
	}
	if t := m.theirs.Get(e.ID); t != nil && t.SamePlace(e) {
		s |= Theirs
	}
	return s
}

// mergeDirs moves the children of directory l into w and removes l.
func (m *merger) mergeDirs(w, l tree.ID, kids map[tree.ID][]tree.ID) {
	for _, c := range kids[l] {
		m.edit(c).Parent = w
	}
	kids[w] = append(kids[w], kids[l]...)
	delete(kids, l)
	delete(m.out, l)
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

// keeps reports whether both sides have directory id.
func (m *merger) keeps(id tree.ID) bool {
	o, t := m.ours.Get(id), m.theirs.Get(id)
	return o != nil && t != nil && o.Kind == tree.Dir && t.Kind == tree.Dir
}
