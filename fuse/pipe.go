package fuse

import (
	"io"
	"sync"
)

// pipe is an io.Pipe with a buffer of up to pipeMax bytes. With io.Pipe a
// write through the mount waited until the chunker had taken its bytes, so
// the kernel's next write and the chunker's work took turns; now a write
// returns once its bytes are copied, and the two overlap.
type pipe struct {
	mu     sync.Mutex
	cond   sync.Cond
	blocks [][]byte // waiting bytes, oldest first; each has cap pipeBlock
	free   [][]byte // drained blocks for reuse
	size   int      // bytes in blocks
	werr   error    // the writer's end: io.EOF or its error, once closed
	rerr   error    // the reader's end: writes fail with it once closed
}

const (
	pipeMax   = 4 << 20
	pipeBlock = 1 << 20
)

func newPipe() *pipe {
	p := &pipe{}
	p.cond.L = &p.mu
	return p
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for n < len(b) {
		for p.size >= pipeMax && p.rerr == nil {
			p.cond.Wait()
		}
		if p.rerr != nil {
			return n, p.rerr
		}
		if p.werr != nil {
			return n, io.ErrClosedPipe
		}
		last := len(p.blocks) - 1
		if last < 0 || len(p.blocks[last]) == cap(p.blocks[last]) {
			var blk []byte
			if k := len(p.free); k > 0 {
				blk, p.free = p.free[k-1][:0], p.free[:k-1]
			} else {
				blk = make([]byte, 0, pipeBlock)
			}
			p.blocks = append(p.blocks, blk)
			last++
		}
		blk := p.blocks[last]
		k := min(len(b)-n, cap(blk)-len(blk), pipeMax-p.size)
		p.blocks[last] = append(blk, b[n:n+k]...)
		n += k
		p.size += k
		p.cond.Broadcast()
	}
	return n, nil
}

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.size == 0 && p.werr == nil && p.rerr == nil {
		p.cond.Wait()
	}
	if p.rerr != nil {
		return 0, io.ErrClosedPipe
	}
	if p.size == 0 {
		return 0, p.werr
	}
	n := 0
	for n < len(b) && len(p.blocks) > 0 {
		k := copy(b[n:], p.blocks[0])
		n += k
		if k < len(p.blocks[0]) {
			p.blocks[0] = p.blocks[0][k:]
			break
		}
		// Only whole blocks are reused: a partly read one is a tail of
		// its array.
		if cap(p.blocks[0]) == pipeBlock {
			p.free = append(p.free, p.blocks[0])
		}
		p.blocks = p.blocks[1:]
	}
	p.size -= n
	p.cond.Broadcast()
	return n, nil
}

// closeWrite ends the writer's side: reads return err (io.EOF if nil)
// once the buffered bytes are read.
func (p *pipe) closeWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	if p.werr == nil {
		p.werr = err
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// closeRead ends the reader's side: writes fail with err from then on, and
// buffered bytes are dropped.
func (p *pipe) closeRead(err error) {
	p.mu.Lock()
	if p.rerr == nil {
		p.rerr = err
	}
	p.blocks, p.free, p.size = nil, nil, 0
	p.cond.Broadcast()
	p.mu.Unlock()
}
