package syncer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Wire format: each message is a 4-byte big-endian length and that many
// bytes of CBOR; a blob answer is followed by the blob's bytes as they are
// (Size of them), so they are neither copied into nor out of CBOR. A
// stream carries requests from the side that opened it, each answered
// before the next is sent.

// Version is the protocol version this code speaks.
const Version = 1

const (
	maxRequest  = 1 << 20           // requests are small: lists of links at most
	maxBatch    = 8 << 20           // manifests sent in one answer
	maxResponse = maxBatch + 1<<20  // an answer's CBOR part: blob bytes travel after it
	maxBlob     = 64 << 20          // the raw bytes after a blob answer (the blob store's limit)
	maxLinks    = maxRequest/40 - 1 // links in one request

	// What one pull takes in of a history before giving up on the device.
	maxVersions     = 1 << 20
	maxVersionBytes = 1 << 30
)

// manifestsPerAnswer is the most manifests one answer carries (a variable
// so tests can make paging happen).
var manifestsPerAnswer = 1024

const (
	opHeads     = 1 // announce heads; the answer holds the other side's heads
	opManifests = 2 // ask for versions back to what the asker has
	opBlob      = 3 // ask for one blob
	opError     = 4 // an answer: the request was refused or failed
	opEarly     = 5 // offer chunks of a write not saved yet; answered with an empty opEarly
)

// Error codes.
const (
	codeRefused = 1 // the asker may not have this
	codeMissing = 2 // the answerer does not have it
	codeBad     = 3 // the request makes no sense
)

// Head is one bucket's current version as a device announces it.
type Head struct {
	_      struct{} `cbor:",toarray"`
	Bucket string
	Link   [32]byte
	Height uint64
}

type message struct {
	V      uint8    `cbor:"1,keyasint"`
	Op     uint8    `cbor:"2,keyasint"`
	Heads  []Head   `cbor:"3,keyasint,omitempty"`
	Bucket string   `cbor:"4,keyasint,omitempty"`
	Want   [][]byte `cbor:"5,keyasint,omitempty"` // manifests: versions wanted
	Have   [][]byte `cbor:"6,keyasint,omitempty"` // manifests: the asker's heads
	Blob   []byte   `cbor:"7,keyasint,omitempty"`
	Data   [][]byte `cbor:"8,keyasint,omitempty"` // manifests
	More   bool     `cbor:"9,keyasint,omitempty"` // manifests: the answer was cut short
	Code   uint8    `cbor:"10,keyasint,omitempty"`
	Err    string   `cbor:"11,keyasint,omitempty"`
	Size   uint32   `cbor:"12,keyasint,omitempty"` // blob answer: bytes that follow the message
	Blobs  [][]byte `cbor:"13,keyasint,omitempty"` // early: chunks offered

	body []byte // a blob answer's bytes, sent raw after the message
}

// Blob bodies are read into and served from pooled buffers: a pull moves
// thousands of chunks of up to a few MiB each.
var bodyPool sync.Pool

const maxPooled = 8 << 20

func getBuf(n int) []byte {
	if p, _ := bodyPool.Get().(*[]byte); p != nil {
		if cap(*p) >= n {
			return (*p)[:n]
		}
		bodyPool.Put(p)
	}
	return make([]byte, n, max(n, 2<<20+64<<10))
}

func putBuf(b []byte) {
	if b != nil && cap(b) <= maxPooled {
		bodyPool.Put(&b)
	}
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	if decMode, err = (cbor.DecOptions{
		MaxNestedLevels:  8,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      64,
	}).DecMode(); err != nil {
		panic(err)
	}
}

// ErrProtocol means the other side sent something this side cannot accept.
var ErrProtocol = errors.New("sync protocol error")

// RemoteError is a refusal or failure the other side reported.
type RemoteError struct {
	Code uint8
	Msg  string
}

func (e *RemoteError) Error() string { return "peer says: " + e.Msg }

// conn is one stream with deadlines on every read and write.
type conn struct {
	s       Stream
	timeout time.Duration
	buf     []byte
}

func (c *conn) write(m *message) error {
	m.V = Version
	if m.Op == opBlob && m.body != nil {
		m.Size = uint32(len(m.body))
	}
	b, err := encMode.Marshal(m)
	if err != nil {
		return err
	}
	c.s.SetDeadline(time.Now().Add(c.timeout))
	c.buf = append(c.buf[:0], 0, 0, 0, 0)
	binary.BigEndian.PutUint32(c.buf, uint32(len(b)))
	c.buf = append(c.buf, b...)
	if len(m.body) <= 64<<10 {
		// Small bodies go in the same write.
		c.buf = append(c.buf, m.body...)
		_, err = c.s.Write(c.buf)
		return err
	}
	if _, err = c.s.Write(c.buf); err != nil {
		return err
	}
	_, err = c.s.Write(m.body)
	return err
}

// readBody reads the raw bytes that follow a blob answer into a pooled
// buffer (the caller gives it back with putBuf).
func (c *conn) readBody(m *message) error {
	if m.Size > maxBlob {
		return fmt.Errorf("%w: blob of %d bytes (at most %d)", ErrProtocol, m.Size, maxBlob)
	}
	m.body = getBuf(int(m.Size))
	if _, err := readFull(c, m.body); err != nil {
		putBuf(m.body)
		m.body = nil
		return err
	}
	return nil
}

// read reads one message of at most max bytes. idle is how long to wait for
// its first byte.
func (c *conn) read(max int, idle time.Duration) (*message, error) {
	var hdr [4]byte
	c.s.SetDeadline(time.Now().Add(idle))
	if _, err := io.ReadFull(c.s, hdr[:1]); err != nil {
		return nil, err
	}
	c.s.SetDeadline(time.Now().Add(c.timeout))
	if _, err := io.ReadFull(c.s, hdr[1:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > uint32(max) {
		return nil, fmt.Errorf("%w: message of %d bytes (at most %d)", ErrProtocol, n, max)
	}
	body := make([]byte, n)
	if _, err := readFull(c, body); err != nil {
		return nil, err
	}
	var m message
	if err := decMode.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if m.V != Version {
		return nil, fmt.Errorf("%w: version %d (this device speaks %d)", ErrProtocol, m.V, Version)
	}
	return &m, nil
}

// readFull reads a large body, moving the deadline on while data flows.
func readFull(c *conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c.s.SetDeadline(time.Now().Add(c.timeout))
		k, err := c.s.Read(b[n:])
		n += k
		if err != nil {
			if n == len(b) {
				break
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return n, nil
}

// call sends a request and reads its answer; an opError answer becomes a
// *RemoteError.
func (c *conn) call(req *message) (*message, error) {
	if err := c.write(req); err != nil {
		return nil, err
	}
	resp, err := c.read(maxResponse, c.timeout)
	if err != nil {
		return nil, err
	}
	if resp.Op == opBlob && req.Op == opBlob {
		if err := c.readBody(resp); err != nil {
			return nil, err
		}
	}
	if resp.Op == opError {
		return nil, &RemoteError{Code: resp.Code, Msg: resp.Err}
	}
	if resp.Op != req.Op {
		return nil, fmt.Errorf("%w: asked %d, answered %d", ErrProtocol, req.Op, resp.Op)
	}
	return resp, nil
}
