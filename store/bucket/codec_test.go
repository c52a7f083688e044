package bucket

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/jax-desktop/jax/store/merge"
	"github.com/jax-desktop/jax/store/tree"
)

func fakeData(i, n int) FileData {
	cs := make([]tree.ChunkRef, n)
	for j := range cs {
		binary.LittleEndian.PutUint64(cs[j].Blob[:], uint64(i))
		binary.LittleEndian.PutUint64(cs[j].Blob[8:], uint64(j))
		cs[j].Size = 100
	}
	return FileData{Chunks: cs, Size: int64(100 * n), Mode: 0o644, MTime: int64(i)}
}

// Saves write only the directories that changed; what they write must load
// back as the saved tree however the tree changed in between.
func TestSavesReuseUnchangedDirectories(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, err := s.Create(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	steps := []func(tx *Tx) error{
		func(tx *Tx) error {
			for i, p := range []string{"/a/x", "/a/y", "/b/z", "/b/c/deep"} {
				if _, err := tx.PutFile(p, fakeData(i, 1)); err != nil {
					return err
				}
			}
			_, err := tx.PutFile("/b/long", fakeData(9, inlineChunks+5))
			return err
		},
		func(tx *Tx) error { _, err := tx.PutFile("/b/c/deep", fakeData(10, 2)); return err },
		func(tx *Tx) error { return tx.Move("/a/y", "/b/y") },
		func(tx *Tx) error { _, err := tx.PutFile("/b/long", fakeData(11, inlineChunks+6)); return err },
		func(tx *Tx) error { return tx.Move("/b/c", "/a/c") },
		func(tx *Tx) error { return tx.Remove("/a", true) },
		func(tx *Tx) error { _, err := tx.Mkdir("/a", 0o700, false); return err },
	}
	for i, step := range steps {
		v, err := b.Edit(ctx, step)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		fresh, err := s.Open(b.ID.String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := fresh.Load(v.Link)
		if err != nil {
			t.Fatalf("step %d: load: %v", i, err)
		}
		if !got.Tree.Equal(v.Tree) {
			t.Fatalf("step %d: the tree loads back different from the one saved", i)
		}
	}
}

// One changed file in a 20,000-file tree: the save writes the directories
// on its path, not all 100.
func BenchmarkSaveOneChange20k(b *testing.B) {
	ctx := context.Background()
	bk, _ := TestStore(b, "bench").Create(ctx, "b")
	base, err := bk.Edit(ctx, func(tx *Tx) error {
		for i := 0; i < 20000; i++ {
			if _, err := tx.PutFile(fmt.Sprintf("/d%02d/f%05d", i%100, i), fakeData(i, 1)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := base.Tree.Clone()
		if _, err := (&Tx{Tree: t}).PutFile("/d07/f00007", fakeData(100000+i, 1)); err != nil {
			b.Fatal(err)
		}
		res, err := bk.Save(ctx, base, t, merge.Options{})
		if err != nil {
			b.Fatal(err)
		}
		base = res.Version
	}
}
