//go:build linux

package fuse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Tests that look at the mount through Linux-only interfaces (mountinfo,
// statx, /sys).

func TestMountOptions(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	var line string
	for _, l := range strings.Split(string(info), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == m.dir {
			line = l
		}
	}
	for _, want := range []string{" - fuse.jax jax ", "default_permissions"} {
		if !strings.Contains(line, want) {
			t.Errorf("mountinfo %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "allow_other") {
		t.Errorf("allow_other without asking: %q", line)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(m.dir, &st); err != nil || st.Blocks == 0 || st.Namelen != 255 {
		t.Errorf("statfs: %+v %v", st, err)
	}
	// Root (as here) raises the kernel readahead of the mount.
	var sx unix.Stat_t
	if err := unix.Stat(m.dir, &sx); err != nil {
		t.Fatal(err)
	}
	ra, err := os.ReadFile(fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(sx.Dev), unix.Minor(sx.Dev)))
	if err == nil && strings.TrimSpace(string(ra)) != fmt.Sprint(readaheadKB) {
		t.Errorf("readahead %s KiB, want %d", bytes.TrimSpace(ra), readaheadKB)
	}
}

func TestInodesStableAndStatx(t *testing.T) {
	ctx := context.Background()
	m := mountBucket(t, nil, nil, Options{})
	os.WriteFile(m.path("a"), []byte("12345"), 0o640)
	var st1, st2 syscall.Stat_t
	if err := syscall.Stat(m.path("a"), &st1); err != nil {
		t.Fatal(err)
	}
	os.Rename(m.path("a"), m.path("b"))
	m.fs.Flush(ctx)
	if err := syscall.Stat(m.path("b"), &st2); err != nil {
		t.Fatal(err)
	}
	if st1.Ino != st2.Ino {
		t.Fatalf("inode changed across rename and save: %d -> %d", st1.Ino, st2.Ino)
	}
	var sx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, m.path("b"), 0, unix.STATX_BASIC_STATS, &sx); err != nil {
		t.Fatal(err)
	}
	if sx.Size != 5 || sx.Mode&0o7777 != 0o640 || sx.Mode&unix.S_IFMT != unix.S_IFREG || sx.Ino != st1.Ino {
		t.Fatalf("statx: size %d mode %o ino %d", sx.Size, sx.Mode, sx.Ino)
	}
	var root syscall.Stat_t
	if err := syscall.Stat(m.dir, &root); err != nil || root.Ino != 1 {
		t.Fatalf("root inode %d (%v)", root.Ino, err)
	}
}

// TestDeadMountIsCleaned aborts a mount's connection, as a crash would leave
// it ("transport endpoint is not connected"), and mounts again on top.
func TestDeadMountIsCleaned(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	os.WriteFile(m.path("f"), []byte("x"), 0o644)
	m.fs.Flush(context.Background())
	var st syscall.Stat_t
	if err := syscall.Stat(m.dir, &st); err != nil {
		t.Fatal(err)
	}
	abort := fmt.Sprintf("/sys/fs/fuse/connections/%d/abort", unix.Minor(st.Dev))
	if err := os.WriteFile(abort, []byte("1"), 0o200); err != nil {
		t.Skipf("cannot abort the connection (fusectl not mounted?): %v", err)
	}
	if _, err := os.ReadDir(m.dir); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("aborted mount: %v, want ENOTCONN", err)
	}
	// The dead FS is left alone (its Unmount would find nothing to do).
	m.fs.mountMu.Lock()
	m.fs.server = nil
	m.fs.mountMu.Unlock()

	f2, err := New(m.b, Options{StagingDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := f2.Mount(m.dir); err != nil {
		t.Fatalf("mount over a dead mount: %v", err)
	}
	defer f2.Unmount()
	if got := mustRead(t, m.path("f")); string(got) != "x" {
		t.Fatalf("read %q", got)
	}
}
