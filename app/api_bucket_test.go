package app

import (
	"context"
	"errors"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jax-desktop/jax/fuse/manager"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

// controlAPI serves a data dir's control API (no network, no mounts
// started) on its socket and returns a client of it.
func controlAPI(t *testing.T) (*Store, *Client) {
	t.Helper()
	dirs, err := ResolveDirs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Init(context.Background(), dirs, "laptop", nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a := &App{Store: s, Mounts: manager.New(s.DB, s.Buckets, filepath.Join(dirs.Data, "staging"), log), log: log, mux: http.NewServeMux()}
	a.routes()
	a.netRoutes()
	ln, err := net.Listen("unix", dirs.socketPath())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.mux}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	cl, err := Dial(dirs)
	if err != nil {
		t.Fatal(err)
	}
	return s, cl
}

// An add through the daemon streams its plan, then progress, then the
// result; errors come back as the sentinels the local path returns.
func TestAddThroughControlAPI(t *testing.T) {
	s, cl := controlAPI(t)
	ctx := context.Background()
	if _, err := cl.Change(ctx, BucketChange{Op: "create", Bucket: "docs"}); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	var total int64
	for i, size := range []int{12 << 20, 8 << 20, 100} {
		data := make([]byte, size)
		rand.Read(data)
		os.WriteFile(filepath.Join(local, string(rune('a'+i))), data, 0o644)
		total += int64(size)
	}
	var events []AddProgress
	res, err := cl.Add(ctx, AddRequest{Bucket: "docs", Local: local, Remote: "/in"}, nil, func(p AddProgress) { events = append(events, p) })
	if err != nil {
		t.Fatal(err)
	}
	if !res.ByDaemon || res.Bucket != "docs" || res.Height != 1 {
		t.Fatalf("result: %+v", res)
	}
	if len(events) < 2 || events[0].Files != 3 || events[0].Bytes != total {
		t.Fatalf("events: %+v", events)
	}
	var last int64
	for _, e := range events[1:] {
		if e.Done < last || e.Done > total {
			t.Fatalf("progress goes %d -> %d of %d", last, e.Done, total)
		}
		last = e.Done
	}
	if last == 0 {
		t.Fatal("no progress reported")
	}
	b, _ := s.Buckets.Open("docs")
	v, _ := b.Current()
	if e, err := v.Tree.Lookup("/in/b"); err != nil || e.Size != 8<<20 {
		t.Fatalf("added file: %+v %v", e, err)
	}

	// Data sent along instead of a path.
	if _, err := cl.Add(ctx, AddRequest{Bucket: "docs", Local: "-", Remote: "/s.txt"}, strings.NewReader("sent"), nil); err != nil {
		t.Fatal(err)
	}
	// Errors: before the stream starts, inside it, and of other changes.
	if _, err := cl.Add(ctx, AddRequest{Bucket: "nope", Local: local, Remote: "/x"}, nil, nil); !errors.Is(err, bucket.ErrNoBucket) {
		t.Fatalf("unknown bucket: %v", err)
	}
	if _, err := cl.Add(ctx, AddRequest{Bucket: "docs", Local: "rel", Remote: "/x"}, nil, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("relative path: %v", err)
	}
	_, err = cl.Add(ctx, AddRequest{Bucket: "docs", Local: local, Remote: "/s.txt/x"}, nil, nil)
	var re *RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("add under a file: %v", err)
	}
	if _, err := cl.Change(ctx, BucketChange{Op: "rm", Bucket: "docs", Path: "/missing"}); !errors.Is(err, tree.ErrNotFound) {
		t.Fatalf("rm of a missing file: %v", err)
	}
	if _, err := cl.Change(ctx, BucketChange{Op: "explode", Bucket: "docs"}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("unknown change: %v", err)
	}
}

// A rename through the daemon names the bucket anew; a taken name is
// refused with the reason.
func TestRenameThroughControlAPI(t *testing.T) {
	s, cl := controlAPI(t)
	ctx := context.Background()
	for _, n := range []string{"docs", "photos"} {
		if _, err := cl.Change(ctx, BucketChange{Op: "create", Bucket: n}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := cl.Change(ctx, BucketChange{Op: "rename", Bucket: "docs", Name: "papers"})
	if err != nil || !res.ByDaemon || res.Bucket != "papers" || res.Height != 1 {
		t.Fatalf("rename: %+v %v", res, err)
	}
	if _, err := s.Buckets.Open("papers"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Change(ctx, BucketChange{Op: "rename", Bucket: "papers", Name: "photos"}); err == nil || !strings.Contains(err.Error(), "another bucket has that name") {
		t.Fatalf("rename to a taken name: %v", err)
	}
	if _, err := cl.Change(ctx, BucketChange{Op: "rename", Bucket: "nosuch", Name: "x"}); !errors.Is(err, bucket.ErrNoBucket) {
		t.Fatalf("rename of no bucket: %v", err)
	}
}

// Renaming this device through the running daemon takes effect at once:
// its status, and the shares of a bucket it creates next, carry the new name.
func TestRenameSelfWhileRunning(t *testing.T) {
	s, cl := controlAPI(t)
	ctx := context.Background()
	var d DeviceInfo
	if err := cl.Do(ctx, "POST", "/v1/devices/self/rename", RenameRequest{Name: "work laptop"}, &d); err != nil || d.Name != "work laptop" {
		t.Fatalf("rename: %+v %v", d, err)
	}
	var st Status
	if err := cl.Do(ctx, "GET", "/v1/status", nil, &st); err != nil || st.Device != "work laptop" {
		t.Fatalf("status after rename: %+v %v", st, err)
	}
	if _, err := cl.Change(ctx, BucketChange{Op: "create", Bucket: "docs"}); err != nil {
		t.Fatal(err)
	}
	b, err := s.Buckets.Open("docs")
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Current()
	if err != nil {
		t.Fatal(err)
	}
	if sh := v.Manifest.Share(s.Buckets.ID.ID()); sh == nil || sh.Name != "work laptop" {
		t.Fatalf("the new bucket's share: %+v", sh)
	}
}
