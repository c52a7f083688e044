package fuse

import "testing"

func TestChunkCacheBound(t *testing.T) {
	c := newChunkCache(10)
	c.put([32]byte{1}, make([]byte, 4))
	c.put([32]byte{2}, make([]byte, 4))
	c.get([32]byte{1})
	c.put([32]byte{3}, make([]byte, 4)) // evicts 2, the least recently used
	if _, ok := c.get([32]byte{2}); ok {
		t.Fatal("least recently used chunk kept")
	}
	if _, ok := c.get([32]byte{1}); !ok {
		t.Fatal("recently used chunk evicted")
	}
	c.put([32]byte{4}, make([]byte, 11))
	if _, ok := c.get([32]byte{4}); ok || c.size > c.max {
		t.Fatalf("over budget: %d", c.size)
	}
}
