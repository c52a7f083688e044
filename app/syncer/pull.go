package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/merge"
	"github.com/jax-desktop/jax/store/tree"
)

// ErrBadData means a device sent a blob that does not match its hash.
var ErrBadData = errors.New("device sent data that does not match its hash")

// bringIn makes a head some device told us about part of the bucket.
func (e *Engine) bringIn(ctx context.Context, bs *bstate, dev tree.DeviceID, h Head) {
	if _, err := e.st.DB.VersionByLink(h.Bucket, h.Link[:]); err != nil {
		e.setPeer(bs, dev, StatePulling, "")
		bad, err := e.pull(ctx, bs, dev, h)
		if err != nil {
			e.fail(bs, dev, err)
			if retryable(err) {
				e.retry(bs, dev, h)
			}
			return
		}
		defer func() {
			// The pull got around devices that failed it; say so.
			for d, err := range bad {
				e.setPeer(bs, d, StateError, err.Error())
			}
		}()
	}
	if !e.unmerged(h.Bucket, h.Link) {
		// Brought in meanwhile (an earlier pull contained it).
		state := StateBehind
		if cur, _, err := e.current(h.Bucket); err == nil && cur.Link == h.Link {
			state = StateInSync
		}
		e.setPeer(bs, dev, state, "")
		return
	}
	if err := e.incoming(ctx, bs, dev, h.Link); err != nil {
		e.fail(bs, dev, err)
	}
}

// unmerged reports whether a recorded version is a head that the current
// version does not contain yet.
func (e *Engine) unmerged(bucketID string, link blob.ID) bool {
	if cur, _, err := e.current(bucketID); err == nil && cur.Link == link {
		return false
	}
	heads, err := e.st.DB.Heads(bucketID)
	if err != nil {
		return true
	}
	for _, l := range heads {
		if blob.ID(l) == link {
			return true
		}
	}
	return false
}

func (e *Engine) fail(bs *bstate, dev tree.DeviceID, err error) {
	e.log.Warn("sync failed", "bucket", bs.id, "device", dev.Short(), "err", err)
	bs.mu.Lock()
	bs.err = err.Error()
	bs.progress = nil
	bs.mu.Unlock()
	e.setPeer(bs, dev, StateError, err.Error())
	e.emit(Event{Kind: "error", Bucket: bs.id, Device: dev.String(), Error: err.Error()})
}

// retryable reports whether a failed pull may work if tried again (a
// broken stream), unlike one whose data or request was refused.
func retryable(err error) bool {
	var re *RemoteError
	return !errors.As(err, &re) && !errors.Is(err, bucket.ErrBadManifest) && !errors.Is(err, ErrBadData) &&
		!errors.Is(err, errRefused) && !errors.Is(err, ErrProtocol) && !errors.Is(err, bucket.ErrNoAccess) &&
		!errors.Is(err, bucket.ErrDamaged) && !errors.Is(err, bucket.ErrBadTree) && !errors.Is(err, context.Canceled)
}

// retry brings a head in again after a pause that doubles with each failure
// (up to the ping interval), if the device is still connected and still
// has that head. A device that reconnects is asked again anyway.
func (e *Engine) retry(bs *bstate, dev tree.DeviceID, h Head) {
	bs.mu.Lock()
	p := bs.peer(dev)
	p.retries++
	delay := min(time.Second<<min(p.retries-1, 10), e.cfg.Ping)
	bs.mu.Unlock()
	e.spawn(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		if !slices.Contains(e.cfg.Transport.Connected(), dev) {
			return
		}
		bs.mu.Lock()
		still := bs.peer(dev).head == h.Link
		bs.mu.Unlock()
		if still {
			e.log.Info("trying a failed pull again", "bucket", bs.id, "device", dev.Short())
			e.enqueue(bs, dev, h)
		}
	})
}

