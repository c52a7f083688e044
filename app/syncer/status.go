package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/tree"
)

// States of a bucket, or of a bucket with one device.
const (
	StateInSync  = "in sync"
	StatePulling = "pulling"
	StateBehind  = "behind"  // the device lacks our newer versions (it was told)
	StateUnknown = "unknown" // connected, heads not exchanged yet
	StateOffline = "offline"
	StateError   = "error"
)

// Progress of one pull.
type Progress struct {
	Device    string `json:"device"`
	Versions  int    `json:"versions"`
	Files     int    `json:"files"`
	FilesDone int    `json:"files_done"`
	Bytes     int64  `json:"bytes"`
	BytesDone int64  `json:"bytes_done"`
	Blobs     int    `json:"blobs"`
	BlobsDone int    `json:"blobs_done"`
}

// Early is the fetching of chunks another device offered while a file is
// still being written there (see early.go).
type Early struct {
	From      []string `json:"from"`  // the writing devices' names
	Blobs     int      `json:"blobs"` // offered so far
	BlobsDone int      `json:"blobs_done"`
	BytesDone int64    `json:"bytes_done"`
}

// PeerStatus is a bucket's state with one device of its shares.
type PeerStatus struct {
	Device string    `json:"device"`
	Name   string    `json:"name"`
	Role   string    `json:"role"`
	Online bool      `json:"online"`
	State  string    `json:"state"`
	Head   string    `json:"head,omitempty"` // what it last told us
	Height uint64    `json:"height,omitempty"`
	Error  string    `json:"error,omitempty"`
	Synced time.Time `json:"synced,omitzero"` // last pull from it that moved our head
}

// BucketStatus is one bucket's sync state.
type BucketStatus struct {
	Bucket   string       `json:"bucket"`
	Name     string       `json:"name"`
	Head     string       `json:"head"`
	Height   uint64       `json:"height"`
	State    string       `json:"state"`
	Error    string       `json:"error,omitempty"`
	Progress *Progress    `json:"progress,omitempty"`
	Early    *Early       `json:"early,omitempty"`
	Peers    []PeerStatus `json:"peers"`
}

// Event is a change subscribers hear about.
type Event struct {
	Kind     string    `json:"kind"` // progress, early, synced, error, state, offline
	Bucket   string    `json:"bucket,omitempty"`
	Name     string    `json:"name,omitempty"`
	Device   string    `json:"device,omitempty"`
	State    string    `json:"state,omitempty"`
	Progress *Progress `json:"progress,omitempty"`
	Early    *Early    `json:"early,omitempty"` // early: offered chunks arriving; none when done
	Error    string    `json:"error,omitempty"`
	Head     string    `json:"head,omitempty"`
}

// bstate is what the engine knows of one bucket.
type bstate struct {
	id string

	mu       sync.Mutex
	peers    map[tree.DeviceID]*peer
	queue    map[tree.DeviceID]Head // heads to bring in, by who told us
	running  bool
	idle     chan struct{} // closed when the worker stops
	progress *Progress
	lastEmit time.Time
	err      string
}

type peer struct {
	head    blob.ID
	height  uint64
	heard   time.Time
	state   string
	err     string
	synced  time.Time
	retries int // failed pulls in a row
}

func (bs *bstate) peer(dev tree.DeviceID) *peer {
	p := bs.peers[dev]
	if p == nil {
		p = &peer{state: StateUnknown}
		bs.peers[dev] = p
	}
	return p
}

