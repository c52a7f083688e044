package chunker

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand"
	"testing"
)

func gearFor(seed int64) *[256]uint64 {
	var g [256]uint64
	r := rand.New(rand.NewSource(seed))
	for i := range g {
		g[i] = r.Uint64()
	}
	return &g
}

func chunks(t testing.TB, data []byte, g *[256]uint64) [][32]byte {
	c := New(bytes.NewReader(data), g)
	var out [][32]byte
	total := 0
	for {
		b, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxSize {
			t.Fatalf("chunk of %d bytes exceeds max", len(b))
		}
		total += len(b)
		out = append(out, sha256.Sum256(b))
	}
	if total != len(data) {
		t.Fatalf("chunks cover %d of %d bytes", total, len(data))
	}
	return out
}

func TestChunkerBoundsAndCoverage(t *testing.T) {
	data := make([]byte, 20<<20)
	rand.New(rand.NewSource(1)).Read(data)
	hs := chunks(t, data, gearFor(1))
	avg := len(data) / len(hs)
	if avg < MinSize || avg > 2*AvgSize {
		t.Fatalf("average chunk %d far from target %d", avg, AvgSize)
	}
	for _, n := range []int{0, 1, MinSize, MinSize + 1, MaxSize + 7} {
		chunks(t, data[:n], gearFor(1))
	}
	// In memory, the same cuts.
	c := NewBytes(data, gearFor(1))
	for i := 0; ; i++ {
		b, err := c.Next()
		if err == io.EOF {
			if i != len(hs) {
				t.Fatalf("%d chunks in memory, %d streamed", i, len(hs))
			}
			break
		}
		if sha256.Sum256(b) != hs[i] {
			t.Fatalf("chunk %d differs in memory", i)
		}
	}
}

// A one-byte edit in the middle must leave almost every chunk unchanged.
func TestChunkerLocality(t *testing.T) {
	data := make([]byte, 32<<20)
	rand.New(rand.NewSource(2)).Read(data)
	a := chunks(t, data, gearFor(3))
	data[len(data)/2] ^= 1
	b := chunks(t, data, gearFor(3))
	have := map[[32]byte]bool{}
	for _, h := range a {
		have[h] = true
	}
	changed := 0
	for _, h := range b {
		if !have[h] {
			changed++
		}
	}
	if changed > 2 {
		t.Fatalf("one-byte edit changed %d chunks", changed)
	}
}

// Different gear keys must cut differently (keyed boundaries).
func TestChunkerKeyed(t *testing.T) {
	data := make([]byte, 8<<20)
	rand.New(rand.NewSource(4)).Read(data)
	if Cut(data, gearFor(5)) == Cut(data, gearFor(6)) && Cut(data[1<<20:], gearFor(5)) == Cut(data[1<<20:], gearFor(6)) {
		t.Fatal("boundaries do not depend on the key")
	}
}

func BenchmarkChunker(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.New(rand.NewSource(1)).Read(data)
	g := gearFor(1)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		c := New(bytes.NewReader(data), g)
		for {
			if _, err := c.Next(); err != nil {
				break
			}
		}
	}
}

// The two-bytes-a-step fast path must cut exactly where the reference does.
func TestCutMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for round := 0; round < 200; round++ {
		g := gearFor(int64(round))
		n := MinSize + r.Intn(MaxSize+MinSize)
		data := make([]byte, n)
		r.Read(data)
		if round%3 == 0 { // low-entropy data hits the masks in other places
			for i := range data {
				data[i] &= 0x3
			}
		}
		if got, want := Cut(data, g), cutSlow(data, g); got != want {
			t.Fatalf("round %d (len %d): Cut=%d, reference=%d", round, n, got, want)
		}
	}
}