// incoming merges a recorded version into the current one and tells the app.
func (e *Engine) incoming(ctx context.Context, bs *bstate, dev tree.DeviceID, link blob.ID) error {
	res, err := e.st.Incoming(ctx, bs.id, link, merge.Options{})
	if errors.Is(err, bucket.ErrReadOnly) {
		// A mirror cannot save a merge: it keeps its version until an
		// owner's merge of both arrives.
		e.log.Info("diverged versions wait for an owner's merge", "bucket", bs.id)
		err, res = nil, nil
	}
	if err != nil {
		return err
	}
	bs.mu.Lock()
	bs.err = ""
	bs.progress = nil
	bs.mu.Unlock()
	state := StateBehind
	if res != nil && res.Version != nil && res.Version.Link == link {
		state = StateInSync
	}
	bs.mu.Lock()
	bs.peer(dev).synced = time.Now()
	bs.peer(dev).retries = 0
	bs.mu.Unlock()
	e.setPeer(bs, dev, state, "")
	if res != nil && res.Action != merge.UpToDate && res.Action != merge.KeepOurs {
		if e.cfg.OnSynced != nil {
			start := time.Now()
			e.cfg.OnSynced(ctx, bs.id)
			e.log.Debug("mounts updated", "bucket", bs.id, "took", time.Since(start))
		}
		ev := Event{Kind: "synced", Bucket: bs.id, Device: dev.String()}
		if res.Version != nil {
			ev.Head = res.Version.Link.String()
		}
		e.emit(ev)
	}
	return nil
}

// version is a manifest received from a device.
type version struct {
	link blob.ID
	raw  []byte
	m    *bucket.Manifest
}

// pull fetches, verifies and records the versions leading to h, and every
// blob they need. It returns the devices that failed it on the way.
func (e *Engine) pull(ctx context.Context, bs *bstate, dev tree.DeviceID, h Head) (map[tree.DeviceID]error, error) {
	f := e.newFetcher(ctx, h.Bucket, dev)
	defer func() { f.stop(); f.close() }()
	return f.bad, e.pullFrom(ctx, f, bs, dev, h)
}

func (e *Engine) pullFrom(ctx context.Context, f *fetcher, bs *bstate, dev tree.DeviceID, h Head) error {
	uid, err := uuid.Parse(h.Bucket)
	if err != nil {
		return err
	}
	vs, err := e.fetchVersions(f, uid, h)
	if err != nil {
		return err
	}
	head := vs[len(vs)-1].m
	prog := &Progress{Device: dev.String(), Versions: len(vs)}
	e.progress(bs, prog, true)
	f.others(head)

	// The chain is verified: its manifests may be stored (as blobs only;
	// they are recorded once everything they need is here).
	for _, v := range vs {
		if _, err := e.st.Blobs.Put(v.raw); err != nil {
			return err
		}
	}
	w := e.st.Walker(uid)
	var level []bucket.Node
	seen := map[blob.ID]bool{}
	for i := len(vs) - 1; i >= 0; i-- { // newest first: its keyring opens the older ones
		root, err := w.Root(vs[i].link)
		if err != nil {
			return fmt.Errorf("version %d: %w", vs[i].m.Height, err)
		}
		if !seen[root.Blob] {
			seen[root.Blob] = true
			level = append(level, root)
		}
	}
	// Directories level by level, then chunks.
	var files []bucket.FileChunks
	for len(level) > 0 {
		var missing []blob.ID
		for _, n := range level {
			if !e.st.Blobs.Has(n.Blob) {
				missing = append(missing, n.Blob)
			}
		}
		bs.mu.Lock()
		prog.Blobs += len(missing)
		bs.mu.Unlock()
		err := f.fetchAll(missing, func(blob.ID, int) {
			bs.mu.Lock()
			prog.BlobsDone++
			bs.mu.Unlock()
			e.progress(bs, prog, false)
		})
		if err != nil {
			return err
		}
		var next []bucket.Node
		for _, n := range level {
			nodes, fs, err := w.Expand(n)
			if err != nil {
				return err
			}
			files = append(files, fs...)
			for _, c := range nodes {
				if !seen[c.Blob] {
					seen[c.Blob] = true
					next = append(next, c)
				}
			}
		}
		level = next
	}

	need := map[blob.ID]int64{}
	var order []blob.ID
	fileOf := map[blob.ID][]int{}
	left := make([]int, len(files))
	for i, fc := range files {
		for _, c := range fc.Chunks {
			id := blob.ID(c.Blob)
			if _, ok := need[id]; !ok {
				if e.st.Blobs.Has(id) {
					continue
				}
				need[id] = int64(c.Size)
				order = append(order, id)
			}
			fileOf[id] = append(fileOf[id], i)
			left[i]++
		}
	}
	bs.mu.Lock()
	for i := range files {
		if left[i] > 0 {
			prog.Files++
		}
	}
	for _, n := range need {
		prog.Bytes += n
	}
	prog.Blobs += len(order)
	bs.mu.Unlock()
	e.progress(bs, prog, true)
	start := time.Now()
	err = f.fetchAll(order, func(id blob.ID, _ int) {
		bs.mu.Lock()
		prog.BlobsDone++
		prog.BytesDone += need[id]
		for _, i := range fileOf[id] {
			if left[i]--; left[i] == 0 {
				prog.FilesDone++
			}
		}
		bs.mu.Unlock()
		e.progress(bs, prog, false)
	})
	if err != nil {
		return err
	}
	fetched := time.Now()
	if err := e.st.Blobs.Sync(); err != nil {
		return err
	}
	synced := time.Now()
	for _, v := range vs { // oldest first: parents are recorded before children
		if _, _, err := e.st.Import(ctx, v.raw); err != nil {
			return fmt.Errorf("record version %d: %w", v.m.Height, err)
		}
	}
	e.log.Debug("pulled", "bucket", bs.id, "device", dev.Short(), "versions", len(vs), "blobs", len(order),
		"bytes", prog.Bytes, "fetch", fetched.Sub(start), "sync", synced.Sub(fetched), "record", time.Since(synced))
	e.progress(bs, prog, true)
	return nil
}

