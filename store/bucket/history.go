package bucket

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/tree"
)

// VersionInfo describes one version in a history.
type VersionInfo struct {
	Link    blob.ID
	Height  uint64
	Author  tree.DeviceID
	Time    time.Time
	Parents []blob.ID
	Merge   bool
}

// History lists the current version and all its ancestors, newest first.
func (b *Bucket) History() ([]VersionInfo, error) {
	head, err := b.HeadLink()
	if err != nil {
		return nil, err
	}
	all, err := b.store.DB.Versions(b.ID.String())
	if err != nil {
		return nil, err
	}
	byLink := make(map[blob.ID]db.Version, len(all))
	for _, v := range all {
		byLink[blob.ID(v.Link)] = v
	}
	seen := map[blob.ID]bool{head: true}
	queue := []blob.ID{head}
	var out []VersionInfo
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		v, ok := byLink[l]
		if !ok {
			return nil, fmt.Errorf("version %s is missing from the log", l.Short())
		}
		vi := VersionInfo{Link: l, Height: v.Height, Author: tree.DeviceID(v.Author), Time: time.Unix(0, v.Time), Merge: v.IsMerge}
		for _, p := range v.Parents {
			pl := blob.ID(p)
			vi.Parents = append(vi.Parents, pl)
			if !seen[pl] {
				seen[pl] = true
				queue = append(queue, pl)
			}
		}
		out = append(out, vi)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Height != out[j].Height {
			return out[i].Height > out[j].Height
		}
		return bytes.Compare(out[i].Link[:], out[j].Link[:]) < 0
	})
	return out, nil
}

// Resolve turns a version selector into a link: "" is the current version, a
// number is the height of an ancestor of the current version, anything else
// a prefix (4+ hex digits) of a version's link.
func (b *Bucket) Resolve(sel string) (blob.ID, error) {
	if sel == "" {
		return b.HeadLink()
	}
	hist, err := b.History()
	if err != nil {
		return blob.ID{}, err
	}
	var hits []VersionInfo
	if h, err := strconv.ParseUint(sel, 10, 64); err == nil {
		for _, v := range hist {
			if v.Height == h {
				hits = append(hits, v)
			}
		}
	}
	if len(hits) == 0 && len(sel) >= 4 {
		if _, err := hex.DecodeString(sel[:len(sel)&^1]); err == nil {
			for _, v := range hist {
				if strings.HasPrefix(v.Link.String(), strings.ToLower(sel)) {
					hits = append(hits, v)
				}
			}
		}
	}
	switch len(hits) {
	case 0:
		return blob.ID{}, fmt.Errorf("bucket %s has no version %q (see 'jax bucket history')", b.Name, sel)
	case 1:
		return hits[0].Link, nil
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Link.Short())
	}
	return blob.ID{}, fmt.Errorf("version %q is %w: it matches %s; give one of these ids", sel, ErrAmbiguous, strings.Join(ids, ", "))
}

// PathChange is one change to a path in its history.
type PathChange struct {
	Version VersionInfo
	Change  string // created, modified, renamed, deleted
	Path    string
	Entry   *tree.Entry // nil when deleted
}

// PathHistory lists the versions in which the entry at p (or, if p no longer
// exists, the last entry that was there) changed, newest first.
func (b *Bucket) PathHistory(p string) ([]PathChange, error) {
	hist, err := b.History()
	if err != nil {
		return nil, err
	}
	trees := make([]*tree.Snapshot, len(hist))
	var id *tree.ID
	for i, v := range hist {
		ver, err := b.Load(v.Link)
		if err != nil {
			return nil, err
		}
		trees[i] = ver.Tree
		if id == nil {
			if e, err := ver.Tree.Lookup(p); err == nil {
				id = &e.ID
			}
		}
	}
	if id == nil {
		return nil, fmt.Errorf("%s: %w in any version", p, tree.ErrNotFound)
	}
	var out []PathChange
	var prev *tree.Entry
	var prevPath string
	for i := len(hist) - 1; i >= 0; i-- { // oldest first
		e := trees[i].Get(*id)
		var ch string
		switch {
		case e == nil && prev != nil:
			ch = "deleted"
		case e != nil && prev == nil:
			ch = "created"
		case e != nil && !e.SameContent(prev):
			ch = "modified"
		case e != nil && trees[i].Path(e.ID) != prevPath:
			ch = "renamed"
		}
		if ch != "" {
			pc := PathChange{Version: hist[i], Change: ch, Entry: e, Path: prevPath}
			if e != nil {
				pc.Path = trees[i].Path(e.ID)
			}
			out = append(out, pc)
		}
		prev = e
		if e != nil {
			prevPath = trees[i].Path(e.ID)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Restore puts p back as it was in the version sel, as a new version. A
// directory is restored with everything in it; what is at p now is replaced.
func (b *Bucket) Restore(ctx context.Context, p, sel string) (*Version, error) {
	link, err := b.Resolve(sel)
	if err != nil {
		return nil, err
	}
	old, err := b.Load(link)
	if err != nil {
		return nil, err
	}
	oe, err := old.Tree.Lookup(p)
	if err != nil {
		return nil, fmt.Errorf("%s did not exist in version %d: %w", p, old.Manifest.Height, err)
	}
	return b.Edit(ctx, func(tx *Tx) error {
		if oe.ID == tree.Root {
			for _, c := range tx.Tree.Children(tree.Root) {
				tx.Tree.DeleteTree(c.ID)
			}
			for _, c := range old.Tree.Children(tree.Root) {
				restoreInto(tx, old.Tree, c, tree.Root, c.Name)
			}
			tx.touch(tree.Root)
			return nil
		}
		dir, name, err := tx.parentOf(p, true)
		if err != nil {
			return err
		}
		if cur := tx.Tree.Child(dir.ID, name); cur != nil {
			tx.Tree.DeleteTree(cur.ID)
		}
		restoreInto(tx, old.Tree, oe, dir.ID, name)
		tx.touch(dir.ID)
		return nil
	})
}

// restoreInto copies e (and its subtree) from an old tree into tx. Entries
// keep their old IDs unless the ID lives elsewhere in the current tree.
func restoreInto(tx *Tx, from *tree.Snapshot, e *tree.Entry, parent tree.ID, name string) {
	c := e.Clone()
	c.Parent, c.Name = parent, name
	if tx.Tree.Get(c.ID) != nil {
		c.ID = tree.NewID()
	}
	tx.Tree.Put(c)
	if e.Kind == tree.Dir {
		for _, k := range from.Children(e.ID) {
			restoreInto(tx, from, k, c.ID, k.Name)
		}
	}
}
