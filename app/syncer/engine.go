// Package syncer keeps buckets in step between devices. It speaks over
// streams given by a Transport (libp2p in the app, plain TCP in tests), so
// the protocol does not depend on how devices reach each other.
//
// On every new head a device announces (bucket, head link, height) to the
// bucket's connected devices; it also does so periodically and when a device
// connects, and the answer carries the other side's heads. A device that
// hears of a version it does not have pulls the missing versions back to
// what it has, verifies the chain (signatures, authors' roles, heights)
// before storing any of it, fetches the missing blobs (directories first,
// then chunks, several at a time, each checked against its hash), records
// the versions and brings the new head in with a merge. Blobs already
// stored are never fetched again, so an interrupted pull resumes where it
// stopped. Only devices in a bucket's shares may announce it or read it.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

// Protocol is the stream protocol name.
const Protocol = "/jax/sync/1"

// Stream is one bidirectional stream to a device.
type Stream interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// Transport opens streams to devices. Incoming streams are handed to
// Engine.Serve by whoever accepts them, after authenticating the device.
type Transport interface {
	Open(ctx context.Context, dev tree.DeviceID, protocol string) (Stream, error)
	Connected() []tree.DeviceID
}

// Config sets up an Engine.
type Config struct {
	Store     *bucket.Store
	Transport Transport
	// OnSynced is called after a pull moved a bucket's head (the app brings
	// the new version into live mounts there).
	OnSynced func(ctx context.Context, bucketID string)
	Ping     time.Duration // how often heads are exchanged with every device; default 60 s
	Parallel int           // blob requests in flight per pull; default 16
	Timeout  time.Duration // longest wait for one read or write on a stream; default 30 s
	Log      *slog.Logger
}

// Engine runs sync for one store.
type Engine struct {
	cfg Config
	st  *bucket.Store
	me  tree.DeviceID
	log *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	kick    chan struct{}
	life    sync.Mutex // guards stopped and adding to wg
	stopped bool
	wg      sync.WaitGroup

	mu      sync.Mutex
	buckets map[string]*bstate
	dirty   map[string]bool // buckets whose new head is still to be announced
	subs    map[chan Event]struct{}
	reach   map[string]*reach
	heads   map[string]headCache

	offered    map[string]*offers   // chunks of large writes offered, by bucket
	prefetches map[string]*prefetch // chunks offered to us, by bucket
	flight     inflight

	fetched, served atomic.Int64 // blobs
	fetchedBytes    atomic.Int64

	testServed func(dev tree.DeviceID, id blob.ID) // tests count blobs served
}

type headCache struct {
	link blob.ID
	m    *bucket.Manifest
}

// New returns an engine; Start runs it.
func New(cfg Config) *Engine {
	if cfg.Ping <= 0 {
		cfg.Ping = 60 * time.Second
	}
	if cfg.Parallel <= 0 {
		// 16 fetched 1 GiB on loopback in 2.1-2.3 s, 8 in 4.2-4.9 s, 32 in
		// 3.5 s: each request waits on a blob file write as well as the
		// network, and about 10 MiB of blobs are in memory at once.
		cfg.Parallel = 16
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{cfg: cfg, st: cfg.Store, me: cfg.Store.ID.ID(), log: cfg.Log.With("part", "sync"),
		ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1),
		buckets: map[string]*bstate{}, dirty: map[string]bool{}, subs: map[chan Event]struct{}{},
		reach: map[string]*reach{}, heads: map[string]headCache{},
		offered: map[string]*offers{}, prefetches: map[string]*prefetch{}}
}

// Start announces every new head at once from now on, offers the chunks of
// large writes as they are stored, and exchanges heads with every
// connected device now and every Ping.
func (e *Engine) Start() {
	e.st.OnHeadChange(e.headChanged)
	e.st.OnChunks(e.chunksStored)
	e.spawn(e.loop)
}

// Stop ends the engine's work and waits for it. Streams being served end
// with their transport.
func (e *Engine) Stop() {
	e.life.Lock()
	e.stopped = true
	e.life.Unlock()
	e.cancel()
	e.wg.Wait()
}

// spawn runs f in a goroutine Stop waits for, unless the engine stopped.
func (e *Engine) spawn(f func()) bool {
	e.life.Lock()
	defer e.life.Unlock()
	if e.stopped {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

// PeerUp is called when a device connects: heads are exchanged at once.
func (e *Engine) PeerUp(dev tree.DeviceID) {
	e.spawn(func() { e.ping(e.ctx, dev) })
}

// PeerDown is called when a device disconnects.
func (e *Engine) PeerDown(dev tree.DeviceID) {
	e.emitAll(Event{Kind: "offline", Device: dev.String()})
}

// Stats counts blobs moved since start.
type Stats struct {
	BlobsFetched int64 `json:"blobs_fetched"`
	BytesFetched int64 `json:"bytes_fetched"`
	BlobsServed  int64 `json:"blobs_served"`
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{BlobsFetched: e.fetched.Load(), BytesFetched: e.fetchedBytes.Load(), BlobsServed: e.served.Load()}
}

func (e *Engine) headChanged(bucketID string) {
	e.mu.Lock()
	e.dirty[bucketID] = true
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) loop() {
	e.pingAll()
	t := time.NewTicker(e.cfg.Ping)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.kick:
			e.announceDirty()
		case <-t.C:
			e.pingAll()
		}
	}
}

