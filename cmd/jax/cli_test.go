package main

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as jax: run with JAX_TEST_MAIN=1 it is the CLI,
// so tests drive the real command in its own process without a second build.
func TestMain(m *testing.M) {
	if os.Getenv("JAX_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type cli struct {
	t    *testing.T
	home string
	logs *logBuffer // of the last daemon started
}

// logBuffer collects a daemon's log while tests read it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newCLI(t *testing.T) *cli { return newDevice(t, "laptop") }

func newDevice(t *testing.T, name string) *cli {
	c := &cli{t: t, home: t.TempDir()}
	c.ok("init", "--name", name)
	return c
}

func (c *cli) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	// Loopback: a daemon started by a test never reaches the LAN (mDNS) or beyond.
	cmd.Env = append(os.Environ(), "JAX_TEST_MAIN=1", "JAX_HOME="+c.home, "JAX_NETWORK=loopback")
	return cmd
}

// run returns stdout, stderr and the exit code.
func (c *cli) run(stdin []byte, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := c.cmd(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(nil, args...)
	if code != 0 {
		c.t.Fatalf("jax %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func (c *cli) fails(code int, want string, args ...string) {
	c.t.Helper()
	_, errs, got := c.run(nil, args...)
	if got != code || !strings.Contains(errs, want) {
		c.t.Fatalf("jax %s: exit %d %q, want exit %d containing %q", strings.Join(args, " "), got, errs, code, want)
	}
}

func TestCLIWorkflow(t *testing.T) {
	c := newCLI(t)
	c.fails(exitError, "already set up", "init")
	c.ok("bucket", "create", "photos")
	local := filepath.Join(t.TempDir(), "trip")
	os.MkdirAll(filepath.Join(local, "day1"), 0o755)
	os.WriteFile(filepath.Join(local, "day1", "a.jpg"), []byte("jpeg a"), 0o644)
	os.WriteFile(filepath.Join(local, "notes.txt"), []byte("v1"), 0o600)
	os.Symlink("day1/a.jpg", filepath.Join(local, "latest"))
	c.ok("bucket", "add", "photos", local, "/trip")

	var ls []entryJSON
	if err := json.Unmarshal([]byte(c.ok("bucket", "ls", "photos", "/trip", "--json")), &ls); err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 || ls[0].Name != "day1" || ls[1].Type != "symlink" || ls[1].Target != "day1/a.jpg" || ls[2].Mode != "0600" {
		t.Fatalf("ls: %+v", ls)
	}
	if got := c.ok("bucket", "cat", "photos", "/trip/day1/a.jpg"); got != "jpeg a" {
		t.Fatalf("cat: %q", got)
	}
	if _, _, code := c.run([]byte("v2 from stdin"), "bucket", "add", "photos", "-", "/trip/notes.txt"); code != 0 {
		t.Fatal("add from stdin failed")
	}
	c.ok("bucket", "mv", "photos", "/trip/notes.txt", "/notes.txt")
	c.ok("bucket", "mkdir", "photos", "-p", "/x/y")
	c.ok("bucket", "rm", "photos", "-r", "/x")
	if got := c.ok("bucket", "cat", "photos", "/notes.txt"); got != "v2 from stdin" {
		t.Fatalf("cat after mv: %q", got)
	}
	if got := c.ok("bucket", "cat", "photos", "/trip/notes.txt", "--version", "1"); got != "v1" {
		t.Fatalf("cat --version 1: %q", got)
	}
	var hist []versionJSON
	json.Unmarshal([]byte(c.ok("bucket", "history", "photos", "/notes.txt", "--json")), &hist)
	if len(hist) != 3 || hist[0].Change != "renamed" || hist[2].Change != "created" || hist[0].Device != "laptop" {
		t.Fatalf("path history: %+v", hist)
	}
	c.ok("bucket", "restore", "photos", "/trip", "--version", "1")
	if got := c.ok("bucket", "cat", "photos", "/trip/notes.txt"); got != "v1" {
		t.Fatalf("after restore: %q", got)
	}
	if out := c.ok("bucket", "check", "photos"); !strings.Contains(out, "No damage found") {
		t.Fatalf("check: %s", out)
	}
	c.fails(exitNotFound, "no such bucket", "bucket", "ls", "nope")
	c.fails(exitNotFound, "no such file", "bucket", "cat", "photos", "/missing")
	c.fails(exitUsage, "expected", "bucket", "cat", "photos")
	c.fails(exitError, "no version", "bucket", "cat", "photos", "/notes.txt", "--version", "42")
	c.fails(exitUsage, "--version is required", "bucket", "restore", "photos", "/notes.txt")
}

func TestCLICorruptBlob(t *testing.T) {
	c := newCLI(t)
	c.ok("bucket", "create", "b")
	data := make([]byte, 1<<20)
	rand.Read(data)
	c.run(data, "bucket", "add", "b", "-", "/big.bin")
	// Damage every stored chunk blob (the big ones).
	filepath.Walk(filepath.Join(c.home, "data", "blobs"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() > 100<<10 {
			raw, _ := os.ReadFile(p)
			raw[100] ^= 1
			os.WriteFile(p, raw, 0o600)
		}
		return nil
	})
	out, errs, code := c.run(nil, "bucket", "cat", "b", "/big.bin")
	if code != exitDamaged || !strings.Contains(errs, "/big.bin") || !strings.Contains(errs, "failed its integrity check") {
		t.Fatalf("cat of damaged file: exit %d %q", code, errs)
	}
	if len(out) >= len(data) {
		t.Fatal("damaged data was written out as if whole")
	}
	out, _, code = c.run(nil, "bucket", "check", "b")
	if code != exitDamaged || !strings.Contains(out, "DAMAGED") || !strings.Contains(out, "/big.bin") {
		t.Fatalf("check: exit %d %s", code, out)
	}
}

// An add killed with SIGKILL at any point must leave the bucket readable, the
// previous version intact, the store undamaged, and no partial file visible.
func TestCLIAddKilled(t *testing.T) {
	c := newCLI(t)
	c.ok("bucket", "create", "b")
	c.run([]byte("precious"), "bucket", "add", "b", "-", "/keep.txt")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	data := make([]byte, 24<<20)
	rng.Read(data)
	for round := 0; round < 6; round++ {
		cmd := c.cmd("bucket", "add", "b", "-", "/big.bin")
		in, _ := cmd.StdinPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Early rounds die mid-stream; later ones around the commit.
		cut := len(data) / 2
		if round >= 2 {
			cut = len(data)
		}
		in.Write(data[:cut])
		if round >= 2 {
			in.Close()
			time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		if got := c.ok("bucket", "cat", "b", "/keep.txt"); got != "precious" {
			t.Fatalf("round %d: previous file reads %q", round, got)
		}
		out, errs, code := c.run(nil, "bucket", "cat", "b", "/big.bin")
		if code == 0 && !bytes.Equal([]byte(out), data) {
			t.Fatalf("round %d: a partial file is visible (%d bytes)", round, len(out))
		}
		if code != 0 && code != exitNotFound {
			t.Fatalf("round %d: cat: exit %d %s", round, code, errs)
		}
		if out := c.ok("bucket", "check", "b"); !strings.Contains(out, "No damage found") {
			t.Fatalf("round %d: check: %s", round, out)
		}
		c.run(nil, "bucket", "rm", "b", "/big.bin") // absent when the add died before its commit
	}
}
