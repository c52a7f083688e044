package bucket

import "testing"

// Buffers are reused while a pool is busy and let go once it has been idle
// for a whole sweep interval.
func TestBufPoolDropsWhenIdle(t *testing.T) {
	p := newBufPool(1<<20, 1<<20)
	b := p.get()
	p.put(b)
	if p.get() != b {
		t.Fatal("a returned buffer was not reused")
	}
	p.put(b)
	p.sweep() // used since the last sweep: kept
	if len(p.free) != 1 {
		t.Fatalf("busy pool dropped its buffers: %d left", len(p.free))
	}
	p.sweep() // idle for a whole interval: dropped
	if len(p.free) != 0 {
		t.Fatalf("idle pool kept %d buffers", len(p.free))
	}
}
