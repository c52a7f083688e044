package mountinfo

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRead(t *testing.T) {
	table := `22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw
95 29 0:45 / /home/ann/My\040Docs rw,nosuid,nodev,relatime shared:51 - fuse.jax jax rw,user_id=1000,group_id=1000
96 29 0:46 / /mnt/a\134b rw master:3 - fuse jax rw,user_id=0
97 29 0:47 / /mnt/short rw - ext4
98 29 0:48 / /mnt/x rw - tmpfs tmpfs rw,size=1024k
`
	p := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(p, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	ms, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 { // the line cut short is left out
		t.Fatalf("%d mounts: %+v", len(ms), ms)
	}
	if m := ms[1]; m.Point != "/home/ann/My Docs" || m.FSType != "fuse.jax" || m.Source != "jax" || !slices.Contains(m.SuperOpts, "user_id=1000") {
		t.Fatalf("jax mount: %+v", m)
	}
	if m := ms[2]; m.Point != `/mnt/a\b` || m.FSType != "fuse" {
		t.Fatalf("escaped backslash, no optional fields: %+v", m)
	}
	if m := ms[3]; m.Point != "/mnt/x" || m.FSType != "tmpfs" {
		t.Fatalf("last: %+v", m)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("no error for a missing table")
	}
}

// This process's own table parses and has its root.
func TestReadSelf(t *testing.T) {
	ms, err := Read(Self)
	if err != nil {
		t.Skipf("no %s: %v", Self, err)
	}
	if !slices.ContainsFunc(ms, func(m Mount) bool { return m.Point == "/" }) {
		t.Fatalf("no root in %d mounts", len(ms))
	}
}
