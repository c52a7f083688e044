package fuse

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
	"time"
)

// Bytes come out in order and complete whatever the write and read sizes,
// and a write returns without a reader while the buffer has room.
func TestPipeOrderAndBuffer(t *testing.T) {
	p := newPipe()
	if n, err := p.Write(make([]byte, pipeMax-1)); n != pipeMax-1 || err != nil {
		t.Fatalf("buffered write: %d %v", n, err)
	}
	if _, err := io.ReadFull(p, make([]byte, pipeMax-1)); err != nil {
		t.Fatal(err)
	}
	data := randBytes(7, 9<<20+17)
	go func() {
		rng := rand.New(rand.NewSource(1))
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 1+rng.Intn(300<<10))
			p.Write(rest[:k])
			rest = rest[k:]
		}
		p.closeWrite(nil)
	}()
	var got bytes.Buffer
	buf := make([]byte, 700<<10)
	for {
		n, err := p.Read(buf[:1+rand.Intn(len(buf)-1)])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("bytes differ after the pipe")
	}
}

// A full pipe blocks the writer until the reader gives up; the writer then
// gets the reader's error instead of waiting forever.
func TestPipeReaderGivesUp(t *testing.T) {
	p := newPipe()
	errc := make(chan error, 1)
	go func() {
		_, err := p.Write(make([]byte, 2*pipeMax))
		errc <- err
	}()
	select {
	case err := <-errc:
		t.Fatalf("a write past the buffer returned without a reader: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	failed := errors.New("disk full")
	p.closeRead(failed)
	select {
	case err := <-errc:
		if !errors.Is(err, failed) {
			t.Fatalf("writer got %v, want the reader's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writer still blocked after the reader gave up")
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, failed) {
		t.Fatalf("write after the reader gave up: %v", err)
	}
}

// The writer's error reaches the reader after the buffered bytes.
func TestPipeWriterError(t *testing.T) {
	p := newPipe()
	p.Write([]byte("abc"))
	stop := errors.New("stopped")
	p.closeWrite(stop)
	b, err := io.ReadAll(p)
	if string(b) != "abc" || !errors.Is(err, stop) {
		t.Fatalf("read %q, %v", b, err)
	}
}
