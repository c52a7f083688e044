package bucket

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/tree"
)

// A tree is stored as one sealed blob per directory. Unchanged directories
// encode to the same blob in every version (sealing is deterministic), so a
// version costs only the directories on the paths that changed.

// inlineChunks is the most chunk refs kept in a directory entry; longer lists
// (files over ~32 MiB) go to a blob of their own.
const inlineChunks = 64

// ErrBadTree is wrapped by every tree decoding failure.
var ErrBadTree = errors.New("damaged directory listing")

type ref struct {
	_     struct{} `cbor:",toarray"`
	Blob  blob.ID
	Epoch uint32
}

type chunkEnc struct {
	_     struct{} `cbor:",toarray"`
	Blob  blob.ID
	Size  uint32
	Epoch uint32
}

type revEnc struct {
	_      struct{} `cbor:",toarray"`
	Height uint64
	Device tree.DeviceID
}

func encRev(r tree.Rev) revEnc { return revEnc{Height: r.Height, Device: r.Device} }

func (r revEnc) rev() tree.Rev { return tree.Rev{Height: r.Height, Device: r.Device} }

type dirEntry struct {
	_      struct{} `cbor:",toarray"`
	ID     tree.ID
	Name   string
	Kind   tree.Kind
	Mode   uint32
	MTime  int64
	Size   int64
	Target string
	Rev    revEnc
	Chunks []chunkEnc
	List   *ref // chunk list blob, for long lists
	Sub    *ref // sub-directory blob
}

type dirBlob struct {
	_       struct{} `cbor:",toarray"`
	Mode    uint32
	MTime   int64
	Rev     revEnc
	Entries []dirEntry
}

func encChunks(cs []tree.ChunkRef) []chunkEnc {
	out := make([]chunkEnc, len(cs))
	for i, c := range cs {
		out[i] = chunkEnc{Blob: c.Blob, Size: c.Size, Epoch: c.Epoch}
	}
	return out
}

func decChunks(cs []chunkEnc) []tree.ChunkRef {
	out := make([]tree.ChunkRef, len(cs))
	for i, c := range cs {
		out[i] = tree.ChunkRef{Blob: c.Blob, Size: c.Size, Epoch: c.Epoch}
	}
	return out
}

// DecodeDir decodes a directory blob's plaintext.
func DecodeDir(b []byte) (*dirBlob, error) {
	var d dirBlob
	if err := decMode.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTree, err)
	}
	seen := make(map[string]bool, len(d.Entries))
	for _, e := range d.Entries {
		if err := tree.ValidName(e.Name); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadTree, err)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("%w: name %q twice", ErrBadTree, e.Name)
		}
		seen[e.Name] = true
		switch {
		case e.Kind == tree.Dir && e.Sub == nil, e.Kind != tree.Dir && e.Sub != nil:
			return nil, fmt.Errorf("%w: %q: directory link does not match its type", ErrBadTree, e.Name)
		case e.Kind != tree.File && e.Kind != tree.Dir && e.Kind != tree.Symlink:
			return nil, fmt.Errorf("%w: %q: unknown type %d", ErrBadTree, e.Name, e.Kind)
		case e.Size < 0:
			return nil, fmt.Errorf("%w: %q: negative size", ErrBadTree, e.Name)
		}
	}
	return &d, nil
}

// DecodeChunkList decodes a chunk list blob's plaintext.
func DecodeChunkList(b []byte) ([]tree.ChunkRef, error) {
	var cs []chunkEnc
	if err := decMode.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("%w: chunk list: %v", ErrBadTree, err)
	}
	return decChunks(cs), nil
}

// loadTree reads a whole tree from its root directory blob.
func (b *Bucket) loadTree(root ref) (*tree.Snapshot, error) {
	s := tree.New()
	d, err := b.readDir(root)
	if err != nil {
		return nil, fmt.Errorf("directory /: %w", err)
	}
	s.Put(&tree.Entry{ID: tree.Root, Kind: tree.Dir, Mode: d.Mode, MTime: d.MTime, Rev: d.Rev.rev()})
	if err := b.loadDir(s, tree.Root, "", d, 0); err != nil {
		return nil, err
	}
	return s, nil
}

