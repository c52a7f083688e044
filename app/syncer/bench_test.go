package syncer

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/bucket"
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
	var cpu time.Duration
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
		c0 := cpuTime()
		a.eng.PeerUp(d.id)
		for d.head(b, id) != v.Link {
			time.Sleep(time.Millisecond)
		}
		cpu += cpuTime() - c0
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the CPU time this process used so far (both devices run in it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// 5,000 small files in one version, saved on A, until B has them all.
func BenchmarkPullSmallFiles(b *testing.B) {
	tn := newNet()
	a := tn.addNode(b, "laptop", Config{})
	d := tn.addNode(b, "desktop", Config{})
	id := shared(b, a, d)
	ab, _ := open(b, a, id)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a.muted.Store(true)
		v, err := ab.Edit(context.Background(), func(tx *bucket.Tx) error {
			for f := 0; f < 5000; f++ {
				data := make([]byte, 2000)
				rand.Read(data)
				cs, n, err := ab.WriteData(context.Background(), bytes.NewReader(data), nil)
				if err != nil {
					return err
				}
				if _, err := tx.PutFile(fmt.Sprintf("/run%d/d%02d/f%04d", i, f/100, f), bucket.FileData{Chunks: cs, Size: n, Mode: 0o644, MTime: 1}); err != nil {
					return err
				}
			}
			return nil
		})
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
