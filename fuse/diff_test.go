package fuse

import (
	"testing"

	"github.com/jax-desktop/jax/store/tree"
)

func TestDiffTrees(t *testing.T) {
	a := tree.New()
	dir := &tree.Entry{ID: tree.NewID(), Name: "d", Kind: tree.Dir, Mode: 0o755}
	same := &tree.Entry{ID: tree.NewID(), Name: "same", Kind: tree.File}
	moved := &tree.Entry{ID: tree.NewID(), Name: "moved", Kind: tree.File}
	gone := &tree.Entry{ID: tree.NewID(), Name: "gone", Kind: tree.File}
	edited := &tree.Entry{ID: tree.NewID(), Name: "edited", Kind: tree.File, Size: 1}
	for _, e := range []*tree.Entry{dir, same, moved, gone, edited} {
		a.Put(e)
	}
	b := a.Clone()
	restamped := same.Clone()
	restamped.Rev.Height = 9 // the kernel never sees Revs
	b.Put(restamped)
	m := moved.Clone()
	m.Parent, m.Name = dir.ID, "there"
	b.Put(m)
	b.Delete(gone.ID)
	ed := edited.Clone()
	ed.Size = 2
	b.Put(ed)
	added := &tree.Entry{ID: tree.NewID(), Name: "added", Kind: tree.File}
	b.Put(added)

	inv := diffTrees(a, b)
	wantEntries := map[entryRef]bool{
		{tree.Root, "moved"}: true, {dir.ID, "there"}: true, {tree.Root, "gone"}: true, {tree.Root, "added"}: true,
	}
	got := map[entryRef]bool{}
	for _, e := range inv.entries {
		got[e] = true
	}
	if len(got) != len(wantEntries) {
		t.Errorf("entries %v, want %v", got, wantEntries)
	}
	for e := range wantEntries {
		if !got[e] {
			t.Errorf("missing entry %v", e)
		}
	}
	content := map[tree.ID]bool{}
	for _, id := range inv.content {
		content[id] = true
	}
	if !content[edited.ID] || !content[gone.ID] || content[same.ID] || content[moved.ID] {
		t.Errorf("content %v", content)
	}
	if inv := diffTrees(a, a.Clone()); len(inv.entries)+len(inv.content) != 0 {
		t.Errorf("identical trees differ: %+v", inv)
	}
}