// progress publishes a pull's progress, at most every 100 ms unless forced.
func (e *Engine) progress(bs *bstate, p *Progress, force bool) {
	bs.mu.Lock()
	bs.progress = p
	now := time.Now()
	last := bs.lastEmit
	if !force && now.Sub(last) < 100*time.Millisecond {
		bs.mu.Unlock()
		return
	}
	bs.lastEmit = now
	cp := *p
	bs.mu.Unlock()
	e.emit(Event{Kind: "progress", Bucket: bs.id, Device: p.Device, Progress: &cp})
}

// fetchVersions asks dev for the versions leading to h that this device
// lacks, and verifies them: each one's signature, author role and height
// against its parents. It returns them oldest first.
func (e *Engine) fetchVersions(f *fetcher, uid uuid.UUID, h Head) ([]*version, error) {
	bucketID := uid.String()
	var have [][]byte
	if heads, err := e.st.DB.Heads(bucketID); err == nil {
		have = append(have, heads...)
	}
	if row, err := e.st.DB.BucketByID(bucketID); err == nil && len(row.Head) > 0 {
		have = append(have, row.Head)
	}
	// A bucket has one first version: another one, however well signed,
	// would make its author the owner of a history of its own.
	haveBucket := len(have) > 0
	if len(have) > maxLinks {
		have = have[:maxLinks]
	}
	known := func(l blob.ID) bool {
		_, err := e.st.DB.VersionByLink(bucketID, l[:])
		return err == nil
	}
	got := map[blob.ID]*version{}
	want := []blob.ID{h.Link}
	total := 0
	for len(want) > 0 {
		if len(got) > maxVersions || total > maxVersionBytes {
			return nil, fmt.Errorf("%w: device %s sends more versions than this device takes in one pull", ErrProtocol, f.primary.Short())
		}
		req := &message{Op: opManifests, Bucket: bucketID, Have: have}
		for _, w := range want[:min(len(want), maxLinks)] {
			req.Want = append(req.Want, w[:])
		}
		resp, err := f.call(f.primary, req)
		if err != nil {
			return nil, fmt.Errorf("ask for versions: %w", err)
		}
		fresh := 0
		for _, raw := range resp.Data {
			link := blob.Sum(raw)
			if got[link] != nil {
				continue
			}
			m, err := bucket.DecodeManifest(raw)
			if err != nil {
				return nil, fmt.Errorf("version %s from device %s: %w", link.Short(), f.primary.Short(), err)
			}
			if m.Bucket != uid {
				return nil, fmt.Errorf("version %s from device %s: %w: belongs to another bucket", link.Short(), f.primary.Short(), bucket.ErrBadManifest)
			}
			got[link] = &version{link: link, raw: raw, m: m}
			total += len(raw)
			fresh++
		}
		if fresh == 0 {
			return nil, fmt.Errorf("%w: device %s sent none of the versions asked for", ErrProtocol, f.primary.Short())
		}
		want = want[:0]
		asked := map[blob.ID]bool{}
		for _, v := range got {
			for _, p := range v.m.Parents {
				if got[p] == nil && !asked[p] && !known(p) {
					asked[p] = true
					want = append(want, p)
				}
			}
		}
	}
	if got[h.Link] == nil {
		return nil, fmt.Errorf("%w: device %s did not send the version it announced", ErrProtocol, f.primary.Short())
	}
	// Keep what leads to the head, in height order, and verify it.
	var vs []*version
	in := map[blob.ID]bool{}
	stack := []blob.ID{h.Link}
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v := got[l]
		if v == nil || in[l] {
			continue
		}
		in[l] = true
		vs = append(vs, v)
		stack = append(stack, v.m.Parents...)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].m.Height < vs[j].m.Height })
	for _, v := range vs {
		if len(v.m.Parents) == 0 && haveBucket && !known(v.link) {
			return nil, fmt.Errorf("version %s from device %s: %w: another first version of a bucket this device has", v.link.Short(), f.primary.Short(), bucket.ErrBadManifest)
		}
		parents := make([]*bucket.Manifest, 0, len(v.m.Parents))
		for _, p := range v.m.Parents {
			if pv := got[p]; pv != nil && in[p] {
				parents = append(parents, pv.m)
				continue
			}
			raw, err := e.st.Blobs.Get(p, nil)
			if err != nil {
				return nil, fmt.Errorf("previous version %s: %w", p.Short(), err)
			}
			pm, err := bucket.DecodeManifest(raw)
			if err != nil {
				return nil, err
			}
			parents = append(parents, pm)
		}
		if err := bucket.VerifyChild(v.m, parents); err != nil {
			return nil, fmt.Errorf("version %s from device %s: %w", v.link.Short(), f.primary.Short(), err)
		}
	}
	head := got[h.Link].m
	if head.Height != h.Height {
		return nil, fmt.Errorf("%w: device %s announced height %d for a version of height %d", bucket.ErrBadManifest, f.primary.Short(), h.Height, head.Height)
	}
	if head.Share(e.me) == nil {
		return nil, fmt.Errorf("bucket %s: this device is not in the shares of version %d", bucketID, head.Height)
	}
	if head.Share(f.primary) == nil {
		return nil, fmt.Errorf("bucket %s: device %s: %w", bucketID, f.primary.Short(), errRefused)
	}
	return vs, nil
}

