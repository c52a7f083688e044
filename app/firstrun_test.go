package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jax-desktop/jax/store/db"
)

func TestFirstRun(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Getuid() != 0 {
		t.Skip("needs /dev/fuse and root")
	}
	ctx := context.Background()
	home := t.TempDir()
	t.Setenv("HOME", home)
	dirs, err := ResolveDirs(filepath.Join(home, "jax"))
	if err != nil {
		t.Fatal(err)
	}
	made, err := FirstRun(ctx, dirs, nil)
	if err != nil || !made {
		t.Fatalf("first run: %v %v", made, err)
	}
	if again, err := FirstRun(ctx, dirs, nil); err != nil || again {
		t.Fatalf("second first run: %v %v", again, err)
	}
	a, err := Start(ctx, dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	m, err := a.FinishFirstRun(ctx)
	if err != nil || m == nil {
		t.Fatalf("finish: %v %v", m, err)
	}
	want := filepath.Join(home, "Jax", FirstBucketName)
	if m.MountPoint != want || m.Status != db.StatusRunning || !m.AutoMount {
		t.Fatalf("first mount: %+v", m)
	}
	if err := os.WriteFile(filepath.Join(want, "hello.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal("write into the first folder:", err)
	}
	if m2, err := a.FinishFirstRun(ctx); err != nil || m2 != nil {
		t.Fatalf("finish twice: %v %v", m2, err)
	}
	if ms, _ := a.Mounts.List(); len(ms) != 1 {
		t.Fatalf("mounts: %+v", ms)
	}
}

// A first run stopped after the identity was made still makes the first
// bucket at the next start, and only then.
func TestFirstRunResumes(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	dirs, err := ResolveDirs(filepath.Join(home, "jax"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Init(ctx, dirs, "", nil) // as if FirstRun stopped right here
	if err != nil {
		t.Fatal(err)
	}
	s.DB.SetSetting(firstRunKey, "pending")
	s.Close()
	made, err := FirstRun(ctx, dirs, nil)
	if err != nil || !made {
		t.Fatalf("resumed first run: %v %v", made, err)
	}
	if again, err := FirstRun(ctx, dirs, nil); err != nil || again {
		t.Fatalf("first run after it finished: %v %v", again, err)
	}
	s, err = Open(dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bs, _ := s.Buckets.List()
	id, _ := s.DB.Setting(firstMountKey, "")
	if len(bs) != 1 || bs[0].Name != FirstBucketName || id == "" {
		t.Fatalf("buckets %+v, first mount %q", bs, id)
	}

	// A device set up with 'jax init' is not a first run.
	other, err := ResolveDirs(filepath.Join(home, "other"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Init(ctx, other, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if made, err := FirstRun(ctx, other, nil); err != nil || made {
		t.Fatalf("first run on an initialised device: %v %v", made, err)
	}
}

// A ~/Jax/Personal left with files in it from an earlier install is kept;
// the first bucket goes next to it.
func TestFirstRunBesideAnOldFolder(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Getuid() != 0 {
		t.Skip("needs /dev/fuse and root")
	}
	ctx := context.Background()
	home := t.TempDir()
	t.Setenv("HOME", home)
	old := filepath.Join(home, "Jax", FirstBucketName)
	os.MkdirAll(old, 0o700)
	os.WriteFile(filepath.Join(old, "keep.txt"), []byte("mine"), 0o600)
	dirs, _ := ResolveDirs(filepath.Join(home, "jax"))
	if _, err := FirstRun(ctx, dirs, nil); err != nil {
		t.Fatal(err)
	}
	a, err := Start(ctx, dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	m, err := a.FinishFirstRun(ctx)
	if err != nil || m == nil || m.MountPoint != old+"-2" || m.Status != db.StatusRunning {
		t.Fatalf("first mount: %+v %v", m, err)
	}
	if b, err := os.ReadFile(filepath.Join(old, "keep.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("the old folder was touched: %q %v", b, err)
	}
}
