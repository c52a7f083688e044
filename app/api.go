package app

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/jax-desktop/jax/fuse/manager"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
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
	Device  string     `json:"device"`
	ID      string     `json:"id"`
	Data    string     `json:"data"`
	Buckets int        `json:"buckets"`
	Mounts  []db.Mount `json:"mounts"`
}

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	code, kind := http.StatusInternalServerError, "error"
	switch {
	case errors.Is(err, db.ErrNotFound), errors.Is(err, bucket.ErrNoBucket):
		code, kind = http.StatusNotFound, "not_found"
	case errors.Is(err, manager.ErrRunning), errors.Is(err, db.ErrMountPointTaken), errors.Is(err, manager.ErrNotEmpty), errors.Is(err, manager.ErrInUse):
		code, kind = http.StatusConflict, "conflict"
	}
	writeJSON(w, code, apiError{Error: err.Error(), Code: kind})
}

func (a *App) routes() {
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
		ms, err := a.Mounts.List()
		if err != nil {
			writeErr(w, err)
			return
		}
		if ms == nil {
			ms = []db.Mount{}
		}
		writeJSON(w, http.StatusOK, ms)
	})
	mux.HandleFunc("POST /v1/mounts", func(w http.ResponseWriter, r *http.Request) {
		var req MountRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "bad request: " + err.Error(), Code: "bad_request"})
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
			writeJSON(w, http.StatusBadRequest, apiError{Error: "bad request: " + err.Error(), Code: "bad_request"})
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
	if ms == nil {
		ms = []db.Mount{}
	}
	return &Status{Device: a.Buckets.Device, ID: a.Buckets.ID.ID().String(), Data: a.Dirs.Data, Buckets: len(bs), Mounts: ms}, nil
}
