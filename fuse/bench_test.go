//go:build linux

package fuse

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jax-desktop/jax/store/bucket"
)

// dropCaches writes back dirty pages and drops the kernel's page cache, so
// reads come from disk as in bench/fuse.sh (root only; skipped otherwise).
func dropCaches(b *testing.B) {
	b.Helper()
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		b.Skipf("drop caches: %v", err)
	}
}

// benchLog shows the filesystem's errors, which a benchmark would hide.
func benchLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// cpuTime is the CPU this process used so far, user and system: the
// filesystem and the benchmark's own system calls run in it, so the figure
// holds up better than wall time on a busy machine.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSeqRead reads a 256 MiB file through the mount with caches
// dropped first (the stored blobs come from disk).
func BenchmarkSeqRead(b *testing.B) {
	ctx := context.Background()
	s := bucket.TestStore(b, "laptop")
	bk, err := s.Create(ctx, "docs")
	if err != nil {
		b.Fatal(err)
	}
	const size = 256 << 20
	src := randBytes(3, size)
	f, err := os.CreateTemp(b.TempDir(), "src")
	if err != nil {
		b.Fatal(err)
	}
	f.Write(src)
	f.Seek(0, 0)
	if _, err := bk.Add(ctx, f, "/big", 0o644, 1, nil); err != nil {
		b.Fatal(err)
	}
	f.Close()
	m := mountBucket(b, s, bk, Options{Log: benchLog()})
	if ra := os.Getenv("JAX_BENCH_RA_KB"); ra != "" {
		var st unix.Stat_t
		unix.Stat(m.dir, &st)
		p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
		old, _ := os.ReadFile(p)
		b.Logf("%s was %s", p, old)
		if err := os.WriteFile(p, []byte(ra), 0); err != nil {
			b.Fatal(err)
		}
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dropCaches(b)
		b.StartTimer()
		c0 := cpuTime()
		f, err := os.Open(m.path("big"))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
		f.Close()
		if err != nil || n != size {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkSeqWrite writes a 256 MiB file through the mount and fsyncs it.
func BenchmarkSeqWrite(b *testing.B) {
	m := mountBucket(b, nil, nil, Options{Log: benchLog()})
	const size = 256 << 20
	src := randBytes(4, size)
	b.SetBytes(size)
	var wt, st, cpu time.Duration
	for i := 0; i < b.N; i++ {
		src[i] ^= 1
		c0 := cpuTime()
		t0 := time.Now()
		f, err := os.Create(m.path("big"))
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < size && err == nil; off += 1 << 20 {
			_, err = f.Write(src[off : off+1<<20])
		}
		t1 := time.Now()
		if err == nil {
			err = f.Sync()
		}
		t2 := time.Now()
		// Closed before failing: a process exiting with a file open on its
		// own mount would wait on itself.
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		wt += t1.Sub(t0)
		st += t2.Sub(t1)
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(wt.Milliseconds())/float64(b.N), "write-ms/op")
	b.ReportMetric(float64(st.Milliseconds())/float64(b.N), "fsync-ms/op")
}

// BenchmarkCreateSmall creates 1,000 small files per op, as `echo > f`
// would: create, write, close.
func BenchmarkCreateSmall(b *testing.B) {
	m := mountBucket(b, nil, nil, Options{SaveDelay: 200 * time.Millisecond, Log: benchLog()})
	c0 := cpuTime()
	defer func() { b.ReportMetric(float64((cpuTime()-c0).Milliseconds())/float64(b.N), "cpu-ms/op") }()
	for i := 0; i < b.N; i++ {
		dir := m.path(fmt.Sprintf("d%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 1000; j++ {
			if err := os.WriteFile(fmt.Sprintf("%s/f%d", dir, j), []byte(fmt.Sprintln(j)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}
