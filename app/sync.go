package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jax-desktop/jax/app/p2p"
	"github.com/jax-desktop/jax/app/syncer"
	"github.com/jax-desktop/jax/store/tree"
)

// SettingSyncPing is how often, in seconds, heads are exchanged with every
// connected device besides announcing each save at once (default 60).
const SettingSyncPing = "sync.ping_secs"

// netTransport gives the sync engine the network host's streams.
type netTransport struct{ h *p2p.Host }

func (t netTransport) Open(ctx context.Context, dev tree.DeviceID, proto string) (syncer.Stream, error) {
	return t.h.Open(ctx, dev, proto)
}

func (t netTransport) Connected() []tree.DeviceID { return t.h.Connected() }

// startSync runs the sync engine on the network host, if there is one.
func (a *App) startSync() {
	a.syncRoutes()
	if a.Net == nil {
		return
	}
	ping := 60 * time.Second
	if s, err := a.DB.Setting(SettingSyncPing, ""); err == nil && s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			ping = time.Duration(n) * time.Second
		} else {
			a.log.Warn("ignored a bad setting", "key", SettingSyncPing, "value", s)
		}
	}
	a.Sync = syncer.New(syncer.Config{Store: a.Buckets, Transport: netTransport{a.Net}, OnSynced: a.Mounts.OnBucketSynced,
		Ping: ping, Log: a.log})
	a.Net.Handle(syncer.Protocol, func(dev tree.DeviceID, s p2p.Stream) { a.Sync.Serve(dev, s) })
	a.Sync.Start()
	a.Net.Watch(a.Sync.PeerUp, a.Sync.PeerDown)
}

func (a *App) stopSync() {
	if a.Sync != nil {
		a.Sync.Stop()
	}
}

// ErrSyncOff means the network, and so sync, is not running.
var ErrSyncOff = errors.New("sync is off: the network did not start (see the daemon's log)")

// SyncLine is one line of the answer to /v1/sync/now: progress, then the
// bucket's status or an error.
type SyncLine struct {
	Progress *syncer.Progress     `json:"progress,omitempty"`
	Status   *syncer.BucketStatus `json:"status,omitempty"`
	Error    *apiError            `json:"error,omitempty"`
}

func (a *App) syncRoutes() {
	a.HandleFunc("GET /v1/sync/status", func(w http.ResponseWriter, r *http.Request) {
		if a.Sync == nil {
			writeErr(w, ErrSyncOff)
			return
		}
		st, err := a.Sync.Status()
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	// Pulls what connected devices have of a bucket, streaming progress as
	// JSON lines until done.
	a.HandleFunc("POST /v1/sync/now/{bucket}", func(w http.ResponseWriter, r *http.Request) {
		if a.Sync == nil {
			writeErr(w, ErrSyncOff)
			return
		}
		b, err := a.Buckets.Open(r.PathValue("bucket"))
		if err != nil {
			writeErr(w, err)
			return
		}
		events, stop := a.Sync.Subscribe()
		defer stop()
		type result struct {
			st  *syncer.BucketStatus
			err error
		}
		done := make(chan result, 1)
		go func() {
			st, err := a.Sync.SyncNow(r.Context(), b.ID.String())
			done <- result{st, err}
		}()
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		flush := func() {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		flush()
		for {
			select {
			case ev := <-events:
				if ev.Kind == "progress" && ev.Bucket == b.ID.String() {
					enc.Encode(SyncLine{Progress: ev.Progress})
					flush()
				}
			case res := <-done:
				if res.err != nil {
					enc.Encode(SyncLine{Error: &apiError{Error: res.err.Error(), Code: "error"}})
				} else {
					enc.Encode(SyncLine{Status: res.st})
				}
				return
			}
		}
	})
}

// SyncStatus asks the daemon for every bucket's sync state.
func (c *Client) SyncStatus(ctx context.Context) ([]syncer.BucketStatus, error) {
	var st []syncer.BucketStatus
	return st, c.Do(ctx, "GET", "/v1/sync/status", nil, &st)
}

// SyncNow asks the daemon to pull a bucket from every connected device now;
// progress hears how the pull goes.
func (c *Client) SyncNow(ctx context.Context, bucket string, progress func(syncer.Progress)) (*syncer.BucketStatus, error) {
	resp, err := c.send(ctx, "POST", "/v1/sync/now/"+url.PathEscape(bucket), http.NoBody)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st *syncer.BucketStatus
	err = decodeLines(ctx, resp.Body, func(l *SyncLine) (bool, error) {
		switch {
		case l.Error != nil:
			return true, &RemoteError{Message: l.Error.Error, Code: l.Error.Code}
		case l.Status != nil:
			st = l.Status
			return true, nil
		case l.Progress != nil && progress != nil:
			progress(*l.Progress)
		}
		return false, nil
	})
	return st, err
}
