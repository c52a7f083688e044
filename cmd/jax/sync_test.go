package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jax-desktop/jax/app/syncer"
)

func within(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !f(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting: %s", d, what)
		}
	}
}

func (c *cli) syncStatus() []syncer.BucketStatus {
	c.t.Helper()
	var st []syncer.BucketStatus
	if err := json.Unmarshal([]byte(c.ok("sync", "status", "--json")), &st); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// twoMounted starts two paired daemons, laptop and desktop, with bucket
// docs shared and mounted on both (at mpA and mpB).
func twoMounted(t *testing.T) (laptop, desktop *cli, dd *exec.Cmd, mpA, mpB string) {
	t.Helper()
	needFUSE(t)
	t.Setenv("JAX_NETWORK", "loopback") // the daemons inherit it
	laptop, desktop = newDevice(t, "laptop"), newDevice(t, "desktop")
	laptop.fails(exitNoDaemon, "no jax daemon", "sync", "status")
	laptop.daemon()
	dd = desktop.daemon()
	desktop.ok("device", "pair", "--yes", inviteCode(t, laptop.ok("device", "invite")))
	eventually(t, "each lists the other online", func() bool { return laptop.sees("desktop") && desktop.sees("laptop") })

	laptop.ok("bucket", "create", "docs")
	laptop.ok("bucket", "share", "docs", "desktop")
	within(t, 20*time.Second, "the desktop has the bucket", func() bool {
		_, _, code := desktop.run(nil, "bucket", "ls", "docs", "/")
		return code == 0
	})
	mpA, mpB = filepath.Join(t.TempDir(), "docs"), filepath.Join(t.TempDir(), "docs")
	laptop.ok("mount", "add", "docs", mpA, "--auto-mount")
	desktop.ok("mount", "add", "docs", mpB, "--auto-mount")
	return laptop, desktop, dd, mpA, mpB
}

// A large file comes to the other device while it is being written: its
// chunks are on the desktop before the laptop's writer closes it (so before
// any version has its data), and the file shows in the desktop's mount
// once it is closed.
func TestSyncLargeFileWhileWritten(t *testing.T) {
	_, desktop, _, mpA, mpB := twoMounted(t)
	blobs := filepath.Join(desktop.home, "data", "blobs")
	stored := func() int64 {
		var n int64
		filepath.WalkDir(blobs, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) != "tmp" {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
	before := stored()
	data := make([]byte, 48<<20)
	rand.Read(data)
	f, err := os.Create(filepath.Join(mpA, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data[:40<<20]); err != nil {
		t.Fatal(err)
	}
	within(t, 90*time.Second, "the desktop to store most of the file still open on the laptop", func() bool {
		return stored()-before >= 24<<20
	})
	// (Creating it was a change: the desktop may show it empty.)
	if fi, err := os.Stat(filepath.Join(mpB, "big.bin")); err == nil && fi.Size() != 0 {
		t.Fatalf("the desktop's mount shows %d bytes of a file the laptop has not closed", fi.Size())
	}
	if _, err := f.Write(data[40<<20:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	within(t, 90*time.Second, "the whole file in the desktop's mount", func() bool {
		b, err := os.ReadFile(filepath.Join(mpB, "big.bin"))
		return err == nil && bytes.Equal(b, data)
	})
}

// Two `jax daemon` processes on loopback, paired with an invite, each with
// a FUSE mount of a shared bucket: what is written in one mount shows in
// the other; edits made while one daemon is down merge on reconnect into
// the same tree on both, with a conflict copy.
func TestSyncTwoDaemons(t *testing.T) {
	laptop, desktop, dd, mpA, mpB := twoMounted(t)
	start := time.Now()
	if err := os.WriteFile(filepath.Join(mpA, "hello.txt"), []byte("written on the laptop"), 0o644); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the file in the desktop's mount", func() bool {
		b, err := os.ReadFile(filepath.Join(mpB, "hello.txt"))
		return err == nil && string(b) == "written on the laptop"
	})
	t.Logf("written in the laptop's mount to read in the desktop's: %v", time.Since(start))
	if err := os.WriteFile(filepath.Join(mpB, "report.txt"), []byte("base"), 0o644); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the report in the laptop's mount", func() bool {
		b, err := os.ReadFile(filepath.Join(mpA, "report.txt"))
		return err == nil && string(b) == "base"
	})
	within(t, 10*time.Second, "sync status in sync", func() bool {
		st := desktop.syncStatus()
		return len(st) == 1 && st[0].State == syncer.StateInSync && len(st[0].Peers) == 1 && st[0].Peers[0].Name == "laptop"
	})
	if out := desktop.ok("sync", "now", "docs"); !strings.Contains(out, "docs: in sync with laptop") {
		t.Fatalf("sync now:\n%s", out)
	}
	if out := desktop.ok("sync", "status"); !strings.Contains(out, "docs") || !strings.Contains(out, "laptop") || !strings.Contains(out, "in sync") {
		t.Fatalf("sync status:\n%s", out)
	}
	desktop.fails(exitNotFound, "no such bucket", "sync", "now", "nosuch")

	// The desktop goes down; both edit the same file.
	stop(t, dd)
	if err := os.WriteFile(filepath.Join(mpA, "report.txt"), []byte("laptop's edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	desktop.run([]byte("desktop's edit"), "bucket", "add", "docs", "-", "/report.txt")
	eventually(t, "the laptop saved its edit", func() bool {
		out, _, code := laptop.run(nil, "bucket", "cat", "docs", "/report.txt")
		return code == 0 && out == "laptop's edit"
	})
	desktop.daemon()
	within(t, 30*time.Second, "both mounts show the same merge", func() bool {
		ca, cb := conflictCopies(t, mpA), conflictCopies(t, mpB)
		if len(ca) != 1 || len(cb) != 1 || filepath.Base(ca[0]) != filepath.Base(cb[0]) {
			return false
		}
		a1, a2 := readFile(t, filepath.Join(mpA, "report.txt")), readFile(t, ca[0])
		b1, b2 := readFile(t, filepath.Join(mpB, "report.txt")), readFile(t, cb[0])
		return a1 == b1 && a2 == b2 && (a1+"|"+a2 == "laptop's edit|desktop's edit" || a1+"|"+a2 == "desktop's edit|laptop's edit")
	})
}

// Three daemons: two owners and a mirror. A file written on one owner
// shows in the other owner's mount and the mirror's, whose mount is
// read-only.
func TestSyncThreeDaemonsWithMirror(t *testing.T) {
	needFUSE(t)
	t.Setenv("JAX_NETWORK", "loopback")
	laptop, desktop, nas := newDevice(t, "laptop"), newDevice(t, "desktop"), newDevice(t, "nas")
	for _, c := range []*cli{laptop, desktop, nas} {
		c.daemon()
	}
	desktop.ok("device", "pair", "--yes", inviteCode(t, laptop.ok("device", "invite")))
	nas.ok("device", "pair", "--yes", inviteCode(t, laptop.ok("device", "invite")))
	nas.ok("device", "pair", "--yes", inviteCode(t, desktop.ok("device", "invite")))
	eventually(t, "everyone online", func() bool {
		return laptop.sees("desktop") && laptop.sees("nas") && desktop.sees("nas") && nas.sees("laptop") && nas.sees("desktop")
	})
	laptop.ok("bucket", "create", "docs")
	laptop.ok("bucket", "share", "docs", "desktop")
	laptop.ok("bucket", "share", "docs", "nas", "--role", "mirror")
	var mps []string
	for _, c := range []*cli{laptop, desktop, nas} {
		within(t, 20*time.Second, "the bucket on every device", func() bool {
			_, _, code := c.run(nil, "bucket", "ls", "docs", "/")
			return code == 0
		})
		mp := filepath.Join(t.TempDir(), "docs")
		c.ok("mount", "add", "docs", mp)
		mps = append(mps, mp)
	}
	if err := os.WriteFile(filepath.Join(mps[1], "from-desktop.txt"), []byte("hello all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mp := range []string{mps[0], mps[2]} {
		within(t, 20*time.Second, "the file in "+mp, func() bool {
			b, err := os.ReadFile(filepath.Join(mp, "from-desktop.txt"))
			return err == nil && string(b) == "hello all"
		})
	}
	if err := os.WriteFile(filepath.Join(mps[2], "from-nas.txt"), []byte("x"), 0o644); err == nil {
		t.Fatal("the mirror's mount took a write")
	}
	within(t, 10*time.Second, "the mirror in sync", func() bool {
		st := nas.syncStatus()
		return len(st) == 1 && st[0].State == syncer.StateInSync && len(st[0].Peers) == 2
	})
}

// A bucket receiving a file still being written elsewhere says so, with
// the writer and how much has arrived.
func TestSyncStatusShowsEarlyChunks(t *testing.T) {
	var out strings.Builder
	printSyncStatus(&out, []syncer.BucketStatus{{
		Name: "docs", State: syncer.StateInSync, Height: 3,
		Early: &syncer.Early{From: []string{"laptop"}, Blobs: 40, BlobsDone: 20, BytesDone: 10 << 20},
		Peers: []syncer.PeerStatus{{Name: "laptop", State: syncer.StateInSync}},
	}})
	if !strings.Contains(out.String(), "receiving a file still being written on laptop: 10.0 MiB so far") {
		t.Fatalf("status:\n%s", out.String())
	}
}
