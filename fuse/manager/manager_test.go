//go:build linux

package manager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/merge"
)

func setup(t *testing.T) (*Manager, *bucket.Store) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Getuid() != 0 {
		t.Skip("needs root and /dev/fuse (CI runs as root)")
	}
	s := bucket.TestStore(t, "laptop")
	dir := t.TempDir()
	m := New(s.DB, s, filepath.Join(dir, "staging"), nil)
	t.Cleanup(func() { m.StopAll(context.Background()) })
	return m, s
}

func TestCreateValidates(t *testing.T) {
	m, s := setup(t)
	ctx := context.Background()
	s.Create(ctx, "docs")
	mp := filepath.Join(t.TempDir(), "a", "b")
	if _, err := m.Create(ctx, "nope", DefaultSettings(mp)); !errors.Is(err, bucket.ErrNoBucket) {
		t.Fatalf("unknown bucket: %v", err)
	}
	cfg, err := m.Create(ctx, "docs", DefaultSettings(mp))
	if err != nil || cfg.CacheSizeMB != 100 || cfg.CacheTTLSecs != 60 || cfg.Status != db.StatusStopped {
		t.Fatalf("create: %+v %v", cfg, err)
	}
	if fi, err := os.Stat(mp); err != nil || !fi.IsDir() {
		t.Fatal("missing mount point not created")
	}
	if _, err := m.Create(ctx, "docs", DefaultSettings(mp)); !errors.Is(err, db.ErrMountPointTaken) {
		t.Fatalf("same mount point twice: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, err := m.Create(ctx, "docs", DefaultSettings(file)); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file as mount point: %v", err)
	}
	bad := DefaultSettings(filepath.Join(t.TempDir(), "x"))
	bad.CacheSizeMB = 0
	if _, err := m.Create(ctx, "docs", bad); err == nil {
		t.Fatal("cache size 0 accepted")
	}
	bad.CacheSizeMB, bad.CacheTTLSecs = 100, -1
	if _, err := m.Create(ctx, "docs", bad); err == nil {
		t.Fatal("negative TTL accepted")
	}
}

func TestStartStopAutoAndErrors(t *testing.T) {
	m, s := setup(t)
	ctx := context.Background()
	s.Create(ctx, "docs")
	s.Create(ctx, "gone")
	var ids []string
	for _, name := range []string{"docs", "docs", "gone"} {
		st := DefaultSettings(filepath.Join(t.TempDir(), name))
		st.AutoMount = true
		cfg, err := m.Create(ctx, name, st)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cfg.ID)
	}
	// The second mount point is taken by another filesystem; the third
	// mount's bucket is deleted.
	second, _ := m.Get(ids[1])
	if err := syscall.Mount("tmpfs", second.MountPoint, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer syscall.Unmount(second.MountPoint, 0)
	third, _ := m.Get(ids[2])
	s.DB.Exec("DELETE FROM buckets WHERE id = ?", third.BucketID)

	events, cancel := m.Subscribe()
	defer cancel()
	m.StartAuto(ctx)
	want := map[string]string{ids[0]: db.StatusRunning, ids[1]: db.StatusError, ids[2]: db.StatusError}
	for id, st := range want {
		cfg, _ := m.Get(id)
		if cfg.Status != st {
			t.Fatalf("mount %s: %s (%s), want %s", cfg.MountPoint, cfg.Status, cfg.ErrorMessage, st)
		}
	}
	if c, _ := m.Get(ids[1]); !strings.Contains(c.ErrorMessage, "in use") {
		t.Fatalf("in-use message: %q", c.ErrorMessage)
	}
	if c, _ := m.Get(ids[2]); !strings.Contains(c.ErrorMessage, "no longer exists") {
		t.Fatalf("deleted bucket message: %q", c.ErrorMessage)
	}
	if err := m.Start(ctx, ids[0]); !errors.Is(err, ErrRunning) {
		t.Fatalf("second start: %v", err)
	}
	sawRunning := false
	for len(events) > 0 {
		e := <-events
		sawRunning = sawRunning || e.MountID == ids[0] && e.Status == db.StatusRunning
	}
	if !sawRunning {
		t.Fatal("no running event")
	}
	if err := m.Delete(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if m.FS(ids[0]) != nil {
		t.Fatal("deleted mount still live")
	}
}

// A change from another device arrives while the mount has an unsaved edit
// to the same file: both survive, one as a conflict copy, and subscribers
// hear of it.
func TestOnBucketSyncedMergesAndNotifies(t *testing.T) {
	m, s := setup(t)
	ctx := context.Background()
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("base"), "/r.txt", 0o644, 1, nil)
	cfg, err := m.Create(ctx, "docs", DefaultSettings(filepath.Join(t.TempDir(), "docs")))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	events, cancel := m.Subscribe()
	defer cancel()
	// Another writer (as sync would) makes a version from the same base.
	base, _ := b.Current()
	other := base.Tree.Clone()
	data, size, _ := b.WriteData(ctx, strings.NewReader("remote edit"), nil)
	e, _ := other.Lookup("/r.txt")
	c := e.Clone()
	c.Chunks, c.Size, c.MTime = data, size, time.Now().UnixNano()
	other.Put(c)
	if err := os.WriteFile(filepath.Join(cfg.MountPoint, "r.txt"), []byte("local edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Save(ctx, base, other, merge.Options{}); err != nil {
		t.Fatal(err)
	}
	m.OnBucketSynced(ctx, b.ID.String())

	ents, _ := os.ReadDir(cfg.MountPoint)
	var names []string
	contents := map[string]bool{}
	for _, e := range ents {
		names = append(names, e.Name())
		raw, _ := os.ReadFile(filepath.Join(cfg.MountPoint, e.Name()))
		contents[string(raw)] = true
	}
	if !contents["local edit"] || !contents["remote edit"] || len(ents) != 2 {
		t.Fatalf("after merge the mount holds %v with contents %v", names, contents)
	}
	var conflict, invalidated bool
	for len(events) > 0 {
		e := <-events
		conflict = conflict || e.Kind == "conflict" && strings.Contains(e.CopyPath, "(conflict from")
		invalidated = invalidated || e.Kind == "invalidated"
	}
	if !conflict || !invalidated {
		t.Fatalf("events: conflict %v, invalidated %v", conflict, invalidated)
	}
}

// Without a usable FUSE device the mount is in error with a message that
// says what to do, not a bare errno.
func TestStartWithoutFUSE(t *testing.T) {
	m, s := setup(t)
	ctx := context.Background()
	s.Create(ctx, "docs")
	cfg, err := m.Create(ctx, "docs", DefaultSettings(filepath.Join(t.TempDir(), "docs")))
	if err != nil {
		t.Fatal(err)
	}
	for dev, want := range map[string]string{
		filepath.Join(t.TempDir(), "fuse"): "is missing",
		"/dev/null":                        "is not the FUSE device",
	} {
		m.device = dev
		err := m.Start(ctx, cfg.ID)
		if !errors.Is(err, ErrNoFUSE) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "install fuse3") {
			t.Fatalf("device %s: %v", dev, err)
		}
		if c, _ := m.Get(cfg.ID); c.Status != db.StatusError || c.ErrorMessage != err.Error() {
			t.Fatalf("device %s: status %s %q", dev, c.Status, c.ErrorMessage)
		}
	}
	m.device = "/dev/fuse"
	if err := m.Start(ctx, cfg.ID); err != nil {
		t.Fatalf("with FUSE back: %v", err)
	}
}

