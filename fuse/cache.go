package fuse

import (
	"container/list"
	"sync"
	"sync/atomic"
	"syscall"

	gofuse "github.com/hanwen/go-fuse/v2/fuse"

	"github.com/jax-desktop/jax/store/chunker"
	"github.com/jax-desktop/jax/store/seal"
)

// chunkCache keeps decrypted chunks within a byte budget, evicting the least
// recently used. Chunks are keyed by their stored blob, so files sharing
// contents share entries; cached data is never modified.
//
// A chunk's buffer is freed once nothing uses it: the cache let go of it
// and every read reply pointing into it was sent.
type chunkCache struct {
	max int64

	mu      sync.Mutex // guards the fields below
	size    int64
	pending int64      // reserved for chunks being fetched
	ll      *list.List // of *chunk, most recent first
	m       map[[32]byte]*list.Element
}

// chunk is one decrypted chunk. Each holder (the cache, a read in
// progress, a reply not yet sent) owns one reference and drops it with
// release exactly once.
type chunk struct {
	key  [32]byte
	data []byte  // the plaintext, inside buf
	buf  *[]byte // pooled buffer, or nil if not from the pool
	refs atomic.Int32
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 && c.buf != nil {
		putBuf(c.buf)
	}
}

// Chunk buffers are mapped outside the Go heap, and freed as soon as the
// chunks' reference counts say nothing uses them. On the heap, a cache's
// worth of chunks kept the collector running under the manager's memory
// limit, and buffers it freed came back as fresh pages to fault in and
// zero. Mapped buffers are page-aligned, so blobs are read into them with
// direct I/O.
const (
	bufMin  = 64 << 10 // smaller chunks (small files) live on the heap
	bufStep = 16 << 10 // mapped sizes are multiples of this
	// bufIdleMax bounds the bytes of free buffers kept for reuse: a
	// streaming reader frees about one chunk for each it reads.
	bufIdleMax = 2 << 20
)

var bufs struct {
	sync.Mutex
	idle int       // bytes in free
	free []*[]byte // oldest first
}

// getBuf returns a buffer of at least n bytes, or nil for the heap.
func getBuf(n int) *[]byte {
	if n < bufMin || n > chunker.MaxSize+seal.Overhead {
		return nil
	}
	bufs.Lock()
	best := -1
	for i, b := range bufs.free {
		// Reuse a buffer if it wastes at most an eighth.
		if c := cap(*b); c >= n && c <= n+n/8 && (best < 0 || c < cap(*bufs.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := bufs.free[best]
		bufs.free = append(bufs.free[:best], bufs.free[best+1:]...)
		bufs.idle -= cap(*b)
		bufs.Unlock()
		return b
	}
	bufs.Unlock()
	size := (n + bufStep - 1) / bufStep * bufStep
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	return &b
}

// putBuf frees a buffer from getBuf; nothing may use it afterwards.
func putBuf(b *[]byte) {
	var drop []*[]byte
	bufs.Lock()
	bufs.free = append(bufs.free, b)
	bufs.idle += cap(*b)
	for bufs.idle > bufIdleMax {
		old := bufs.free[0]
		bufs.free = bufs.free[1:]
		bufs.idle -= cap(*old)
		drop = append(drop, old)
	}
	bufs.Unlock()
	for _, old := range drop {
		syscall.Munmap(*old)
	}
}

func newChunkCache(max int64) *chunkCache {
	return &chunkCache{max: max, ll: list.New(), m: map[[32]byte]*list.Element{}}
}

// get returns a cached chunk with a reference for the caller.
func (c *chunkCache) get(key [32]byte) (*chunk, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	ch := el.Value.(*chunk)
	ch.refs.Add(1)
	return ch, true
}

// has reports whether a chunk is cached, without using it.
func (c *chunkCache) has(key [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[key]
	return ok
}

// cost is what a chunk takes from the budget: its whole buffer.
func (ch *chunk) cost() int64 {
	if ch.buf != nil {
		return int64(cap(*ch.buf))
	}
	return int64(cap(ch.data))
}

// put caches ch (taking a reference of its own), unless it is larger than
// the whole budget or the key is cached already.
func (c *chunkCache) put(ch *chunk) {
	if ch.cost() > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[ch.key]; ok {
		return
	}
	ch.refs.Add(1)
	c.m[ch.key] = c.ll.PushFront(ch)
	c.size += ch.cost()
	c.evictLocked()
}

// reserve counts n bytes of a chunk being fetched against the budget until
// unreserve, evicting to make room: with readahead a dozen chunks are in
// flight, which the memory target must cover too.
func (c *chunkCache) reserve(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending += n
	c.evictLocked()
}

func (c *chunkCache) unreserve(n int64) {
	c.mu.Lock()
	c.pending -= n
	c.mu.Unlock()
}

func (c *chunkCache) evictLocked() {
	for c.size+c.pending > c.max && c.ll.Len() > 0 {
		el := c.ll.Back()
		old := el.Value.(*chunk)
		c.ll.Remove(el)
		delete(c.m, old.key)
		c.size -= old.cost()
		old.release()
	}
}

// chunkReply is a read reply pointing into cached chunks; go-fuse calls
// Done once it was sent (or dropped), which releases them.
type chunkReply struct {
	parts  [][]byte
	chunks []*chunk
}

var _ gofuse.ReadResult = (*chunkReply)(nil)

func (r *chunkReply) Size() int {
	n := 0
	for _, p := range r.parts {
		n += len(p)
	}
	return n
}

func (r *chunkReply) Bytes(buf []byte) ([]byte, gofuse.Status) {
	buf = buf[:0]
	for _, p := range r.parts {
		buf = append(buf, p...)
	}
	return buf, gofuse.OK
}

// Slices lets go-fuse send the parts with one writev, without copying.
func (r *chunkReply) Slices() ([][]byte, gofuse.Status) { return r.parts, gofuse.OK }

func (r *chunkReply) Done() {
	for _, ch := range r.chunks {
		ch.release()
	}
	r.chunks = nil
}
