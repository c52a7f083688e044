package bucket

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func BenchmarkWriteData(b *testing.B) {
	s := newStore(b, "bench")
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
	s := newStore(b, "bench")
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
