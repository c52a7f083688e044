package syncer

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"
)

// One small save on A until it is B's head, over loopback TCP.
func BenchmarkSaveToPeer(b *testing.B) {
	tn := newNet()
	a := tn.addNode(b, "laptop", Config{})
	d := tn.addNode(b, "desktop", Config{})
	id := shared(b, a, d)
	ab, _ := open(b, a, id)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := ab.Add(ctx, bytes.NewReader([]byte(fmt.Sprintf("edit %d", i))), "/notes.txt", 0o644, int64(i), nil)
		if err != nil {
			b.Fatal(err)
		}
		for d.head(b, id) != v.Link {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// A 64 MiB file saved on A until B has all of it.
func BenchmarkPullLargeFile(b *testing.B) {
	tn := newNet()
	a := tn.addNode(b, "laptop", Config{})
	d := tn.addNode(b, "desktop", Config{})
	id := shared(b, a, d)
	ab, _ := open(b, a, id)
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rand.Read(data)
		a.muted.Store(true) // saved first, announced when the clock runs
		v, err := ab.Add(context.Background(), bytes.NewReader(data), fmt.Sprintf("/big%d.bin", i), 0o644, 1, nil)
		if err != nil {
			b.Fatal(err)
		}
		a.muted.Store(false)
		b.StartTimer()
		a.eng.PeerUp(d.id)
		for d.head(b, id) != v.Link {
			time.Sleep(time.Millisecond)
		}
	}
}
