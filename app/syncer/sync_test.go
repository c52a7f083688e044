package syncer

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

func open(t testing.TB, n *node, id string) (*bucket.Bucket, *bucket.Version) {
	t.Helper()
	b, err := n.st.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.Current()
	if err != nil {
		t.Fatal(err)
	}
	return b, v
}

func cat(t testing.TB, n *node, id, p string) string {
	t.Helper()
	b, v := open(t, n, id)
	var sb strings.Builder
	if _, err := b.Cat(v, p, &sb); err != nil {
		t.Fatalf("%s: %s: %v", n.name, p, err)
	}
	return sb.String()
}

func add(t testing.TB, n *node, id, p, content string) *bucket.Version {
	t.Helper()
	b, _ := open(t, n, id)
	v, err := b.Add(context.Background(), strings.NewReader(content), p, 0o644, time.Now().UnixNano(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// shared creates a bucket on the first node, shares it with the others as
// owners and waits until each has it.
func shared(t testing.TB, ns ...*node) string {
	t.Helper()
	ctx := context.Background()
	b, err := ns[0].st.Create(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns[1:] {
		if _, err := b.Share(ctx, n.device(), bucket.Owner); err != nil {
			t.Fatal(err)
		}
	}
	id := b.ID.String()
	waitSame(t, id, ns...)
	return id
}

// waitSame waits until every node has the same head.
func waitSame(t testing.TB, id string, ns ...*node) {
	t.Helper()
	waitFor(t, "the same head on every device", 20*time.Second, func() bool {
		h := ns[0].head(t, id)
		for _, n := range ns[1:] {
			if n.head(t, id) != h || h.IsZero() {
				return false
			}
		}
		return true
	})
}

func checkOK(t testing.TB, n *node, id string) {
	t.Helper()
	b, _ := open(t, n, id)
	rep, err := b.Check(context.Background(), nil)
	if err != nil || !rep.OK() {
		t.Fatalf("check on %s: %v %+v", n.name, err, rep)
	}
}

func TestSaveOnAReachesB(t *testing.T) {
	tn := newNet()
	var mu sync.Mutex
	var synced []string
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{OnSynced: func(_ context.Context, id string) {
		mu.Lock()
		synced = append(synced, id)
		mu.Unlock()
	}})
	// A bucket new to B arrives whole on the first announce.
	id := shared(t, a, b)
	events, stop := b.eng.Subscribe()
	defer stop()

	start := time.Now()
	v := add(t, a, id, "/notes/today.txt", "hello from the laptop")
	waitFor(t, "B to have A's save", 10*time.Second, func() bool { return b.head(t, id) == v.Link })
	t.Logf("save on A to head on B: %v", time.Since(start))
	if got := cat(t, b, id, "/notes/today.txt"); got != "hello from the laptop" {
		t.Fatalf("B reads %q", got)
	}
	checkOK(t, b, id)
	mu.Lock()
	n := len(synced)
	mu.Unlock()
	if n < 2 || synced[n-1] != id {
		t.Fatalf("OnSynced calls: %v", synced)
	}
	var sawSynced, sawProgress bool
	for len(events) > 0 {
		ev := <-events
		sawSynced = sawSynced || ev.Kind == "synced" && ev.Bucket == id && ev.Head == v.Link.String()
		sawProgress = sawProgress || ev.Kind == "progress" && ev.Progress.FilesDone == 1
	}
	if !sawSynced || !sawProgress {
		t.Fatalf("events: synced %v progress %v", sawSynced, sawProgress)
	}
	// Both report the bucket in sync with the other.
	waitFor(t, "status in sync", 5*time.Second, func() bool {
		for _, n := range []*node{a, b} {
			st, err := n.eng.Status()
			if err != nil || len(st) != 1 || st[0].State != StateInSync || len(st[0].Peers) != 1 || st[0].Peers[0].State != StateInSync {
				return false
			}
		}
		return true
	})
	// A restarted engine still knows when the bucket last synced.
	again := New(Config{Store: b.st, Transport: b})
	st, err := again.Status()
	if err != nil || len(st) != 1 || len(st[0].Peers) != 1 || st[0].Peers[0].Synced.IsZero() || st[0].Peers[0].Head != v.Link.String() {
		t.Fatalf("status after a restart: %+v %v", st, err)
	}
	// Saves on B travel back.
	v = add(t, b, id, "/notes/reply.txt", "hi back")
	waitFor(t, "A to have B's save", 10*time.Second, func() bool { return a.head(t, id) == v.Link })
	if got := cat(t, a, id, "/notes/reply.txt"); got != "hi back" {
		t.Fatalf("A reads %q", got)
	}
}

func TestPartitionedEditsMerge(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	id := shared(t, a, b)
	ctx := context.Background()
	add(t, a, id, "/report.txt", "base")
	add(t, a, id, "/old/notes.txt", "keep me")
	add(t, a, id, "/draft.md", "draft")
	add(t, a, id, "/edited-vs-deleted.txt", "gone?")
	waitSame(t, id, a, b)

	tn.cut(a, b)
	ab, _ := open(t, a, id)
	bb, _ := open(t, b, id)
	add(t, a, id, "/report.txt", "from A")
	add(t, b, id, "/report.txt", "from B")
	if _, err := ab.Edit(ctx, func(tx *bucket.Tx) error { return tx.Remove("/old", true) }); err != nil {
		t.Fatal(err)
	}
	add(t, b, id, "/old/new.txt", "new in old")
	if _, err := ab.Edit(ctx, func(tx *bucket.Tx) error { return tx.Move("/draft.md", "/final.md") }); err != nil {
		t.Fatal(err)
	}
	add(t, b, id, "/draft.md", "draft v2")
	add(t, a, id, "/edited-vs-deleted.txt", "edited")
	if _, err := bb.Edit(ctx, func(tx *bucket.Tx) error { return tx.Remove("/edited-vs-deleted.txt", false) }); err != nil {
		t.Fatal(err)
	}
	if a.head(t, id) == b.head(t, id) {
		t.Fatal("heads equal while cut off")
	}

	tn.heal(a, b)
	waitSame(t, id, a, b)
	_, va := open(t, a, id)
	_, vb := open(t, b, id)
	if !va.Tree.Equal(vb.Tree) {
		t.Fatal("same head, different trees")
	}
	var copies []string
	for _, e := range va.Tree.Children(tree.Root) {
		if strings.Contains(e.Name, "(conflict from") {
			copies = append(copies, e.Name)
		}
	}
	if len(copies) != 1 || !strings.HasPrefix(copies[0], "report (conflict from ") || !strings.HasSuffix(copies[0], ".txt") {
		t.Fatalf("conflict copies: %v", copies)
	}
	for _, n := range []*node{a, b} {
		both := cat(t, n, id, "/report.txt") + "|" + cat(t, n, id, "/"+copies[0])
		if both != "from A|from B" && both != "from B|from A" {
			t.Fatalf("%s: edit/edit lost a side: %s", n.name, both)
		}
		if cat(t, n, id, "/old/new.txt") != "new in old" || cat(t, n, id, "/final.md") != "draft v2" ||
			cat(t, n, id, "/edited-vs-deleted.txt") != "edited" {
			t.Fatalf("%s: merge lost a change", n.name)
		}
		checkOK(t, n, id)
	}
	recorded := 0
	for _, n := range []*node{a, b} {
		cs, _ := n.st.DB.Conflicts(id, true)
		recorded += len(cs)
	}
	if recorded == 0 {
		t.Fatal("no conflict recorded")
	}
}

// fake answers the protocol for a hostile device: requests are answered by
// an honest engine (over another device's store) and then tampered with.
type fake struct {
	backend   *Engine
	manifests map[blob.ID][]byte // served for these links, whatever they are
	badBlobs  bool
	mu        sync.Mutex
	sentBad   [][]byte
}

func (f *fake) serve(dev tree.DeviceID, s Stream) {
	defer s.Close()
	c := &conn{s: s, timeout: 5 * time.Second}
	for {
		req, err := c.read(maxRequest, 5*time.Second)
		if err != nil {
			return
		}
		var resp *message
		switch {
		case req.Op == opHeads:
			resp = &message{Op: opHeads}
		case req.Op == opManifests && len(req.Want) == 1 && f.manifests[blob.ID(req.Want[0])] != nil:
			resp = &message{Op: opManifests, Data: [][]byte{f.manifests[blob.ID(req.Want[0])]}}
		default:
			resp = f.backend.answer(dev, req)
			if req.Op == opBlob && resp.Op == opBlob && f.badBlobs {
				bad := bytes.Clone(resp.body)
				bad[len(bad)/2] ^= 1
				resp.body = bad
				f.mu.Lock()
				f.sentBad = append(f.sentBad, bad)
				f.mu.Unlock()
			}
		}
		if c.write(resp) != nil {
			return
		}
	}
}

func announceBy(t testing.TB, from *node, to tree.DeviceID, h Head) error {
	t.Helper()
	_, err := from.dial(t, to).call(&message{Op: opHeads, Heads: []Head{h}})
	return err
}

func peerState(t testing.TB, n *node, id string, dev tree.DeviceID) PeerStatus {
	t.Helper()
	st, err := n.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range st {
		if b.Bucket == id {
			for _, p := range b.Peers {
				if p.Device == dev.String() {
					return p
				}
			}
		}
	}
	return PeerStatus{}
}

func TestHostilePeerRejected(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	h := tn.addNode(t, "intruder", Config{})
	h.eng.Stop()
	f := &fake{backend: a.eng, manifests: map[blob.ID][]byte{}}
	h.setHandler(f.serve)
	ctx := context.Background()

	id := shared(t, a, b)
	ab, _ := open(t, a, id)
	if _, err := ab.Share(ctx, h.device(), bucket.Owner); err != nil {
		t.Fatal(err)
	}
	waitSame(t, id, a, b)
	_, cur := open(t, a, id)
	rejected := func(link blob.ID, what string) {
		t.Helper()
		waitFor(t, "B to reject "+what, 10*time.Second, func() bool {
			p := peerState(t, b, id, h.id)
			return p.State == StateError && strings.Contains(p.Error, what)
		})
		if b.st.Blobs.Has(link) {
			t.Fatalf("%s: stored", what)
		}
		if _, err := b.st.DB.VersionByLink(id, link[:]); err == nil {
			t.Fatalf("%s: recorded", what)
		}
		if b.head(t, id) != cur.Link {
			t.Fatalf("%s: head moved", what)
		}
	}

	// A manifest whose signature does not match its content.
	m := *cur.Manifest
	m.Parents, m.Height, m.Name = []blob.ID{cur.Link}, cur.Manifest.Height+1, "renamed by intruder"
	forged, err := cbor.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	link := blob.Sum(forged)
	f.manifests[link] = forged
	if err := announceBy(t, h, b.id, Head{Bucket: id, Link: link, Height: m.Height}); err != nil {
		t.Fatal(err)
	}
	rejected(link, "signature does not match")

	// A properly signed version whose height skips ahead.
	m = *cur.Manifest
	m.Parents, m.Height, m.Author = []blob.ID{cur.Link}, cur.Manifest.Height+5, h.id
	raw, err := m.Sign(h.st.ID.Sign)
	if err != nil {
		t.Fatal(err)
	}
	link = blob.Sum(raw)
	f.manifests[link] = raw
	if err := announceBy(t, h, b.id, Head{Bucket: id, Link: link, Height: m.Height}); err != nil {
		t.Fatal(err)
	}
	rejected(link, "height")

	// Damaged blobs for a real version: B takes them from A instead. A is
	// muted so that B hears of the version only from the intruder.
	a.muted.Store(true)
	v := add(t, a, id, "/from-a.txt", "the real content")
	f.badBlobs = true
	if err := announceBy(t, h, b.id, Head{Bucket: id, Link: v.Link, Height: v.Manifest.Height}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to get A's version despite the intruder", 10*time.Second, func() bool { return b.head(t, id) == v.Link })
	if got := cat(t, b, id, "/from-a.txt"); got != "the real content" {
		t.Fatalf("B reads %q", got)
	}
	checkOK(t, b, id)
	f.mu.Lock()
	sent := f.sentBad
	f.mu.Unlock()
	if len(sent) == 0 {
		t.Fatal("the intruder sent no damaged blob")
	}
	for _, bad := range sent {
		if b.st.Blobs.Has(blob.Sum(bad)) {
			t.Fatal("a damaged blob was stored")
		}
	}
	if p := peerState(t, b, id, h.id); p.State != StateError || !strings.Contains(p.Error, "does not match its hash") {
		t.Fatalf("intruder's state: %+v", p)
	}
	if !b.logs.has("refused a damaged blob") {
		t.Fatal("damaged blob not logged")
	}
}

func TestMirrorVersionsRefused(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	m := tn.addNode(t, "nas", Config{})
	ctx := context.Background()
	b, err := a.st.Create(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	id := b.ID.String()
	if _, err := b.Share(ctx, m.device(), bucket.Mirror); err != nil {
		t.Fatal(err)
	}
	v := add(t, a, id, "/f.txt", "owner's")
	waitFor(t, "the mirror to have the bucket", 10*time.Second, func() bool { return m.head(t, id) == v.Link })
	if got := cat(t, m, id, "/f.txt"); got != "owner's" {
		t.Fatalf("mirror reads %q", got)
	}
	mb, mv := open(t, m, id)
	if _, err := mb.Add(ctx, strings.NewReader("x"), "/g", 0o644, 1, nil); !errors.Is(err, bucket.ErrReadOnly) {
		t.Fatalf("mirror wrote: %v", err)
	}
	// A version the mirror signs anyway is refused by the owner.
	forged := *mv.Manifest
	forged.Parents, forged.Height, forged.Author = []blob.ID{mv.Link}, mv.Manifest.Height+1, m.id
	raw, err := forged.Sign(m.st.ID.Sign)
	if err != nil {
		t.Fatal(err)
	}
	link := blob.Sum(raw)
	m.eng.Stop()
	m.setHandler((&fake{backend: m.eng, manifests: map[blob.ID][]byte{link: raw}}).serve)
	if err := announceBy(t, m, a.id, Head{Bucket: id, Link: link, Height: forged.Height}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to refuse the mirror's version", 10*time.Second, func() bool {
		p := peerState(t, a, id, m.id)
		return p.State == StateError && strings.Contains(p.Error, "may not write")
	})
	if a.st.Blobs.Has(link) || a.head(t, id) != v.Link {
		t.Fatal("the mirror's version was stored")
	}

	// Nor can it start a history of its own for the bucket, as its owner.
	root := *mv.Manifest
	root.Parents, root.Height, root.Author = nil, 0, m.id
	root.Shares = slices.Clone(root.Shares)
	for i := range root.Shares {
		root.Shares[i].Role = bucket.Owner
	}
	raw, err = root.Sign(m.st.ID.Sign)
	if err != nil {
		t.Fatal(err)
	}
	link = blob.Sum(raw)
	m.setHandler((&fake{backend: m.eng, manifests: map[blob.ID][]byte{link: raw}}).serve)
	if err := announceBy(t, m, a.id, Head{Bucket: id, Link: link, Height: 0}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to refuse the mirror's first version", 10*time.Second, func() bool {
		p := peerState(t, a, id, m.id)
		return p.State == StateError && strings.Contains(p.Error, "another first version")
	})
	if _, err := a.st.DB.VersionByLink(id, link[:]); err == nil || a.st.Blobs.Has(link) || a.head(t, id) != v.Link {
		t.Fatal("the mirror's first version was taken in")
	}
}

func TestUnsharedDeviceRefused(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	c := tn.addNode(t, "stranger", Config{})
	id := shared(t, a, b) // not with c
	v := add(t, a, id, "/secret.txt", "for a and b")
	waitSame(t, id, a, b)
	other, err := a.st.Create(context.Background(), "private") // shared with nobody
	if err != nil {
		t.Fatal(err)
	}
	otherHead, _ := other.HeadLink()
	blobs, err := bucketOf(t, a, id).Blobs(v.Link)
	if err != nil {
		t.Fatal(err)
	}
	served := a.eng.Stats().BlobsServed

	refused := func(err error) {
		t.Helper()
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != codeRefused {
			t.Fatalf("not refused: %v", err)
		}
	}
	// c, paired but not in the shares: no blob, no version, no announce.
	for _, id2 := range blobs {
		_, err := c.dial(t, a.id).call(&message{Op: opBlob, Bucket: id, Blob: id2[:]})
		refused(err)
	}
	_, err = c.dial(t, a.id).call(&message{Op: opManifests, Bucket: id, Want: [][]byte{v.Link[:]}})
	refused(err)
	refused(announceBy(t, c, a.id, Head{Bucket: id, Link: v.Link, Height: v.Manifest.Height}))
	// b may read this bucket, but not another bucket's blobs through it.
	_, err = b.dial(t, a.id).call(&message{Op: opBlob, Bucket: id, Blob: otherHead[:]})
	refused(err)
	_, err = b.dial(t, a.id).call(&message{Op: opBlob, Bucket: other.ID.String(), Blob: otherHead[:]})
	refused(err)
	if a.eng.Stats().BlobsServed != served {
		t.Fatal("a refused request was served")
	}
	if !a.logs.has("refused a device not in the bucket's shares") || !a.logs.has("refused a blob outside the bucket") {
		t.Fatal("refusals not logged")
	}
	// c never got anything of the bucket, even after heads were exchanged.
	a.eng.PeerUp(c.id)
	c.eng.PeerUp(a.id)
	time.Sleep(200 * time.Millisecond)
	if _, err := c.st.DB.BucketByID(id); err == nil {
		t.Fatal("the stranger has the bucket")
	}
	if c.st.Blobs.Has(v.Link) {
		t.Fatal("the stranger has a version")
	}
}

func bucketOf(t testing.TB, n *node, id string) *bucket.Bucket {
	b, _ := open(t, n, id)
	return b
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return string(b)
}

func TestCutTransferResumes(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{Parallel: 4})
	b := tn.addNode(t, "desktop", Config{Parallel: 4})
	id := shared(t, a, b)

	var mu sync.Mutex
	var servedAll []blob.ID
	cutAfter := -1
	a.eng.testServed = func(dev tree.DeviceID, bl blob.ID) {
		if tn.linkDown(a.id, b.id) {
			return // answers to requests read before the cut go nowhere
		}
		mu.Lock()
		servedAll = append(servedAll, bl)
		n := len(servedAll)
		mu.Unlock()
		if n == cutAfter {
			tn.cut(a, b) // before this blob is sent
		}
	}
	tn.cut(a, b)
	ab, _ := open(t, a, id)
	ctx := context.Background()
	var want []string
	for i := 0; i < 24; i++ {
		want = append(want, randomText(600<<10))
		p := fmt.Sprintf("/d%d/f%02d.bin", i%3, i)
		if _, err := ab.Add(ctx, strings.NewReader(want[i]), p, 0o644, 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, v := open(t, a, id)
	before := countBlobs(t, b)
	vsBefore, _ := b.st.DB.Versions(id)
	versBefore := len(vsBefore)
	fetched0 := b.eng.Stats().BlobsFetched
	mu.Lock()
	servedAll, cutAfter = nil, 70
	mu.Unlock()
	tn.heal(a, b)
	waitFor(t, "the transfer to break", 10*time.Second, func() bool {
		p := peerState(t, b, id, a.id)
		return p.Error != "" && p.State == StateOffline
	})
	// Let the answers to requests read before the cut drain.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	firstRun := len(servedAll)
	mu.Unlock()
	if b.head(t, id) == v.Link {
		t.Fatal("finished despite the cut")
	}
	stored := map[blob.ID]bool{}
	b.st.Blobs.Walk(func(id blob.ID) error { stored[id] = true; return nil })
	fetchedFirst := b.eng.Stats().BlobsFetched
	if fetchedFirst == fetched0 || int(fetchedFirst-fetched0) > firstRun {
		t.Fatalf("first run fetched %d of %d served", fetchedFirst, firstRun)
	}

	tn.heal(a, b)
	waitSame(t, id, a, b)
	mu.Lock()
	second := append([]blob.ID(nil), servedAll[firstRun:]...)
	mu.Unlock()
	for _, bl := range second {
		if stored[bl] {
			t.Fatalf("blob %s fetched again after the reconnect", bl.Short())
		}
	}
	seen := map[blob.ID]bool{}
	for _, bl := range second {
		if seen[bl] {
			t.Fatalf("blob %s fetched twice", bl.Short())
		}
		seen[bl] = true
	}
	for i := range want {
		if got := cat(t, b, id, fmt.Sprintf("/d%d/f%02d.bin", i%3, i)); got != want[i] {
			t.Fatalf("file %d differs", i)
		}
	}
	checkOK(t, b, id)
	// Every new blob on B was fetched exactly once, except the manifests,
	// which come in the version lists.
	after := countBlobs(t, b)
	vs, _ := b.st.DB.Versions(id)
	fetched := int(b.eng.Stats().BlobsFetched - fetched0)
	t.Logf("first run: %d served, %d stored; second run: %d served; %d new blobs on B", firstRun, fetchedFirst-fetched0, len(second), after-before)
	if fetched != after-before-(len(vs)-versBefore) {
		t.Fatalf("fetched %d blobs; %d new blobs of which %d manifests", fetched, after-before, len(vs)-versBefore)
	}
}

func countBlobs(t testing.TB, n *node) int {
	k := 0
	n.st.Blobs.Walk(func(blob.ID) error { k++; return nil })
	return k
}

func TestSyncNow(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	id := shared(t, a, b)
	a.muted.Store(true) // A cannot announce: B must ask
	v := add(t, a, id, "/x.txt", strings.Repeat("x", 1<<20))
	time.Sleep(100 * time.Millisecond)
	if b.head(t, id) == v.Link {
		t.Fatal("B got the version without asking")
	}
	events, stop := b.eng.Subscribe()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := b.eng.SyncNow(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	if b.head(t, id) != v.Link || st.State != StateInSync || st.Head != v.Link.String() {
		t.Fatalf("after sync now: %+v", st)
	}
	var last *Progress
	for len(events) > 0 {
		if ev := <-events; ev.Kind == "progress" {
			last = ev.Progress
		}
	}
	if last == nil || last.Files != 1 || last.FilesDone != 1 || last.Bytes != 1<<20 || last.BytesDone != last.Bytes {
		t.Fatalf("last progress: %+v", last)
	}
	tn.cut(a, b)
	if p := peerState(t, b, id, a.id); p.State != StateOffline || p.Online || p.Synced.IsZero() {
		t.Fatalf("a device cut off: %+v", p)
	}
	if _, err := b.eng.SyncNow(ctx, "docs"); !errors.Is(err, ErrNoPeers) {
		t.Fatalf("sync now with nobody online: %v", err)
	}
	if _, err := a.st.Create(ctx, "alone"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.SyncNow(ctx, "alone"); err == nil || !strings.Contains(err.Error(), "not shared with another device") {
		t.Fatalf("sync now of a bucket shared with nobody: %v", err)
	}
}

// Three devices edit at random while links go down and up; once every link
// is up, all hold the same tree and every device's last write to a file of
// its own survives.
func TestThreeDevicesRandomEdits(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewSource(seed))
	tn := newNet()
	ns := []*node{tn.addNode(t, "a", Config{}), tn.addNode(t, "b", Config{}), tn.addNode(t, "c", Config{})}
	id := shared(t, ns...)
	ctx := context.Background()
	paths := []string{"/a.txt", "/b.txt", "/d1/c.txt", "/d1/d2/e.txt", "/d2/f.txt"}
	own := map[string]string{} // a file only one device writes: its last content
	for step := 0; step < 80; step++ {
		n := ns[rng.Intn(len(ns))]
		b, v := open(t, n, id)
		switch op := rng.Intn(12); {
		case op < 5:
			p := paths[rng.Intn(len(paths))]
			b.Add(ctx, strings.NewReader(fmt.Sprintf("%s step %d", n.name, step)), p, 0o644, int64(step), nil)
		case op < 6:
			p := "/own-" + n.name + ".txt"
			content := fmt.Sprintf("%s own %d", n.name, step)
			if _, err := b.Add(ctx, strings.NewReader(content), p, 0o644, int64(step), nil); err != nil {
				t.Fatal(err)
			}
			own[p] = content
		case op < 8:
			ids := v.Tree.IDs()
			e := v.Tree.Get(ids[rng.Intn(len(ids))])
			if e.ID != tree.Root && !strings.HasPrefix(e.Name, "own-") {
				b.Edit(ctx, func(tx *bucket.Tx) error { return tx.Remove(v.Tree.Path(e.ID), true) })
			}
		case op < 9:
			ids := v.Tree.IDs()
			e := v.Tree.Get(ids[rng.Intn(len(ids))])
			if e.ID != tree.Root && !strings.HasPrefix(e.Name, "own-") {
				b.Edit(ctx, func(tx *bucket.Tx) error { return tx.Move(v.Tree.Path(e.ID), paths[rng.Intn(len(paths))]+".mv") })
			}
		case op < 11:
			i, j := rng.Intn(3), rng.Intn(3)
			if i != j {
				tn.cut(ns[i], ns[j])
			}
		default:
			i, j := rng.Intn(3), rng.Intn(3)
			if i != j && tn.linkDown(ns[i].id, ns[j].id) {
				tn.heal(ns[i], ns[j])
			}
		}
		time.Sleep(time.Duration(rng.Intn(5)) * time.Millisecond)
	}
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			if tn.linkDown(ns[i].id, ns[j].id) {
				tn.heal(ns[i], ns[j])
			}
		}
	}
	waitFor(t, "every device to hold the same tree", 30*time.Second, func() bool {
		_, v0 := open(t, ns[0], id)
		for _, n := range ns[1:] {
			if _, v := open(t, n, id); !v.Tree.Equal(v0.Tree) {
				return false
			}
		}
		return true
	})
	_, v := open(t, ns[0], id)
	if err := v.Tree.Validate(); err != nil {
		t.Fatal(err)
	}
	for p, want := range own {
		for _, n := range ns {
			if got := cat(t, n, id, p); got != want {
				t.Fatalf("%s on %s: %q, want %q", p, n.name, got, want)
			}
		}
	}
	for _, n := range ns {
		checkOK(t, n, id)
	}
}

// A device removed from a bucket's shares gets nothing written after, and
// its announcements are refused.
func TestUnsharedAfterRemoval(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	c := tn.addNode(t, "old-phone", Config{})
	id := shared(t, a, b, c)
	ab, _ := open(t, a, id)
	if _, err := ab.Unshare(context.Background(), c.id); err != nil {
		t.Fatal(err)
	}
	v := add(t, a, id, "/after.txt", "not for the phone")
	waitSame(t, id, a, b)
	time.Sleep(100 * time.Millisecond)
	if c.head(t, id) == v.Link {
		t.Fatal("the removed device got a version written after its removal")
	}
	blobs, err := ab.Blobs(v.Link)
	if err != nil {
		t.Fatal(err)
	}
	for _, bl := range blobs {
		_, err := c.dial(t, a.id).call(&message{Op: opBlob, Bucket: id, Blob: bl[:]})
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != codeRefused {
			t.Fatalf("blob %s: %v", bl.Short(), err)
		}
	}
	// Its own edit is refused by both remaining devices.
	cv := add(t, c, id, "/from-phone.txt", "x")
	for _, n := range []*node{a, b} {
		err := announceBy(t, c, n.id, Head{Bucket: id, Link: cv.Link, Height: cv.Manifest.Height})
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != codeRefused {
			t.Fatalf("%s took the removed device's announce: %v", n.name, err)
		}
		if n.st.Blobs.Has(cv.Link) {
			t.Fatalf("%s stored the removed device's version", n.name)
		}
	}
}

// Streams that break while the devices stay connected: the pull is tried
// again on its own and finishes.
func TestBrokenStreamRetried(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{Parallel: 4})
	b := tn.addNode(t, "desktop", Config{Parallel: 4})
	id := shared(t, a, b)
	var mu sync.Mutex
	served := 0
	a.eng.testServed = func(tree.DeviceID, blob.ID) {
		mu.Lock()
		served++
		n := served
		mu.Unlock()
		if n == 10 {
			tn.drop(a, b)
		}
	}
	ab, _ := open(t, a, id)
	var last *bucket.Version
	a.muted.Store(true) // A announces nothing: B hears of the versions once, below
	for i := 0; i < 12; i++ {
		v, err := ab.Add(context.Background(), strings.NewReader(randomText(400<<10)), fmt.Sprintf("/f%02d.bin", i), 0o644, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		last = v
	}
	b.eng.PeerUp(a.id) // B asks A for its heads, once
	waitFor(t, "B to finish after the streams broke", 20*time.Second, func() bool { return b.head(t, id) == last.Link })
	if !b.logs.has("sync failed") || !b.logs.has("trying a failed pull again") {
		t.Fatal("the pull did not fail and get tried again")
	}
	checkOK(t, b, id)
}

// A long history missed while cut off comes in several answers.
func TestLongHistoryPaged(t *testing.T) {
	old := manifestsPerAnswer
	manifestsPerAnswer = 4
	t.Cleanup(func() { manifestsPerAnswer = old })
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	id := shared(t, a, b)
	tn.cut(a, b)
	for i := 0; i < 30; i++ {
		add(t, a, id, fmt.Sprintf("/f%d.txt", i%4), fmt.Sprintf("version %d", i))
	}
	add(t, b, id, "/b.txt", "meanwhile on B")
	tn.heal(a, b)
	waitSame(t, id, a, b)
	va, _ := a.st.DB.Versions(id)
	vb, _ := b.st.DB.Versions(id)
	if len(va) < 33 || len(vb) < 33 { // 31 + B's edit + a merge (both may merge; one merge is adopted)
		t.Fatalf("versions: %d on A, %d on B", len(va), len(vb))
	}
	if cat(t, b, id, "/f1.txt") != "version 29" || cat(t, a, id, "/b.txt") != "meanwhile on B" {
		t.Fatal("merge lost a side")
	}
	checkOK(t, a, id)
	checkOK(t, b, id)
}

// A blob damaged on disk on the serving device is sent as it is (the
// server does not hash what it sends); the receiver refuses it, stores
// nothing of it, and keeps its head.
func TestDamagedBlobOnServerRefused(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	id := shared(t, a, b)
	waitSame(t, id, a, b)
	_, before := open(t, b, id)
	a.muted.Store(true)
	v := add(t, a, id, "/big.bin", randomText(300<<10))
	ab, _ := open(t, a, id)
	blobs, err := ab.Blobs(v.Link)
	if err != nil {
		t.Fatal(err)
	}
	var victim blob.ID
	for _, bl := range blobs {
		if n, _ := a.st.Blobs.Size(bl); n > 200<<10 {
			victim = bl
		}
	}
	if victim.IsZero() {
		t.Fatal("no chunk of the new file found")
	}
	raw, err := a.st.Blobs.Get(victim, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/3] ^= 1
	if err := os.WriteFile(a.st.Blobs.Path(victim), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	a.muted.Store(false)
	a.eng.PeerUp(b.id)
	waitFor(t, "B to refuse the damaged blob", 10*time.Second, func() bool {
		p := peerState(t, b, id, a.id)
		return p.State == StateError && strings.Contains(p.Error, "does not match its hash")
	})
	if b.st.Blobs.Has(victim) || b.st.Blobs.Has(blob.Sum(raw)) {
		t.Fatal("the damaged blob was stored")
	}
	if b.head(t, id) != before.Link {
		t.Fatal("B's head moved")
	}
	if !b.logs.has("refused a damaged blob") {
		t.Fatal("damaged blob not logged")
	}
}
