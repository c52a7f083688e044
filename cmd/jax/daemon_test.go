package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jax-desktop/jax/app"
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
	return c.startDaemon(c.cmd("daemon"))
}

// startDaemon starts a daemon command (perhaps wrapped) and waits until
// its socket answers.
func (c *cli) startDaemon(cmd *exec.Cmd) *exec.Cmd {
	c.t.Helper()
	logs := &logBuffer{}
	c.logs = logs
	cmd.Stderr = logs
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

// stop ends a daemon with SIGTERM, as a user's Ctrl-C would.
func stop(t *testing.T, d *exec.Cmd) {
	t.Helper()
	d.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		d.Process.Kill()
		t.Fatal("daemon did not stop on SIGTERM")
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

// remoteOnly returns a CLI whose home holds nothing but a link to c's
// daemon socket: every command it runs succeeds only through the daemon,
// since there is no identity, database or blob store to open here.
func (c *cli) remoteOnly() *cli {
	r := &cli{t: c.t, home: c.t.TempDir()}
	os.MkdirAll(filepath.Join(r.home, "data"), 0o700)
	if err := os.Symlink(filepath.Join(c.home, "data", "jax.sock"), filepath.Join(r.home, "data", "jax.sock")); err != nil {
		c.t.Fatal(err)
	}
	return r
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read through the mount: %v", err)
	}
	return string(b)
}

// conflictCopies lists the conflict copies anywhere in the mount.
func conflictCopies(t *testing.T, mp string) []string {
	var out []string
	filepath.WalkDir(mp, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "(conflict from") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// While a daemon runs, every command that changes a bucket runs in it, and
// the change shows in the mount when the command returns.
func TestBucketCommandsThroughDaemon(t *testing.T) {
	needFUSE(t)
	c := newCLI(t)
	desktop := newDevice(t, "desktop")
	c.ok("device", "add", strings.TrimSpace(desktop.ok("device", "card")))
	c.ok("bucket", "create", "docs")
	c.run([]byte("hello"), "bucket", "add", "docs", "-", "/hello.txt")
	c.daemon()
	mp := filepath.Join(t.TempDir(), "docs")
	c.ok("mount", "add", "docs", mp)
	r := c.remoteOnly()
	if _, errs, code := r.run(nil, "bucket", "ls", "docs"); code != exitNotSetUp {
		t.Fatalf("reads are local: the remote-only home must not be set up (exit %d %s)", code, errs)
	}

	// add: a directory (the daemon reads it), then standard input.
	local := filepath.Join(t.TempDir(), "trip")
	os.MkdirAll(filepath.Join(local, "day1"), 0o755)
	os.WriteFile(filepath.Join(local, "day1", "a.txt"), []byte("aaa"), 0o644)
	os.WriteFile(filepath.Join(local, "notes.txt"), []byte("notes"), 0o600)
	if out := r.ok("bucket", "add", "docs", local, "/trip"); !strings.Contains(out, "Added "+local+" to docs as version") {
		t.Fatalf("add: %q", out)
	}
	if got := readFile(t, filepath.Join(mp, "trip", "day1", "a.txt")); got != "aaa" {
		t.Fatalf("added file reads %q", got)
	}
	if fi, err := os.Stat(filepath.Join(mp, "trip", "notes.txt")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("added file's mode: %v %v", fi, err)
	}
	if _, errs, code := r.run([]byte("from stdin"), "bucket", "add", "docs", "-", "/stdin.txt"); code != 0 {
		t.Fatalf("add from stdin: exit %d %s", code, errs)
	}
	if got := readFile(t, filepath.Join(mp, "stdin.txt")); got != "from stdin" {
		t.Fatalf("stdin file reads %q", got)
	}

	// mv, mkdir, rm, restore: each visible at once.
	r.ok("bucket", "mv", "docs", "/trip/notes.txt", "/notes.txt")
	if got := readFile(t, filepath.Join(mp, "notes.txt")); got != "notes" {
		t.Fatalf("moved file reads %q", got)
	}
	if _, err := os.Stat(filepath.Join(mp, "trip", "notes.txt")); !os.IsNotExist(err) {
		t.Fatalf("old name still in the mount: %v", err)
	}
	r.ok("bucket", "mkdir", "docs", "-p", "/x/y")
	if fi, err := os.Stat(filepath.Join(mp, "x", "y")); err != nil || !fi.IsDir() {
		t.Fatalf("mkdir not in the mount: %v", err)
	}
	r.ok("bucket", "rm", "docs", "/hello.txt")
	if _, err := os.Stat(filepath.Join(mp, "hello.txt")); !os.IsNotExist(err) {
		t.Fatalf("removed file still in the mount: %v", err)
	}
	r.ok("bucket", "restore", "docs", "/hello.txt", "--version", "1")
	if got := readFile(t, filepath.Join(mp, "hello.txt")); got != "hello" {
		t.Fatalf("restored file reads %q", got)
	}

	// A write through the mount still waiting for its coalesced save,
	// then a command changing the same file and another beside it: the
	// command's change lands on top, with no merge and no conflict copy.
	os.WriteFile(filepath.Join(mp, "hello.txt"), []byte("written in the mount"), 0o644)
	os.WriteFile(filepath.Join(mp, "beside.txt"), []byte("beside"), 0o644)
	r.run([]byte("written by the command"), "bucket", "add", "docs", "-", "/hello.txt")
	if got := readFile(t, filepath.Join(mp, "hello.txt")); got != "written by the command" {
		t.Fatalf("after a mount write and a command: %q", got)
	}
	if got := readFile(t, filepath.Join(mp, "beside.txt")); got != "beside" {
		t.Fatalf("the mount's other write: %q", got)
	}
	if cs := conflictCopies(t, mp); len(cs) > 0 {
		t.Fatalf("conflict copies made: %v", cs)
	}
	var hist []versionJSON
	json.Unmarshal([]byte(c.ok("bucket", "history", "docs", "--json")), &hist)
	for _, v := range hist {
		if v.Merge {
			t.Fatalf("history has a merge: %+v", hist)
		}
	}
	hist = nil
	json.Unmarshal([]byte(c.ok("bucket", "history", "docs", "/hello.txt", "--json")), &hist)
	if hist[0].Size != int64(len("written by the command")) || hist[1].Size != int64(len("written in the mount")) {
		t.Fatalf("hello.txt history, newest first: %+v", hist)
	}

	// share, unshare, create and import.
	if out := r.ok("bucket", "share", "docs", "desktop", "--role", "mirror"); out != "Shared docs with desktop as mirror\n" {
		t.Fatalf("share: %q", out)
	}
	if out := r.ok("bucket", "unshare", "docs", "desktop"); !strings.Contains(out, "Removed desktop from docs") {
		t.Fatalf("unshare: %q", out)
	}
	if out := r.ok("bucket", "create", "more"); !strings.Contains(out, `Created bucket "more"`) {
		t.Fatalf("create: %q", out)
	}
	exp := filepath.Join(t.TempDir(), "docs.jax")
	c.ok("bucket", "export", "docs", exp)
	if out := r.ok("bucket", "import", exp); !strings.Contains(out, "Imported docs") {
		t.Fatalf("import: %q", out)
	}
	if got := readFile(t, filepath.Join(mp, "hello.txt")); got != "written by the command" {
		t.Fatalf("after all: %q", got)
	}
	// The daemon made every change.
	for _, op := range []string{"add", "mv", "mkdir", "rm", "restore", "share", "unshare", "create", "import"} {
		if !strings.Contains(c.logs.String(), `msg="bucket changed by a jax command" op=`+op+" ") {
			t.Fatalf("daemon log has no %s:\n%s", op, c.logs.String())
		}
	}
}

// A command fails the same way, message and exit code, whether the daemon
// or the command itself makes the change.
func TestErrorsSameThroughDaemon(t *testing.T) {
	c := newCLI(t)
	c.ok("bucket", "create", "docs")
	c.run([]byte("hello"), "bucket", "add", "docs", "-", "/hello.txt")
	garbage := filepath.Join(t.TempDir(), "garbage.jax")
	os.WriteFile(garbage, []byte("not a tar"), 0o644)
	missing := filepath.Join(t.TempDir(), "missing")
	cases := [][]string{
		{"bucket", "rm", "nope", "/x"},
		{"bucket", "rm", "docs", "/missing"},
		{"bucket", "rm", "docs", "/"},
		{"bucket", "mv", "docs", "/missing", "/y"},
		{"bucket", "mkdir", "docs", "/a/b"},
		{"bucket", "mkdir", "docs", "/hello.txt"},
		{"bucket", "restore", "docs", "/hello.txt", "--version", "42"},
		{"bucket", "restore", "docs", "/missing", "--version", "1"},
		{"bucket", "share", "docs", "nobody"},
		{"bucket", "share", "docs", "nobody", "--role", "boss"},
		{"bucket", "unshare", "docs", "laptop"},
		{"bucket", "add", "docs", missing, "/x"},
		{"bucket", "add", "nope", "-", "/x"},
		{"bucket", "add", "docs", "-", "/hello.txt/x"},
		{"bucket", "create", ""},
		{"bucket", "import", missing},
		{"bucket", "import", garbage},
	}
	type outcome struct {
		code   int
		stderr string
	}
	run := func() []outcome {
		var out []outcome
		for _, args := range cases {
			_, errs, code := c.run([]byte{}, args...)
			if code == 0 {
				t.Fatalf("jax %s succeeded", strings.Join(args, " "))
			}
			out = append(out, outcome{code, errs})
		}
		return out
	}
	alone := run()
	c.daemon()
	via := run()
	for i, args := range cases {
		if alone[i] != via[i] {
			t.Errorf("jax %s:\n without daemon: exit %d %q\n through daemon: exit %d %q",
				strings.Join(args, " "), alone[i].code, alone[i].stderr, via[i].code, via[i].stderr)
		}
	}
	if alone[0].code != exitNotFound || alone[1].code != exitNotFound || alone[9].code != exitUsage {
		t.Fatalf("exit codes: %+v", alone)
	}
	if strings.Count(c.logs.String(), "bucket changed by a jax command") != 0 {
		t.Fatalf("a failed command changed something:\n%s", c.logs.String())
	}
}

// Damaged data fails with exit 5 through the daemon too.
func TestDamagedThroughDaemon(t *testing.T) {
	c := newCLI(t)
	c.ok("bucket", "create", "b")
	c.run([]byte("data"), "bucket", "add", "b", "-", "/f")
	filepath.Walk(filepath.Join(c.home, "data", "blobs"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			raw, _ := os.ReadFile(p)
			raw[len(raw)/2] ^= 1
			os.WriteFile(p, raw, 0o600)
		}
		return nil
	})
	_, alone, code := c.run(nil, "bucket", "mkdir", "b", "/d")
	if code != exitDamaged {
		t.Fatalf("without daemon: exit %d %s", code, alone)
	}
	c.daemon()
	_, via, code := c.run(nil, "bucket", "mkdir", "b", "/d")
	if code != exitDamaged || via != alone {
		t.Fatalf("through the daemon: exit %d %q, without: %q", code, via, alone)
	}
}

// Ctrl-C on `jax bucket add` cancels the add in the daemon: nothing is
// added, and the daemon carries on.
func TestAddInterrupted(t *testing.T) {
	c := newCLI(t)
	c.ok("bucket", "create", "docs")
	c.daemon()
	// A large sparse file takes seconds to chunk and seal, however fast
	// the machine; standard input that never ends takes forever.
	big := filepath.Join(t.TempDir(), "big")
	f, _ := os.Create(big)
	f.Truncate(8 << 30)
	f.Close()
	for _, local := range []string{big, "-"} {
		cmd := c.cmd("bucket", "add", "docs", local, "/big.bin")
		var errs bytes.Buffer
		cmd.Stderr = &errs
		in, _ := cmd.StdinPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go in.Write(make([]byte, 1<<20)) // blocks once the pipe is full, until the close below
		n := map[string]int{big: 1, "-": 2}[local]
		eventually(t, "the daemon starts the add", func() bool {
			return strings.Count(c.logs.String(), "adding for a jax command") == n
		})
		time.Sleep(200 * time.Millisecond) // under way
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("add %s finished despite Ctrl-C", local)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("add %s did not stop on Ctrl-C", local)
		}
		in.Close()
		eventually(t, "the daemon gives up the add", func() bool {
			return strings.Count(c.logs.String(), "add by a jax command failed") == n
		})
		c.fails(exitNotFound, "no such file", "bucket", "stat", "docs", "/big.bin")
	}
	c.run([]byte("small"), "bucket", "add", "docs", "-", "/small.txt")
	if got := c.ok("bucket", "cat", "docs", "/small.txt"); got != "small" {
		t.Fatalf("add after the interrupted ones: %q", got)
	}
}

