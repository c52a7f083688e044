package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"
	"github.com/jax-desktop/jax/app/dbustest"
	"golang.org/x/sys/unix"
)

type doctorReport struct {
	OK     bool    `json:"ok"`
	Checks []check `json:"checks"`
}

// doctor runs 'jax doctor --json' and checks that the exit code agrees
// with the report: 1 exactly when a check failed.
func (c *cli) doctor(extra ...string) doctorReport {
	c.t.Helper()
	out, errOut, code := c.run(nil, append([]string{"doctor", "--json"}, extra...)...)
	var r doctorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		c.t.Fatalf("doctor --json printed no JSON (%v):\n%s\n%s", err, out, errOut)
	}
	failed := false
	for _, ch := range r.Checks {
		failed = failed || ch.Status == statusFail
	}
	if want := map[bool]int{false: 0, true: 1}[failed]; code != want || r.OK == failed {
		c.t.Fatalf("doctor exit %d, ok=%v, but a check failed: %v\n%s", code, r.OK, failed, out)
	}
	return r
}

func (r doctorReport) get(t *testing.T, name string) check {
	t.Helper()
	for _, ch := range r.Checks {
		if ch.Name == name {
			return ch
		}
	}
	t.Fatalf("no check %q in %+v", name, r.Checks)
	return check{}
}

