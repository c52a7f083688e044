package blob

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// directKnown reports whether path is on a filesystem known to allow
// O_DIRECT reads.
func directKnown(path string) bool {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return false
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC:
		return true
	}
	return false
}

// dropCache writes f back and evicts its pages from the page cache.
func dropCache(t *testing.T, f *os.File) {
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// cachedPages is how many of path's pages are in the page cache.
func cachedPages(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &cs, 0); err != nil {
		t.Skipf("cachestat: %v", err)
	}
	return int(cs.Cache)
}

// A full disk fails a write with ENOSPC, direct or not, and leaves no part
// of the blob behind; what fits afterwards is stored.
func TestPutFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	buf, err := unix.Mmap(-1, 0, 2<<20+page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	for _, data := range [][]byte{buf[:2<<20], buf[1 : 2<<20+1]} { // page-aligned, and not
		rand.Read(data)
		id, err := s.Put(data)
		if !errors.Is(err, unix.ENOSPC) {
			t.Fatalf("aligned %v: %v, want ENOSPC", aligned(data), err)
		}
		if s.Has(id) {
			t.Fatal("a blob that did not fit is in the store")
		}
		if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
			t.Fatalf("%d temporary files left", len(ents))
		}
	}
	small := buf[:200<<10]
	id, err := s.Put(small)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(id, nil); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("after a full disk: %v", err)
	}
}
