package syncer

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// A blob answer carries its bytes raw after the message; a size over the
// limit is refused before anything is read.
func TestBlobAnswerRaw(t *testing.T) {
	for _, size := range []int{0, 100, 3 << 20} {
		cl, sv := net.Pipe()
		body := bytes.Repeat([]byte{7}, size)
		go func() {
			c := &conn{s: sv, timeout: 5 * time.Second}
			if _, err := c.read(maxRequest, 5*time.Second); err == nil {
				c.write(&message{Op: opBlob, body: body})
			}
			c.write(&message{Op: opHeads}) // the stream stays in step after the body
		}()
		c := &conn{s: cl, timeout: 5 * time.Second}
		resp, err := c.call(&message{Op: opBlob, Bucket: "b", Blob: make([]byte, 32)})
		if err != nil || !bytes.Equal(resp.body, body) || int(resp.Size) != size {
			t.Fatalf("size %d: got %d bytes, %v", size, len(resp.body), err)
		}
		if m, err := c.read(maxResponse, time.Second); err != nil || m.Op != opHeads {
			t.Fatalf("size %d: next message %+v %v", size, m, err)
		}
		cl.Close()
		sv.Close()
	}

	cl, sv := net.Pipe()
	defer cl.Close()
	defer sv.Close()
	go func() {
		c := &conn{s: sv, timeout: 5 * time.Second}
		c.read(maxRequest, 5*time.Second)
		c.write(&message{Op: opBlob, Size: maxBlob + 1}) // claims more than it may send
	}()
	c := &conn{s: cl, timeout: 5 * time.Second}
	if _, err := c.call(&message{Op: opBlob, Bucket: "b", Blob: make([]byte, 32)}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("oversized blob: %v", err)
	}
}

// An answer's length is checked before its bytes are awaited or allocated,
// and the largest answers a device sends still fit.
func TestAnswerLimit(t *testing.T) {
	hs := make([]Head, maxLinks)
	for i := range hs {
		hs[i] = Head{Bucket: "00000000-0000-0000-0000-000000000000", Link: [32]byte{1}, Height: 1 << 62}
	}
	data := make([][]byte, manifestsPerAnswer)
	for i := range data {
		data[i] = make([]byte, maxBatch/manifestsPerAnswer)
	}
	for _, m := range []*message{{V: Version, Op: opHeads, Heads: hs}, {V: Version, Op: opManifests, Data: data, More: true}} {
		b, err := encMode.Marshal(m)
		if err != nil || len(b) > maxResponse {
			t.Fatalf("answer %d: %d bytes (at most %d), %v", m.Op, len(b), maxResponse, err)
		}
	}

	cl, sv := net.Pipe()
	defer cl.Close()
	defer sv.Close()
	go func() {
		c := &conn{s: sv, timeout: 5 * time.Second}
		c.read(maxRequest, 5*time.Second)
		sv.Write([]byte{0, 0x90, 0, 1}) // 9 MiB + 1: claims more than an answer may be
		sv.Close()
	}()
	c := &conn{s: cl, timeout: 5 * time.Second}
	if _, err := c.call(&message{Op: opHeads}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("oversized answer: %v", err)
	}
}
