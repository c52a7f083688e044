package fuse

import (
	"container/list"
	"sync"
	"sync/atomic"

	gofuse "github.com/hanwen/go-fuse/v2/fuse"

	"github.com/jax-desktop/jax/store/chunker"
	"github.com/jax-desktop/jax/store/seal"
)

// chunkCache keeps decrypted chunks within a byte budget, evicting the least
// recently used. Chunks are keyed by their stored blob, so files sharing
// contents share entries; cached data is never modified.
//
// A chunk's buffer goes back to a pool once nothing uses it: the cache lets
// go of it and every read reply pointing into it was sent. A streaming reader
// then reuses a cache's worth of buffers instead of leaving a cache's worth
// of garbage every few seconds, which the runtime would let pile up to the
// process's memory limit (and zero again on each allocation).
type chunkCache struct {
	max int64

	mu   sync.Mutex // guards the fields below
	size int64
	ll   *list.List // of *chunk, most recent first
	m    map[[32]byte]*list.Element
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

// Buffers for sealed chunks, pooled by size in steps of bufStep.
const bufStep = 64 << 10

var bufPools [(chunker.MaxSize+seal.Overhead)/bufStep + 2]sync.Pool

// getBuf returns a buffer of at least n bytes, or nil if n is larger than
// any chunk.
func getBuf(n int) *[]byte {
	class := (n + bufStep - 1) / bufStep
	if class >= len(bufPools) {
		return nil
	}
	if b, ok := bufPools[class].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, class*bufStep)
	return &b
}

func putBuf(b *[]byte) {
	bufPools[cap(*b)/bufStep].Put(b)
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
	for c.size > c.max {
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
