package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/jax-desktop/jax/store/tree"
)

var (
	// ErrExists means the destination of a create or move is taken.
	ErrExists = errors.New("already exists")
	// ErrNotEmpty means a directory to remove still has entries.
	ErrNotEmpty = errors.New("directory not empty")
	// ErrIsDir means a file operation met a directory.
	ErrIsDir = errors.New("is a directory")
)

// touch sets a directory's mtime to the edit's time, as POSIX does when its
// entries change.
func (tx *Tx) touch(dir tree.ID) {
	d := tx.Tree.Get(dir).Clone()
	d.MTime = tx.Now
	tx.Tree.Put(d)
}

// parentOf resolves the directory that will hold p and p's last name.
func (tx *Tx) parentOf(p string, mkdirs bool) (*tree.Entry, string, error) {
	parts := tree.SplitPath(p)
	if len(parts) == 0 {
		return nil, "", fmt.Errorf("%q: the root cannot be replaced", p)
	}
	name := parts[len(parts)-1]
	if err := tree.ValidName(name); err != nil {
		return nil, "", err
	}
	dir := tx.Tree.Root()
	for i, n := range parts[:len(parts)-1] {
		c := tx.Tree.Child(dir.ID, n)
		if c == nil {
			if !mkdirs {
				return nil, "", fmt.Errorf("/%s: %w", path.Join(parts[:i+1]...), tree.ErrNotFound)
			}
			c = &tree.Entry{ID: tree.NewID(), Parent: dir.ID, Name: n, Kind: tree.Dir, Mode: 0o755, MTime: tx.Now}
			tx.Tree.Put(c)
			tx.touch(dir.ID)
		}
		if c.Kind != tree.Dir {
			return nil, "", fmt.Errorf("/%s: %w", path.Join(parts[:i+1]...), tree.ErrNotDir)
		}
		dir = c
	}
	return dir, name, nil
}

// Mkdir creates a directory; with parents, missing parents too and an
// existing directory is not an error.
func (tx *Tx) Mkdir(p string, mode uint32, parents bool) (*tree.Entry, error) {
	dir, name, err := tx.parentOf(p, parents)
	if err != nil {
		return nil, err
	}
	if c := tx.Tree.Child(dir.ID, name); c != nil {
		if parents && c.Kind == tree.Dir {
			return c, nil
		}
		return nil, fmt.Errorf("%s: %w", p, ErrExists)
	}
	e := &tree.Entry{ID: tree.NewID(), Parent: dir.ID, Name: name, Kind: tree.Dir, Mode: mode & 0o7777, MTime: tx.Now}
	tx.Tree.Put(e)
	tx.touch(dir.ID)
	return e, nil
}

// FileData is the content of a file to put in the tree.
type FileData struct {
	Chunks []tree.ChunkRef
	Size   int64
	Mode   uint32
	MTime  int64
}

// PutFile writes a file at p, creating missing parent directories. An
// existing file keeps its ID (so history and merges follow it); an existing
// directory is refused.
func (tx *Tx) PutFile(p string, d FileData) (*tree.Entry, error) {
	dir, name, err := tx.parentOf(p, true)
	if err != nil {
		return nil, err
	}
	e := &tree.Entry{ID: tree.NewID(), Parent: dir.ID, Name: name, Kind: tree.File}
	if old := tx.Tree.Child(dir.ID, name); old != nil {
		if old.Kind == tree.Dir {
			return nil, fmt.Errorf("%s: %w", p, ErrIsDir)
		}
		e.ID = old.ID
	}
	e.Chunks, e.Size, e.Mode, e.MTime = d.Chunks, d.Size, d.Mode&0o7777, d.MTime
	tx.Tree.Put(e)
	tx.touch(dir.ID)
	return e, nil
}

// Move renames src to dst. An existing file at dst is replaced; an existing
// directory at dst is refused. Moving a directory into itself is refused.
func (tx *Tx) Move(src, dst string) error {
	e, err := tx.Tree.Lookup(src)
	if err != nil {
		return err
	}
	if e.ID == tree.Root {
		return errors.New("the root cannot be moved")
	}
	dir, name, err := tx.parentOf(dst, false)
	if err != nil {
		return err
	}
	if tx.Tree.IsAncestor(e.ID, dir.ID) {
		return fmt.Errorf("cannot move %s into itself", src)
	}
	if old := tx.Tree.Child(dir.ID, name); old != nil && old.ID != e.ID {
		if old.Kind == tree.Dir {
			return fmt.Errorf("%s: %w", dst, ErrExists)
		}
		tx.Tree.Delete(old.ID)
	}
	from := e.Parent
	c := e.Clone()
	c.Parent, c.Name = dir.ID, name
	tx.Tree.Put(c)
	tx.touch(from)
	tx.touch(dir.ID)
	return nil
}

// Remove deletes p; a non-empty directory only with recursive.
func (tx *Tx) Remove(p string, recursive bool) error {
	e, err := tx.Tree.Lookup(p)
	if err != nil {
		return err
	}
	if e.ID == tree.Root {
		return errors.New("the root cannot be removed")
	}
	if e.Kind == tree.Dir && !recursive && len(tx.Tree.Children(e.ID)) > 0 {
		return fmt.Errorf("%s: %w", p, ErrNotEmpty)
	}
	tx.Tree.DeleteTree(e.ID)
	tx.touch(e.Parent)
	return nil
}

// Add streams r into the bucket as the file at p. The data is stored before
// the bucket is locked, so a long add does not hold up other edits.
func (b *Bucket) Add(ctx context.Context, r io.Reader, p string, mode uint32, mtime int64, progress func(int64)) (*Version, error) {
	if _, err := b.Current(); err != nil { // loads the keys and fails early on a bad bucket
		return nil, err
	}
	chunks, size, err := b.WriteData(ctx, r, progress)
	if err != nil {
		return nil, fmt.Errorf("add %s: %w", p, err)
	}
	return b.Edit(ctx, func(tx *Tx) error {
		_, err := tx.PutFile(p, FileData{Chunks: chunks, Size: size, Mode: mode, MTime: mtime})
		return err
	})
}

// Cat streams the file at p in version v to w.
func (b *Bucket) Cat(v *Version, p string, w io.Writer) (int64, error) {
	e, err := v.Tree.Lookup(p)
	if err != nil {
		return 0, err
	}
	if e.Kind == tree.Dir {
		return 0, fmt.Errorf("%s: %w", p, ErrIsDir)
	}
	if e.Kind == tree.Symlink {
		n, err := io.WriteString(w, e.Target)
		return int64(n), err
	}
	return b.NewReader(e, v.Tree.Path(e.ID)).WriteTo(w)
}

// PutSymlink creates or replaces a symlink at p.
func (tx *Tx) PutSymlink(p, target string, mtime int64) (*tree.Entry, error) {
	dir, name, err := tx.parentOf(p, true)
	if err != nil {
		return nil, err
	}
	e := &tree.Entry{ID: tree.NewID(), Parent: dir.ID, Name: name, Kind: tree.Symlink, Mode: 0o777,
		MTime: mtime, Target: target, Size: int64(len(target))}
	if old := tx.Tree.Child(dir.ID, name); old != nil {
		if old.Kind == tree.Dir {
			return nil, fmt.Errorf("%s: %w", p, ErrIsDir)
		}
		e.ID = old.ID
	}
	tx.Tree.Put(e)
	tx.touch(dir.ID)
	return e, nil
}
