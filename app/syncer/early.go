package syncer

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/tree"
)

// Early chunks: while a large file streams into a bucket, the writing
// device offers each chunk it has stored to the bucket's connected devices,
// which fetch it at once. When the file is saved and its version announced,
// the pull finds most chunks already here, so a large file reaches another
// device about when its writing ends instead of a whole transfer later.
//
// An offered chunk is not part of any version yet: the writer serves it
// only to devices in the bucket's shares and only for earlyKeep, and the
// receiver takes offers only from an owner in the shares and checks each
// chunk's hash as for any blob. A chunk whose file is never saved stays
// unreferenced in the store, like one of a write cut short.

const (
	earlyKeep = 30 * time.Minute // how long an offered chunk is served before a version refers to it
	earlyMax  = 1 << 18          // chunks on offer per bucket (about 150 GiB of file)
	// prefetchMax is how many offered chunks a device queues per bucket;
	// more are left to the pull that follows the save.
	prefetchMax = 1 << 16
)

// offers are the chunks of one bucket this device has offered.
type offers struct {
	mu      sync.Mutex
	at      map[blob.ID]time.Time // offered when; may be served
	pruned  time.Time             // when expired offers were last dropped from at
	queue   []blob.ID             // still to send
	sending bool
}

// chunksStored offers a large write's chunks (store.OnChunks).
func (e *Engine) chunksStored(bucketID string, ids []blob.ID) {
	e.mu.Lock()
	o := e.offered[bucketID]
	if o == nil {
		o = &offers{at: map[blob.ID]time.Time{}}
		e.offered[bucketID] = o
	}
	e.mu.Unlock()
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if now.Sub(o.pruned) > time.Minute || len(o.at)+len(ids) > earlyMax {
		o.pruned = now
		for id, t := range o.at {
			if now.Sub(t) > earlyKeep {
				delete(o.at, id)
			}
		}
	}
	if len(o.at)+len(ids) > earlyMax {
		return // the pull after the save fetches them
	}
	for _, id := range ids {
		o.at[id] = now
	}
	o.queue = append(o.queue, ids...)
	if !o.sending {
		o.sending = e.spawn(func() { e.sendOffers(bucketID, o) })
	}
}

// isOffered reports whether this device offered a bucket's chunk lately.
func (e *Engine) isOffered(bucketID string, id blob.ID) bool {
	e.mu.Lock()
	o := e.offered[bucketID]
	e.mu.Unlock()
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.at[id]
	return ok && time.Since(t) <= earlyKeep
}

