package bucket

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/identity"
)

// exported returns the raw manifests of a bucket, oldest first.
func exported(t *testing.T, b *Bucket) [][]byte {
	t.Helper()
	hist, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := len(hist) - 1; i >= 0; i-- {
		raw, err := b.store.Blobs.Get(hist[i].Link, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

func TestImportVerifiesManifests(t *testing.T) {
	ctx := context.Background()
	a := TestStore(t, "a")
	b, _ := a.Create(ctx, "docs")
	b.Add(ctx, strings.NewReader("x"), "f", 0o644, 1, nil)
	b.Add(ctx, strings.NewReader("y"), "f", 0o644, 2, nil)
	chain := exported(t, b)

	other := TestStore(t, "b")
	expect := func(raw []byte, want string) {
		t.Helper()
		_, _, err := other.Import(ctx, raw)
		if !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q, got %v", want, err)
		}
	}
	expect([]byte("garbage"), "cannot decode")
	expect(chain[1][:len(chain[1])/2], "cannot decode")
	bad := append([]byte(nil), chain[0]...)
	bad[len(bad)-5] ^= 1 // inside the signature
	expect(bad, "signature")
	expect(chain[1], "unknown") // previous version not imported yet

	for _, raw := range chain {
		if _, _, err := other.Import(ctx, raw); err != nil {
			t.Fatalf("valid chain refused: %v", err)
		}
	}

	// A validly signed manifest that lies about its height, and one by a
	// device that is not an owner of the bucket.
	m, _ := DecodeManifest(chain[2])
	m.Height = 7
	forged, _ := m.Sign(a.ID.Sign)
	expect(forged, "height 7, expected 2")
	stranger, _ := identity.Generate()
	m.Height = 2
	m.Author = stranger.ID()
	forged, _ = m.Sign(stranger.Sign)
	expect(forged, "may not write")
	m.Parents = []blob.ID{blob.Sum([]byte("nothing"))}
	m.Author = a.ID.ID()
	forged, _ = m.Sign(a.ID.Sign)
	expect(forged, "unknown")

	// A first version of the same bucket made by someone else: valid on
	// its own terms, but the bucket already has one.
	taker := TestStore(t, "c")
	own, _ := taker.Create(ctx, "mine")
	ownLink, _ := own.HeadLink()
	first, _ := own.Manifest(ownLink)
	first.Bucket = m.Bucket
	forged, _ = first.Sign(taker.ID.Sign)
	expect(forged, "second first version")
	if _, _, err := other.Import(ctx, chain[0]); err != nil {
		t.Fatalf("the bucket's own first version again: %v", err)
	}
}

func FuzzDecodeManifest(f *testing.F) {
	s := TestStore(f, "a")
	b, _ := s.Create(context.Background(), "docs")
	link, _ := b.HeadLink()
	raw, _ := s.Blobs.Get(link, nil)
	f.Add(raw)
	f.Add([]byte{0x8c})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeManifest(data)
		if err == nil && m.Sig == nil {
			t.Fatal("accepted an unsigned manifest")
		}
	})
}

func FuzzDecodeDir(f *testing.F) {
	d := dirBlob{Mode: 0o755, Entries: []dirEntry{{Name: "a.txt", Kind: 1, Size: 3, Chunks: []chunkEnc{{Size: 3}}}, {Name: "d", Kind: 2, Sub: &ref{}}}}
	f.Add(mustMarshal(&d))
	f.Add([]byte{0x84, 0x00, 0x00, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DecodeDir(data)
		if err != nil {
			return
		}
		names := map[string]bool{}
		for _, e := range d.Entries {
			if names[e.Name] || e.Name == "" || strings.Contains(e.Name, "/") {
				t.Fatalf("accepted a bad listing: %q", e.Name)
			}
			names[e.Name] = true
		}
	})
}

func FuzzDecodeChunkList(f *testing.F) {
	f.Add(mustMarshal([]chunkEnc{{Size: 1}, {Size: 2, Epoch: 1}}))
	f.Add([]byte{0x9f})
	f.Fuzz(func(t *testing.T, data []byte) {
		DecodeChunkList(data) // must not panic or hang
	})
}
