package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

// A test network of devices on 127.0.0.1: each device listens on its own
// TCP port, every stream is one connection, and a connection starts with
// the caller's device ID and the protocol name. Links can be cut.

type testNet struct {
	mu    sync.Mutex
	nodes map[tree.DeviceID]*node
	down  map[[2]tree.DeviceID]bool
	conns map[[2]tree.DeviceID]map[net.Conn]bool
}

func newNet() *testNet {
	return &testNet{nodes: map[tree.DeviceID]*node{}, down: map[[2]tree.DeviceID]bool{},
		conns: map[[2]tree.DeviceID]map[net.Conn]bool{}}
}

func pair(a, b tree.DeviceID) [2]tree.DeviceID {
	if string(a[:]) > string(b[:]) {
		a, b = b, a
	}
	return [2]tree.DeviceID{a, b}
}

type node struct {
	net   *testNet
	name  string
	id    tree.DeviceID
	st    *bucket.Store
	eng   *Engine
	ln    net.Listener
	muted atomic.Bool // opens no streams (accepts them still)
	logs  *logBuf

	mu      sync.Mutex
	handler func(tree.DeviceID, Stream)
}

func (n *node) setHandler(h func(tree.DeviceID, Stream)) {
	n.mu.Lock()
	n.handler = h
	n.mu.Unlock()
}

func (tn *testNet) linkDown(a, b tree.DeviceID) bool {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.down[pair(a, b)]
}

func (tn *testNet) track(a, b tree.DeviceID, c net.Conn) bool {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if tn.down[pair(a, b)] {
		return false
	}
	k := pair(a, b)
	if tn.conns[k] == nil {
		tn.conns[k] = map[net.Conn]bool{}
	}
	tn.conns[k][c] = true
	return true
}

// cut breaks the link between two devices: open streams fail at once and
// new ones cannot be opened until heal.
func (tn *testNet) cut(a, b *node) {
	tn.mu.Lock()
	k := pair(a.id, b.id)
	tn.down[k] = true
	for c := range tn.conns[k] {
		c.Close()
	}
	delete(tn.conns, k)
	tn.mu.Unlock()
	a.eng.PeerDown(b.id)
	b.eng.PeerDown(a.id)
}

// drop breaks the streams open between two devices, which stay connected.
func (tn *testNet) drop(a, b *node) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	k := pair(a.id, b.id)
	for c := range tn.conns[k] {
		c.Close()
	}
	delete(tn.conns, k)
}

// heal restores a link and tells both engines, as the transport's watch does.
func (tn *testNet) heal(a, b *node) {
	tn.mu.Lock()
	delete(tn.down, pair(a.id, b.id))
	tn.mu.Unlock()
	if a.eng != nil {
		a.eng.PeerUp(b.id)
	}
	if b.eng != nil {
		b.eng.PeerUp(a.id)
	}
}

func (n *node) Open(ctx context.Context, dev tree.DeviceID, protocol string) (Stream, error) {
	if n.muted.Load() {
		return nil, errors.New("muted")
	}
	n.net.mu.Lock()
	peer := n.net.nodes[dev]
	n.net.mu.Unlock()
	if peer == nil || n.net.linkDown(n.id, dev) {
		return nil, fmt.Errorf("device %s is not connected", dev.Short())
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", peer.ln.Addr().String())
	if err != nil {
		return nil, err
	}
	if !n.net.track(n.id, dev, c) {
		c.Close()
		return nil, fmt.Errorf("device %s is not connected", dev.Short())
	}
	hello := append(append([]byte(nil), n.id[:]...), byte(len(protocol)))
	if _, err := c.Write(append(hello, protocol...)); err != nil {
		c.Close()
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

func (n *node) Connected() []tree.DeviceID {
	n.net.mu.Lock()
	defer n.net.mu.Unlock()
	var out []tree.DeviceID
	for id := range n.net.nodes {
		if id != n.id && !n.net.down[pair(n.id, id)] {
			out = append(out, id)
		}
	}
	return out
}

func (n *node) accept() {
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var hello [33]byte
			if _, err := io.ReadFull(c, hello[:]); err != nil {
				c.Close()
				return
			}
			proto := make([]byte, hello[32])
			if _, err := io.ReadFull(c, proto); err != nil || string(proto) != Protocol {
				c.Close()
				return
			}
			var dev tree.DeviceID
			copy(dev[:], hello[:32])
			if !n.net.track(n.id, dev, c) {
				c.Close()
				return
			}
			c.SetDeadline(time.Time{})
			n.mu.Lock()
			h := n.handler
			n.mu.Unlock()
			h(dev, c.(*net.TCPConn))
		}()
	}
}

// logBuf keeps log lines for assertions; it stops taking lines when the
// test ends.
type logBuf struct {
	mu    sync.Mutex
	lines []string
	t     testing.TB
	done  bool
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.lines = append(l.lines, string(p))
	}
	return len(p), nil
}

func (l *logBuf) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if strings.Contains(ln, s) {
			return true
		}
	}
	return false
}

func (l *logBuf) dump() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		l.t.Log(strings.TrimSpace(ln))
	}
}

// addNode starts a device with a real store and engine on the network.
func (tn *testNet) addNode(t testing.TB, name string, cfg Config) *node {
	t.Helper()
	st := bucket.TestStore(t, name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{net: tn, name: name, id: st.ID.ID(), st: st, ln: ln, logs: &logBuf{t: t}}
	cfg.Store, cfg.Transport = st, n
	if cfg.Ping == 0 {
		cfg.Ping = time.Hour // tests exchange heads on events, not on the clock
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	cfg.Log = slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("device", name)
	n.eng = New(cfg)
	n.handler = n.eng.Serve
	tn.mu.Lock()
	tn.nodes[n.id] = n
	tn.mu.Unlock()
	go n.accept()
	n.eng.Start()
	t.Cleanup(func() {
		if t.Failed() {
			n.logs.dump()
		}
		n.logs.mu.Lock()
		n.logs.done = true
		n.logs.mu.Unlock()
		ln.Close()
		tn.mu.Lock()
		for k, cs := range tn.conns {
			if k[0] == n.id || k[1] == n.id {
				for c := range cs {
					c.Close()
				}
			}
		}
		tn.mu.Unlock()
		n.eng.Stop()
	})
	return n
}

func (n *node) device() bucket.Device {
	return bucket.Device{ID: n.id, Name: n.name, Recipient: n.st.ID.Recipient()}
}

// dial opens a raw protocol stream from n to dev, for tests that speak the
// protocol by hand.
func (n *node) dial(t testing.TB, dev tree.DeviceID) *conn {
	t.Helper()
	s, err := n.Open(context.Background(), dev, Protocol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &conn{s: s, timeout: 5 * time.Second}
}

func (n *node) head(t testing.TB, bucketID string) blob.ID {
	t.Helper()
	row, err := n.st.DB.BucketByID(bucketID)
	if err != nil || len(row.Head) == 0 {
		return blob.ID{}
	}
	return blob.ID(row.Head)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
