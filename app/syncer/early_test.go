package syncer

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
)

// The chunks of a large write reach the other device while it streams,
// before any version refers to them; the pull after the save then finds
// them there and fetches none again.
func TestEarlyChunksArriveBeforeTheSave(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	id := shared(t, a, b)
	headB := b.head(t, id)
	served0 := a.eng.Stats().BlobsServed
	events, stop := b.eng.Subscribe()
	defer stop()
	data := make([]byte, 24<<20)
	rand.Read(data)
	ba, _ := open(t, a, id)
	refs, n, err := ba.WriteData(context.Background(), bytes.NewReader(data), nil)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("write: %d bytes, %v", n, err)
	}
	if len(refs) < 8 {
		t.Fatalf("only %d chunks", len(refs))
	}
	waitFor(t, "every chunk on b", 20*time.Second, func() bool {
		for _, r := range refs {
			if !b.st.Blobs.Has(r.Blob) {
				return false
			}
		}
		return true
	})
	if b.head(t, id) != headB {
		t.Fatal("b moved its head without a save")
	}
	waitFor(t, "b's status to show the prefetch over", 5*time.Second, func() bool {
		st, err := b.eng.Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Bucket == id {
				return s.Early == nil
			}
		}
		return false
	})
	// b told its subscribers (the tray) while it fetched, and when done.
	var began, ended bool
	for !ended {
		select {
		case ev := <-events:
			if ev.Kind == "early" && ev.Bucket == id {
				if ev.Early != nil {
					if len(ev.Early.From) != 1 || ev.Early.From[0] != "laptop" {
						t.Fatalf("early chunks from %q, want laptop", ev.Early.From)
					}
					began = true
				} else {
					ended = began
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no early events that end (began %v)", began)
		}
	}
	for _, r := range refs { // stored whole and checked
		if _, err := b.st.Blobs.Get(r.Blob, nil); err != nil {
			t.Fatal(err)
		}
	}
	served := a.eng.Stats().BlobsServed
	if served-served0 != int64(len(refs)) {
		t.Fatalf("a served %d blobs for %d chunks", served-served0, len(refs))
	}

	// The same bytes saved as a file are the same chunks (sealing is
	// deterministic): b's pull fetches only the new directory.
	add(t, a, id, "/big.bin", string(data))
	waitSame(t, id, a, b)
	if got := cat(t, b, id, "/big.bin"); got != string(data) {
		t.Fatal("b's file differs")
	}
	if d := a.eng.Stats().BlobsServed - served; d > 2 {
		t.Fatalf("the pull after the save fetched %d blobs again", d)
	}
	checkOK(t, b, id)
}

// Offers go only between devices in the bucket's shares, an offered chunk
// is served only under its own bucket, and a bad or missing offered chunk
// is dropped without harm to the sync that follows.
func TestEarlyChunksRefused(t *testing.T) {
	tn := newNet()
	a := tn.addNode(t, "laptop", Config{})
	b := tn.addNode(t, "desktop", Config{})
	c := tn.addNode(t, "stranger", Config{})
	id := shared(t, a, b) // not with c
	two := shared(t, a, b)
	refused := func(err error) {
		t.Helper()
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != codeRefused {
			t.Fatalf("not refused: %v", err)
		}
	}

	// A chunk a offers for bucket id: b gets it, c and bucket two do not.
	chunk := make([]byte, 300<<10)
	rand.Read(chunk)
	cid, err := a.st.Blobs.Put(chunk)
	if err != nil {
		t.Fatal(err)
	}
	a.eng.chunksStored(id, []blob.ID{cid})
	waitFor(t, "the offered chunk on b", 10*time.Second, func() bool { return b.st.Blobs.Has(cid) })
	_, err = c.dial(t, a.id).call(&message{Op: opBlob, Bucket: id, Blob: cid[:]})
	refused(err)
	_, err = b.dial(t, a.id).call(&message{Op: opBlob, Bucket: two, Blob: cid[:]})
	refused(err)
	if !a.logs.has("refused a blob outside the bucket") {
		t.Fatal("refusal not logged")
	}

	// c, not in the shares, cannot make b fetch from it.
	fetched := b.eng.Stats().BlobsFetched
	cchunk, _ := c.st.Blobs.Put(bytes.Repeat([]byte("x"), 200<<10))
	_, err = c.dial(t, b.id).call(&message{Op: opEarly, Bucket: id, Blobs: [][]byte{cchunk[:]}})
	refused(err)

	// Nor can a mirror of a bucket, which writes no versions.
	mb, err := b.st.Open(two)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Share(context.Background(), c.device(), bucket.Mirror); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mirror to have bucket two", 10*time.Second, func() bool { return c.head(t, two) == b.head(t, two) })
	_, err = c.dial(t, b.id).call(&message{Op: opEarly, Bucket: two, Blobs: [][]byte{cchunk[:]}})
	refused(err)
	if !b.logs.has("refused chunks offered by a mirror") {
		t.Fatal("the mirror's offer was not logged")
	}

	// A damaged chunk and one a does not have are dropped by b.
	bad := make([]byte, 300<<10)
	rand.Read(bad)
	badID, _ := a.st.Blobs.Put(bad)
	raw, _ := os.ReadFile(a.st.Blobs.Path(badID))
	raw[1000] ^= 1
	os.WriteFile(a.st.Blobs.Path(badID), raw, 0o600)
	var gone blob.ID
	rand.Read(gone[:])
	a.eng.chunksStored(id, []blob.ID{badID, gone})
	waitFor(t, "b to refuse the damaged chunk", 10*time.Second, func() bool { return b.logs.has("refused a damaged blob") })
	waitFor(t, "b's prefetch to end", 10*time.Second, func() bool {
		b.eng.mu.Lock()
		p := b.eng.prefetches[id]
		b.eng.mu.Unlock()
		p.mu.Lock()
		defer p.mu.Unlock()
		return !p.running
	})
	if b.st.Blobs.Has(badID) || b.st.Blobs.Has(gone) || b.st.Blobs.Has(cchunk) {
		t.Fatal("b stored a damaged, missing or stranger's chunk")
	}
	if got := b.eng.Stats().BlobsFetched; got != fetched {
		t.Fatalf("b fetched %d blobs after refusing", got-fetched)
	}

	// An offer expires: the chunk is no longer served, and it leaves the
	// list at the next prune.
	a.eng.mu.Lock()
	o := a.eng.offered[id]
	a.eng.mu.Unlock()
	o.mu.Lock()
	o.at[cid] = time.Now().Add(-earlyKeep - time.Second)
	o.pruned = time.Now().Add(-2 * time.Minute)
	o.mu.Unlock()
	_, err = b.dial(t, a.id).call(&message{Op: opBlob, Bucket: id, Blob: cid[:]})
	refused(err)
	a.eng.chunksStored(id, nil)
	o.mu.Lock()
	_, still := o.at[cid]
	o.mu.Unlock()
	if still {
		t.Fatal("an expired offer was kept")
	}

	// Sync goes on as before.
	add(t, a, id, "/after.txt", "still in step")
	waitSame(t, id, a, b)
	if got := cat(t, b, id, "/after.txt"); got != "still in step" {
		t.Fatalf("b has %q", got)
	}
}