func TestDoctorDataDirPermissions(t *testing.T) {
	c := newCLI(t)
	data := filepath.Join(c.home, "data")
	if ch := c.doctor().get(t, "data dir"); ch.Status != statusOK {
		t.Fatalf("fresh data dir: %+v", ch)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	r := c.doctor()
	ch := r.get(t, "data dir")
	if ch.Status != statusFail || !strings.Contains(ch.Detail, "0755") || ch.Fix != "chmod 700 "+data {
		t.Fatalf("data dir open to others: %+v", ch)
	}
	if r.OK {
		t.Fatal("report OK with a failed check")
	}
	// The text form: one line per check, the fix on the line.
	out, _, code := c.run(nil, "doctor")
	if code != 1 || !strings.Contains(out, "fail  data dir") || !strings.Contains(out, "Fix: chmod 700 "+data) {
		t.Fatalf("text report (exit %d):\n%s", code, out)
	}
	os.Chmod(data, 0o700)

	// A home nobody has set up: warned about, not failed.
	empty := &cli{t: t, home: filepath.Join(t.TempDir(), "none")}
	if ch := empty.doctor().get(t, "data dir"); ch.Status != statusWarn || !strings.Contains(ch.Fix, "jax init") {
		t.Fatalf("missing data dir: %+v", ch)
	}
}

func TestDoctorSeesDaemon(t *testing.T) {
	c := newCLI(t)
	if ch := c.doctor().get(t, "daemon"); ch.Status != statusWarn || !strings.Contains(ch.Detail, "not running") {
		t.Fatalf("no daemon: %+v", ch)
	}
	d := c.daemon()
	ch := c.doctor().get(t, "daemon")
	if ch.Status != statusOK || !strings.Contains(ch.Detail, "running (pid "+strconv.Itoa(d.Process.Pid)+")") {
		t.Fatalf("running daemon (pid %d): %+v", d.Process.Pid, ch)
	}
	stop(t, d)
	if ch := c.doctor().get(t, "daemon"); ch.Status != statusWarn {
		t.Fatalf("stopped daemon: %+v", ch)
	}
}

func TestDoctorSessionBus(t *testing.T) {
	c := newCLI(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	r := c.doctor()
	if ch := r.get(t, "tray host"); ch.Status != statusWarn || !strings.Contains(ch.Detail, "no session bus") {
		t.Fatalf("no bus: %+v", ch)
	}

	conn := dbustest.Session(t)
	r = c.doctor()
	if ch := r.get(t, "tray host"); ch.Status != statusWarn || !strings.Contains(ch.Detail, "no tray host") || ch.Fix == "" {
		t.Fatalf("bus without a tray host: %+v", ch)
	}
	if ch := r.get(t, "notifications"); ch.Status != statusWarn || ch.Fix == "" {
		t.Fatalf("bus without a notification server: %+v", ch)
	}
	for _, name := range []string{"org.kde.StatusNotifierWatcher", "org.freedesktop.Notifications"} {
		if reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("own %s: %v %v", name, reply, err)
		}
	}
	r = c.doctor()
	for _, name := range []string{"tray host", "notifications"} {
		if ch := r.get(t, name); ch.Status != statusOK {
			t.Fatalf("%s owned on the bus: %+v", name, ch)
		}
	}
}

func TestDoctorAutostart(t *testing.T) {
	c := newCLI(t)
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	if ch := c.doctor().get(t, "autostart"); ch.Status != statusOK || !strings.HasPrefix(ch.Detail, "off") {
		t.Fatalf("no entry: %+v", ch)
	}
	entry := filepath.Join(cfg, "autostart", "jax-tray.desktop")
	os.MkdirAll(filepath.Dir(entry), 0o755)
	gone := filepath.Join(t.TempDir(), "old place", "jax-tray")
	os.WriteFile(entry, []byte("[Desktop Entry]\nType=Application\nExec=\""+gone+"\" --autostart\n"), 0o644)
	if ch := c.doctor().get(t, "autostart"); ch.Status != statusWarn || !strings.Contains(ch.Detail, gone) {
		t.Fatalf("entry for a program that is gone: %+v", ch)
	}
	exe, _ := os.Executable()
	os.WriteFile(entry, []byte("[Desktop Entry]\nType=Application\nExec="+exe+" --autostart\n"), 0o644)
	if ch := c.doctor().get(t, "autostart"); ch.Status != statusOK || !strings.Contains(ch.Detail, "on: "+entry) {
		t.Fatalf("entry: %+v", ch)
	}
}

func TestDoctorFUSEDevice(t *testing.T) {
	dir := t.TempDir()
	if ch := checkFUSEDevice(filepath.Join(dir, "fuse")); ch.Status != statusFail || !strings.Contains(ch.Detail, "missing") || ch.Fix == "" {
		t.Fatalf("missing device: %+v", ch)
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	if ch := checkFUSEDevice(plain); ch.Status != statusFail || !strings.Contains(ch.Detail, "not the FUSE device") {
		t.Fatalf("plain file: %+v", ch)
	}
	if _, err := os.Stat("/dev/fuse"); err == nil {
		if ch := checkFUSEDevice("/dev/fuse"); ch.Status != statusOK {
			t.Fatalf("/dev/fuse: %+v", ch)
		}
	}
}

// TestDoctorStaleMount leaves a dead mount named jax, as a crashed daemon
// would, and expects doctor to name it with the command that clears it.
func TestDoctorStaleMount(t *testing.T) {
	needFUSE(t)
	if os.Getuid() != 0 {
		t.Skip("aborting a FUSE connection needs root")
	}
	mp := filepath.Join(t.TempDir(), "dead mount")
	os.Mkdir(mp, 0o755)
	srv, err := fs.Mount(mp, &fs.Inode{}, &fs.Options{MountOptions: gofuse.MountOptions{FsName: "jax", Name: "jax", DirectMount: true}})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv // served until the abort below ends it
	t.Cleanup(func() { syscall.Unmount(mp, unmountDetach) })
	c := newCLI(t)
	if ch := c.doctor().get(t, "stale mounts"); strings.Contains(ch.Detail, mp) {
		t.Fatalf("live mount reported dead: %+v", ch)
	}
	var st unix.Stat_t
	if err := unix.Stat(mp, &st); err != nil {
		t.Fatal(err)
	}
	abort := fmt.Sprintf("/sys/fs/fuse/connections/%d/abort", unix.Minor(uint64(st.Dev)))
	if err := os.WriteFile(abort, []byte("1"), 0o200); err != nil {
		t.Skipf("cannot abort the connection (fusectl not mounted?): %v", err)
	}
	ch := c.doctor().get(t, "stale mounts")
	if ch.Status != statusFail || !strings.Contains(ch.Detail, mp) || ch.Fix != "fusermount3 -uz '"+mp+"'" {
		t.Fatalf("dead mount: %+v", ch)
	}
}

func TestGenDocs(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	c.ok("gen-docs", dir)
	page, err := os.ReadFile(filepath.Join(dir, "man1", "jax-doctor.1"))
	if err != nil || !strings.Contains(string(page), "jax doctor") || !strings.Contains(string(page), "allow-other") {
		t.Fatalf("man page for doctor: %v\n%s", err, page)
	}
	if _, err := os.Stat(filepath.Join(dir, "man1", "jax-gen-docs.1")); err == nil {
		t.Fatal("the hidden gen-docs command got a man page")
	}
	for name, want := range map[string]string{"jax.bash": "__start_jax", "_jax": "#compdef jax", "jax.fish": "complete -c jax"} {
		b, err := os.ReadFile(filepath.Join(dir, "completions", name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Fatalf("completion %s lacks %q: %v", name, want, err)
		}
	}
}
