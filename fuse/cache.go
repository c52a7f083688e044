package fuse

import (
	"container/list"
	"sync"
)

// chunkCache keeps decrypted chunks within a byte budget, evicting the least
// recently used. Chunks are keyed by their stored blob, so files sharing
// contents share entries; cached slices are never modified.
type chunkCache struct {
	max int64

	mu   sync.Mutex // guards the fields below
	size int64
	ll   *list.List // of *cachedChunk, most recent first
	m    map[[32]byte]*list.Element
}

type cachedChunk struct {
	key  [32]byte
	data []byte
}

func newChunkCache(max int64) *chunkCache {
	return &chunkCache{max: max, ll: list.New(), m: map[[32]byte]*list.Element{}}
}

func (c *chunkCache) get(key [32]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*cachedChunk).data, true
}

func (c *chunkCache) put(key [32]byte, data []byte) {
	if int64(len(data)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return
	}
	c.m[key] = c.ll.PushFront(&cachedChunk{key, data})
	c.size += int64(len(data))
	for c.size > c.max {
		el := c.ll.Back()
		cc := el.Value.(*cachedChunk)
		c.ll.Remove(el)
		delete(c.m, cc.key)
		c.size -= int64(len(cc.data))
	}
}
