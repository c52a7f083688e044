package fuse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

type testMount struct {
	s   *bucket.Store
	b   *bucket.Bucket
	fs  *FS
	dir string
}

// mountBucket mounts b (a fresh bucket if nil) on a temporary directory and
// unmounts it when the test ends, failing if descriptors leaked.
func mountBucket(t testing.TB, s *bucket.Store, b *bucket.Bucket, opt Options) *testMount {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kernel mount tests need root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	ctx := context.Background()
	if s == nil {
		s = bucket.TestStore(t, "laptop")
	}
	if b == nil {
		var err error
		if b, err = s.Create(ctx, "docs"); err != nil {
			t.Fatal(err)
		}
	}
	if opt.StagingDir == "" {
		opt.StagingDir = t.TempDir()
	}
	if opt.SaveDelay == 0 {
		opt.SaveDelay = 20 * time.Millisecond
	}
	f, err := New(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := f.Mount(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The kernel sends RELEASE after close returns; give it a moment.
		open := 0
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			f.mu.Lock()
			open = len(f.open)
			f.mu.Unlock()
			if open == 0 {
				break
			}
		}
		if open != 0 {
			t.Errorf("%d files still open at unmount", open)
		}
		if err := f.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		// go-fuse closes /dev/fuse just after its serve loop ends.
		fds := ourFDs(t, opt.StagingDir)
		for deadline := time.Now().Add(2 * time.Second); len(fds) > 0 && time.Now().Before(deadline); fds = ourFDs(t, opt.StagingDir) {
			time.Sleep(10 * time.Millisecond)
		}
		if len(fds) > 0 {
			t.Errorf("descriptors leaked: %v", fds)
		}
	})
	return &testMount{s: s, b: b, fs: f, dir: dir}
}

// ourFDs lists this process's descriptors the filesystem owns: staging files
// and the FUSE device. (The store opens database and blob files lazily, so a
// plain count would blame us for those.)
func ourFDs(t testing.TB, stagingDir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && (strings.HasPrefix(target, stagingDir) || target == "/dev/fuse") {
			out = append(out, target)
		}
	}
	return out
}

func (m *testMount) path(p string) string { return filepath.Join(m.dir, p) }

