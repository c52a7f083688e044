//go:build linux

package manager

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/merge"
)

// send gives dst every blob and version src has of a bucket and brings in
// src's current version, as sync or an import does.
func send(t *testing.T, src, dst *bucket.Store, id string) *bucket.MergeResult {
	t.Helper()
	ctx := context.Background()
	if err := src.Blobs.Walk(func(b blob.ID) error {
		raw, err := src.Blobs.Get(b, nil)
		if err == nil {
			_, err = dst.Blobs.Put(raw)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	vs, _ := src.DB.Versions(id)
	for i := len(vs) - 1; i >= 0; i-- {
		raw, _ := src.Blobs.Get(blob.ID(vs[i].Link), nil)
		if _, _, err := dst.Import(ctx, raw); err != nil {
			t.Fatalf("import: %v", err)
		}
	}
	row, _ := src.DB.BucketByID(id)
	res, err := dst.Incoming(ctx, id, blob.ID(row.Head), merge.Options{})
	if err != nil {
		t.Fatalf("incoming: %v", err)
	}
	return res
}

// conflictEvents drains the events that are already there and returns the
// conflict ones.
func conflictEvents(t *testing.T, events <-chan Event) []Event {
	t.Helper()
	var out []Event
	for {
		select {
		case e := <-events:
			if e.Kind == "conflict" {
				out = append(out, e)
			}
		case <-time.After(200 * time.Millisecond):
			return out
		}
	}
}

// Conflicts recorded before OnBucketSynced (by an import's merge, or by
// taking a merge another device made) are announced once each, with the
// copy's path in the mount.
func TestConflictEventsWhoeverRecorded(t *testing.T) {
	m, s := setup(t)
	ctx := context.Background()
	other := bucket.TestStore(t, "desktop")
	b, _ := s.Create(ctx, "docs")
	id := b.ID.String()
	b.Add(ctx, strings.NewReader("base"), "/r.txt", 0o644, 1, nil)
	if _, err := b.Share(ctx, bucket.Device{ID: other.ID.ID(), Name: other.DeviceName(), Recipient: other.ID.Recipient()}, bucket.Owner); err != nil {
		t.Fatal(err)
	}
	send(t, s, other, id)
	ob, _ := other.Open(id)

	cfg, err := m.Create(ctx, "docs", DefaultSettings(filepath.Join(t.TempDir(), "docs")))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	events, cancel := m.Subscribe()
	defer cancel()

	// The import merges: the conflict is recorded before the manager hears.
	b.Add(ctx, strings.NewReader("laptop edit"), "/r.txt", 0o644, 2, nil)
	ob.Add(ctx, strings.NewReader("desktop edit"), "/r.txt", 0o644, 3, nil)
	if res := send(t, other, s, id); res.Action != merge.NeedCommit || len(res.Conflicts) != 1 {
		t.Fatalf("import: %v with %d conflicts", res.Action, len(res.Conflicts))
	}
	m.OnBucketSynced(ctx, id)
	cs := conflictEvents(t, events)
	if len(cs) != 1 || cs[0].MountID != cfg.ID || !strings.HasPrefix(cs[0].CopyPath, cfg.MountPoint+"/r (conflict from") || cs[0].Device == "" {
		t.Fatalf("conflict events: %+v", cs)
	}
	if _, err := os.Stat(cs[0].CopyPath); err != nil {
		t.Fatalf("the announced copy is not in the mount: %v", err)
	}
	m.OnBucketSynced(ctx, id)
	if cs := conflictEvents(t, events); len(cs) != 0 {
		t.Fatalf("announced again: %+v", cs)
	}

	// The other device merges this one's edit; this device takes its merge
	// by fast-forward and records and announces its conflict.
	send(t, s, other, id)
	b.Add(ctx, strings.NewReader("laptop again"), "/s.txt", 0o644, 4, nil)
	ob.Add(ctx, strings.NewReader("desktop again"), "/s.txt", 0o644, 5, nil)
	if res := send(t, s, other, id); res.Action != merge.NeedCommit {
		t.Fatalf("the other device's merge: %v", res.Action)
	}
	if res := send(t, other, s, id); res.Action != merge.FastForward {
		t.Fatalf("taking the other device's merge: %v", res.Action)
	}
	m.OnBucketSynced(ctx, id)
	cs = conflictEvents(t, events)
	if len(cs) != 1 || !strings.HasPrefix(cs[0].CopyPath, cfg.MountPoint+"/s (conflict from") {
		t.Fatalf("conflict events after a fast-forward: %+v", cs)
	}
	if _, err := os.Stat(cs[0].CopyPath); err != nil {
		t.Fatalf("the announced copy is not in the mount: %v", err)
	}

	// A manager started later does not announce what was recorded before.
	m2 := New(s.DB, s, filepath.Join(t.TempDir(), "staging"), nil)
	ev2, cancel2 := m2.Subscribe()
	defer cancel2()
	m2.OnBucketSynced(ctx, id)
	if cs := conflictEvents(t, ev2); len(cs) != 0 {
		t.Fatalf("old conflicts announced: %+v", cs)
	}
}
