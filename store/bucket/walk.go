package bucket

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/tree"
)

// Node is a directory or chunk-list blob of a version's tree.
type Node struct {
	Blob  blob.ID
	Epoch uint32
	List  bool    // a chunk list, not a directory
	File  tree.ID // for a chunk list: the file it belongs to
}

// FileChunks is the chunk list of one file.
type FileChunks struct {
	ID     tree.ID
	Size   int64
	Chunks []tree.ChunkRef
}

// Walker reads a tree one blob at a time, so sync can fetch what is missing
// level by level. It works on versions not yet recorded (whose manifest is
// only in the blob store), of buckets this device may not know yet.
type Walker struct{ b *Bucket }

// Walker returns a walker over a bucket's blobs.
func (s *Store) Walker(bucketID uuid.UUID) *Walker {
	return &Walker{b: &Bucket{store: s, ID: bucketID, Name: bucketID.String()}}
}

// Root reads a stored manifest, unlocks the keys for it, and returns its
// root directory.
func (w *Walker) Root(link blob.ID) (Node, error) {
	m, err := w.b.Manifest(link)
	if err != nil {
		return Node{}, err
	}
	if err := w.b.unlock(m); err != nil {
		return Node{}, err
	}
	return Node{Blob: m.Root, Epoch: m.Epoch}, nil
}

// Expand reads a stored node: a directory gives its sub-directories, its
// long files' chunk lists and its other files' chunks; a chunk list gives
// the chunks of its file.
func (w *Walker) Expand(n Node) (nodes []Node, files []FileChunks, err error) {
	if n.List {
		cs, err := w.b.readChunkList(ref{Blob: n.Blob, Epoch: n.Epoch})
		if err != nil {
			return nil, nil, fmt.Errorf("chunk list %s: %w", n.Blob.Short(), err)
		}
		return nil, []FileChunks{{ID: n.File, Chunks: cs}}, nil
	}
	d, err := w.b.readDir(ref{Blob: n.Blob, Epoch: n.Epoch})
	if err != nil {
		return nil, nil, fmt.Errorf("directory %s: %w", n.Blob.Short(), err)
	}
	for _, e := range d.Entries {
		switch {
		case e.Sub != nil:
			nodes = append(nodes, Node{Blob: e.Sub.Blob, Epoch: e.Sub.Epoch})
		case e.List != nil:
			nodes = append(nodes, Node{Blob: e.List.Blob, Epoch: e.List.Epoch, List: true, File: e.ID})
		case len(e.Chunks) > 0:
			files = append(files, FileChunks{ID: e.ID, Size: e.Size, Chunks: decChunks(e.Chunks)})
		}
	}
	return nodes, files, nil
}