// sendOffers sends the queued offers of a bucket, in batches of what came
// in while the last was on its way, to the connected devices in its shares,
// over one stream each, until the queue is empty.
func (e *Engine) sendOffers(bucketID string, o *offers) {
	conns := map[tree.DeviceID]*conn{}
	skip := map[tree.DeviceID]bool{} // failed or refused: not offered more of this burst
	defer func() {
		for _, c := range conns {
			c.s.Close()
		}
	}()
	for {
		o.mu.Lock()
		batch := o.queue[:min(len(o.queue), maxLinks)]
		o.queue = o.queue[len(batch):]
		if len(batch) == 0 {
			o.queue = nil
			o.sending = false
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		_, m, err := e.current(bucketID)
		if err != nil {
			continue // a bucket with no version yet: nobody to offer to
		}
		req := &message{Op: opEarly, Bucket: bucketID, Blobs: make([][]byte, len(batch))}
		for i := range batch {
			req.Blobs[i] = batch[i][:]
		}
		for _, dev := range e.cfg.Transport.Connected() {
			if dev == e.me || skip[dev] || m.Share(dev) == nil {
				continue
			}
			c := conns[dev]
			if c == nil {
				var err error
				if c, err = e.dial(e.ctx, dev); err != nil {
					skip[dev] = true
					continue
				}
				conns[dev] = c
			}
			if _, err := c.call(req); err != nil {
				e.log.Debug("offering chunks failed", "device", dev.Short(), "bucket", bucketID, "err", err)
				c.s.Close()
				delete(conns, dev)
				skip[dev] = true
			}
		}
	}
}

// prefetch is the queue of chunks offered to this device for one bucket.
type prefetch struct {
	mu      sync.Mutex
	queue   []blob.ID
	from    []tree.DeviceID // devices that offered them
	running bool
	done    Early // of this run, for the status
	emitted time.Time
}

// report publishes the prefetch's progress (nil once it is over), at most
// every 100 ms unless forced.
func (e *Engine) report(bucketID string, p *prefetch, force bool) {
	p.mu.Lock()
	if p.running && !force && time.Since(p.emitted) < 100*time.Millisecond {
		p.mu.Unlock()
		return
	}
	p.emitted = time.Now()
	p.mu.Unlock()
	e.emit(Event{Kind: "early", Bucket: bucketID, Early: e.early(bucketID)})
}

// early is the prefetch under way for a bucket, if any.
func (e *Engine) early(bucketID string) *Early {
	e.mu.Lock()
	p := e.prefetches[bucketID]
	e.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if !p.running {
		p.mu.Unlock()
		return nil
	}
	d, from := p.done, slices.Clone(p.from)
	p.mu.Unlock()
	d.From = e.names(bucketID, from)
	return &d
}

// names are the names devices have in a bucket's shares.
func (e *Engine) names(bucketID string, devs []tree.DeviceID) []string {
	_, m, err := e.current(bucketID)
	out := make([]string, 0, len(devs))
	for _, d := range devs {
		if err != nil {
			out = append(out, d.Short())
		} else {
			out = append(out, m.DeviceName(d))
		}
	}
	return out
}

// answerEarly takes in chunks offered by dev (already checked to be in the
// bucket's shares) and starts fetching them.
func (e *Engine) answerEarly(dev tree.DeviceID, req *message) *message {
	if len(req.Blobs) > maxLinks {
		return &message{Op: opError, Code: codeBad, Err: "too many blobs"}
	}
	ids := make([]blob.ID, 0, len(req.Blobs))
	for _, b := range req.Blobs {
		id, ok := toID(b)
		if !ok {
			return &message{Op: opError, Code: codeBad, Err: "bad blob id"}
		}
		if !e.st.Blobs.Has(id) {
			ids = append(ids, id)
		}
	}
	e.mu.Lock()
	p := e.prefetches[req.Bucket]
	if p == nil {
		p = &prefetch{}
		e.prefetches[req.Bucket] = p
	}
	e.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := prefetchMax - len(p.queue); len(ids) > n {
		ids = ids[:max(n, 0)]
	}
	p.queue = append(p.queue, ids...)
	if !p.running {
		p.done = Early{}
	}
	p.done.Blobs += len(ids)
	if !slices.Contains(p.from, dev) {
		p.from = append(p.from, dev)
	}
	if !p.running && len(p.queue) > 0 {
		p.running = e.spawn(func() { e.runPrefetch(req.Bucket, p) })
	}
	return &message{Op: opEarly}
}

// runPrefetch fetches a bucket's offered chunks, Parallel at a time, until
// none are left. Failures only end it: the pull after the save fetches
// whatever is still missing, from whichever device has it.
func (e *Engine) runPrefetch(bucketID string, p *prefetch) {
	p.mu.Lock()
	f := e.newFetcher(e.ctx, bucketID, p.from[0])
	f.devs = append([]tree.DeviceID(nil), p.from...)
	p.mu.Unlock()
	defer func() { f.stop(); f.close() }()
	e.report(bucketID, p, true)
	var g errgroup.Group
	g.SetLimit(e.cfg.Parallel)
	var failed sync.Once
	var stop atomic.Bool // a device or the store failed: leave the rest to the pull
	n, start := 0, time.Now()
	for {
		p.mu.Lock()
		batch := p.queue
		p.queue = nil
		if len(batch) == 0 {
			p.mu.Unlock()
			g.Wait()
			p.mu.Lock()
			if len(p.queue) == 0 {
				p.running = false
				p.from = nil
				p.mu.Unlock()
				e.report(bucketID, p, true)
				e.log.Debug("fetched offered chunks", "bucket", bucketID, "blobs", n, "took", time.Since(start))
				return
			}
			p.mu.Unlock()
			continue
		}
		f.mu.Lock()
		for _, d := range p.from {
			if !slices.Contains(f.devs, d) {
				f.devs = append(f.devs, d)
			}
		}
		f.mu.Unlock()
		p.mu.Unlock()
		for _, id := range batch {
			if e.ctx.Err() != nil || stop.Load() {
				break
			}
			n++
			g.Go(func() error {
				size, err := f.fetchStore(id)
				if err != nil && e.ctx.Err() != nil {
					return nil // stopping
				}
				if err != nil {
					failed.Do(func() {
						e.log.Info("fetching offered chunks failed; the pull after the save fetches the rest", "bucket", bucketID, "err", err)
					})
					var re *RemoteError
					if !errors.As(err, &re) || re.Code != codeMissing {
						stop.Store(true)
					}
					return nil
				}
				p.mu.Lock()
				p.done.BlobsDone++
				p.done.BytesDone += int64(size)
				p.mu.Unlock()
				e.report(bucketID, p, false)
				return nil
			})
		}
	}
}

// inflight tracks the blobs being fetched, so that a pull waits for a
// chunk the prefetch is already fetching instead of fetching it again.
type inflight struct {
	mu sync.Mutex
	m  map[blob.ID]chan struct{}
}

// claim takes id for the caller, or returns the channel that closes when
// whoever has it is done.
func (fl *inflight) claim(id blob.ID) (mine bool, wait <-chan struct{}) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if c, ok := fl.m[id]; ok {
		return false, c
	}
	if fl.m == nil {
		fl.m = map[blob.ID]chan struct{}{}
	}
	fl.m[id] = make(chan struct{})
	return true, nil
}

func (fl *inflight) release(id blob.ID) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	close(fl.m[id])
	delete(fl.m, id)
}
