package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/jax-desktop/jax/store/bucket"
)

// Bucket changes a jax command asks for. While a daemon runs it makes them,
// so its mounts show each change at once (Manager.Change saves what the
// mounts hold first, then brings the result in); with none running the
// command makes them itself through the same Store methods.

// BucketChange is one change to a bucket.
type BucketChange struct {
	Op        string `json:"op"`                  // create, mkdir, mv, rm, restore, share, unshare, rename
	Bucket    string `json:"bucket"`              // name, id or id prefix; for create the new name
	Path      string `json:"path,omitempty"`      // in the bucket
	To        string `json:"to,omitempty"`        // mv: the destination
	Parents   bool   `json:"parents,omitempty"`   // mkdir -p
	Recursive bool   `json:"recursive,omitempty"` // rm -r
	Version   string `json:"version,omitempty"`   // restore: the version to restore from
	Device    string `json:"device,omitempty"`    // share, unshare
	Role      string `json:"role,omitempty"`      // share: owner or mirror
	Name      string `json:"name,omitempty"`      // rename: the new name
}

// ChangeResult says what a change did.
type ChangeResult struct {
	BucketID  string `json:"bucket_id"`
	Bucket    string `json:"bucket"`
	Height    uint64 `json:"height"`              // the bucket's version after the change
	Device    string `json:"device,omitempty"`    // share, unshare: the device's name
	Role      string `json:"role,omitempty"`      // share
	Action    string `json:"action,omitempty"`    // import: how the versions were brought in
	Conflicts int    `json:"conflicts,omitempty"` // import: conflicts resolved
	ByDaemon  bool   `json:"by_daemon"`           // the running daemon made it
}

// Change makes a change to a bucket in this process.
func (s *Store) Change(ctx context.Context, c BucketChange) (*ChangeResult, error) {
	if c.Op == "create" {
		b, err := s.Buckets.Create(ctx, c.Bucket)
		if err != nil {
			return nil, err
		}
		return result(b, nil), nil
	}
	b, err := s.Buckets.Open(c.Bucket)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, b, c)
}

func result(b *bucket.Bucket, v *bucket.Version) *ChangeResult {
	r := &ChangeResult{BucketID: b.ID.String(), Bucket: b.Name}
	if v == nil {
		v, _ = b.Current()
	}
	if v != nil {
		r.Height = v.Manifest.Height
	}
	return r
}

func (s *Store) change(ctx context.Context, b *bucket.Bucket, c BucketChange) (*ChangeResult, error) {
	var v *bucket.Version
	var err error
	var dev bucket.Device
	switch c.Op {
	case "mkdir":
		v, err = b.Edit(ctx, func(tx *bucket.Tx) error {
			_, err := tx.Mkdir(c.Path, 0o755, c.Parents)
			return err
		})
	case "mv":
		v, err = b.Edit(ctx, func(tx *bucket.Tx) error { return tx.Move(c.Path, c.To) })
	case "rm":
		v, err = b.Edit(ctx, func(tx *bucket.Tx) error { return tx.Remove(c.Path, c.Recursive) })
	case "restore":
		v, err = b.Restore(ctx, c.Path, c.Version)
	case "share":
		role, rerr := ParseRole(c.Role)
		if rerr != nil {
			return nil, rerr
		}
		if dev, err = s.FindDevice(c.Device); err == nil {
			v, err = b.Share(ctx, dev, role)
		}
	case "unshare":
		if dev, err = s.FindDevice(c.Device); err == nil {
			v, err = b.Unshare(ctx, dev.ID)
		}
	case "rename":
		v, err = b.Rename(ctx, c.Name)
	default:
		return nil, fmt.Errorf("%w: no bucket change %q", ErrBadRequest, c.Op)
	}
	if err != nil {
		return nil, err
	}
	r := result(b, v)
	if c.Op == "share" || c.Op == "unshare" {
		r.Device = dev.Name
	}
	if c.Op == "share" {
		role, _ := ParseRole(c.Role)
		r.Role = role.String()
	}
	return r, nil
}

// ParseRole reads a share role: owner (the default) or mirror.
func ParseRole(s string) (bucket.Role, error) {
	switch s {
	case "", "owner":
		return bucket.Owner, nil
	case "mirror":
		return bucket.Mirror, nil
	}
	return 0, fmt.Errorf("%w: the role must be owner or mirror, not %q", ErrBadRequest, s)
}

// AddRequest asks the daemon to add a local file or directory to a bucket.
// Local is absolute (the daemon reads it itself, as the same user), or "-"
// for data sent as the request body.
type AddRequest struct {
	Bucket, Local, Remote string
}

func (r AddRequest) query() string {
	return url.Values{"bucket": {r.Bucket}, "local": {r.Local}, "remote": {r.Remote}}.Encode()
}

