package bucket

import (
	"runtime/debug"
	"sync"
	"time"
)

// bufPool keeps buffers of one size for reuse while they are being used,
// and gives them all back once unused for idleDrop. A sync.Pool keeps a
// write's buffers (about 20 MiB) alive until two collections pass; during
// a long read the collector seldom runs, so they stayed, and raised the
// heap the runtime aims for by twice as much.
type bufPool struct {
	size  int // len of new buffers
	keep  int // capacity of new buffers
	mu    sync.Mutex
	free  []*[]byte
	used  bool // since the last sweep
	armed bool
}

const (
	idleDrop = 500 * time.Millisecond
	poolMax  = 16 // buffers kept at most per pool
)

func newBufPool(size, keep int) *bufPool { return &bufPool{size: size, keep: keep} }

func (p *bufPool) get() *[]byte {
	p.mu.Lock()
	p.used = true
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	b := make([]byte, p.size, p.keep)
	return &b
}

func (p *bufPool) put(b *[]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used = true
	if len(p.free) < poolMax {
		p.free = append(p.free, b)
	}
	if !p.armed {
		p.armed = true
		time.AfterFunc(idleDrop, p.sweep)
	}
}

// sweep drops the buffers if nothing used the pool since the last sweep,
// and returns their memory to the system at once: a burst of writes is
// over.
func (p *bufPool) sweep() {
	p.mu.Lock()
	if p.used {
		p.used = false
		time.AfterFunc(idleDrop, p.sweep)
		p.mu.Unlock()
		return
	}
	p.armed = false
	dropped := len(p.free) > 0
	p.free = nil
	p.mu.Unlock()
	if dropped {
		debug.FreeOSMemory()
	}
}