func (e *Engine) pingAll() {
	for _, dev := range e.cfg.Transport.Connected() {
		e.spawn(func() { e.ping(e.ctx, dev) })
	}
}

// announceDirty tells each bucket's connected devices its new head.
func (e *Engine) announceDirty() {
	e.mu.Lock()
	ids := make([]string, 0, len(e.dirty))
	for id := range e.dirty {
		ids = append(ids, id)
	}
	clear(e.dirty)
	e.mu.Unlock()
	online := map[tree.DeviceID]bool{}
	for _, d := range e.cfg.Transport.Connected() {
		online[d] = true
	}
	per := map[tree.DeviceID][]Head{}
	for _, id := range ids {
		h, m, err := e.current(id)
		if err != nil {
			continue
		}
		for _, sh := range m.Shares {
			if sh.Device != e.me && online[sh.Device] {
				per[sh.Device] = append(per[sh.Device], h)
			}
		}
	}
	for dev, hs := range per {
		e.spawn(func() {
			if err := e.announce(e.ctx, dev, hs); err != nil {
				e.log.Info("announce failed", "device", dev.Short(), "err", err)
			}
		})
	}
}

// ping exchanges the heads of every bucket shared with dev.
func (e *Engine) ping(ctx context.Context, dev tree.DeviceID) {
	hs := e.sharedHeads(dev)
	if len(hs) == 0 {
		return
	}
	if err := e.announce(ctx, dev, hs); err != nil {
		e.log.Info("exchange heads failed", "device", dev.Short(), "err", err)
	}
}

// dial opens a protocol stream to dev, waiting at most Timeout.
func (e *Engine) dial(ctx context.Context, dev tree.DeviceID) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	s, err := e.cfg.Transport.Open(ctx, dev, Protocol)
	if err != nil {
		return nil, err
	}
	return &conn{s: s, timeout: e.cfg.Timeout}, nil
}

// announce sends heads to dev and takes in the heads it answers with.
func (e *Engine) announce(ctx context.Context, dev tree.DeviceID, hs []Head) error {
	c, err := e.dial(ctx, dev)
	if err != nil {
		return err
	}
	defer c.s.Close()
	resp, err := c.call(&message{Op: opHeads, Heads: hs})
	if err != nil {
		return err
	}
	for _, h := range resp.Heads {
		if err := e.heard(dev, h); err != nil {
			e.log.Warn("refused a head", "device", dev.Short(), "bucket", h.Bucket, "err", err)
		}
	}
	return nil
}

// current returns a bucket's head and its manifest (cached by link).
func (e *Engine) current(bucketID string) (Head, *bucket.Manifest, error) {
	row, err := e.st.DB.BucketByID(bucketID)
	if err != nil {
		return Head{}, nil, err
	}
	if len(row.Head) != len(blob.ID{}) {
		return Head{}, nil, fmt.Errorf("bucket %s has no current version yet", row.Name)
	}
	link := blob.ID(row.Head)
	e.mu.Lock()
	hc, ok := e.heads[bucketID]
	e.mu.Unlock()
	if !ok || hc.link != link {
		raw, err := e.st.Blobs.Get(link, nil)
		if err != nil {
			return Head{}, nil, err
		}
		m, err := bucket.DecodeManifest(raw)
		if err != nil {
			return Head{}, nil, err
		}
		hc = headCache{link: link, m: m}
		e.mu.Lock()
		e.heads[bucketID] = hc
		e.mu.Unlock()
	}
	return Head{Bucket: bucketID, Link: link, Height: hc.m.Height}, hc.m, nil
}

// sharedHeads returns the heads of every bucket whose shares include dev.
func (e *Engine) sharedHeads(dev tree.DeviceID) []Head {
	rows, err := e.st.DB.Buckets()
	if err != nil {
		return nil
	}
	var out []Head
	for _, r := range rows {
		h, m, err := e.current(r.ID)
		if err == nil && m.Share(dev) != nil {
			out = append(out, h)
		}
	}
	return out
}

// errRefused means a device asked for or announced a bucket not shared with it.
var errRefused = errors.New("not shared with this device")

// heard takes in a head a device told us about: noted for status, and
// brought in if we do not have it.
func (e *Engine) heard(dev tree.DeviceID, h Head) error {
	if _, err := uuid.Parse(h.Bucket); err != nil {
		return fmt.Errorf("%w: bad bucket id %q", ErrProtocol, h.Bucket)
	}
	ours, m, err := e.current(h.Bucket)
	known := err == nil
	if known && m.Share(dev) == nil {
		return fmt.Errorf("bucket %s: device %s: %w", h.Bucket, dev.Short(), errRefused)
	}
	bs := e.bucket(h.Bucket)
	bs.mu.Lock()
	p := bs.peer(dev)
	p.head, p.height, p.heard = h.Link, h.Height, time.Now()
	bs.mu.Unlock()
	if known && ours.Link == h.Link {
		e.setPeer(bs, dev, StateInSync, "")
		return nil
	}
	if _, err := e.st.DB.VersionByLink(h.Bucket, h.Link[:]); err == nil && !e.unmerged(h.Bucket, h.Link) {
		e.setPeer(bs, dev, StateBehind, "")
		return nil
	}
	e.enqueue(bs, dev, h)
	return nil
}