// fetcher asks devices for blobs over a few streams each: first the device
// that announced the head, then the others sharing the bucket.
type fetcher struct {
	e       *Engine
	ctx     context.Context
	bucket  string
	primary tree.DeviceID
	stop    func() bool

	mu    sync.Mutex
	devs  []tree.DeviceID
	bad   map[tree.DeviceID]error // not asked again in this pull
	idle  map[tree.DeviceID][]*conn
	open  map[tree.DeviceID]int
	conns map[*conn]bool
	done  bool
}

func (e *Engine) newFetcher(ctx context.Context, bucketID string, primary tree.DeviceID) *fetcher {
	f := &fetcher{e: e, ctx: ctx, bucket: bucketID, primary: primary, devs: []tree.DeviceID{primary},
		bad: map[tree.DeviceID]error{}, idle: map[tree.DeviceID][]*conn{}, open: map[tree.DeviceID]int{}, conns: map[*conn]bool{}}
	f.stop = context.AfterFunc(ctx, f.close)
	return f
}

// others adds the other connected devices in the head's shares as sources.
func (f *fetcher) others(m *bucket.Manifest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.e.cfg.Transport.Connected() {
		if d != f.primary && d != f.e.me && m.Share(d) != nil {
			f.devs = append(f.devs, d)
		}
	}
}

func (f *fetcher) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = true
	for c := range f.conns {
		c.s.Close()
	}
	clear(f.conns)
	clear(f.idle)
}

