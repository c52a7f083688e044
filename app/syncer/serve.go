package syncer

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/google/uuid"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

// Serve answers the requests of one incoming stream from an authenticated
// device until it closes the stream, goes quiet, or breaks the protocol.
func (e *Engine) Serve(dev tree.DeviceID, s Stream) {
	defer s.Close()
	c := &conn{s: s, timeout: e.cfg.Timeout}
	for e.ctx.Err() == nil {
		req, err := c.read(maxRequest, 4*e.cfg.Timeout)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				e.log.Debug("sync stream ended", "device", dev.Short(), "err", err)
			}
			if errors.Is(err, ErrProtocol) {
				c.write(&message{Op: opError, Code: codeBad, Err: err.Error()})
			}
			return
		}
		resp := e.answer(dev, req)
		err = c.write(resp)
		putBuf(resp.body)
		if err != nil {
			return
		}
	}
}

func refuse(format string, args ...any) *message {
	return &message{Op: opError, Code: codeRefused, Err: fmt.Sprintf(format, args...)}
}

func (e *Engine) answer(dev tree.DeviceID, req *message) *message {
	switch req.Op {
	case opHeads:
		return e.answerHeads(dev, req)
	case opManifests:
		if _, _, err := e.allowed(dev, req.Bucket); err != nil {
			return refuse("%v", err)
		}
		return e.answerManifests(req)
	case opBlob:
		if _, _, err := e.allowed(dev, req.Bucket); err != nil {
			return refuse("%v", err)
		}
		return e.answerBlob(dev, req)
	case opEarly:
		_, m, err := e.allowed(dev, req.Bucket)
		if err != nil {
			return refuse("%v", err)
		}
		if !m.CanWrite(dev) { // a mirror writes no versions, so none of its chunks
			e.log.Warn("refused chunks offered by a mirror", "device", dev.Short(), "bucket", req.Bucket)
			return refuse("device %s may not write bucket %s", dev.Short(), req.Bucket)
		}
		return e.answerEarly(dev, req)
	}
	return &message{Op: opError, Code: codeBad, Err: fmt.Sprintf("unknown request %d", req.Op)}
}

// allowed checks that a bucket we have is shared with dev in its current
// version, logging refusals.
func (e *Engine) allowed(dev tree.DeviceID, bucketID string) (Head, *bucket.Manifest, error) {
	h, m, err := e.current(bucketID)
	if err != nil {
		e.log.Warn("refused a request for an unknown bucket", "device", dev.Short(), "bucket", bucketID)
		return Head{}, nil, fmt.Errorf("bucket %s: %w", bucketID, errRefused)
	}
	if m.Share(dev) == nil {
		e.log.Warn("refused a device not in the bucket's shares", "device", dev.Short(), "bucket", bucketID)
		return Head{}, nil, fmt.Errorf("bucket %s: %w", bucketID, errRefused)
	}
	return h, m, nil
}

// answerHeads takes in announced heads and answers with ours for the same
// buckets. Heads of buckets not shared with the device are refused.
func (e *Engine) answerHeads(dev tree.DeviceID, req *message) *message {
	if len(req.Heads) > maxLinks {
		return &message{Op: opError, Code: codeBad, Err: "too many heads"}
	}
	resp := &message{Op: opHeads}
	var refused []string
	for _, h := range req.Heads {
		if err := e.heard(dev, h); err != nil {
			e.log.Warn("refused an announced head", "device", dev.Short(), "bucket", h.Bucket, "err", err)
			refused = append(refused, err.Error())
			continue
		}
		if ours, m, err := e.current(h.Bucket); err == nil && m.Share(dev) != nil {
			resp.Heads = append(resp.Heads, ours)
		}
	}
	if len(refused) == len(req.Heads) && len(refused) > 0 {
		return refuse("%s", refused[0])
	}
	return resp
}

