package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jax-desktop/jax/app/syncer"
	"github.com/jax-desktop/jax/fuse/manager"
	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
)

// pairDaemons pairs two running daemons through their control APIs and waits
// until each sees the other online.
func pairDaemons(t *testing.T, a *App, ac *Client, b *App, bc *Client) {
	t.Helper()
	var inv InviteResponse
	if err := ac.Do(testCtx(t), "POST", "/v1/devices/invite", InviteRequest{TTLSecs: 600}, &inv); err != nil {
		t.Fatal(err)
	}
	if err := bc.Do(testCtx(t), "POST", "/v1/devices/pair", PairRequest{Code: inv.Code}, nil); err != nil {
		t.Fatal(err)
	}
	aID, bID := a.Buckets.ID.ID().String(), b.Buckets.ID.ID().String()
	until(t, "each sees the other online", func() bool { return online(t, ac, bID) && online(t, bc, aID) })
}

func mountBucket(t *testing.T, a *App, bucketID string) string {
	t.Helper()
	mp := filepath.Join(t.TempDir(), "mnt")
	m, err := a.Mounts.Create(testCtx(t), bucketID, manager.DefaultSettings(mp))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Mounts.Start(testCtx(t), m.ID); err != nil {
		t.Skipf("cannot mount (FUSE): %v", err)
	}
	return mp
}

// Two daemons over the libp2p host in loopback mode: a bucket shared on
// one reaches the other, and a file written into one mount shows in the
// other's.
func TestSyncBetweenDaemons(t *testing.T) {
	la, lc := startDaemon(t, "laptop")
	da, dc := startDaemon(t, "desktop")
	if la.Sync == nil || da.Sync == nil {
		t.Fatal("sync is not running")
	}
	pairDaemons(t, la, lc, da, dc)
	ctx := testCtx(t)
	b, err := la.Buckets.Create(ctx, "photos")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Share(ctx, bucket.Device{ID: da.Buckets.ID.ID(), Name: "desktop", Recipient: da.Buckets.ID.Recipient()}, bucket.Owner); err != nil {
		t.Fatal(err)
	}
	id := b.ID.String()
	head := func(a *App) blob.ID {
		row, err := a.DB.BucketByID(id)
		if err != nil || len(row.Head) == 0 {
			return blob.ID{}
		}
		return blob.ID(row.Head)
	}
	until(t, "the desktop has the bucket", func() bool { return head(da) == head(la) })

	mpA, mpB := mountBucket(t, la, id), mountBucket(t, da, id)
	data := bytes.Repeat([]byte("a line of a file written on the laptop\n"), 50_000)
	start := time.Now()
	if err := os.WriteFile(filepath.Join(mpA, "hello.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	until(t, "the file in the desktop's mount", func() bool {
		got, err := os.ReadFile(filepath.Join(mpB, "hello.txt"))
		return err == nil && bytes.Equal(got, data)
	})
	t.Logf("written in one mount to read whole in the other: %v", time.Since(start))

	// And back, into the mount that has the file open for reading.
	if err := os.WriteFile(filepath.Join(mpB, "reply.txt"), []byte("thanks"), 0o644); err != nil {
		t.Fatal(err)
	}
	until(t, "the reply in the laptop's mount", func() bool {
		got, err := os.ReadFile(filepath.Join(mpA, "reply.txt"))
		return err == nil && string(got) == "thanks"
	})

	until(t, "both in sync", func() bool { return head(la) == head(da) })
	var st []syncer.BucketStatus
	until(t, "the status route to say in sync", func() bool {
		var err error
		st, err = dc.SyncStatus(ctx)
		return err == nil && len(st) == 1 && st[0].State == syncer.StateInSync
	})
	if st[0].Name != "photos" || len(st[0].Peers) != 1 || !st[0].Peers[0].Online || st[0].Peers[0].Name != "laptop" {
		t.Fatalf("status: %+v", st)
	}
	now, err := dc.SyncNow(ctx, "photos", nil)
	if err != nil || now.State != syncer.StateInSync || now.Head != head(da).String() {
		t.Fatalf("sync now: %+v %v", now, err)
	}
	if _, err := dc.SyncNow(ctx, "no-such-bucket", nil); err == nil {
		t.Fatal("sync now of a missing bucket")
	}
}