func (f *fetcher) get(dev tree.DeviceID) (*conn, error) {
	f.mu.Lock()
	if f.done {
		f.mu.Unlock()
		return nil, context.Canceled
	}
	if cs := f.idle[dev]; len(cs) > 0 {
		c := cs[len(cs)-1]
		f.idle[dev] = cs[:len(cs)-1]
		f.mu.Unlock()
		return c, nil
	}
	f.open[dev]++
	f.mu.Unlock()
	c, err := f.e.dial(f.ctx, dev)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.open[dev]--
		return nil, err
	}
	if f.done {
		c.s.Close()
		return nil, context.Canceled
	}
	f.conns[c] = true
	return c, nil
}

func (f *fetcher) put(dev tree.DeviceID, c *conn, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ok && !f.done {
		f.idle[dev] = append(f.idle[dev], c)
		return
	}
	c.s.Close()
	delete(f.conns, c)
	f.open[dev]--
}

func (f *fetcher) call(dev tree.DeviceID, req *message) (*message, error) {
	c, err := f.get(dev)
	if err != nil {
		return nil, err
	}
	resp, err := c.call(req)
	var re *RemoteError
	f.put(dev, c, err == nil || errors.As(err, &re))
	return resp, err
}

// blob fetches one blob from the first device that has it and sends it
// whole and right; the bytes are checked against id. The caller gives the
// buffer back with putBuf.
func (f *fetcher) blob(id blob.ID) ([]byte, error) {
	f.mu.Lock()
	devs := append([]tree.DeviceID(nil), f.devs...)
	f.mu.Unlock()
	var last error
	for _, dev := range devs {
		f.mu.Lock()
		bad := f.bad[dev]
		f.mu.Unlock()
		if bad != nil {
			last = bad
			continue
		}
		resp, err := f.call(dev, &message{Op: opBlob, Bucket: f.bucket, Blob: id[:]})
		if err == nil && blob.Sum(resp.body) != id {
			putBuf(resp.body)
			err = fmt.Errorf("blob %s from device %s: %w", id.Short(), dev.Short(), ErrBadData)
			f.e.log.Warn("refused a damaged blob", "device", dev.Short(), "blob", id.Short())
		}
		if err == nil {
			return resp.body, nil
		}
		last = err
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != codeMissing {
			f.mu.Lock()
			f.bad[dev] = err
			f.mu.Unlock()
		}
		if f.ctx.Err() != nil {
			return nil, f.ctx.Err()
		}
	}
	if last == nil {
		last = fmt.Errorf("no device to fetch blob %s from", id.Short())
	}
	return nil, last
}

// fetchAll fetches and stores blobs, Parallel at a time; done is called
// after each is stored.
func (f *fetcher) fetchAll(ids []blob.ID, done func(blob.ID, int)) error {
	if len(ids) == 0 {
		return nil
	}
	g, ctx := errgroup.WithContext(f.ctx)
	g.SetLimit(f.e.cfg.Parallel)
	for _, id := range ids {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := f.fetchStore(id)
			if err != nil {
				return err
			}
			done(id, n)
			return nil
		})
	}
	return g.Wait()
}

// fetchStore fetches and stores one blob and returns its size. If another
// fetch of this engine has it in hand (the prefetch of offered chunks), it
// waits for that one instead.
func (f *fetcher) fetchStore(id blob.ID) (int, error) {
	for {
		mine, wait := f.e.flight.claim(id)
		if mine {
			break
		}
		select {
		case <-wait:
		case <-f.ctx.Done():
			return 0, f.ctx.Err()
		}
	}
	defer f.e.flight.release(id)
	if n, err := f.e.st.Blobs.Size(id); err == nil {
		return int(n), nil // stored meanwhile, by the fetch waited for or another
	}
	data, err := f.blob(id)
	if err != nil {
		return 0, err
	}
	err = f.e.st.Blobs.PutVerified(id, data) // f.blob hashed it
	n := len(data)
	putBuf(data)
	if err != nil {
		return 0, err
	}
	f.e.fetched.Add(1)
	f.e.fetchedBytes.Add(int64(n))
	return n, nil
}
