package app

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/tree"
)

// AddPlan is what an add will store: the local files and their total size,
// known before any data is read so progress can be shown.
type AddPlan struct {
	items []addItem
	Bytes int64
	Files int
}

type addItem struct {
	local, remote string
	info          fs.FileInfo
	target        string    // symlink
	stream        io.Reader // local "-": the data
}

// PlanAdd walks local (a file, a directory or "-" for standard input) and
// maps it under remote in the bucket.
func PlanAdd(local, remote string) (*AddPlan, error) {
	if local == "-" {
		return PlanAddStream(os.Stdin, remote), nil
	}
	p := &AddPlan{}
	root, err := os.Lstat(local)
	if err != nil {
		return nil, err
	}
	if !root.IsDir() {
		return p, p.add(local, remote, root)
	}
	err = filepath.WalkDir(local, func(lp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(local, lp)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return p.add(lp, path.Join(remote, filepath.ToSlash(rel)), info)
	})
	return p, err
}

// PlanAddStream maps the data read from r to the file remote in the bucket.
func PlanAddStream(r io.Reader, remote string) *AddPlan {
	return &AddPlan{items: []addItem{{local: "-", remote: remote, stream: r}}, Files: 1}
}

func (p *AddPlan) add(local, remote string, info fs.FileInfo) error {
	it := addItem{local: local, remote: remote, info: info}
	switch {
	case info.Mode().IsRegular():
		p.Bytes += info.Size()
		p.Files++
	case info.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(local)
		if err != nil {
			return err
		}
		it.target = t
	case info.IsDir():
	default:
		return nil // sockets, devices and pipes are not stored
	}
	p.items = append(p.items, it)
	return nil
}

// Run stores the data (outside the bucket lock), then records every entry in
// one new version. progress gets the bytes stored so far.
func (p *AddPlan) Run(ctx context.Context, b *bucket.Bucket, progress func(done int64)) (*bucket.Version, error) {
	if _, err := b.Current(); err != nil {
		return nil, err
	}
	data := make([]bucket.FileData, len(p.items))
	var base int64
	for i, it := range p.items {
		if it.local != "-" && !it.info.Mode().IsRegular() {
			continue
		}
		var cb func(int64)
		if progress != nil {
			start := base
			cb = func(n int64) { progress(start + n) }
		}
		d, err := it.store(ctx, b, cb)
		if err != nil {
			if it.local == "-" {
				return nil, fmt.Errorf("add standard input: %w", err)
			}
			return nil, fmt.Errorf("add %s: %w", it.local, err)
		}
		data[i] = d
		base += d.Size
	}
	return b.Edit(ctx, func(tx *bucket.Tx) error {
		for i, it := range p.items {
			var err error
			switch {
			case it.local == "-" || it.info.Mode().IsRegular():
				_, err = tx.PutFile(it.remote, data[i])
			case it.info.IsDir():
				var e *tree.Entry
				if e, err = tx.Mkdir(it.remote, uint32(it.info.Mode().Perm()), true); err == nil && tree.SplitPath(it.remote) != nil {
					c := e.Clone()
					c.Mode = uint32(it.info.Mode().Perm())
					tx.Tree.Put(c)
				}
			default:
				_, err = tx.PutSymlink(it.remote, it.target, it.info.ModTime().UnixNano())
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// store streams one file (or standard input) into the bucket's blobs. The
// file is closed before the next one opens: a large tree must not hold a
// descriptor per file.
func (it addItem) store(ctx context.Context, b *bucket.Bucket, progress func(int64)) (bucket.FileData, error) {
	if it.local == "-" {
		chunks, size, err := b.WriteData(ctx, it.stream, progress)
		return bucket.FileData{Chunks: chunks, Size: size, Mode: 0o644, MTime: time.Now().UnixNano()}, err
	}
	f, err := os.Open(it.local)
	if err != nil {
		return bucket.FileData{}, err
	}
	defer f.Close()
	var r io.Reader = f
	if onFUSE(f) {
		r = struct{ io.Reader }{f} // read, not mapped: see onFUSE
	}
	chunks, size, err := b.WriteData(ctx, r, progress)
	return bucket.FileData{Chunks: chunks, Size: size, Mode: uint32(it.info.Mode().Perm()), MTime: it.info.ModTime().UnixNano()}, err
}
