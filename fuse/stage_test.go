package fuse

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// checkFile asserts that p reads back as want through the mount and, after
// a flush, from the saved version.
func (m *testMount) checkFile(t *testing.T, p string, want []byte) {
	t.Helper()
	if got := mustRead(t, m.path(p)); !bytes.Equal(got, want) {
		t.Fatalf("%s reads back %d bytes, want %d (equal prefix %d)", p, len(got), len(want), commonPrefix(got, want))
	}
	if err := m.fs.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.stored(t, "/"+p); !bytes.Equal(got, want) {
		t.Fatalf("%s stored as %d bytes, want %d (equal prefix %d)", p, len(got), len(want), commonPrefix(got, want))
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// A large file written sequentially streams into chunks; reading it while
// open, writing on after that and writing in its middle all see one file.
func TestStreamedWriteThenReadAndRewrite(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	data := randBytes(11, 6<<20+12345)
	f, err := os.Create(m.path("big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	half := 3 << 20
	for off := 0; off < half; off += 100000 {
		if _, err := f.Write(data[off:min(off+100000, half)]); err != nil {
			t.Fatal(err)
		}
	}
	// A reader ends the stream and reads its chunks.
	if got := mustRead(t, m.path("big")); !bytes.Equal(got, data[:half]) {
		t.Fatalf("read while streaming: %d bytes, equal prefix %d", len(got), commonPrefix(got, data[:half]))
	}
	// Appending after that moves the contents to a staging file.
	if _, err := f.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	copy(data[1<<20:], "in the middle")
	if _, err := f.WriteAt([]byte("in the middle"), 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m.checkFile(t, "big", data)
}

// fsync commits a stream; writing on afterwards keeps what was committed.
func TestStreamFsyncThenAppend(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	data := randBytes(12, 3<<20)
	f, err := os.Create(m.path("log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data[:2<<20]); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.stored(t, "/log"); !bytes.Equal(got, data[:2<<20]) {
		t.Fatalf("after fsync stored %d bytes", len(got))
	}
	if _, err := f.Write(data[2<<20:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m.checkFile(t, "log", data)
}

// More large writers than streams: the others stage in files; all land.
func TestManyLargeWriters(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	const n = 3 * maxStreams
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := randBytes(int64(100+i), 1<<20+i)
			f, err := os.Create(m.path(fmt.Sprintf("f%d", i)))
			if err != nil {
				errs <- err
				return
			}
			for off := 0; off < len(data); off += 64 << 10 {
				if _, err := f.Write(data[off:min(off+64<<10, len(data))]); err != nil {
					errs <- err
				}
			}
			if err := f.Close(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m.checkFile(t, fmt.Sprintf("f%d", i), randBytes(int64(100+i), 1<<20+i))
	}
}

// Small files live in memory: overwrites, holes and truncation behave as on
// disk, and growing past the in-memory limit by truncation moves to a file.
func TestSmallFileEdits(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	f, err := os.Create(m.path("s"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []byte("hello world")
	f.Write(want)
	f.WriteAt([]byte("W"), 6)
	want[6] = 'W'
	f.WriteAt([]byte("!"), 20) // leaves a hole
	want = append(want, make([]byte, 9)...)
	want = append(want, '!')
	if got := mustRead(t, m.path("s")); !bytes.Equal(got, want) {
		t.Fatalf("read back %q, want %q", got, want)
	}
	f.Truncate(5)
	want = want[:5]
	if got := mustRead(t, m.path("s")); !bytes.Equal(got, want) {
		t.Fatalf("after truncate %q", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m.checkFile(t, "s", want)

	g, err := os.OpenFile(m.path("s"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Truncate(memMax + 10); err != nil {
		t.Fatal(err)
	}
	g.WriteAt([]byte("end"), memMax+10)
	want = append(want, make([]byte, memMax+5)...)
	want = append(want, "end"...)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	m.checkFile(t, "s", want)
}

// Past the memory budget for staged small files, further ones stage in
// files; every one is kept.
func TestManyOpenSmallFiles(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	n := memBudget/memMax + 20
	files := make([]*os.File, 0, n)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i := 0; i < n; i++ {
		f, err := os.Create(m.path(fmt.Sprintf("f%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		if _, err := fmt.Fprintf(f, "file %d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	if used := m.fs.memUsed.Load(); used > memBudget {
		t.Fatalf("%d bytes staged in memory, budget %d", used, memBudget)
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	files = nil
	for i := 0; i < n; i += 37 {
		m.checkFile(t, fmt.Sprintf("f%d", i), fmt.Appendf(nil, "file %d\n", i))
	}
	// The kernel sends RELEASE just after close returns.
	for deadline := time.Now().Add(2 * time.Second); m.fs.memUsed.Load() != 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if used := m.fs.memUsed.Load(); used != 0 {
		t.Fatalf("%d bytes of memory still reserved with no file open", used)
	}
}

// Truncating a file to nothing while it streams drops what was streamed.
func TestTruncateWhileStreaming(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	f, err := os.Create(m.path("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(randBytes(13, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("again"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m.checkFile(t, "t", []byte("again"))
}

// Extended attributes are not supported, and say so the same way each time
// (the kernel stops asking after the first ENOSYS).
func TestXattrsUnsupported(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	p := m.path("x")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := unix.Getxattr(p, "user.a", make([]byte, 64)); err != unix.EOPNOTSUPP {
			t.Fatalf("getxattr: %v", err)
		}
		if err := unix.Setxattr(p, "user.a", []byte("v"), 0); err != unix.EOPNOTSUPP {
			t.Fatalf("setxattr: %v", err)
		}
		if err := unix.Removexattr(p, "user.a"); err != unix.EOPNOTSUPP {
			t.Fatalf("removexattr: %v", err)
		}
	}
	if n, err := unix.Listxattr(p, make([]byte, 64)); err != nil || n != 0 {
		t.Fatalf("listxattr: %d %v", n, err)
	}
}