// AddProgress is one line of an add's answer (NDJSON): first the plan
// (Files, Bytes), then bytes stored so far (Done), then Result or Error.
type AddProgress struct {
	Files  int           `json:"files,omitempty"`
	Bytes  int64         `json:"bytes,omitempty"`
	Done   int64         `json:"done,omitempty"`
	Result *ChangeResult `json:"result,omitempty"`
	Error  *apiError     `json:"error,omitempty"`
}

// progressEvery spaces progress lines: a bar needs no more.
const progressEvery = 100 * time.Millisecond

func (a *App) bucketRoutes() {
	a.HandleFunc("POST /v1/bucket/add", a.serveAdd)
	a.HandleFunc("POST /v1/bucket/import", a.serveImport)
	a.HandleFunc("POST /v1/bucket/{op}", func(w http.ResponseWriter, r *http.Request) {
		var c BucketChange
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			badRequest(w, err)
			return
		}
		c.Op = r.PathValue("op")
		res, err := a.change(r.Context(), c)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// change makes c in the daemon and brings it into the bucket's mounts.
func (a *App) change(ctx context.Context, c BucketChange) (*ChangeResult, error) {
	var res *ChangeResult
	var err error
	if c.Op == "create" {
		res, err = a.Store.Change(ctx, c)
	} else {
		var b *bucket.Bucket
		if b, err = a.Buckets.Open(c.Bucket); err != nil {
			return nil, err
		}
		err = a.Mounts.Change(ctx, b.ID.String(), func() error {
			var err error
			res, err = a.Store.change(ctx, b, c)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	res.ByDaemon = true
	a.log.Info("bucket changed by a jax command", "op", c.Op, "bucket", res.Bucket, "version", res.Height)
	return res, nil
}

func (a *App) serveAdd(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := AddRequest{Bucket: q.Get("bucket"), Local: q.Get("local"), Remote: q.Get("remote")}
	b, err := a.Buckets.Open(req.Bucket)
	if err != nil {
		writeErr(w, err)
		return
	}
	var plan *AddPlan
	// Data sent as the body must be read in full before the answer starts
	// (HTTP/1), so such an add reports no progress; the command counts
	// what it sends instead.
	stream := req.Local == "-"
	if stream {
		plan = PlanAddStream(r.Body, req.Remote)
	} else {
		if !filepath.IsAbs(req.Local) {
			badRequest(w, fmt.Errorf("local path %q is not absolute", req.Local))
			return
		}
		if plan, err = PlanAdd(req.Local, req.Remote); err != nil {
			writeErr(w, err)
			return
		}
	}
	a.log.Info("adding for a jax command", "bucket", b.Name, "local", req.Local, "remote", req.Remote, "files", plan.Files, "bytes", plan.Bytes)
	w.Header().Set("Content-Type", "application/x-ndjson")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	var mu sync.Mutex // guards the writer and last: progress may come from several goroutines
	var last time.Time
	send := func(p AddProgress) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(p)
		rc.Flush()
	}
	var progress func(int64)
	if !stream {
		send(AddProgress{Files: plan.Files, Bytes: plan.Bytes})
		progress = func(done int64) {
			mu.Lock()
			due := time.Since(last) >= progressEvery
			if due {
				last = time.Now()
			}
			mu.Unlock()
			if due {
				send(AddProgress{Done: done})
			}
		}
	}
	var v *bucket.Version
	err = a.Mounts.Change(r.Context(), b.ID.String(), func() error {
		var err error
		v, err = plan.Run(r.Context(), b, progress)
		return err
	})
	if err != nil {
		a.log.Info("add by a jax command failed", "bucket", b.Name, "local", req.Local, "err", err)
		code, status := errorKind(err)
		if stream {
			writeJSON(w, status, apiError{Error: err.Error(), Code: code})
			return
		}
		send(AddProgress{Error: &apiError{Error: err.Error(), Code: code}})
		return
	}
	res := result(b, v)
	res.ByDaemon = true
	a.log.Info("bucket changed by a jax command", "op", "add", "bucket", res.Bucket, "version", res.Height)
	send(AddProgress{Done: plan.Bytes, Result: res})
}

func (a *App) serveImport(w http.ResponseWriter, r *http.Request) {
	id, mr, err := Import(r.Context(), a.Store, r.Body)
	if err != nil {
		writeErr(w, err)
		return
	}
	// The same path as a version arriving by sync: merged into the mounts.
	a.Mounts.OnBucketSynced(context.WithoutCancel(r.Context()), id)
	res := ImportResult(id, mr)
	res.ByDaemon = true
	a.log.Info("bucket changed by a jax command", "op", "import", "bucket", res.Bucket, "version", res.Height, "action", res.Action)
	writeJSON(w, http.StatusOK, res)
}

// ImportResult describes what an Import did.
func ImportResult(bucketID string, mr *bucket.MergeResult) *ChangeResult {
	return &ChangeResult{BucketID: bucketID, Bucket: mr.Version.Manifest.Name, Height: mr.Version.Manifest.Height,
		Action: fmt.Sprint(mr.Action), Conflicts: len(mr.Conflicts)}
}
