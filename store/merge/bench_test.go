package merge

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/jax-desktop/jax/store/tree"
)

func benchID(i int) tree.ID {
	var id tree.ID
	binary.LittleEndian.PutUint64(id[:], uint64(i+1)*0x9e3779b97f4a7c15)
	binary.LittleEndian.PutUint64(id[8:], uint64(i))
	return id
}

func benchChunk(tag string, i int) []tree.ChunkRef {
	var b [32]byte
	copy(b[:], tag)
	binary.LittleEndian.PutUint64(b[24:], uint64(i))
	return []tree.ChunkRef{{Blob: b, Size: 4096}}
}

// mergeBench builds a base of 20,000 files in 200 directories and two heads
// that each changed 10,000 of them. Ours edits files 0-9,999; theirs renames
// files 8,000-12,999 and edits 13,000-17,999, so 2,000 files were renamed on
// one side and edited on the other (no conflict) and theirs also edits 1,000
// of ours' files (edit/edit: 1,000 conflict copies). Both sides also add and
// delete a few files.
func mergeBench(b *testing.B) (base, ours, theirs *tree.Snapshot) {
	const dirs, files = 200, 20000
	base = tree.New()
	r0 := rv(1, devA)
	for d := range dirs {
		base.Put(&tree.Entry{ID: benchID(1e6 + d), Name: fmt.Sprintf("dir%03d", d), Kind: tree.Dir, Mode: 0o755, Rev: r0})
	}
	for i := range files {
		base.Put(&tree.Entry{ID: benchID(i), Parent: benchID(1e6 + i%dirs), Name: fmt.Sprintf("file%05d.txt", i),
			Kind: tree.File, Mode: 0o644, MTime: t0, Size: 4096, Chunks: benchChunk("base", i), Rev: r0})
	}
	ours, theirs = base.Clone(), base.Clone()
	edit := func(s *tree.Snapshot, i int, tag string, r tree.Rev) {
		e := s.Get(benchID(i)).Clone()
		e.Chunks, e.MTime, e.Rev = benchChunk(tag, i), t0+int64(r.Height), r
		s.Put(e)
	}
	ra, rb := rv(2, devA), rv(2, devB)
	for i := range 10000 {
		edit(ours, i, "ours", ra)
	}
	for i := 8000; i < 13000; i++ {
		e := theirs.Get(benchID(i)).Clone()
		e.Name, e.Rev = "renamed-"+e.Name, rb
		theirs.Put(e)
	}
	for i := 13000; i < 18000; i++ {
		edit(theirs, i, "theirs", rb)
	}
	for i := range 1000 {
		edit(theirs, i, "theirs", rb)
	}
	for i := range 100 {
		ours.Delete(benchID(19000 + i))
		theirs.Delete(benchID(19500 + i))
		ours.Put(&tree.Entry{ID: benchID(2e6 + i), Parent: benchID(1e6), Name: fmt.Sprintf("new-ours-%d", i), Kind: tree.File, Chunks: benchChunk("new", i), Rev: ra})
		theirs.Put(&tree.Entry{ID: benchID(3e6 + i), Parent: benchID(1e6), Name: fmt.Sprintf("new-theirs-%d", i), Kind: tree.File, Chunks: benchChunk("new", i), Rev: rb})
	}
	for _, s := range []*tree.Snapshot{base, ours, theirs} {
		if err := s.Validate(); err != nil {
			b.Fatal(err)
		}
	}
	return base, ours, theirs
}

func BenchmarkMerge10k(b *testing.B) {
	base, ours, theirs := mergeBench(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := Merge(base, ours, theirs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Conflicts) != 1000 || r.Tree.Len() != 1+200+20000-200+200+1000 {
			b.Fatalf("%d conflicts, %d entries", len(r.Conflicts), r.Tree.Len())
		}
	}
}

// BenchmarkCommonAncestors walks a history of 10,000 versions: a fork 5
// versions below the tip (the common case: the walk stops at the fork), and
// a fork at the first version (the whole history is walked once).
func BenchmarkCommonAncestors(b *testing.B) {
	r := newRepo()
	h := chain(r, Link{}, 10000, devA)
	tip := h[len(h)-1]
	recent := chain(r, h[len(h)-6], 3, devB)[2]
	old := chain(r, h[0], 3, devB)[2]
	for _, c := range []struct {
		name  string
		other Link
		want  Link
	}{{"fork5", recent, h[len(h)-6]}, {"fork10000", old, h[0]}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				cas, err := CommonAncestors(r, tip, c.other)
				if err != nil || len(cas) != 1 || cas[0] != c.want {
					b.Fatal(cas, err)
				}
			}
		})
	}
}
