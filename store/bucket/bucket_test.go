package bucket

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/tree"
)

func randBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func cat(t *testing.T, b *Bucket, v *Version, p string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := b.Cat(v, p, &buf); err != nil {
		t.Fatalf("cat %s: %v", p, err)
	}
	return buf.Bytes()
}

func TestAddCatAndTreeOps(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, err := s.Create(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	big := randBytes(1, 5<<20+123)
	if _, err := b.Add(ctx, bytes.NewReader(big), "/a/b/big.bin", 0o640, 42, nil); err != nil {
		t.Fatal(err)
	}
	v, err := b.Add(ctx, strings.NewReader(""), "empty", 0o600, 43, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cat(t, b, v, "/a/b/big.bin"); !bytes.Equal(got, big) {
		t.Fatalf("cat returned %d bytes, want %d identical", len(got), len(big))
	}
	if got := cat(t, b, v, "empty"); len(got) != 0 {
		t.Fatal("empty file not empty")
	}
	// ReadAt across a chunk boundary.
	e, _ := v.Tree.Lookup("/a/b/big.bin")
	r := b.NewReader(e, "/a/b/big.bin")
	buf := make([]byte, 1<<20)
	off := int64(e.Chunks[0].Size) - 100
	if _, err := r.ReadAt(buf, off); err != nil || !bytes.Equal(buf, big[off:off+int64(len(buf))]) {
		t.Fatalf("ReadAt across chunks: %v", err)
	}
	if e.Mode != 0o640 || e.MTime != 42 || e.Size != int64(len(big)) {
		t.Fatalf("metadata: %+v", e)
	}
	id := e.ID
	_, err = b.Edit(ctx, func(tx *Tx) error {
		if err := tx.Move("/a/b/big.bin", "/a/moved.bin"); err != nil {
			return err
		}
		if _, err := tx.Mkdir("/c", 0o755, false); err != nil {
			return err
		}
		return tx.Remove("/a/b", false)
	})
	if err != nil {
		t.Fatal(err)
	}
	v, _ = b.Current()
	if e, err := v.Tree.Lookup("/a/moved.bin"); err != nil || e.ID != id {
		t.Fatalf("moved file lost its id: %v", err)
	}
	if _, err := v.Tree.Lookup("/a/b"); !errors.Is(err, tree.ErrNotFound) {
		t.Fatalf("removed dir still there: %v", err)
	}
	_, err = b.Edit(ctx, func(tx *Tx) error { return tx.Remove("/a", false) })
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("non-recursive remove of a full dir: %v", err)
	}
	_, err = b.Edit(ctx, func(tx *Tx) error { return tx.Move("/a", "/a/moved.bin/x") })
	if err == nil {
		t.Fatal("move into a file accepted")
	}
	if _, err := s.Open("nope"); !errors.Is(err, ErrNoBucket) {
		t.Fatalf("unknown bucket: %v", err)
	}
	if got, err := s.Open(b.ID.String()[:8]); err != nil || got.ID != b.ID {
		t.Fatalf("open by id prefix: %v", err)
	}
}

// An unchanged edit makes no version; every change is stamped with its Rev.
func TestEditStampsRevs(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, _ := s.Create(ctx, "x")
	v1, _ := b.Add(ctx, strings.NewReader("one"), "f", 0o644, 1, nil)
	v2, err := b.Edit(ctx, func(*Tx) error { return nil })
	if err != nil || v2.Link != v1.Link {
		t.Fatalf("no-op edit made a version: %v", err)
	}
	v3, _ := b.Add(ctx, strings.NewReader("two"), "g", 0o644, 1, nil)
	f, _ := v3.Tree.Lookup("f")
	g, _ := v3.Tree.Lookup("g")
	if f.Rev.Height != v1.Manifest.Height || g.Rev.Height != v3.Manifest.Height || g.Rev.Device != s.ID.ID() {
		t.Fatalf("revs: f=%v g=%v", f.Rev, g.Rev)
	}
}

// Watchers hear of every head move: saves, but not no-op edits.
func TestOnHeadChange(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	var mu sync.Mutex
	var got []string
	s.OnHeadChange(func(id string) { mu.Lock(); got = append(got, id); mu.Unlock() })
	b, _ := s.Create(ctx, "x")
	b.Add(ctx, strings.NewReader("one"), "f", 0o644, 1, nil)
	b.Edit(ctx, func(*Tx) error { return nil })
	b.Add(ctx, strings.NewReader("two"), "g", 0o644, 1, nil)
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, id := range got {
		if id == b.ID.String() {
			n++
		}
	}
	if n < 2 || n != len(got) {
		t.Fatalf("head changes heard: %v (bucket %s)", got, b.ID)
	}
}

func TestCorruptChunkIsReportedWithPath(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	data := randBytes(2, 3<<20)
	v, err := b.Add(ctx, bytes.NewReader(data), "/report.pdf", 0o644, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _ = b.Add(ctx, strings.NewReader("fine"), "/other.txt", 0o644, 1, nil)
	e, _ := v.Tree.Lookup("/report.pdf")
	victim := blob.ID(e.Chunks[len(e.Chunks)-1].Blob)
	CorruptBlob(t, s, victim)

	var out bytes.Buffer
	_, err = b.Cat(v, "/report.pdf", &out)
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "/report.pdf") || !strings.Contains(err.Error(), "integrity check") {
		t.Fatalf("cat of damaged file: %v", err)
	}
	if int64(out.Len()) >= e.Size {
		t.Fatal("damaged file was passed off as whole")
	}
	if got := cat(t, b, v, "/other.txt"); string(got) != "fine" {
		t.Fatal("other file affected")
	}
	rep, err := b.Check(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Problems[0].Path != "/report.pdf" {
		t.Fatalf("check missed the damage: %+v", rep)
	}
}

func TestHistoryCatVersionRestore(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	v1, _ := b.Add(ctx, strings.NewReader("first draft"), "/notes/todo.txt", 0o644, 1, nil)
	b.Add(ctx, strings.NewReader("second draft"), "/notes/todo.txt", 0o644, 2, nil)
	b.Edit(ctx, func(tx *Tx) error { return tx.Move("/notes/todo.txt", "/notes/done.txt") })
	b.Edit(ctx, func(tx *Tx) error { return tx.Remove("/notes/done.txt", false) })

	hist, err := b.History()
	if err != nil || len(hist) != 5 || hist[0].Height != 4 || hist[4].Height != 0 {
		t.Fatalf("history: %d versions, %v", len(hist), err)
	}
	link, err := b.Resolve("1")
	if err != nil || link != v1.Link {
		t.Fatalf("resolve height: %v", err)
	}
	if l, err := b.Resolve(v1.Link.String()[:10]); err != nil || l != v1.Link {
		t.Fatalf("resolve prefix: %v", err)
	}
	if _, err := b.Resolve("99"); err == nil {
		t.Fatal("unknown version resolved")
	}
	old, _ := b.Load(link)
	if got := cat(t, b, old, "/notes/todo.txt"); string(got) != "first draft" {
		t.Fatalf("old version reads %q", got)
	}
	changes, err := b.PathHistory("/notes/todo.txt")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range changes {
		kinds = append(kinds, c.Change)
	}
	if strings.Join(kinds, ",") != "deleted,renamed,modified,created" {
		t.Fatalf("path history: %v", kinds)
	}
	v, err := b.Restore(ctx, "/notes/todo.txt", "1")
	if err != nil {
		t.Fatal(err)
	}
	if got := cat(t, b, v, "/notes/todo.txt"); string(got) != "first draft" {
		t.Fatalf("restored file reads %q", got)
	}
	// Restoring the whole tree to the empty first version.
	v, err = b.Restore(ctx, "/", "0")
	if err != nil || v.Tree.Len() != 1 {
		t.Fatalf("restore root: %v (%d entries)", err, v.Tree.Len())
	}
	if _, err := b.Restore(ctx, "/nothing", "2"); err == nil {
		t.Fatal("restore of a path that never existed succeeded")
	}
}

func TestConcurrentEditsDoNotFork(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b2, _ := s.Open("docs")
			if _, err := b2.Add(ctx, bytes.NewReader(randBytes(int64(i), 1000)), "/f"+string(rune('a'+i)), 0o644, 1, nil); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	v, _ := b.Current()
	heads, _ := s.DB.Heads(b.ID.String())
	if v.Manifest.Height != 8 || len(heads) != 1 || len(v.Tree.Children(tree.Root)) != 8 {
		t.Fatalf("height %d, %d heads, %d files", v.Manifest.Height, len(heads), len(v.Tree.Children(tree.Root)))
	}
}

func TestDedupAndSmallEditStoresLittle(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	data := randBytes(3, 24<<20)
	b.Add(ctx, bytes.NewReader(data), "big", 0o644, 1, nil)
	before := blobBytes(t, s)
	data[len(data)/2] ^= 1
	b.Add(ctx, bytes.NewReader(data), "big", 0o644, 2, nil)
	if grew := blobBytes(t, s) - before; grew > 4<<20 {
		t.Fatalf("one-byte edit stored %d new bytes", grew)
	}
	before = blobBytes(t, s)
	b.Add(ctx, bytes.NewReader(data), "copy", 0o644, 2, nil)
	if grew := blobBytes(t, s) - before; grew > 64<<10 {
		t.Fatalf("identical copy stored %d new bytes", grew)
	}
}

func blobBytes(t *testing.T, s *Store) int64 {
	var n int64
	s.Blobs.Walk(func(id blob.ID) error {
		sz, _ := s.Blobs.Size(id)
		n += sz
		return nil
	})
	return n
}

// A regular file is chunked through a memory map; it must store exactly what
// streaming stores, and a file cut short meanwhile must give an error, not
// crash the process.
func TestAddMappedFile(t *testing.T) {
	ctx := context.Background()
	s := TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	data := randBytes(9, 9<<20+17)
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, data, 0o644)
	f, _ := os.Open(p)
	mapped, n, err := b.WriteData(ctx, f, nil)
	f.Close()
	if err != nil || n != int64(len(data)) {
		t.Fatal(err)
	}
	streamed, _, _ := b.WriteData(ctx, bytes.NewReader(data), nil)
	if len(mapped) != len(streamed) {
		t.Fatalf("%d chunks mapped, %d streamed", len(mapped), len(streamed))
	}
	for i := range mapped {
		if mapped[i] != streamed[i] {
			t.Fatalf("chunk %d differs", i)
		}
	}

	big := randBytes(10, 128<<20)
	os.WriteFile(p, big, 0o644)
	f, _ = os.Open(p)
	defer f.Close()
	done := make(chan error)
	go func() { _, _, err := b.WriteData(ctx, f, nil); done <- err }()
	time.Sleep(20 * time.Millisecond)
	os.Truncate(p, 0)
	if err := <-done; err != nil && !strings.Contains(err.Error(), "changed while") {
		t.Fatalf("truncated input: %v", err)
	}
}

// A write's chunks are reported once it passes earlyMin, every one of
// them, and a smaller write's not at all.
func TestOnChunksLargeWritesOnly(t *testing.T) {
	s := TestStore(t, "laptop")
	ctx := context.Background()
	b, err := s.Create(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[blob.ID]int{}
	s.OnChunks(func(bucketID string, ids []blob.ID) {
		if bucketID != b.ID.String() {
			t.Errorf("chunks reported for bucket %s", bucketID)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			got[id]++
		}
	})
	rnd := rand.New(rand.NewSource(1))
	small := make([]byte, earlyMin/2)
	rnd.Read(small)
	if _, _, err := b.WriteData(ctx, bytes.NewReader(small), nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("%d chunks of a small write reported", len(got))
	}
	big := make([]byte, 3*earlyMin)
	rnd.Read(big)
	refs, _, err := b.WriteData(ctx, bytes.NewReader(big), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if got[blob.ID(r.Blob)] != 1 {
			t.Fatalf("chunk %s reported %d times", blob.ID(r.Blob).Short(), got[blob.ID(r.Blob)])
		}
	}
	if len(got) != len(refs) {
		t.Fatalf("%d chunks reported for %d written", len(got), len(refs))
	}
}
