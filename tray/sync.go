package tray

import (
	"context"

	"github.com/jax-desktop/jax/app/syncer"
)

// watchSync keeps the "Syncing N files…" line and the syncing icon in step
// with the sync engine's events, until ctx ends. Without a network there is
// no engine and nothing to watch.
func (t *Tray) watchSync(ctx context.Context) {
	if t.a.Sync == nil {
		return
	}
	events, stop := t.a.Sync.Subscribe()
	defer stop()
	inflight := map[string]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			t.SetSyncing(countSyncing(inflight, ev))
		}
	}
}

// countSyncing records one sync event in inflight (files still to come, by
// bucket) and returns the total.
func countSyncing(inflight map[string]int, ev syncer.Event) int {
	switch {
	case ev.Kind == "progress" && ev.Progress != nil:
		inflight[ev.Bucket] = max(ev.Progress.Files-ev.Progress.FilesDone, 1)
	case ev.Kind == "state" && ev.State == syncer.StatePulling,
		ev.Kind == "early" && ev.Early != nil: // a file still being written elsewhere
		inflight[ev.Bucket] = max(inflight[ev.Bucket], 1)
	default: // synced, error, offline, another state: that bucket is done
		delete(inflight, ev.Bucket)
	}
	n := 0
	for _, k := range inflight {
		n += k
	}
	return n
}