// mounts returns the mounts, by mount point, as `jax mount list --json` reports them.
func (c *cli) mounts() map[string]app.MountStatus {
	c.t.Helper()
	var ms []app.MountStatus
	if err := json.Unmarshal([]byte(c.ok("mount", "list", "--json")), &ms); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]app.MountStatus{}
	for _, m := range ms {
		out[m.MountPoint] = m
	}
	return out
}

// A daemon on a machine without FUSE: each mount is in error with a
// message that says what to install, and everything else works. The
// daemon runs in a private mount namespace where /dev/fuse is /dev/null.
func TestDaemonWithoutFUSE(t *testing.T) {
	needFUSE(t)
	if os.Getuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1)")
	}
	c := newCLI(t)
	c.ok("bucket", "create", "docs")
	d := c.daemon()
	mp := filepath.Join(t.TempDir(), "docs")
	c.ok("mount", "add", "docs", mp, "--auto-mount")
	stop(t, d)

	inner := c.cmd("daemon")
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind /dev/null /dev/fuse && exec "$0" daemon`, os.Args[0])
	cmd.Env = inner.Env
	c.startDaemon(cmd)

	m := c.mounts()[mp]
	if m.Status != db.StatusError || !strings.Contains(m.ErrorMessage, "FUSE is not available") ||
		!strings.Contains(m.ErrorMessage, "/dev/fuse") || !strings.Contains(m.ErrorMessage, "install fuse3") {
		t.Fatalf("mount without FUSE: %s: %q", m.Status, m.ErrorMessage)
	}
	out := c.ok("status")
	if !strings.Contains(out, "1 error") || !strings.Contains(out, "Problems:") || !strings.Contains(out, "FUSE is not available") {
		t.Fatalf("status:\n%s", out)
	}
	c.fails(exitError, "FUSE is not available", "mount", "start", m.ID)
	// The rest works: bucket changes through the daemon, new mount configs.
	c.run([]byte("still works"), "bucket", "add", "docs", "-", "/a.txt")
	if got := c.ok("bucket", "cat", "docs", "/a.txt"); got != "still works" {
		t.Fatalf("cat: %q", got)
	}
	if !strings.Contains(c.logs.String(), "op=add") {
		t.Fatal("the add did not go through the daemon")
	}
}

// Adding files that live in the daemon's own mount: the daemon reads
// them through itself, which must not deadlock it.
func TestAddFromOwnMount(t *testing.T) {
	needFUSE(t)
	c := newCLI(t)
	c.ok("bucket", "create", "docs")
	c.daemon()
	mp := filepath.Join(t.TempDir(), "docs")
	c.ok("mount", "add", "docs", mp)
	data := make([]byte, 48<<20)
	rand.Read(data)
	os.MkdirAll(filepath.Join(mp, "dir"), 0o755)
	for _, p := range []string{"big.bin", "dir/a.bin", "dir/b.bin"} {
		if err := os.WriteFile(filepath.Join(mp, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{filepath.Join(mp, "big.bin"), "/copy.bin"}, {filepath.Join(mp, "dir"), "/dir2"}} {
		cmd := c.cmd("bucket", "add", "docs", args[0], args[1])
		done := make(chan error, 1)
		go func() { done <- cmd.Run() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("add %s: %v", args[0], err)
			}
		case <-time.After(60 * time.Second):
			abortFUSE(t, mp)
			t.Fatalf("add %s from the daemon's own mount hangs", args[0])
		}
	}
	for _, p := range []string{"copy.bin", "dir2/a.bin", "dir2/b.bin"} {
		if b, err := os.ReadFile(filepath.Join(mp, p)); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("%s through the mount: %d bytes, %v", p, len(b), err)
		}
	}
}
