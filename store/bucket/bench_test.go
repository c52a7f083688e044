package bucket

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/jax-desktop/jax/store/merge"
	"github.com/jax-desktop/jax/store/tree"
)

func BenchmarkWriteData(b *testing.B) {
	s := TestStore(b, "bench")
	bk, _ := s.Create(context.Background(), "b")
	data := randBytes(1, 256<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data[i] ^= 1 // new content each round, so nothing deduplicates
		if _, _, err := bk.WriteData(context.Background(), bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCat(b *testing.B) {
	s := TestStore(b, "bench")
	ctx := context.Background()
	bk, _ := s.Create(ctx, "b")
	v, err := bk.Add(ctx, bytes.NewReader(randBytes(1, 256<<20)), "/big", 0o644, 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(256 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bk.Cat(v, "/big", io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// Two versions that each changed 10,000 files of a 20,000-file tree (5,000
// on both sides), merged through the real store: trees loaded from sealed
// blobs, merged, the merge version written.
func BenchmarkMergeHeads10k(b *testing.B) {
	ctx := context.Background()
	fake := func(i, gen int) FileData {
		var c tree.ChunkRef
		binary.LittleEndian.PutUint64(c.Blob[:], uint64(i))
		binary.LittleEndian.PutUint64(c.Blob[8:], uint64(gen))
		c.Size = 100
		return FileData{Chunks: []tree.ChunkRef{c}, Size: 100, Mode: 0o644, MTime: int64(gen)}
	}
	put := func(tx *Tx, from, gen int) error {
		for i := from; i < from+10000; i++ {
			if _, err := tx.PutFile(fmt.Sprintf("/d%02d/f%05d", i%100, i), fake(i, gen)); err != nil {
				return err
			}
		}
		return nil
	}
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		bk, _ := TestStore(b, "bench").Create(ctx, "b")
		base, err := bk.Edit(ctx, func(tx *Tx) error {
			if err := put(tx, 0, 0); err != nil {
				return err
			}
			return put(tx, 10000, 0)
		})
		if err != nil {
			b.Fatal(err)
		}
		ours, theirs := base.Tree.Clone(), base.Tree.Clone()
		put(&Tx{Tree: ours}, 0, 1)
		put(&Tx{Tree: theirs}, 5000, 2)
		if _, err := bk.Save(ctx, base, ours, merge.Options{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := bk.Save(ctx, base, theirs, merge.Options{}) // head moved: commit, then merge
		if err != nil {
			b.Fatal(err)
		}
		if res.Action != merge.NeedCommit || len(res.Conflicts) != 5000 {
			b.Fatalf("%v with %d conflicts", res.Action, len(res.Conflicts))
		}
	}
}
