package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/jax-desktop/jax/store/bucket"
)

// startDaemon runs an App on a fresh data dir, serving its control socket.
func startDaemon(t *testing.T, name string) (*App, *Client) {
	t.Helper()
	t.Setenv("JAX_NETWORK", "loopback")
	dirs, err := ResolveDirs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Init(context.Background(), dirs, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	a, err := Start(context.Background(), dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := Dial(dirs); err == nil {
			return a, c
		}
		if time.Now().After(deadline) {
			t.Fatal("control socket did not come up")
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func online(t *testing.T, c *Client, id string) bool {
	var devs []DeviceInfo
	if err := c.Do(testCtx(t), "GET", "/v1/devices", nil, &devs); err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.ID == id {
			return d.Online != nil && *d.Online
		}
	}
	return false
}

func until(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !f(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

func TestDeviceRoutes(t *testing.T) {
	la, lc := startDaemon(t, "laptop")
	da, dc := startDaemon(t, "desktop")
	if la.Net == nil || da.Net == nil || !la.Net.Loopback() {
		t.Fatal("network host not running in loopback mode")
	}
	var self SelfInfo
	if err := lc.Do(testCtx(t), "GET", "/v1/devices/self", nil, &self); err != nil {
		t.Fatal(err)
	}
	if self.Name != "laptop" || self.PeerID != la.Net.PeerID() || len(self.Addresses) == 0 {
		t.Fatalf("self: %+v", self)
	}
	for _, s := range self.Addresses {
		if a, err := ma.NewMultiaddr(s); err != nil || !manet.IsIPLoopback(a) {
			t.Fatalf("address %s is not loopback", s)
		}
	}

	for _, ttl := range []int64{-1, 7*24*3600 + 1, 18446744074} { // the last one wraps to 0.29 s as nanoseconds
		if err := lc.Do(testCtx(t), "POST", "/v1/devices/invite", InviteRequest{TTLSecs: ttl}, nil); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("invite for %d s: %v", ttl, err)
		}
	}
	var inv InviteResponse
	if err := lc.Do(testCtx(t), "POST", "/v1/devices/invite", InviteRequest{TTLSecs: 600}, &inv); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inv.Code, "jaxinvite1-") || time.Until(inv.Expires) > 10*time.Minute {
		t.Fatalf("invite: %+v", inv)
	}
	var paired DeviceInfo
	if err := dc.Do(testCtx(t), "POST", "/v1/devices/pair", PairRequest{Code: inv.Code}, &paired); err != nil {
		t.Fatal(err)
	}
	if paired.Name != "laptop" || paired.ID != self.ID || !paired.Paired {
		t.Fatalf("paired: %+v", paired)
	}
	desktopID := da.Buckets.ID.ID().String()
	until(t, "each sees the other online", func() bool { return online(t, lc, desktopID) && online(t, dc, self.ID) })

	// The code is spent.
	err := dc.Do(testCtx(t), "POST", "/v1/devices/pair", PairRequest{Code: inv.Code}, nil)
	if err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("pair twice: %v", err)
	}
	if err := dc.Do(testCtx(t), "POST", "/v1/devices/pair", PairRequest{Code: "jaxdev1-nonsense"}, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("pair with a bad code: %v", err)
	}

	// Renames, of this device and of another.
	var info DeviceInfo
	if err := lc.Do(testCtx(t), "POST", "/v1/devices/self/rename", RenameRequest{Name: "work laptop"}, &info); err != nil || info.Name != "work laptop" {
		t.Fatalf("rename self: %+v %v", info, err)
	}
	if err := lc.Do(testCtx(t), "POST", "/v1/devices/desktop/rename", RenameRequest{Name: "home"}, &info); err != nil || info.Name != "home" || info.ID != desktopID {
		t.Fatalf("rename other: %+v %v", info, err)
	}
	if err := lc.Do(testCtx(t), "POST", "/v1/devices/home/rename", RenameRequest{Name: "bad\x01name"}, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("rename to a bad name: %v", err)
	}

	// Removing a device that a bucket shares with: it is cut off, and the
	// bucket is named.
	b, err := la.Buckets.Create(testCtx(t), "docs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Share(testCtx(t), bucket.Device{ID: da.Buckets.ID.ID(), Name: "home", Recipient: da.Buckets.ID.Recipient()}, bucket.Owner); err != nil {
		t.Fatal(err)
	}
	var rm RemoveResponse
	if err := lc.Do(testCtx(t), "DELETE", "/v1/devices/home", nil, &rm); err != nil {
		t.Fatal(err)
	}
	if rm.Device.ID != desktopID || len(rm.Buckets) != 1 || rm.Buckets[0] != "docs" {
		t.Fatalf("remove: %+v", rm)
	}
	until(t, "the desktop sees the laptop go", func() bool { return !online(t, dc, self.ID) })
	time.Sleep(500 * time.Millisecond) // the desktop keeps redialing; the laptop refuses
	var devs []DeviceInfo
	lc.Do(testCtx(t), "GET", "/v1/devices", nil, &devs)
	if len(devs) != 1 || !devs[0].Self {
		t.Fatalf("laptop still lists: %+v", devs)
	}
	if len(la.Net.Connected()) != 0 {
		t.Fatal("the removed device is connected")
	}
	if err := lc.Do(testCtx(t), "DELETE", "/v1/devices/self", nil, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("remove self: %v", err)
	}

	// The GUI's way: the code and its QR code as a PNG. Last, since an open
	// invite lets a removed device connect again (to pair anew).
	if res, png, err := la.Invite(time.Minute, 256); err != nil || !strings.HasPrefix(res.Code, "jaxinvite1-") || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("invite for the GUI: %v", err)
	}
}
