//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jax-desktop/jax/store/db"
)

// Mounts that cannot start are each in error with the reason, and the
// others start: a folder with another filesystem mounted on it, a bucket
// deleted while its mount config stayed.
func TestDaemonMountFaults(t *testing.T) {
	needFUSE(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	c := newCLI(t)
	c.ok("bucket", "create", "docs")
	c.ok("bucket", "create", "gone")
	c.run([]byte("hello"), "bucket", "add", "docs", "-", "/hello.txt")
	d := c.daemon()
	dir := t.TempDir()
	good, busy, gone := filepath.Join(dir, "good"), filepath.Join(dir, "busy"), filepath.Join(dir, "gone")
	c.ok("mount", "add", "docs", good, "--auto-mount")
	c.ok("mount", "add", "docs", busy, "--auto-mount")
	c.ok("mount", "add", "gone", gone, "--auto-mount")
	stop(t, d)

	if err := syscall.Mount("tmpfs", busy, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(busy, syscall.MNT_DETACH) })
	store, err := db.Open(filepath.Join(c.home, "data", "jax.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Exec("DELETE FROM buckets WHERE name = 'gone'"); err != nil {
		t.Fatal(err)
	}
	store.Close()
	// Without a daemon, status says so and what it would mount.
	if out, _, code := c.run(nil, "status"); code != exitNoDaemon || !strings.Contains(out, "not running") || !strings.Contains(out, "3 configured") {
		t.Fatalf("status without a daemon: exit %d %q", code, out)
	}

	c.daemon()
	ms := c.mounts()
	if ms[good].Status != db.StatusRunning {
		t.Fatalf("good mount: %+v", ms[good])
	}
	if got := readFile(t, filepath.Join(good, "hello.txt")); got != "hello" {
		t.Fatalf("good mount reads %q", got)
	}
	if m := ms[busy]; m.Status != db.StatusError || !strings.Contains(m.ErrorMessage, "a tmpfs filesystem is mounted on "+busy) ||
		!strings.Contains(m.ErrorMessage, "unmount it or choose another folder") {
		t.Fatalf("busy mount: %s %q", m.Status, m.ErrorMessage)
	}
	if m := ms[gone]; m.Status != db.StatusError || !strings.Contains(m.ErrorMessage, "no longer exists") ||
		!strings.Contains(m.ErrorMessage, "jax mount remove "+m.ID[:8]) || m.BucketName != "" {
		t.Fatalf("mount of a deleted bucket: %+v", m)
	}
	out := c.ok("status")
	for _, want := range []string{"3 (1 running, 2 error)", "(gone)", "tmpfs", "no longer exists"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
	// A new mount on the busy folder is refused the same way; once the
	// folder is free, the mount starts.
	c.fails(exitError, "a tmpfs filesystem is mounted on", "mount", "add", "docs", busy)
	if err := syscall.Unmount(busy, 0); err != nil {
		t.Fatal(err)
	}
	c.ok("mount", "start", ms[busy].ID)
	if got := readFile(t, filepath.Join(busy, "hello.txt")); got != "hello" {
		t.Fatalf("busy mount after the tmpfs left: %q", got)
	}
	c.ok("mount", "remove", ms[gone].ID)
}

// abortFUSE ends the FUSE connection of the mount at mp, freeing any
// process stuck in it, so a test that found a deadlock can still clean up.
func abortFUSE(t *testing.T, mp string) {
	raw, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(raw), "\n") {
		if fs := strings.Fields(line); len(fs) > 4 && fs[4] == mp {
			minor := fs[2][strings.Index(fs[2], ":")+1:]
			os.WriteFile(filepath.Join("/sys/fs/fuse/connections", minor, "abort"), []byte("1"), 0o200)
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
}

// unmountDetach is the unmount flag test cleanup uses: lazy, so a busy
// mount still goes.
const unmountDetach = syscall.MNT_DETACH