func (b *Bucket) loadDir(s *tree.Snapshot, dir tree.ID, path string, d *dirBlob, depth int) error {
	if depth > 4096 {
		return fmt.Errorf("%s: %w: too deep", path, ErrBadTree)
	}
	for _, de := range d.Entries {
		p := path + "/" + de.Name
		if s.Get(de.ID) != nil {
			return fmt.Errorf("%s: %w: file id appears twice", p, ErrBadTree)
		}
		e := &tree.Entry{ID: de.ID, Parent: dir, Name: de.Name, Kind: de.Kind, Mode: de.Mode, MTime: de.MTime,
			Size: de.Size, Target: de.Target, Rev: de.Rev.rev()}
		switch {
		case de.List != nil:
			cs, err := b.readChunkList(*de.List)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			e.Chunks = cs
		case len(de.Chunks) > 0:
			e.Chunks = decChunks(de.Chunks)
		}
		s.Put(e)
		if de.Kind == tree.Dir {
			sub, err := b.readDir(*de.Sub)
			if err != nil {
				return fmt.Errorf("directory %s: %w", p, err)
			}
			if err := b.loadDir(s, de.ID, p, sub, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *Bucket) readDir(r ref) (*dirBlob, error) {
	if d, ok := b.store.dirs.get(r.Blob); ok {
		return d, nil
	}
	plain, err := b.open(r.Blob, r.Epoch)
	if err != nil {
		return nil, err
	}
	d, err := DecodeDir(plain)
	if err != nil {
		return nil, err
	}
	b.store.dirs.put(r.Blob, d)
	return d, nil
}

func (b *Bucket) readChunkList(r ref) ([]tree.ChunkRef, error) {
	plain, err := b.open(r.Blob, r.Epoch)
	if err != nil {
		return nil, err
	}
	return DecodeChunkList(plain)
}

// writeTree stores every directory of s and returns the root's ref.
//
// A directory whose entry and children are the same entries as when this
// bucket last wrote it (entries are replaced, never edited), and whose
// sub-directories wrote the same blobs, has the same blob: it is not encoded
// and sealed again. A save then costs a walk of the tree plus the
// directories that changed, instead of re-sealing the whole tree.
func (b *Bucket) writeTree(s *tree.Snapshot) (ref, error) {
	k, err := b.currentKey()
	if err != nil {
		return ref{}, err
	}
	b.written.mu.Lock()
	defer b.written.mu.Unlock()
	next := make(map[tree.ID]*writtenDir, len(b.written.m))
	r, err := b.writeDir(s, tree.Root, k.Epoch, next)
	if err == nil {
		b.written.m = next // directories no longer in the tree drop out
	}
	return r, err
}

// writtenDir is a directory as last written by this bucket.
type writtenDir struct {
	self  *tree.Entry
	kids  []*tree.Entry
	subs  []ref // blobs of the kids that are directories, in order
	lists map[tree.ID]listRef
	ref   ref
}

// listRef is the chunk list blob written for a file entry.
type listRef struct {
	e *tree.Entry
	r ref
}

type writtenCache struct {
	mu sync.Mutex
	m  map[tree.ID]*writtenDir
}

func (b *Bucket) writeDir(s *tree.Snapshot, dir tree.ID, epoch uint32, next map[tree.ID]*writtenDir) (ref, error) {
	self := s.Get(dir)
	kids := s.Children(dir)
	var subs []ref
	for _, e := range kids {
		if e.Kind == tree.Dir {
			r, err := b.writeDir(s, e.ID, epoch, next)
			if err != nil {
				return ref{}, err
			}
			subs = append(subs, r)
		}
	}
	prev := b.written.m[dir]
	if prev != nil && prev.self == self && prev.ref.Epoch == epoch && slices.Equal(prev.kids, kids) &&
		slices.Equal(prev.subs, subs) && b.store.Blobs.Has(prev.ref.Blob) {
		next[dir] = prev
		return prev.ref, nil
	}
	w := &writtenDir{self: self, kids: kids, subs: subs}
	d := dirBlob{Mode: self.Mode, MTime: self.MTime, Rev: encRev(self.Rev)}
	sub := 0
	for _, e := range kids {
		de := dirEntry{ID: e.ID, Name: e.Name, Kind: e.Kind, Mode: e.Mode, MTime: e.MTime, Size: e.Size,
			Target: e.Target, Rev: encRev(e.Rev)}
		if len(e.Chunks) > inlineChunks {
			// A long chunk list is sealed again only if the file changed.
			r, ok := b.list(prev, e, epoch)
			if !ok {
				var err error
				if r, err = b.seal(mustMarshal(encChunks(e.Chunks))); err != nil {
					return ref{}, err
				}
			}
			if w.lists == nil {
				w.lists = map[tree.ID]listRef{}
			}
			w.lists[e.ID] = listRef{e, r}
			de.List = &r
		} else if len(e.Chunks) > 0 {
			de.Chunks = encChunks(e.Chunks)
		}
		if e.Kind == tree.Dir {
			r := subs[sub]
			sub++
			de.Sub = &r
		}
		d.Entries = append(d.Entries, de)
	}
	// Children come sorted by name already.
	r, err := b.seal(mustMarshal(&d))
	if err != nil {
		return ref{}, err
	}
	w.ref = r
	next[dir] = w
	return r, nil
}

// list returns the chunk list blob last written for e, if e is the same
// entry and the epoch has not changed.
func (b *Bucket) list(w *writtenDir, e *tree.Entry, epoch uint32) (ref, bool) {
	if w == nil {
		return ref{}, false
	}
	l, ok := w.lists[e.ID]
	if !ok || l.e != e || l.r.Epoch != epoch || !b.store.Blobs.Has(l.r.Blob) {
		return ref{}, false
	}
	return l.r, true
}

func mustMarshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are encoded
	}
	return b
}
