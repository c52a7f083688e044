package merge

import (
	"bytes"
	"slices"
	"strings"

	"github.com/jax-desktop/jax/store/tree"
)

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
