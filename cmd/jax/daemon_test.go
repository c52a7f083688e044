package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/db"
)

func needFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse")
	}
	if os.Getuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			t.Skip("needs root or fusermount3")
		}
	}
}

// daemon starts `jax daemon` and waits until its socket answers.
func (c *cli) daemon() *exec.Cmd {
	c.t.Helper()
	cmd := c.cmd("daemon")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
		if c.t.Failed() {
			c.t.Logf("daemon log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, code := c.run(nil, "status"); code == 0 {
			return cmd
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("daemon did not come up:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mounted(t *testing.T, mp string) bool {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 1 && fs[1] == mp {
			return true
		}
	}
	return false
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

func TestDaemonMounts(t *testing.T) {
	needFUSE(t)
	c := newCLI(t)
	c.ok("bucket", "create", "docs")
	c.run([]byte("hello"), "bucket", "add", "docs", "-", "/hello.txt")
	c.fails(exitNoDaemon, "no jax daemon", "mount", "list")
	d := c.daemon()

	// A second daemon on the same data dir refuses and says why.
	c.fails(exitError, "already running", "daemon")

	mp := filepath.Join(t.TempDir(), "docs")
	c.ok("mount", "add", "docs", mp, "--auto-mount")
	if !mounted(t, mp) {
		t.Fatal("not in /proc/mounts after mount add")
	}
	if b, err := os.ReadFile(filepath.Join(mp, "hello.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("read through the mount: %q %v", b, err)
	}
	// Written through the mount: saved to the bucket.
	os.WriteFile(filepath.Join(mp, "new.txt"), []byte("from the mount"), 0o644)
	eventually(t, "write through the mount saved", func() bool {
		out, _, code := c.run(nil, "bucket", "cat", "docs", "/new.txt")
		return code == 0 && out == "from the mount"
	})
	// Changed from the CLI: visible in the mount at once.
	c.run([]byte("v2"), "bucket", "add", "docs", "-", "/hello.txt")
	if b, _ := os.ReadFile(filepath.Join(mp, "hello.txt")); string(b) != "v2" {
		t.Fatalf("mount shows %q after a CLI change", b)
	}
	// Bad settings are refused with the reason.
	c.fails(exitError, "cache size", "mount", "add", "docs", filepath.Join(t.TempDir(), "x"), "--cache-size-mb", "0")
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "f"), nil, 0o644)
	c.fails(exitError, "not empty", "mount", "add", "docs", full)

	var ms []db.Mount
	json.Unmarshal([]byte(c.ok("mount", "list", "--json")), &ms)
	if len(ms) != 1 || ms[0].Status != db.StatusRunning || !ms[0].AutoMount {
		t.Fatalf("mount list: %+v", ms)
	}
	id := ms[0].ID
	c.ok("mount", "stop", id)
	if mounted(t, mp) {
		t.Fatal("still mounted after stop")
	}
	c.ok("mount", "start", id[:8])
	if !mounted(t, mp) {
		t.Fatal("not mounted after start")
	}

	// Killed while mounted: the next daemon cleans the stale mount and
	// auto-mounts again; every file closed before the kill is intact.
	// The kill comes right after the close, before the coalesced save.
	os.WriteFile(filepath.Join(mp, "closed.txt"), []byte("closed before the kill"), 0o644)
	d.Process.Signal(syscall.SIGKILL)
	d.Wait()
	c.daemon()
	eventually(t, "auto-mount back after a crash", func() bool {
		b, err := os.ReadFile(filepath.Join(mp, "closed.txt"))
		return err == nil && string(b) == "closed before the kill"
	})

	c.ok("mount", "remove", id)
	if mounted(t, mp) {
		t.Fatal("still mounted after remove")
	}
}

// Another device's versions brought in by export/import reach the live
// mount, merged with what was written there, conflict copies included.
func TestImportMergesIntoMount(t *testing.T) {
	needFUSE(t)
	laptop, desktop := newDevice(t, "laptop"), newDevice(t, "desktop")
	laptop.ok("bucket", "create", "docs")
	laptop.run([]byte("base"), "bucket", "add", "docs", "-", "/report.txt")
	laptop.ok("device", "add", strings.TrimSpace(desktop.ok("device", "card")))
	laptop.ok("bucket", "share", "docs", "desktop")
	exp := filepath.Join(t.TempDir(), "docs.jax")
	laptop.ok("bucket", "export", "docs", exp)
	desktop.ok("bucket", "import", exp)
	if got := desktop.ok("bucket", "cat", "docs", "/report.txt"); got != "base" {
		t.Fatalf("desktop reads %q", got)
	}

	laptop.daemon()
	mp := filepath.Join(t.TempDir(), "docs")
	laptop.ok("mount", "add", "docs", mp)
	// Both edit the same file while apart; the desktop also adds a file.
	desktop.run([]byte("desktop edit"), "bucket", "add", "docs", "-", "/report.txt")
	desktop.run([]byte("new"), "bucket", "add", "docs", "-", "/from-desktop.txt")
	os.WriteFile(filepath.Join(mp, "report.txt"), []byte("laptop edit"), 0o644)
	eventually(t, "laptop edit saved", func() bool { return laptop.ok("bucket", "cat", "docs", "/report.txt") == "laptop edit" })
	desktop.ok("bucket", "export", "docs", exp)
	laptop.ok("bucket", "import", exp)

	if b, err := os.ReadFile(filepath.Join(mp, "from-desktop.txt")); err != nil || string(b) != "new" {
		t.Fatalf("desktop's new file in the mount: %q %v", b, err)
	}
	ents, _ := os.ReadDir(mp)
	contents := map[string]bool{}
	copies := 0
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(mp, e.Name()))
		contents[string(b)] = true
		if strings.Contains(e.Name(), "(conflict from") {
			copies++
		}
	}
	if !contents["laptop edit"] || !contents["desktop edit"] || copies != 1 {
		t.Fatalf("mount after import: %d entries, %d copies, contents %v", len(ents), copies, contents)
	}
	// The desktop converges to the same tree.
	laptop.ok("bucket", "export", "docs", exp)
	desktop.ok("bucket", "import", exp)
	if a, b := laptop.ok("bucket", "ls", "docs", "--json"), desktop.ok("bucket", "ls", "docs", "--json"); a != b {
		t.Fatalf("devices differ:\n%s\n%s", a, b)
	}
}