func (e *Engine) bucket(id string) *bstate {
	e.mu.Lock()
	defer e.mu.Unlock()
	bs := e.buckets[id]
	if bs == nil {
		bs = &bstate{id: id, peers: map[tree.DeviceID]*peer{}, queue: map[tree.DeviceID]Head{}}
		e.buckets[id] = bs
		// What was known before a restart: last sync and last error.
		rows, _ := e.st.DB.SyncPeers(id)
		for _, r := range rows {
			if len(r.Device) != len(tree.DeviceID{}) {
				continue
			}
			p := bs.peer(tree.DeviceID(r.Device))
			if len(r.Head) == len(blob.ID{}) {
				p.head, p.height = blob.ID(r.Head), r.Height
			}
			if r.SyncedAt > 0 {
				p.synced = time.Unix(0, r.SyncedAt)
			}
			if r.Error != "" {
				p.state, p.err = StateError, r.Error
			}
		}
	}
	return bs
}

func (e *Engine) setPeer(bs *bstate, dev tree.DeviceID, state, msg string) {
	bs.mu.Lock()
	p := bs.peer(dev)
	changed := p.state != state || p.err != msg
	p.state, p.err = state, msg
	if state == StateInSync && msg == "" {
		p.synced = time.Now()
	}
	row := db.SyncPeer{BucketID: bs.id, Device: bytes.Clone(dev[:]), Height: p.height, Error: p.err}
	if !p.head.IsZero() {
		row.Head = bytes.Clone(p.head[:])
	}
	if !p.synced.IsZero() {
		row.SyncedAt = p.synced.UnixNano()
	}
	bs.mu.Unlock()
	if state != StatePulling {
		if err := e.st.DB.PutSyncPeer(row); err != nil {
			e.log.Warn("record sync state", "err", err)
		}
	}
	if changed {
		e.emit(Event{Kind: "state", Bucket: bs.id, Device: dev.String(), State: state, Error: msg})
	}
}

// enqueue schedules bringing in a head and starts the bucket's worker.
func (e *Engine) enqueue(bs *bstate, dev tree.DeviceID, h Head) {
	bs.mu.Lock()
	bs.queue[dev] = h
	start := !bs.running
	if start {
		bs.running = true
		bs.idle = make(chan struct{})
	}
	bs.mu.Unlock()
	if start && !e.spawn(func() { e.work(bs) }) {
		bs.mu.Lock()
		clear(bs.queue)
		bs.running = false
		close(bs.idle)
		bs.mu.Unlock()
	}
}

// work brings in queued heads one at a time until none is left.
func (e *Engine) work(bs *bstate) {
	for {
		bs.mu.Lock()
		var dev tree.DeviceID
		var h Head
		found := false
		for d, q := range bs.queue { // highest first: it likely contains the others
			if !found || q.Height > h.Height {
				dev, h, found = d, q, true
			}
		}
		if !found || e.ctx.Err() != nil {
			clear(bs.queue)
			bs.running = false
			close(bs.idle)
			bs.mu.Unlock()
			return
		}
		delete(bs.queue, dev)
		bs.mu.Unlock()
		e.bringIn(e.ctx, bs, dev, h)
	}
}

// wait returns when the bucket's worker is idle.
func (bs *bstate) wait(ctx context.Context) error {
	bs.mu.Lock()
	if !bs.running {
		bs.mu.Unlock()
		return nil
	}
	idle := bs.idle
	bs.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe returns a channel of events and a function that ends the
// subscription. A subscriber that does not keep up loses events.
func (e *Engine) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	e.mu.Lock()
	e.subs[ch] = struct{}{}
	e.mu.Unlock()
	return ch, func() {
		e.mu.Lock()
		if _, ok := e.subs[ch]; ok {
			delete(e.subs, ch)
			close(ch)
		}
		e.mu.Unlock()
	}
}

func (e *Engine) emit(ev Event) {
	if ev.Bucket != "" && ev.Name == "" {
		if row, err := e.st.DB.BucketByID(ev.Bucket); err == nil {
			ev.Name = row.Name
		}
	}
	e.emitAll(ev)
}

