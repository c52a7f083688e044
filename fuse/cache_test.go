package fuse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/jax-desktop/jax/store/bucket"
)

func testChunk(key byte, n int) *chunk {
	ch := &chunk{key: [32]byte{key}, data: make([]byte, n)}
	ch.refs.Store(1)
	return ch
}

func TestChunkCacheBound(t *testing.T) {
	c := newChunkCache(10)
	c.put(testChunk(1, 4))
	c.put(testChunk(2, 4))
	if ch, ok := c.get([32]byte{1}); ok {
		ch.release()
	}
	c.put(testChunk(3, 4)) // evicts 2, the least recently used
	if _, ok := c.get([32]byte{2}); ok {
		t.Fatal("least recently used chunk kept")
	}
	if _, ok := c.get([32]byte{1}); !ok {
		t.Fatal("recently used chunk evicted")
	}
	c.put(testChunk(4, 11))
	if _, ok := c.get([32]byte{4}); ok || c.size > c.max {
		t.Fatalf("over budget: %d", c.size)
	}
	// Chunks being fetched count too: reserving room evicts.
	c.reserve(7)
	if _, ok := c.get([32]byte{3}); ok || c.size+c.pending > c.max {
		t.Fatalf("reservation not made room for: size %d pending %d", c.size, c.pending)
	}
	c.unreserve(7)
	// Reservations larger than the budget empty the cache, nothing worse.
	c.reserve(20)
	if c.ll.Len() != 0 {
		t.Fatalf("%d chunks kept with the budget reserved", c.ll.Len())
	}
	c.unreserve(20)
}

// A chunk's buffer is reused only once the cache and every reply let go of
// it: readers racing with a cache far smaller than the file always read
// the right bytes.
func TestChunkBuffersReusedSafely(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	data := randBytes(21, 24<<20)
	src, err := os.CreateTemp(t.TempDir(), "src")
	if err != nil {
		t.Fatal(err)
	}
	src.Write(data)
	src.Seek(0, 0)
	if _, err := b.Add(ctx, src, "/big", 0o644, 1, nil); err != nil {
		t.Fatal(err)
	}
	src.Close()
	m := mountBucket(t, s, b, Options{CacheBytes: 3 << 20})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(m.path("big"))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			rng := rand.New(rand.NewSource(int64(r)))
			buf := make([]byte, 300<<10)
			for k := 0; k < 60; k++ {
				off := rng.Int63n(int64(len(data) - len(buf)))
				if r == 0 { // one sequential reader too
					off = int64(k) * int64(len(buf)) % int64(len(data)-len(buf))
				}
				if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
					errs <- fmt.Errorf("reader %d: wrong bytes at %d", r, off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Freed chunk buffers are reused when their size fits, and no more than
// bufIdleMax of them stay mapped.
func TestChunkBufferFreeList(t *testing.T) {
	bufs.Lock() // start from an empty list: other tests free buffers too
	for _, b := range bufs.free {
		syscall.Munmap(*b)
	}
	bufs.free, bufs.idle = nil, 0
	bufs.Unlock()
	b := getBuf(700 << 10)
	if b == nil || cap(*b) < 700<<10 {
		t.Fatalf("getBuf(700 KiB) = %v", b)
	}
	putBuf(b)
	if again := getBuf(690 << 10); again != b {
		t.Fatal("a freed buffer of a fitting size was not reused")
	} else {
		putBuf(again)
	}
	if small := getBuf(4 << 10); small != nil {
		t.Fatal("a small chunk should live on the heap")
	}
	var held []*[]byte
	for n := 256 << 10; n < 2<<20; n += 40 << 10 {
		held = append(held, getBuf(n))
	}
	for _, h := range held {
		putBuf(h)
	}
	bufs.Lock()
	idle := bufs.idle
	bufs.Unlock()
	if idle > bufIdleMax || idle == 0 {
		t.Fatalf("%d bytes of free buffers kept, want (0, %d]", idle, bufIdleMax)
	}
}
