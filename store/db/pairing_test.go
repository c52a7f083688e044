package db

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestRedeemInvite(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "jax.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	self := bytes.Repeat([]byte{1}, 32)
	if err := d.PutDevice(Device{ID: self, Name: "me", Recipient: "r", IsSelf: true}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	d.AddInvite(hash("good"), now, now.Add(time.Hour))
	d.AddInvite(hash("old"), now.Add(-2*time.Hour), now.Add(-time.Hour))
	if n, _ := d.OpenInvites(now); n != 1 {
		t.Fatalf("open invites: %d", n)
	}

	// Eight devices race for one token: exactly one pairs.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = d.RedeemInvite(hash("good"), Device{ID: bytes.Repeat([]byte{byte(10 + i)}, 32), Name: "x", Recipient: "r"}, now)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrInviteUsed):
			t.Fatalf("loser got %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d devices paired with one token", won)
	}
	if n, _ := d.OpenInvites(now); n != 0 {
		t.Fatalf("open invites after use: %d", n)
	}
	other := bytes.Repeat([]byte{99}, 32)
	if err := d.RedeemInvite(hash("old"), Device{ID: other, Name: "x", Recipient: "r"}, now); !errors.Is(err, ErrInviteExpired) {
		t.Fatalf("expired: %v", err)
	}
	if err := d.RedeemInvite(hash("never made"), Device{ID: other, Name: "x", Recipient: "r"}, now); !errors.Is(err, ErrInviteUnknown) {
		t.Fatalf("unknown: %v", err)
	}
	if ok, _ := d.IsPaired(other); ok {
		t.Fatal("paired by a refused token")
	}

	// A device cannot pair with or remove itself; removal unpairs, pairing again undoes it.
	d.AddInvite(hash("mine"), now, now.Add(time.Hour))
	if err := d.RedeemInvite(hash("mine"), Device{ID: self, Name: "me", Recipient: "r"}, now); err == nil {
		t.Fatal("paired with itself")
	}
	if n, _ := d.OpenInvites(now); n != 1 {
		t.Fatal("a refused pairing used up the invite")
	}
	if err := d.RemoveDevice(self, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove self: %v", err)
	}
	if err := d.PairDevice(Device{ID: other, Name: "phone", Recipient: "r"}, now); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveDevice(other, now); err != nil {
		t.Fatal(err)
	}
	p, err := d.PeerDevice(other)
	if err != nil || p.Paired() || p.RemovedAt == 0 {
		t.Fatalf("after remove: %+v %v", p, err)
	}
	if removed, _ := d.IsRemoved(other); !removed {
		t.Fatal("not removed")
	}
	d.PairDevice(Device{ID: other, Name: "phone", Recipient: "r"}, now)
	if ok, _ := d.IsPaired(other); !ok {
		t.Fatal("pairing again did not undo the removal")
	}
	if err := d.SeenDevice(other, `["/ip4/127.0.0.1/tcp/1"]`, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if p, _ := d.PeerDevice(other); p.Addresses != `["/ip4/127.0.0.1/tcp/1"]` || p.LastSeen != now.Add(time.Minute).Unix() {
		t.Fatalf("seen: %+v", p)
	}
}
