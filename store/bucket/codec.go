package bucket

import (
	"errors"
	"fmt"
	"sort"

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
func (b *Bucket) writeTree(s *tree.Snapshot) (ref, error) {
	return b.writeDir(s, tree.Root)
}

func (b *Bucket) writeDir(s *tree.Snapshot, dir tree.ID) (ref, error) {
	self := s.Get(dir)
	d := dirBlob{Mode: self.Mode, MTime: self.MTime, Rev: encRev(self.Rev)}
	for _, e := range s.Children(dir) {
		de := dirEntry{ID: e.ID, Name: e.Name, Kind: e.Kind, Mode: e.Mode, MTime: e.MTime, Size: e.Size,
			Target: e.Target, Rev: encRev(e.Rev)}
		if len(e.Chunks) > inlineChunks {
			r, err := b.seal(mustMarshal(encChunks(e.Chunks)))
			if err != nil {
				return ref{}, err
			}
			de.List = &r
		} else if len(e.Chunks) > 0 {
			de.Chunks = encChunks(e.Chunks)
		}
		if e.Kind == tree.Dir {
			r, err := b.writeDir(s, e.ID)
			if err != nil {
				return ref{}, err
			}
			de.Sub = &r
		}
		d.Entries = append(d.Entries, de)
	}
	sort.Slice(d.Entries, func(i, j int) bool { return d.Entries[i].Name < d.Entries[j].Name })
	return b.seal(mustMarshal(&d))
}

func mustMarshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are encoded
	}
	return b
}