func (e *Engine) emitAll(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch := range e.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// Status reports every bucket's state with each device of its shares.
func (e *Engine) Status() ([]BucketStatus, error) {
	rows, err := e.st.DB.Buckets()
	if err != nil {
		return nil, err
	}
	online := map[tree.DeviceID]bool{}
	for _, d := range e.cfg.Transport.Connected() {
		online[d] = true
	}
	out := []BucketStatus{}
	for _, r := range rows {
		h, m, err := e.current(r.ID)
		if err != nil {
			out = append(out, BucketStatus{Bucket: r.ID, Name: r.Name, State: StateError, Error: err.Error(), Peers: []PeerStatus{}})
			continue
		}
		st := BucketStatus{Bucket: r.ID, Name: r.Name, Head: blob.ID(h.Link).String(), Height: h.Height, Peers: []PeerStatus{},
			Early: e.early(r.ID)}
		bs := e.bucket(r.ID)
		bs.mu.Lock()
		if bs.progress != nil {
			p := *bs.progress
			st.Progress = &p
		}
		st.Error = bs.err
		anyOnline, allSync, anyErr := false, true, false
		for _, sh := range m.Shares {
			if sh.Device == e.me {
				continue
			}
			ps := PeerStatus{Device: sh.Device.String(), Name: sh.Name, Role: sh.Role.String(), Online: online[sh.Device], State: StateOffline}
			if p := bs.peers[sh.Device]; p != nil {
				if !p.head.IsZero() {
					ps.Head, ps.Height = p.head.String(), p.height
				}
				ps.Error, ps.Synced = p.err, p.synced
				if ps.Online || p.state == StatePulling {
					ps.State = p.state
				}
				if ps.Online && p.head == h.Link && ps.State != StatePulling && ps.State != StateError {
					ps.State = StateInSync
				}
			} else if ps.Online {
				ps.State = StateUnknown
			}
			anyOnline = anyOnline || ps.Online
			allSync = allSync && (ps.State == StateInSync || !ps.Online)
			anyErr = anyErr || ps.State == StateError
			st.Peers = append(st.Peers, ps)
		}
		switch {
		case bs.running:
			st.State = StatePulling
		case anyErr:
			st.State = StateError
		case !anyOnline:
			st.State = StateOffline
		case allSync:
			st.State = StateInSync
		default:
			st.State = StateUnknown
		}
		bs.mu.Unlock()
		sort.Slice(st.Peers, func(i, j int) bool { return st.Peers[i].Name < st.Peers[j].Name })
		out = append(out, st)
	}
	return out, nil
}

// ErrNoPeers means no device sharing the bucket is connected.
var ErrNoPeers = errors.New("no device sharing this bucket is online")

// SyncNow exchanges heads of one bucket (name or id) with every connected
// device sharing it and waits until whatever they had is pulled in. Progress
// is reported through events. It returns the bucket's status afterwards.
func (e *Engine) SyncNow(ctx context.Context, ref string) (*BucketStatus, error) {
	b, err := e.st.Open(ref)
	if err != nil {
		return nil, err
	}
	id := b.ID.String()
	h, m, err := e.current(id)
	if err != nil {
		return nil, err
	}
	if len(m.Shares) < 2 {
		return nil, fmt.Errorf("bucket %s is not shared with another device (share it with 'jax bucket share')", m.Name)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	n := 0
	for _, dev := range e.cfg.Transport.Connected() {
		if dev == e.me || m.Share(dev) == nil {
			continue
		}
		n++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.announce(ctx, dev, []Head{h}); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				e.setPeer(e.bucket(id), dev, StateError, err.Error())
			}
		}()
	}
	wg.Wait()
	if n == 0 {
		return nil, ErrNoPeers
	}
	if len(errs) == n {
		return nil, errors.Join(errs...)
	}
	bs := e.bucket(id)
	if err := bs.wait(ctx); err != nil {
		return nil, err
	}
	all, err := e.Status()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Bucket == id {
			return &all[i], nil
		}
	}
	return nil, bucket.ErrNoBucket
}
