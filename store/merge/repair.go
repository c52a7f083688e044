package merge

import (
	"bytes"
	"slices"

	"github.com/jax-desktop/jax/store/tree"
)

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
