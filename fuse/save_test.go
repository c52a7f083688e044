package fuse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/bucket"
)

// duringSave runs f once, the next time the bucket's head moves: inside a
// save, while the filesystem keeps serving.
func duringSave(s *bucket.Store) func(f func()) {
	var mu sync.Mutex
	var next func()
	s.OnHeadChange(func(string) {
		mu.Lock()
		f := next
		next = nil
		mu.Unlock()
		if f != nil {
			f()
		}
	})
	return func(f func()) {
		mu.Lock()
		next = f
		mu.Unlock()
	}
}

func (m *testMount) expect(t *testing.T, files map[string]string, absent ...string) {
	t.Helper()
	for p, want := range files {
		if got, err := os.ReadFile(m.path(p)); err != nil || string(got) != want {
			t.Errorf("mount %s: %q %v, want %q", p, got, err, want)
		}
		if got, ok := m.stored(t, "/"+p); !ok || string(got) != want {
			t.Errorf("stored %s: %q, want %q", p, got, want)
		}
	}
	for _, p := range absent {
		if _, err := os.Stat(m.path(p)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
		if _, ok := m.stored(t, "/"+p); ok {
			t.Errorf("%s still stored", p)
		}
	}
}

// Changes made while a save is being written are kept on top of it, and
// their journal records stay until a save holds them.
func TestChangesDuringSaveKept(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	journal := filepath.Join(t.TempDir(), "journal")
	m := mountBucket(t, s, b, Options{SaveDelay: time.Hour, Journal: journal})
	arm := duringSave(s)
	for _, p := range []string{"a", "x", "y"} {
		os.WriteFile(m.path(p), []byte(p), 0o644)
	}
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(m.path("b"), []byte("b"), 0o644)
	ran := false
	arm(func() {
		ran = true
		if err := os.WriteFile(m.path("during"), []byte("during"), 0o644); err != nil {
			t.Error(err)
		}
		if err := os.Rename(m.path("x"), m.path("x2")); err != nil {
			t.Error(err)
		}
		if err := os.Remove(m.path("y")); err != nil {
			t.Error(err)
		}
	})
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Fatal("the save did not move the head")
	}
	if j, _ := os.ReadFile(journal); !strings.Contains(string(j), `"/during"`) || strings.Contains(string(j), `"/b"`) {
		t.Fatalf("journal after the save: %s", j)
	}
	if got := mustRead(t, m.path("during")); string(got) != "during" {
		t.Fatalf("during: %q", got)
	}
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if j, _ := os.ReadFile(journal); len(j) != 0 {
		t.Fatalf("journal not emptied: %s", j)
	}
	m.expect(t, map[string]string{"a": "a", "b": "b", "during": "during", "x2": "x"}, "x", "y")
}

// When the save merges in a head that moved, changes made during it are
// merged too.
func TestChangesDuringMergingSaveKept(t *testing.T) {
	ctx := context.Background()
	s := bucket.TestStore(t, "laptop")
	b, _ := s.Create(ctx, "docs")
	m := mountBucket(t, s, b, Options{SaveDelay: time.Hour})
	arm := duringSave(s)
	os.WriteFile(m.path("mine"), []byte("mine"), 0o644)
	if _, err := otherWriter(t, m).Add(ctx, strings.NewReader("theirs"), "/theirs", 0o644, 2, nil); err != nil {
		t.Fatal(err)
	}
	ran := false
	arm(func() {
		ran = true
		if err := os.WriteFile(m.path("during"), []byte("during"), 0o644); err != nil {
			t.Error(err)
		}
		if err := os.Remove(m.path("mine")); err != nil {
			t.Error(err)
		}
	})
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Fatal("the save did not move the head")
	}
	if err := m.fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	m.expect(t, map[string]string{"theirs": "theirs", "during": "during"}, "mine")
	if cur, _ := m.b.Current(); cur.Link != m.fs.Version().Link {
		t.Fatal("mount is not on the bucket's head")
	}
}