// answerManifests sends the versions wanted and their ancestors, down to
// what the asker has (the ancestors of its heads), highest first.
func (e *Engine) answerManifests(req *message) *message {
	if len(req.Want) > maxLinks || len(req.Have) > maxLinks {
		return &message{Op: opError, Code: codeBad, Err: "too many links"}
	}
	vs, err := e.st.DB.Versions(req.Bucket)
	if err != nil {
		return &message{Op: opError, Code: codeMissing, Err: err.Error()}
	}
	parents := make(map[blob.ID][]blob.ID, len(vs))
	height := make(map[blob.ID]uint64, len(vs))
	for _, v := range vs {
		l := blob.ID(v.Link)
		height[l] = v.Height
		for _, p := range v.Parents {
			parents[l] = append(parents[l], blob.ID(p))
		}
	}
	has := map[blob.ID]bool{}
	var stack []blob.ID
	for _, h := range req.Have {
		if l, ok := toID(h); ok {
			if _, known := height[l]; known {
				stack = append(stack, l)
			}
		}
	}
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if has[l] {
			continue
		}
		has[l] = true
		stack = append(stack, parents[l]...)
	}
	var out []blob.ID
	seen := map[blob.ID]bool{}
	for _, w := range req.Want {
		l, ok := toID(w)
		if !ok {
			return &message{Op: opError, Code: codeBad, Err: "bad link"}
		}
		if _, known := height[l]; !known {
			return &message{Op: opError, Code: codeMissing, Err: fmt.Sprintf("no version %s", l.Short())}
		}
		stack = append(stack, l)
	}
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[l] || has[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
		stack = append(stack, parents[l]...)
	}
	sort.Slice(out, func(i, j int) bool { return height[out[i]] > height[out[j]] })
	resp := &message{Op: opManifests}
	size := 0
	for _, l := range out {
		raw, err := e.st.Blobs.Get(l, nil)
		if err != nil {
			return &message{Op: opError, Code: codeMissing, Err: err.Error()}
		}
		if size+len(raw) > maxBatch || len(resp.Data) >= manifestsPerAnswer {
			resp.More = true
			break
		}
		size += len(raw)
		resp.Data = append(resp.Data, raw)
	}
	return resp
}

func toID(b []byte) (blob.ID, bool) {
	var id blob.ID
	if len(b) != len(id) {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

// answerBlob sends one blob of a bucket shared with the asker. The blob
// must belong to one of the bucket's versions, or be a chunk this device
// offered for the bucket lately: a device cannot read another bucket's
// blobs by naming them.
func (e *Engine) answerBlob(dev tree.DeviceID, req *message) *message {
	id, ok := toID(req.Blob)
	if !ok {
		return &message{Op: opError, Code: codeBad, Err: "bad blob id"}
	}
	if !e.isOffered(req.Bucket, id) && !e.reachable(req.Bucket, id) {
		if !e.st.Blobs.Has(id) {
			return &message{Op: opError, Code: codeMissing, Err: fmt.Sprintf("no blob %s", id.Short())}
		}
		e.log.Warn("refused a blob outside the bucket", "device", dev.Short(), "bucket", req.Bucket, "blob", id.Short())
		return refuse("blob %s is not part of bucket %s", id.Short(), req.Bucket)
	}
	raw, err := e.st.Blobs.GetUnverified(id, getBuf(0)) // the asker checks it
	if err != nil {
		return &message{Op: opError, Code: codeMissing, Err: err.Error()}
	}
	e.served.Add(1)
	if e.testServed != nil {
		e.testServed(dev, id)
	}
	return &message{Op: opBlob, body: raw}
}

// reach is the set of blobs a bucket's recorded versions refer to, grown
// as versions are walked.
type reach struct {
	mu     sync.Mutex
	walked map[blob.ID]bool // versions
	nodes  map[blob.ID]bool // directories and chunk lists expanded
	blobs  map[blob.ID]bool
}

func (e *Engine) reachable(bucketID string, id blob.ID) bool {
	e.mu.Lock()
	r := e.reach[bucketID]
	if r == nil {
		r = &reach{walked: map[blob.ID]bool{}, nodes: map[blob.ID]bool{}, blobs: map[blob.ID]bool{}}
		e.reach[bucketID] = r
	}
	e.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.blobs[id] {
		return true
	}
	uid, err := uuid.Parse(bucketID)
	if err != nil {
		return false
	}
	vs, err := e.st.DB.Versions(bucketID)
	if err != nil {
		return false
	}
	w := e.st.Walker(uid)
	for _, v := range vs { // newest first: what is asked for is mostly recent
		link := blob.ID(v.Link)
		if r.walked[link] {
			continue
		}
		if err := r.walk(w, link); err != nil {
			continue // blobs still missing here; try again next time
		}
		r.walked[link] = true
		if r.blobs[id] {
			return true
		}
	}
	return false
}

func (r *reach) walk(w *bucket.Walker, link blob.ID) error {
	root, err := w.Root(link)
	if err != nil {
		return err
	}
	r.blobs[link] = true
	var done []blob.ID
	level := []bucket.Node{root}
	for len(level) > 0 {
		var next []bucket.Node
		for _, n := range level {
			if r.nodes[n.Blob] {
				continue
			}
			nodes, files, err := w.Expand(n)
			if err != nil {
				// Expand the whole path again next time, to reach what is missing.
				for _, d := range done {
					delete(r.nodes, d)
				}
				return err
			}
			done = append(done, n.Blob)
			for _, f := range files {
				for _, c := range f.Chunks {
					r.blobs[c.Blob] = true
				}
			}
			next = append(next, nodes...)
			r.nodes[n.Blob] = true
			r.blobs[n.Blob] = true
		}
		level = next
	}
	return nil
}
