package p2p

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/identity"
	"github.com/jax-desktop/jax/store/tree"
)

// Every host in these tests runs in loopback mode: no traffic leaves 127.0.0.1.

type device struct {
	t    *testing.T
	name string
	id   *identity.Identity
	db   *db.DB
	h    *Host
	ups  chan tree.DeviceID
	down chan tree.DeviceID
}

func newDevice(t *testing.T, name string) *device {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(filepath.Join(t.TempDir(), "jax.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	self := id.ID()
	if err := d.PutDevice(db.Device{ID: self[:], Name: name, Recipient: id.Recipient(), IsSelf: true}); err != nil {
		t.Fatal(err)
	}
	dv := &device{t: t, name: name, id: id, db: d}
	dv.start()
	return dv
}

// start runs a host on the device's identity and database.
func (d *device) start() {
	d.t.Helper()
	h, err := New(context.Background(), Config{Identity: d.id, DB: d.db, Loopback: true, Log: slog.New(slog.NewTextHandler(tlog{d.t, d.name}, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { h.Close() })
	d.h = h
	d.ups, d.down = make(chan tree.DeviceID, 1024), make(chan tree.DeviceID, 1024)
	ups, down := d.ups, d.down
	send := func(ch chan tree.DeviceID) func(tree.DeviceID) {
		return func(x tree.DeviceID) {
			select {
			case ch <- x:
			default:
				d.t.Error("watcher channel full: up/down calls flap")
			}
		}
	}
	h.Watch(send(ups), send(down))
	h.Handle("/test/echo", func(_ tree.DeviceID, s Stream) {
		defer s.Close()
		line, err := bufio.NewReader(s).ReadString('\n')
		if err == nil {
			io.WriteString(s, "echo "+line)
		}
	})
}

func wait(t *testing.T, ch chan tree.DeviceID, want tree.DeviceID, what string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// echo opens the echo protocol on dev and checks the answer.
func echo(ctx context.Context, from *Host, dev tree.DeviceID) error {
	s, err := from.Open(ctx, dev, "/test/echo")
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(s, "hi\n"); err != nil {
		return err
	}
	got, err := bufio.NewReader(s).ReadString('\n')
	if err != nil {
		return err
	}
	if got != "echo hi\n" {
		return errors.New("echo answered " + got)
	}
	return nil
}

func pair(t *testing.T, inviter, invited *device) {
	t.Helper()
	inv, err := inviter.h.Invite(0)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseInvite(inv.Code())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invited.h.Pair(ctx(t), parsed); err != nil {
		t.Fatal(err)
	}
	wait(t, inviter.ups, invited.id.ID(), "inviter sees the invited device up")
	wait(t, invited.ups, inviter.id.ID(), "invited device sees the inviter up")
}

func TestIDConversion(t *testing.T) {
	id, _ := identity.Generate()
	dev := id.ID()
	back, err := DeviceID(PeerID(dev))
	if err != nil || back != dev {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if _, err := DeviceID(peer.ID("not a key")); err == nil {
		t.Fatal("a peer id without a key converted")
	}
}

func TestLoopbackOnly(t *testing.T) {
	a := newDevice(t, "a")
	if len(a.h.Addrs()) == 0 {
		t.Fatal("no addresses")
	}
	for _, s := range append(a.h.Addrs(), addrStrings(a.h.h.Network().ListenAddresses())...) {
		m, err := ma.NewMultiaddr(s)
		if err != nil || !isLoopback(m) {
			t.Errorf("address %s is not loopback", s)
		}
	}
	// TEST-NET-1 addresses: the gater refuses them before the swarm dials.
	other, _ := identity.Generate()
	ai := peer.AddrInfo{ID: PeerID(other.ID()), Addrs: []ma.Multiaddr{
		ma.StringCast("/ip4/192.0.2.1/tcp/4001"), ma.StringCast("/ip4/192.0.2.1/udp/4001/quic-v1"),
	}}
	err := a.h.h.Connect(ctx(t), ai)
	if err == nil {
		t.Fatal("dialed a non-loopback address in loopback mode")
	}
	if n := a.h.Refused(); n != 2 {
		t.Fatalf("gater refused %d dials, want 2 (err %v)", n, err)
	}
	if !strings.Contains(err.Error(), "gater") {
		t.Fatalf("refused for another reason: %v", err)
	}
	// An invite naming only such addresses is refused before dialing.
	inv := Invite{Device: other.ID(), Name: "far", Recipient: other.Recipient(), Addrs: []string{"/ip4/192.0.2.1/tcp/4001"}, Expires: time.Now().Add(time.Hour)}
	if _, err := a.h.Pair(ctx(t), inv); err == nil || !strings.Contains(err.Error(), "can be dialed") {
		t.Fatalf("pair with a TEST-NET invite: %v", err)
	}
	if n := a.h.Refused(); n != 2 {
		t.Fatalf("gater saw %d dials, want still 2", n)
	}
}

func TestLoadSettings(t *testing.T) {
	a := newDevice(t, "a")
	t.Setenv(EnvNetwork, "")
	var c Config
	if err := c.LoadSettings(a.db); err != nil || c.Loopback || len(c.ListenAddrs) != 0 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	a.db.SetSetting(SettingMode, "loopback")
	a.db.SetSetting(SettingListen, "/ip4/127.0.0.1/tcp/4100, /ip4/127.0.0.1/udp/4100/quic-v1")
	a.db.SetSetting(SettingRelays, "/ip4/198.51.100.1/tcp/4001/p2p/"+a.h.PeerID())
	if err := c.LoadSettings(a.db); err != nil || !c.Loopback || len(c.ListenAddrs) != 2 || len(c.StaticRelays) != 1 {
		t.Fatalf("settings: %+v %v", c, err)
	}
	a.db.SetSetting(SettingMode, "")
	t.Setenv(EnvNetwork, "loopback")
	c = Config{}
	if err := c.LoadSettings(a.db); err != nil || !c.Loopback {
		t.Fatalf("JAX_NETWORK=loopback: %+v %v", c, err)
	}
	a.db.SetSetting(SettingMode, "bogus")
	if err := c.LoadSettings(a.db); err == nil {
		t.Fatal("an unknown mode was accepted")
	}
}

func TestPairAndStream(t *testing.T) {
	a, b := newDevice(t, "laptop"), newDevice(t, "desktop")
	pair(t, a, b)
	for _, x := range []struct {
		d     *device
		other *device
	}{{a, b}, {b, a}} {
		pd, err := x.d.db.PeerDevice(bs(x.other.id.ID()))
		if err != nil || !pd.Paired() || pd.Name != x.other.name || pd.Recipient != x.other.id.Recipient() || pd.PairedAt == 0 || pd.LastSeen == 0 {
			t.Fatalf("%s's record of %s: %+v %v", x.d.name, x.other.name, pd, err)
		}
		var addrs []string
		json.Unmarshal([]byte(pd.Addresses), &addrs)
		if len(addrs) == 0 {
			t.Fatalf("%s has no address for %s", x.d.name, x.other.name)
		}
		if got := x.d.h.Connected(); len(got) != 1 || got[0] != x.other.id.ID() {
			t.Fatalf("%s connected: %v", x.d.name, got)
		}
	}
	if err := echo(ctx(t), b.h, a.id.ID()); err != nil {
		t.Fatal(err)
	}
	if err := echo(ctx(t), a.h, b.id.ID()); err != nil {
		t.Fatal(err)
	}
	// A watcher added later hears about devices connected already.
	late := make(chan tree.DeviceID, 1)
	a.h.Watch(func(d tree.DeviceID) { late <- d }, func(tree.DeviceID) {})
	wait(t, late, b.id.ID(), "late watcher told of b")
}

func TestUnpairedRefused(t *testing.T) {
	a, c := newDevice(t, "a"), newDevice(t, "stranger")
	// The stranger reaches a, but a's protocols reset its streams.
	ai := peer.AddrInfo{ID: a.h.h.ID(), Addrs: a.h.h.Addrs()}
	if err := c.h.h.Connect(ctx(t), ai); err != nil {
		t.Fatal(err)
	}
	s, err := c.h.h.NewStream(ctx(t), a.h.h.ID(), protocol.ID("/test/echo"))
	if err == nil {
		s.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(s, "hi\n")
		_, err = bufio.NewReader(s).ReadString('\n')
	}
	if err == nil {
		t.Fatal("an unpaired peer got an answer")
	}
	// Its own host will not even open a stream to a device it has not paired.
	if _, err := c.h.Open(ctx(t), a.id.ID(), "/test/echo"); !errors.Is(err, ErrNotPaired) {
		t.Fatalf("open to an unpaired device: %v", err)
	}
	if len(a.h.Connected()) != 0 {
		t.Fatal("an unpaired peer counts as connected")
	}
}

func TestInviteRefusals(t *testing.T) {
	a, b, c := newDevice(t, "a"), newDevice(t, "b"), newDevice(t, "c")
	inv, err := a.h.Invite(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.Pair(ctx(t), inv); err != nil {
		t.Fatal(err)
	}
	// Used once: refused the second time.
	_, err = c.h.Pair(ctx(t), inv)
	if !errors.Is(err, ErrPairRefused) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reused token: %v", err)
	}
	// Expired on the inviter, although the code claims longer.
	var tok [16]byte
	rand.Read(tok[:])
	hash := sha256.Sum256(tok[:])
	a.db.AddInvite(hash[:], time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	late := inv
	late.Token, late.Expires = tok, time.Now().Add(time.Hour)
	if _, err := c.h.Pair(ctx(t), late); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
	// Expired by the code itself: refused without asking.
	late.Expires = time.Now().Add(-time.Minute)
	if _, err := c.h.Pair(ctx(t), late); !errors.Is(err, db.ErrInviteExpired) {
		t.Fatalf("expired code: %v", err)
	}
	// Unknown token.
	rand.Read(late.Token[:])
	late.Expires = time.Now().Add(time.Hour)
	if _, err := c.h.Pair(ctx(t), late); err == nil || !strings.Contains(err.Error(), "not known") {
		t.Fatalf("unknown token: %v", err)
	}
	if ok, _ := a.db.IsPaired(bs(c.id.ID())); ok {
		t.Fatal("c got paired by failed attempts")
	}
	// After a few failures even a good invite is refused for a while.
	for i := 0; i < maxPeerFails; i++ {
		rand.Read(late.Token[:])
		c.h.Pair(ctx(t), late)
	}
	good, _ := a.h.Invite(time.Minute)
	if _, err := c.h.Pair(ctx(t), good); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("after repeated failures: %v", err)
	}
	if _, err := a.h.Invite(MaxInviteTTL + time.Hour); err == nil {
		t.Fatal("an invite valid for more than a week")
	}
}

func TestRemovedRefused(t *testing.T) {
	a, b := newDevice(t, "a"), newDevice(t, "b")
	pair(t, a, b)
	if err := a.db.RemoveDevice(bs(b.id.ID()), time.Now()); err != nil {
		t.Fatal(err)
	}
	a.h.Disconnect(b.id.ID())
	wait(t, a.down, b.id.ID(), "a sees b down after removing it")
	wait(t, b.down, a.id.ID(), "b sees a down")
	// b still has a as paired and keeps trying; a refuses every connection.
	if err := echo(ctx(t), b.h, a.id.ID()); err == nil {
		t.Fatal("a removed device reached a handled protocol")
	}
	if _, err := a.h.Open(ctx(t), b.id.ID(), "/test/echo"); !errors.Is(err, ErrNotPaired) {
		t.Fatalf("open to a removed device: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // b's redials run meanwhile
	if len(a.h.Connected()) != 0 {
		t.Fatal("a removed device is connected")
	}
	// A new invite lets it pair again.
	pair(t, a, b)
	if err := echo(ctx(t), b.h, a.id.ID()); err != nil {
		t.Fatal(err)
	}
}

func TestReconnect(t *testing.T) {
	a, b := newDevice(t, "a"), newDevice(t, "b")
	pair(t, a, b)

	// A cut: both sides redial.
	a.h.h.Network().ClosePeer(b.h.h.ID())
	wait(t, a.down, b.id.ID(), "down after the cut")
	wait(t, a.ups, b.id.ID(), "up again after the cut")
	if err := echo(ctx(t), a.h, b.id.ID()); err != nil {
		t.Fatal(err)
	}

	// b restarts: it dials a, which knows it again, and listens where it
	// did before.
	before := b.h.Addrs()
	b.h.Close()
	wait(t, a.down, b.id.ID(), "down when b stops")
	b.start()
	if after := b.h.Addrs(); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("b listens on %v after a restart, %v before", after, before)
	}
	wait(t, a.ups, b.id.ID(), "up when b is back")
	wait(t, b.ups, a.id.ID(), "b sees a")
	// A dial that reached the old b as it shut down can leave a a QUIC
	// connection the new b resets on first use: a second stream goes on.
	err := echo(ctx(t), a.h, b.id.ID())
	if err != nil {
		t.Logf("first stream after the restart: %v", err)
		time.Sleep(200 * time.Millisecond)
		err = echo(ctx(t), a.h, b.id.ID())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestInviteCode(t *testing.T) {
	id, _ := identity.Generate()
	inv := Invite{Device: id.ID(), Name: "laptop", Recipient: id.Recipient(), Addrs: []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"}, Expires: time.Unix(2000000000, 0)}
	rand.Read(inv.Token[:])
	code := inv.Code()
	if !strings.HasPrefix(code, "jaxinvite1-") {
		t.Fatalf("code %q", code)
	}
	// Upper case (as read from a QR code) and wrapped over lines both parse.
	for _, c := range []string{code, strings.ToUpper(code), code[:30] + "\n  " + code[30:]} {
		got, err := ParseInvite(c)
		if err != nil || got.Device != inv.Device || got.Token != inv.Token || got.Name != "laptop" || !got.Expires.Equal(inv.Expires) || len(got.Addrs) != 2 || got.Addrs[1] != inv.Addrs[1] {
			t.Fatalf("parse %q: %+v %v", c, got, err)
		}
	}
	for _, bad := range []string{"", "jaxdev1-abc", "jaxinvite1-", "jaxinvite1-!!!", code[:len(code)-10]} {
		if _, err := ParseInvite(bad); !errors.Is(err, ErrBadInvite) {
			t.Errorf("parse %q: %v", bad, err)
		}
	}
	png, err := InvitePNG(code, 256)
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("png: %d bytes, %v", len(png), err)
	}
	qr, err := InviteQR(code)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(qr, "\n"), "\n")
	if w := len([]rune(lines[0])); w < 25 || len(lines) != (w+1)/2 {
		t.Fatalf("qr is %d lines of %d", len(lines), w)
	}
}

func FuzzParseInvite(f *testing.F) {
	id, _ := identity.Generate()
	f.Add(Invite{Device: id.ID(), Name: "x", Recipient: id.Recipient(), Addrs: []string{"/ip4/127.0.0.1/tcp/1"}}.Code())
	f.Add("jaxinvite1-aaaa")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvite(s)
		if err == nil {
			if _, err := ParseInvite(inv.Code()); err != nil {
				t.Fatalf("re-encoded invite does not parse: %v", err)
			}
		}
	})
}

func bs(d tree.DeviceID) []byte { return d[:] }

type tlog struct {
	t    *testing.T
	name string
}

func (l tlog) Write(b []byte) (int, error) { l.t.Log(l.name + ": " + string(b)); return len(b), nil }
