package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jax-desktop/jax/app"
	"github.com/jax-desktop/jax/app/p2p"
	"github.com/jax-desktop/jax/store/identity"
)

func (c *cli) devices() []app.DeviceInfo {
	c.t.Helper()
	var devs []app.DeviceInfo
	if err := json.Unmarshal([]byte(c.ok("device", "list", "--json")), &devs); err != nil {
		c.t.Fatal(err)
	}
	return devs
}

// sees reports whether c lists a device by name, online, with an address.
func (c *cli) sees(name string) bool {
	for _, d := range c.devices() {
		if d.Name == name {
			return d.Paired && d.Online != nil && *d.Online && len(d.Addresses) > 0 && d.LastSeen != nil
		}
	}
	return false
}

func inviteCode(t *testing.T, out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "jaxinvite1-") {
			return l
		}
	}
	t.Fatalf("no invite code in:\n%s", out)
	return ""
}

// Two daemons pair through an invite and then list each other; the code
// works once; a removed device is cut off and its shares are pointed out.
func TestDevicePairing(t *testing.T) {
	t.Setenv("JAX_NETWORK", "loopback") // the daemons inherit it
	laptop, desktop := newDevice(t, "laptop"), newDevice(t, "desktop")
	laptop.fails(exitNoDaemon, "no jax daemon", "device", "invite")
	desktop.fails(exitUsage, "not an invite code", "device", "pair", "jaxdev1-nonsense")
	laptop.daemon()
	desktop.daemon()

	png := filepath.Join(t.TempDir(), "invite.png")
	out := laptop.ok("device", "invite", "--ttl", "10m", "--png", png)
	code := inviteCode(t, out)
	if !strings.Contains(out, "█") {
		t.Fatalf("no QR code in:\n%s", out)
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("png: %v", err)
	}

	// Not confirmed: nothing happens.
	_, errs, exit := desktop.run([]byte("n\n"), "device", "pair", code)
	if exit != exitError || !strings.Contains(errs, `Pair with device "laptop"`) || !strings.Contains(errs, "not confirmed") {
		t.Fatalf("declined pairing: exit %d %q", exit, errs)
	}
	// Confirmed on stdin.
	if out, errs, exit := desktop.run([]byte("y\n"), "device", "pair", code); exit != 0 || !strings.Contains(out, `Paired with "laptop"`) {
		t.Fatalf("pair: exit %d %q %q", exit, out, errs)
	}
	eventually(t, "each lists the other online", func() bool { return laptop.sees("desktop") && desktop.sees("laptop") })
	desktop.fails(exitError, "already used", "device", "pair", "--yes", code)

	var self app.SelfInfo
	json.Unmarshal([]byte(laptop.ok("device", "id", "--json")), &self)
	if self.Name != "laptop" || len(self.Addresses) == 0 || !strings.Contains(self.Addresses[0], "/ip4/127.0.0.1/") || !strings.Contains(self.Addresses[0], self.PeerID) {
		t.Fatalf("device id: %+v", self)
	}
	// A second device pairs with --yes.
	phone := newDevice(t, "phone")
	phone.daemon()
	phone.ok("device", "pair", "--yes", inviteCode(t, laptop.ok("device", "invite")))
	eventually(t, "the laptop lists the phone", func() bool { return laptop.sees("phone") && laptop.sees("desktop") })

	laptop.ok("device", "rename", "desktop", "home")
	laptop.ok("bucket", "create", "docs")
	laptop.ok("bucket", "share", "docs", "home")
	out = laptop.ok("device", "remove", "home")
	if !strings.Contains(out, "jax bucket unshare docs") {
		t.Fatalf("remove does not point at the share:\n%s", out)
	}
	eventually(t, "the desktop sees the laptop go", func() bool { return !desktop.sees("laptop") })
	for _, d := range laptop.devices() {
		if d.Name == "home" {
			t.Fatalf("removed device still listed: %+v", d)
		}
	}
	if !laptop.sees("phone") {
		t.Fatal("the phone went offline with the removal of another device")
	}
}

// Rename and remove work without a daemon.
func TestDeviceOffline(t *testing.T) {
	c := newDevice(t, "laptop")
	other := newDevice(t, "desktop")
	c.ok("device", "rename", "work laptop")
	if out := c.ok("device", "id"); !strings.Contains(out, "work laptop") || !strings.Contains(out, "no daemon") {
		t.Fatalf("device id:\n%s", out)
	}
	c.ok("device", "add", strings.TrimSpace(other.ok("device", "card")))
	c.ok("device", "rename", "desktop", "home")
	if devs := c.devices(); len(devs) != 2 || devs[1].Name != "home" || devs[1].Paired || devs[1].Online != nil {
		t.Fatalf("list: %+v", devs)
	}
	c.ok("device", "remove", "home")
	if devs := c.devices(); len(devs) != 1 {
		t.Fatalf("list after remove: %+v", devs)
	}
	c.fails(exitError, "cannot remove itself", "device", "remove", "self")
	c.fails(exitNotFound, "no device", "device", "remove", "nosuch")
	c.fails(exitUsage, "expected", "device", "rename")
	id, _ := identity.Generate()
	code := p2p.Invite{Device: id.ID(), Name: "x", Recipient: id.Recipient(), Expires: time.Now().Add(time.Hour)}.Code()
	c.fails(exitNoDaemon, "no jax daemon", "device", "pair", "--yes", code)
}
