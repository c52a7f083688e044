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