// A change made outside the mount while the mount holds an unsaved write
// to the same file: the mount's write is saved first and the change lands
// on top, so the history stays linear and no conflict copy is made.
func TestChangeAfterUnsavedMountWrite(t *testing.T) {
	m, s := setup(t)
	ctx := context.Background()
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("base"), "/r.txt", 0o644, 1, nil)
	cfg, err := m.Create(ctx, "docs", DefaultSettings(filepath.Join(t.TempDir(), "docs")))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	// Saved only after the coalescing delay: unsaved when Change runs.
	if err := os.WriteFile(filepath.Join(cfg.MountPoint, "r.txt"), []byte("mount edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = m.Change(ctx, b.ID.String(), func() error {
		_, err := b.Add(ctx, strings.NewReader("command edit"), "/r.txt", 0o644, 2, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(filepath.Join(cfg.MountPoint, "r.txt")); string(raw) != "command edit" {
		t.Fatalf("mount reads %q", raw)
	}
	if ents, _ := os.ReadDir(cfg.MountPoint); len(ents) != 1 {
		t.Fatalf("mount holds %d entries", len(ents))
	}
	if cs, _ := s.DB.Conflicts(b.ID.String(), false); len(cs) != 0 {
		t.Fatalf("conflicts recorded: %+v", cs)
	}
	hist, _ := b.History()
	for _, v := range hist {
		if v.Merge {
			t.Fatal("history has a merge version")
		}
	}
	if len(hist) != 4 { // create, base, the mount's save, the change
		t.Fatalf("%d versions", len(hist))
	}
	// A change that fails brings nothing in and reports its error.
	boom := errors.New("boom")
	if err := m.Change(ctx, b.ID.String(), func() error { return boom }); err != boom {
		t.Fatalf("failed change: %v", err)
	}
}

// Statuses left by a process that died with its mounts running are reset
// at start-up: nothing of them is live any more.
func TestStartAutoResetsLeftoverStatus(t *testing.T) {
	m, s := setup(t)
	ctx := context.Background()
	s.Create(ctx, "docs")
	cfg, err := m.Create(ctx, "docs", DefaultSettings(filepath.Join(t.TempDir(), "docs")))
	if err != nil {
		t.Fatal(err)
	}
	failed, _ := m.Create(ctx, "docs", DefaultSettings(filepath.Join(t.TempDir(), "failed")))
	s.DB.SetMountStatus(cfg.ID, db.StatusRunning, "")
	s.DB.SetMountStatus(failed.ID, db.StatusError, "it broke")
	m.StartAuto(ctx)
	if c, _ := m.Get(cfg.ID); c.Status != db.StatusStopped {
		t.Fatalf("leftover running status: %s", c.Status)
	}
	if c, _ := m.Get(failed.ID); c.Status != db.StatusError || c.ErrorMessage != "it broke" {
		t.Fatalf("an error must stay for the user to see: %s %q", c.Status, c.ErrorMessage)
	}
}