// stored reads p from the bucket's current version through a fresh handle.
func (m *testMount) stored(t *testing.T, p string) ([]byte, bool) {
	t.Helper()
	b, err := m.s.Open(m.b.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Current()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.Cat(v, p, &buf); err != nil {
		if errors.Is(err, tree.ErrNotFound) {
			return nil, false
		}
		t.Fatalf("cat %s: %v", p, err)
	}
	return buf.Bytes(), true
}

func randBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBasicOps(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	ctx := context.Background()

	if err := os.WriteFile(m.path("hello.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("hello.txt")); string(got) != "hello" {
		t.Fatalf("read back %q", got)
	}
	if err := os.Mkdir(m.path("sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.path("sub/a"), []byte("aaa"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0].Name() != "hello.txt" || names[1].Name() != "sub" || !names[1].IsDir() {
		t.Fatalf("ls: %v", names)
	}

	// Modes round-trip exactly, including 0.
	for _, mode := range []os.FileMode{0o600, 0, 0o755} {
		if err := os.Chmod(m.path("hello.txt"), mode); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(m.path("hello.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Fatalf("mode %o after chmod %o", st.Mode().Perm(), mode)
		}
	}
	if st, _ := os.Stat(m.path("sub")); st.Mode().Perm() != 0o750 {
		t.Fatalf("dir mode %o", st.Mode().Perm())
	}
	mt := time.Unix(1_700_000_000, 5)
	if err := os.Chtimes(m.path("hello.txt"), mt, mt); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(m.path("hello.txt")); !st.ModTime().Equal(mt) {
		t.Fatalf("mtime %v, want %v", st.ModTime(), mt)
	}

	// Rename, also over an existing file.
	os.WriteFile(m.path("b"), []byte("bbb"), 0o644)
	if err := os.Rename(m.path("sub/a"), m.path("moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(m.path("moved"), m.path("b")); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("b")); string(got) != "aaa" {
		t.Fatalf("after rename over: %q", got)
	}
	if _, err := os.Stat(m.path("moved")); !os.IsNotExist(err) {
		t.Fatalf("old name still there: %v", err)
	}
	if err := syscall.Rmdir(m.path("sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(m.path("full"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(m.path("full/x"), nil, 0o644)
	if err := os.Remove(m.path("full")); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("rmdir of a full dir: %v", err)
	}

	// Symlinks.
	if err := os.Symlink("b", m.path("link")); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(m.path("link")); err != nil || target != "b" {
		t.Fatalf("readlink: %q %v", target, err)
	}
	if got := mustRead(t, m.path("link")); string(got) != "aaa" {
		t.Fatalf("read through link: %q", got)
	}

	// Truncate and append.
	os.WriteFile(m.path("t"), []byte("0123456789"), 0o644)
	if err := os.Truncate(m.path("t"), 4); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("t")); string(got) != "0123" {
		t.Fatalf("truncated: %q", got)
	}
	if err := os.Truncate(m.path("t"), 6); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("t")); string(got) != "0123\x00\x00" {
		t.Fatalf("extended: %q", got)
	}
	af, err := os.OpenFile(m.path("t"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	af.WriteString("ab")
	af.WriteString("cd")
	if err := af.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("t")); string(got) != "0123\x00\x00abcd" {
		t.Fatalf("appended: %q", got)
	}
	if err := os.Remove(m.path("full/x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.path("full/x")); !os.IsNotExist(err) {
		t.Fatalf("unlinked file still there: %v", err)
	}

	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/hello.txt": "hello", "/b": "aaa", "/t": "0123\x00\x00abcd", "/link": "b"} {
		got, ok := m.stored(t, p)
		if !ok || string(got) != want {
			t.Errorf("stored %s = %q (%v), want %q", p, got, ok, want)
		}
	}
	for _, p := range []string{"/sub", "/moved", "/full/x"} {
		if _, ok := m.stored(t, p); ok {
			t.Errorf("stored %s still exists", p)
		}
	}
	v, _ := m.b.Current()
	if e, _ := v.Tree.Lookup("/hello.txt"); e == nil || e.Mode != 0o755 || e.MTime != mt.UnixNano() {
		t.Errorf("stored hello.txt: %+v", e)
	}
	if m.fs.Version().Link != v.Link {
		t.Error("Version is not the bucket's head after Flush")
	}
}

func TestSavesAreCoalesced(t *testing.T) {
	var announced atomic.Int32
	m := mountBucket(t, nil, nil, Options{SaveDelay: time.Hour, OnSave: func(*bucket.Version) { announced.Add(1) }})
	before, _ := m.b.Current()
	for i := 0; i < 10; i++ {
		os.WriteFile(m.path("f"), []byte(strings.Repeat("x", i)), 0o644)
	}
	if now, _ := m.b.Current(); now.Link != before.Link {
		t.Fatal("saved before the delay")
	}
	if err := m.fs.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, _ := m.b.Current()
	if after.Manifest.Height != before.Manifest.Height+1 {
		t.Fatalf("height %d after one flush from %d", after.Manifest.Height, before.Manifest.Height)
	}
	if n := announced.Load(); n != 1 {
		t.Fatalf("OnSave heard of %d saves, want 1", n)
	}
}

// A large file closed is saved at once: other devices wait for that save,
// and there is nothing left to coalesce it with.
func TestLargeFileSavedWithoutDelay(t *testing.T) {
	saved := make(chan *bucket.Version, 4)
	m := mountBucket(t, nil, nil, Options{SaveDelay: time.Hour, OnSave: func(v *bucket.Version) { saved <- v }})
	if err := os.WriteFile(m.path("big"), randBytes(3, saveNowSize), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-saved:
		if _, err := v.Tree.Lookup("/big"); err != nil {
			t.Fatalf("the save without delay lacks the file: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a closed large file waited for the coalescing delay")
	}
}

func TestLargeFile(t *testing.T) {
	m := mountBucket(t, nil, nil, Options{})
	data := randBytes(7, 64<<20)
	if err := os.WriteFile(m.path("big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("big")); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, not equal", len(got))
	}
	if err := m.fs.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := m.stored(t, "/big")
	if !bytes.Equal(got, data) {
		t.Fatal("stored contents differ")
	}
	// Overwrite a middle part in place.
	f, err := os.OpenFile(m.path("big"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("patch"), 30<<20)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	copy(data[30<<20:], "patch")
	if got := mustRead(t, m.path("big")); !bytes.Equal(got, data) {
		t.Fatal("patched file differs")
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("keep"), "/f", 0o644, 1, nil)
	m := mountBucket(t, s, b, Options{ReadOnly: true})
	if got := mustRead(t, m.path("f")); string(got) != "keep" {
		t.Fatalf("read %q", got)
	}
	checks := map[string]error{
		"write new": os.WriteFile(m.path("new"), nil, 0o644),
		"write old": os.WriteFile(m.path("f"), []byte("x"), 0o644),
		"mkdir":     os.Mkdir(m.path("d"), 0o755),
		"remove":    os.Remove(m.path("f")),
		"rename":    os.Rename(m.path("f"), m.path("g")),
		"chmod":     os.Chmod(m.path("f"), 0o600),
		"symlink":   os.Symlink("f", m.path("l")),
	}
	for name, err := range checks {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", name, err)
		}
	}
	// A read-only mount still follows new versions.
	v, _ := b.Add(ctx, strings.NewReader("changed"), "/f", 0o644, 2, nil)
	if err := m.fs.Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("f")); string(got) != "changed" {
		t.Fatalf("after Update: %q", got)
	}
}

func TestCorruptBlobGivesEIO(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, bytes.NewReader(randBytes(3, 3<<20)), "/bad.bin", 0o644, 1, nil)
	v, _ := b.Add(ctx, strings.NewReader("fine"), "/good.txt", 0o644, 1, nil)
	e, _ := v.Tree.Lookup("/bad.bin")
	bucket.CorruptBlob(t, s, blob.ID(e.Chunks[0].Blob))
	m := mountBucket(t, s, b, Options{})
	if _, err := os.ReadFile(m.path("bad.bin")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("read of damaged file: %v, want EIO", err)
	}
	if got := mustRead(t, m.path("good.txt")); string(got) != "fine" {
		t.Fatalf("good file: %q", got)
	}
}

// otherWriter returns a second handle on the bucket, as sync would use.
func otherWriter(t *testing.T, m *testMount) *bucket.Bucket {
	t.Helper()
	b, err := m.s.Open(m.b.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpdateInvalidatesKernelCache(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("old contents"), "/f.txt", 0o644, 1, nil)
	b.Add(ctx, strings.NewReader("gone soon"), "/doomed", 0o644, 1, nil)
	m := mountBucket(t, s, b, Options{CacheTTL: time.Minute})

	// Fill the kernel's caches: attributes, pages, names (also a negative one).
	if got := mustRead(t, m.path("f.txt")); string(got) != "old contents" {
		t.Fatal(string(got))
	}
	os.Stat(m.path("doomed"))
	os.Stat(m.path("new.txt"))

	o := otherWriter(t, m)
	o.Add(ctx, strings.NewReader("new and longer contents"), "/f.txt", 0o644, 2, nil)
	o.Add(ctx, strings.NewReader("fresh"), "/new.txt", 0o644, 2, nil)
	v, err := o.Edit(ctx, func(tx *bucket.Tx) error { return tx.Remove("/doomed", false) })
	if err != nil {
		t.Fatal(err)
	}
	if err := m.fs.Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, m.path("f.txt")); string(got) != "new and longer contents" {
		t.Fatalf("stale read after Update: %q", got)
	}
	if got := mustRead(t, m.path("new.txt")); string(got) != "fresh" {
		t.Fatalf("new file: %q", got)
	}
	if _, err := os.Stat(m.path("doomed")); !os.IsNotExist(err) {
		t.Fatalf("removed file still visible: %v", err)
	}
	if m.fs.Version().Link != v.Link {
		t.Fatal("mount not on the new version")
	}
}

func TestUpdateMergesLocalChanges(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("shared v1"), "/shared.txt", 0o644, 1, nil)
	m := mountBucket(t, s, b, Options{SaveDelay: time.Hour})
	mustRead(t, m.path("shared.txt"))

	// Different files on each side.
	if err := os.WriteFile(m.path("mine.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := otherWriter(t, m)
	v, _ := o.Add(ctx, strings.NewReader("theirs"), "/theirs.txt", 0o644, 2, nil)
	if err := m.fs.Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"mine.txt": "mine", "theirs.txt": "theirs", "shared.txt": "shared v1"} {
		if got, err := os.ReadFile(m.path(p)); err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", p, got, err, want)
		}
	}

	// The same file on both sides: a conflict copy appears.
	if err := os.WriteFile(m.path("shared.txt"), []byte("local edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, _ = o.Add(ctx, strings.NewReader("remote edit"), "/shared.txt", 0o644, 3, nil)
	if err := m.fs.Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	var copies []string
	contents := map[string]bool{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "shared") {
			contents[string(mustRead(t, m.path(e.Name())))] = true
			if strings.Contains(e.Name(), "(conflict from") {
				copies = append(copies, e.Name())
			}
		}
	}
	if len(copies) != 1 || !contents["local edit"] || !contents["remote edit"] {
		t.Fatalf("after a conflicting Update: copies %v, contents %v", copies, contents)
	}
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := m.b.Current(); cur.Link != m.fs.Version().Link {
		t.Fatal("mount is not on the bucket's head")
	}
}

func TestWriteSurvivesRemoteDelete(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("v1"), "/d/f", 0o644, 1, nil)
	m := mountBucket(t, s, b, Options{})
	f, err := os.OpenFile(m.path("d/f"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := otherWriter(t, m)
	v, err := o.Edit(ctx, func(tx *bucket.Tx) error { return tx.Remove("/d", true) })
	if err != nil {
		t.Fatal(err)
	}
	if err := m.fs.Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	f.WriteString("written while deleted")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, ok := m.stored(t, "/d/f"); !ok || string(got) != "written while deleted" {
		t.Fatalf("stored %q %v", got, ok)
	}
	if got := mustRead(t, m.path("d/f")); string(got) != "written while deleted" {
		t.Fatalf("mount shows %q", got)
	}
}

func TestMountRefusesNonEmptyDir(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	f, err := New(b, Options{StagingDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if err := f.Mount(dir); !errors.Is(err, ErrMountPointBusy) {
		t.Fatalf("mount on a non-empty dir: %v", err)
	}
}

func TestOpenWriteSurvivesIncomingEdit(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("v1"), "/notes.txt", 0o644, 1, nil)
	m := mountBucket(t, s, b, Options{})
	f, err := os.OpenFile(m.path("notes.txt"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("local")
	o := otherWriter(t, m)
	v, _ := o.Add(ctx, strings.NewReader("remote"), "/notes.txt", 0o644, 2, nil)
	if err := m.fs.Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	// While open, the mount keeps showing what is being written.
	if got := mustRead(t, m.path("notes.txt")); string(got) != "local" {
		t.Fatalf("open file shows %q", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.stored(t, "/notes.txt"); string(got) != "local" {
		t.Fatalf("stored %q", got)
	}
	ents, _ := os.ReadDir(m.dir)
	var copies []string
	for _, e := range ents {
		if strings.Contains(e.Name(), "(conflict from") {
			copies = append(copies, string(mustRead(t, m.path(e.Name()))))
		}
	}
	if len(copies) != 1 || copies[0] != "remote" {
		t.Fatalf("no conflict copy holding the incoming edit: %v", ents)
	}
}

// TestConcurrentUseAndUpdates runs writers, readers and incoming versions at
// once: no deadlock, no race, and everything ends up saved.
func TestConcurrentUseAndUpdates(t *testing.T) {
	ctx := context.Background()
	m := mountBucket(t, nil, nil, Options{SaveDelay: 5 * time.Millisecond})
	o := otherWriter(t, m)
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := m.path(fmt.Sprintf("w%d-%d", w, i%5))
				data := randBytes(int64(i), 1000+i*37)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					errs <- err
					return
				}
				if got, err := os.ReadFile(p); err != nil && !os.IsNotExist(err) {
					errs <- err
					return
				} else if err == nil && len(got) == 0 && len(data) > 0 {
					// A remote edit may have replaced it; only emptiness would be a bug.
					var st syscall.Stat_t
					syscall.Stat(p, &st)
					m.fs.mu.Lock()
					e, _ := m.fs.work.Lookup(p[len(m.dir):])
					m.fs.mu.Unlock()
					errs <- fmt.Errorf("%s read back empty; stat size %d, entry %+v", p, st.Size, e)
					return
				}
				os.Rename(p, p+".moved")
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v, err := o.Add(ctx, strings.NewReader(fmt.Sprint("remote ", i)), fmt.Sprintf("/w0-%d", i%5), 0o644, int64(i), nil)
			if err != nil {
				errs <- err
				return
			}
			if err := m.fs.Update(ctx, v); err != nil {
				errs <- err
				return
			}
		}
	}()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cur, err := m.b.Current()
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.Tree.Validate(); err != nil {
		t.Fatal(err)
	}
	if cur.Link != m.fs.Version().Link {
		t.Fatalf("mount not on the head after Flush: head %d %s, mount %d %s", cur.Manifest.Height, cur.Link.Short(), m.fs.Version().Manifest.Height, m.fs.Version().Link.Short())
	}
	// What the mount shows is what was saved.
	ents, _ := os.ReadDir(m.dir)
	for _, e := range ents {
		got := mustRead(t, m.path(e.Name()))
		want, ok := m.stored(t, "/"+e.Name())
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: mount shows %d bytes, stored %d (%v)", e.Name(), len(got), len(want), ok)
		}
	}
}
