package bucket

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/tree"
)

// Problem is one piece of damage found by Check.
type Problem struct {
	Version string `json:"version,omitempty"` // short link
	Height  uint64 `json:"height"`
	Path    string `json:"path,omitempty"`
	Error   string `json:"error"`
}

// Report is what Check found.
type Report struct {
	Bucket   string    `json:"bucket"`
	Versions int       `json:"versions"`
	Files    int       `json:"files"`
	Chunks   int       `json:"chunks"`
	Bytes    int64     `json:"bytes"`
	Problems []Problem `json:"problems"`
}

// OK reports whether nothing was found damaged.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Check verifies every version of the bucket: each manifest's signature and
// its place in the chain, every directory listing, and every chunk of every
// file (hash, decryption and length). progress, if set, is called with the
// chunks checked so far and the total.
func (b *Bucket) Check(ctx context.Context, progress func(done, total int)) (*Report, error) {
	rep := &Report{Bucket: b.Name, Problems: []Problem{}}
	versions, err := b.store.DB.Versions(b.ID.String())
	if err != nil {
		return nil, err
	}
	rep.Versions = len(versions)
	manifests := map[blob.ID]*Manifest{}
	type use struct {
		path   string
		height uint64
		link   blob.ID
	}
	chunks := map[tree.ChunkRef]use{}
	files := map[tree.ID]bool{}
	// Oldest first, so parents are verified before children.
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		link := blob.ID(v.Link)
		bad := func(path string, err error) {
			rep.Problems = append(rep.Problems, Problem{Version: link.Short(), Height: v.Height, Path: path, Error: err.Error()})
		}
		m, err := b.Manifest(link)
		if err != nil {
			bad("", err)
			continue
		}
		var parents []*Manifest
		for _, p := range m.Parents {
			if pm := manifests[p]; pm != nil {
				parents = append(parents, pm)
			}
		}
		if len(parents) == len(m.Parents) {
			if err := VerifyChild(m, parents); err != nil {
				bad("", err)
			}
		} else {
			bad("", fmt.Errorf("%w: a previous version is missing or damaged", ErrBadManifest))
		}
		manifests[link] = m
		if err := b.unlock(m); err != nil {
			bad("", err)
			continue
		}
		t, err := b.loadTree(ref{Blob: m.Root, Epoch: m.Epoch})
		if err != nil {
			bad("", err)
			continue
		}
		if err := t.Validate(); err != nil {
			bad("", fmt.Errorf("%w: %v", ErrBadTree, err))
		}
		t.Each(func(e *tree.Entry) {
			if e.Kind != tree.File {
				return
			}
			files[e.ID] = true
			var sum int64
			for _, c := range e.Chunks {
				sum += int64(c.Size)
				if _, ok := chunks[c]; !ok {
					chunks[c] = use{t.Path(e.ID), v.Height, link}
				}
			}
			if sum != e.Size {
				bad(t.Path(e.ID), fmt.Errorf("%w: size %d but chunks hold %d bytes", ErrBadTree, e.Size, sum))
			}
		})
	}
	rep.Files = len(files)
	rep.Chunks = len(chunks)

	refs := make([]tree.ChunkRef, 0, len(chunks))
	for c := range chunks {
		refs = append(refs, c)
	}
	sort.Slice(refs, func(i, j int) bool { return bytes.Compare(refs[i].Blob[:], refs[j].Blob[:]) < 0 })
	var done atomic.Int64
	var mu sync.Mutex // guards rep
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism())
	for _, c := range refs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			u := chunks[c]
			r := &FileReader{b: b, path: u.path, chunks: []tree.ChunkRef{c}, offs: []int64{0}}
			_, err := r.chunk(0, nil)
			mu.Lock()
			rep.Bytes += int64(c.Size)
			if err != nil {
				rep.Problems = append(rep.Problems, Problem{Version: u.link.Short(), Height: u.height, Path: u.path, Error: err.Error()})
			}
			mu.Unlock()
			if progress != nil {
				progress(int(done.Add(1)), len(refs))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Height > rep.Problems[j].Height })
	return rep, nil
}

// Import verifies a version received from elsewhere and records it. Its
// previous versions must already be recorded; the blobs it refers to should
// be stored first. It does not change the current version.
func (s *Store) Import(ctx context.Context, raw []byte) (*Manifest, blob.ID, error) {
	m, err := DecodeManifest(raw)
	if err != nil {
		return nil, blob.ID{}, err
	}
	link := blob.Sum(raw)
	b := &Bucket{store: s, ID: uuid.UUID(m.Bucket), Name: m.Name}
	if len(m.Parents) == 0 {
		// A bucket has one first version. Another one would pass its own
		// checks (its author lists itself as owner), so anyone who can
		// sign could take over a bucket this device already has.
		if _, err := s.DB.VersionByLink(b.ID.String(), link[:]); err != nil {
			if vs, err := s.DB.Versions(b.ID.String()); err == nil && len(vs) > 0 {
				return nil, link, fmt.Errorf("%w: a second first version of bucket %s", ErrBadManifest, b.ID)
			}
		}
	}
	var parents []*Manifest
	for _, p := range m.Parents {
		if _, err := s.DB.VersionByLink(b.ID.String(), p[:]); err != nil {
			return nil, link, fmt.Errorf("%w: previous version %s is unknown", ErrBadManifest, p.Short())
		}
		pm, err := b.Manifest(p)
		if err != nil {
			return nil, link, err
		}
		parents = append(parents, pm)
	}
	if err := VerifyChild(m, parents); err != nil {
		return nil, link, err
	}
	if _, err := s.Blobs.Put(raw); err != nil {
		return nil, link, err
	}
	if err := s.Blobs.Sync(); err != nil {
		return nil, link, err
	}
	v := db.Version{Link: link[:], Height: m.Height, Author: m.Author[:], Time: m.Time, IsMerge: len(m.Parents) > 1}
	for _, p := range m.Parents {
		v.Parents = append(v.Parents, bytes.Clone(p[:]))
	}
	if err := s.DB.AddVersion(ctx, b.ID.String(), m.Name, v, false); err != nil {
		return nil, link, err
	}
	return m, link, nil
}

// Blobs lists every blob one version needs: its manifest, directories,
// chunk lists and chunks.
func (b *Bucket) Blobs(link blob.ID) ([]blob.ID, error) {
	m, err := b.Manifest(link)
	if err != nil {
		return nil, err
	}
	if err := b.unlock(m); err != nil {
		return nil, err
	}
	out := []blob.ID{link}
	seen := map[blob.ID]bool{link: true}
	add := func(id blob.ID) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	var walk func(r ref) error
	walk = func(r ref) error {
		add(r.Blob)
		d, err := b.readDir(r)
		if err != nil {
			return err
		}
		for _, e := range d.Entries {
			for _, c := range e.Chunks {
				add(c.Blob)
			}
			if e.List != nil {
				add(e.List.Blob)
				cs, err := b.readChunkList(*e.List)
				if err != nil {
					return err
				}
				for _, c := range cs {
					add(c.Blob)
				}
			}
			if e.Sub != nil {
				if err := walk(*e.Sub); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(ref{Blob: m.Root, Epoch: m.Epoch})
}
