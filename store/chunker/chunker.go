// Package chunker splits a stream into content-defined chunks (FastCDC with
// normalized chunking and a keyed gear table).
//
// Boundaries depend only on nearby content, so an edit in the middle of a
// large file changes one or two chunks, not every chunk after it. Memory is
// one buffer of 2*MaxSize whatever the stream's length.
package chunker

import (
	"errors"
	"io"
)

// Chunk size bounds. The average keeps a one-byte edit to a 1 GiB file under
// a few MiB of new data while keeping the chunk count (and so blob files and
// chunk-list size) modest.
const (
	MinSize = 256 << 10
	AvgSize = 512 << 10
	MaxSize = 2 << 20
)

// Masks test high bits of the rolling hash: with a left-shifting gear hash,
// high bits depend on a longer window of input than low bits. Bit 63 is left
// out so that the mask shifted by one still fits (see Cut).
const (
	maskStrict = ((uint64(1) << 21) - 1) << (63 - 21) // before AvgSize: harder to cut
	maskLoose  = ((uint64(1) << 17) - 1) << (63 - 17) // after AvgSize: easier to cut
)

// Chunker reads a stream and returns its chunks one by one.
type Chunker struct {
	r    io.Reader
	gear *[256]uint64
	buf  []byte
	pos  int // start of unread data in buf
	end  int // end of valid data in buf
	eof  bool
	err  error
}

// BufferSize is the size of a chunker's read buffer.
const BufferSize = 2 * MaxSize

// New returns a chunker over r using the given gear table.
func New(r io.Reader, gear *[256]uint64) *Chunker {
	return NewBuffer(r, gear, make([]byte, BufferSize))
}

// NewBuffer is New with a caller-supplied buffer of BufferSize bytes, for
// callers that chunk many small streams and reuse buffers.
func NewBuffer(r io.Reader, gear *[256]uint64, buf []byte) *Chunker {
	return &Chunker{r: r, gear: gear, buf: buf[:BufferSize]}
}

// NewBytes returns a chunker over data already in memory (a mapped file,
// say): chunks are slices of data, nothing is copied.
func NewBytes(data []byte, gear *[256]uint64) *Chunker {
	return &Chunker{gear: gear, buf: data, end: len(data), eof: true}
}

// Next returns the next chunk, valid until the following call, or io.EOF
// after the last one.
func (c *Chunker) Next() ([]byte, error) {
	if c.end-c.pos < MaxSize && !c.eof {
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
	if c.pos == c.end {
		return nil, io.EOF
	}
	n := Cut(c.buf[c.pos:c.end], c.gear)
	chunk := c.buf[c.pos : c.pos+n]
	c.pos += n
	return chunk, nil
}

func (c *Chunker) fill() error {
	copy(c.buf, c.buf[c.pos:c.end])
	c.end -= c.pos
	c.pos = 0
	for c.end < len(c.buf) && !c.eof {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if errors.Is(err, io.EOF) {
			c.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Cut returns the length of the first chunk of data. Data shorter than or
// equal to MinSize is one chunk; no chunk is longer than MaxSize.
func Cut(data []byte, gear *[256]uint64) int {
	n := len(data)
	if n <= MinSize {
		return n
	}
	if n > MaxSize {
		n = MaxSize
	}
	normal := AvgSize
	if n < normal {
		normal = n
	}
	// Two bytes per step (FastCDC 2020): after the first byte the hash is
	// kept shifted left by one and tested against the mask shifted by one;
	// the second byte completes the shift. Cut points are exactly those of
	// one byte at a time (cutSlow).
	var fp uint64
	i := MinSize
	for ; i+1 < normal; i += 2 {
		fp = (fp << 2) + gear[data[i]]<<1
		if fp&(maskStrict<<1) == 0 {
			return i + 1
		}
		fp += gear[data[i+1]]
		if fp&maskStrict == 0 {
			return i + 2
		}
	}
	if i < normal {
		fp = (fp << 1) + gear[data[i]]
		if fp&maskStrict == 0 {
			return i + 1
		}
		i++
	}
	for ; i+1 < n; i += 2 {
		fp = (fp << 2) + gear[data[i]]<<1
		if fp&(maskLoose<<1) == 0 {
			return i + 1
		}
		fp += gear[data[i+1]]
		if fp&maskLoose == 0 {
			return i + 2
		}
	}
	if i < n {
		fp = (fp << 1) + gear[data[i]]
		if fp&maskLoose == 0 {
			return i + 1
		}
	}
	return n
}

// cutSlow is Cut one byte at a time: the reference the fast path must match.
func cutSlow(data []byte, gear *[256]uint64) int {
	n := len(data)
	if n <= MinSize {
		return n
	}
	if n > MaxSize {
		n = MaxSize
	}
	normal := min(AvgSize, n)
	var fp uint64
	for i := MinSize; i < n; i++ {
		fp = (fp << 1) + gear[data[i]]
		mask := uint64(maskLoose)
		if i < normal {
			mask = maskStrict
		}
		if fp&mask == 0 {
			return i + 1
		}
	}
	return n
}
