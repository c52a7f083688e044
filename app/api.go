package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/jax-desktop/jax/fuse/manager"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/tree"
)

// The control API: JSON over HTTP on a Unix socket that only this user can
// open (mode 0600). Errors are {"error": "...", "code": "..."}.

// MountRequest creates or changes a mount.
type MountRequest struct {
	Bucket       string `json:"bucket,omitempty"`
	MountPoint   string `json:"mount_point"`
	AutoMount    bool   `json:"auto_mount"`
	ReadOnly     bool   `json:"read_only"`
	Enabled      bool   `json:"enabled"`
	CacheSizeMB  int    `json:"cache_size_mb"`
	CacheTTLSecs int    `json:"cache_ttl_secs"`
}

func (r MountRequest) settings() manager.Settings {
	return manager.Settings{MountPoint: r.MountPoint, AutoMount: r.AutoMount, ReadOnly: r.ReadOnly, Enabled: r.Enabled,
		CacheSizeMB: r.CacheSizeMB, CacheTTLSecs: r.CacheTTLSecs}
}

// Status is the instance's overall state.
type Status struct {
	Device  string        `json:"device"`
	ID      string        `json:"id"`
	Data    string        `json:"data"`
	PID     int           `json:"pid"`
	Buckets int           `json:"buckets"`
	Mounts  []MountStatus `json:"mounts"`
}

// MountStatus is a mount config as the daemon sees it now.
type MountStatus struct {
	db.Mount
	BucketName string `json:"bucket_name,omitempty"` // empty when the bucket is gone
	// LastError is the last failure to bring a new version into the
	// running mount; it keeps serving the version it had.
	LastError string `json:"last_error,omitempty"`
}

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// ErrBadRequest means the daemon could not make sense of a request.
var ErrBadRequest = errors.New("bad request")

// errorKinds maps errors to the codes the API reports. The client turns a
// code back into its sentinel (errs[0], unless mapOnly), so a command fails
// with the same message and exit code through the daemon as without it.
// The order follows cmd/jax's explain.
var errorKinds = []struct {
	code    string
	status  int
	errs    []error
	mapOnly bool // several unrelated errors: report the code, unwrap to none
}{
	{"no_bucket", http.StatusNotFound, []error{bucket.ErrNoBucket}, false},
	{"no_file", http.StatusNotFound, []error{tree.ErrNotFound}, false},
	{"not_found", http.StatusNotFound, []error{db.ErrNotFound}, false},
	{"damaged", http.StatusUnprocessableEntity, []error{bucket.ErrDamaged, bucket.ErrBadManifest, bucket.ErrBadTree}, false},
	{"read_only", http.StatusForbidden, []error{bucket.ErrReadOnly}, false},
	{"no_access", http.StatusForbidden, []error{bucket.ErrNoAccess}, false},
	{"no_fuse", http.StatusServiceUnavailable, []error{manager.ErrNoFUSE}, false},
	{"conflict", http.StatusConflict, []error{manager.ErrRunning, db.ErrMountPointTaken, manager.ErrNotEmpty, manager.ErrInUse}, true},
	{"bad_request", http.StatusBadRequest, []error{ErrBadRequest}, false},
}

func errorKind(err error) (code string, status int) {
	for _, k := range errorKinds {
		for _, e := range k.errs {
			if errors.Is(err, e) {
				return k.code, k.status
			}
		}
	}
	return "error", http.StatusInternalServerError
}

// sentinel is the error a code stands for, or nil.
func sentinel(code string) error {
	for _, k := range errorKinds {
		if k.code == code && !k.mapOnly {
			return k.errs[0]
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	code, status := errorKind(err)
	writeJSON(w, status, apiError{Error: err.Error(), Code: code})
}

func badRequest(w http.ResponseWriter, err error) {
	writeErr(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
}

func (a *App) routes() {
	a.bucketRoutes()
	mux := a.mux
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := a.Status()
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /v1/mounts", func(w http.ResponseWriter, r *http.Request) {
		st, err := a.Status()
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st.Mounts)
	})
	mux.HandleFunc("POST /v1/mounts", func(w http.ResponseWriter, r *http.Request) {
		var req MountRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			badRequest(w, err)
			return
		}
		m, err := a.Mounts.Create(r.Context(), req.Bucket, req.settings())
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, m)
	})
	mux.HandleFunc("PUT /v1/mounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		var req MountRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			badRequest(w, err)
			return
		}
		m, err := a.Mounts.Update(r.PathValue("id"), req.settings())
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	action := func(f func(*http.Request, string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			if err := f(r, id); err != nil {
				writeErr(w, err)
				return
			}
			m, err := a.Mounts.Get(id)
			if err != nil {
				writeJSON(w, http.StatusOK, map[string]string{"id": id})
				return
			}
			writeJSON(w, http.StatusOK, m)
		}
	}
	mux.HandleFunc("POST /v1/mounts/{id}/start", action(func(r *http.Request, id string) error { return a.Mounts.Start(r.Context(), id) }))
	mux.HandleFunc("POST /v1/mounts/{id}/stop", action(func(r *http.Request, id string) error { return a.Mounts.Stop(r.Context(), id) }))
	mux.HandleFunc("DELETE /v1/mounts/{id}", action(func(r *http.Request, id string) error { return a.Mounts.Delete(r.Context(), id) }))
	// A bucket changed outside the daemon (CLI edit, import): bring it into the mounts.
	mux.HandleFunc("POST /v1/buckets/{id}/changed", func(w http.ResponseWriter, r *http.Request) {
		a.Mounts.OnBucketSynced(r.Context(), r.PathValue("id"))
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// Status reports the instance's state.
func (a *App) Status() (*Status, error) {
	ms, err := a.Mounts.List()
	if err != nil {
		return nil, err
	}
	bs, err := a.DB.Buckets()
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, b := range bs {
		names[b.ID] = b.Name
	}
	st := &Status{Device: a.Buckets.DeviceName(), ID: a.Buckets.ID.ID().String(), Data: a.Dirs.Data, PID: os.Getpid(),
		Buckets: len(bs), Mounts: []MountStatus{}}
	for _, m := range ms {
		st.Mounts = append(st.Mounts, MountStatus{Mount: m, BucketName: names[m.BucketID], LastError: a.Mounts.LastError(m.ID)})
	}
	return st, nil
}
