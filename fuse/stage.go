package fuse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"

	"github.com/jax-desktop/jax/store/chunker"
	"github.com/jax-desktop/jax/store/tree"
)

// Contents written through the mount are held, until the file's last
// handle closes, in one of four forms (guarded by openFile.mu):
//
//   - mem: a small file written from its start sits in memory, at most
//     memMax bytes per file and memBudget per mount; committing it seals
//     one chunk, with no file on disk besides its blob.
//   - stream: a file written sequentially from its start past memMax is
//     chunked, sealed and stored as the writes arrive, so a large copy is
//     written to disk once, and sealing overlaps with the writer.
//   - stored: the chunks a finished stream stored (after a commit, or a
//     read of the file while it was streaming).
//   - file: any other pattern (a write in the middle of a stored file, a
//     truncation to a non-zero size, ...) works on a staging file on local
//     disk holding the whole contents; other forms move there first.
//
// Memory never scales with file size: mem is bounded, a stream holds a few
// chunks in flight, and at most maxStreams streams run at once per mount
// (further writers use staging files).
const (
	memMax     = chunker.MinSize // a file this small is one chunk
	memBudget  = 64 << 20
	maxStreams = 4
)

// errStreamEnded is what a write to a stream gets after its end.
var errStreamEnded = errors.New("stream already ended")

// stream stores contents as they are written: writes go down a pipe into
// bucket.WriteData running in its own goroutine. A failure there shows at
// a later write or at finish (close), as the pipe buffers a few writes.
type stream struct {
	pw *pipe
	n  int64 // bytes written so far

	done   chan struct{} // closed when WriteData returned; then:
	chunks []tree.ChunkRef
	size   int64
	err    error
}

// startStream starts a stream, or returns nil if maxStreams run already.
func (f *FS) startStream() *stream {
	select {
	case f.streams <- struct{}{}:
	default:
		return nil
	}
	p := newPipe()
	s := &stream{pw: p, done: make(chan struct{})}
	go func() {
		s.chunks, s.size, s.err = f.b.WriteData(context.Background(), p, nil)
		// A writer blocked on the pipe must not wait forever if WriteData
		// gave up early.
		if s.err != nil {
			p.closeRead(s.err)
		} else {
			p.closeRead(errStreamEnded)
		}
		<-f.streams
		close(s.done)
	}()
	return s
}

func (s *stream) write(p []byte) error {
	k, err := s.pw.Write(p)
	s.n += int64(k)
	return err
}

// finish ends the stream and returns what it stored. It may be called again.
func (s *stream) finish() ([]tree.ChunkRef, int64, error) {
	s.pw.closeWrite(nil)
	<-s.done
	if s.err == nil && s.size != s.n {
		s.err = fmt.Errorf("stored %d of %d bytes written", s.size, s.n)
	}
	return s.chunks, s.size, s.err
}

// abort ends the stream, dropping what it stored.
func (s *stream) abort() {
	s.pw.closeWrite(errStreamEnded)
	<-s.done
}

// startMemLocked begins holding the contents in memory, empty, if the
// mount's memory budget allows. Callers hold of.mu.
func (f *FS) startMemLocked(of *openFile) bool {
	if f.memUsed.Add(memMax) > memBudget {
		f.memUsed.Add(-memMax)
		return false
	}
	of.memOn, of.mem = true, nil
	return true
}

func (f *FS) endMemLocked(of *openFile) {
	if of.memOn {
		of.memOn, of.mem = false, nil
		f.memUsed.Add(-memMax)
	}
}

// dropStagedLocked forgets the staged contents in whatever form. Callers
// hold of.mu.
func (f *FS) dropStagedLocked(of *openFile) {
	if of.staging != nil {
		of.staging.Close()
		of.staging = nil
	}
	f.endMemLocked(of)
	if of.stream != nil {
		of.stream.abort()
		of.stream = nil
	}
	of.stored = nil
	of.staged.Store(false)
}

// beginLocked starts staging an empty file in memory (or, past the memory
// budget, in a staging file), dropping any earlier form. The first time,
// the staging matches e. Callers hold of.mu.
func (n *node) beginEmptyLocked(of *openFile, e *tree.Entry, path string) syscall.Errno {
	f := n.fsys
	first := !of.staged.Load()
	f.dropStagedLocked(of)
	if !f.startMemLocked(of) {
		if errno := n.fileLocked(of, nil, path); errno != 0 {
			return errno
		}
		if err := of.staging.Truncate(0); err != nil {
			return fs.ToErrno(err)
		}
	}
	of.size.Store(0)
	if first && e != nil {
		of.mtime.Store(e.MTime)
		of.stagedFrom.Store(e)
	}
	of.staged.Store(true)
	return 0
}

// writeLocked writes data at off into the staged contents, in the cheapest
// form that can hold them. Callers hold of.mu.
func (n *node) writeLocked(of *openFile, e *tree.Entry, path string, data []byte, off int64) (int, syscall.Errno) {
	f := n.fsys
	if !of.staged.Load() && off == 0 && (e == nil || e.Size == 0) {
		// A new or emptied file written from its start.
		if errno := n.beginEmptyLocked(of, e, path); errno != 0 {
			return 0, errno
		}
	}
	end := off + int64(len(data))
	if of.memOn {
		if end <= memMax {
			if int64(len(of.mem)) < end {
				of.mem = append(of.mem, make([]byte, end-int64(len(of.mem)))...)
			}
			copy(of.mem[off:], data)
			return len(data), 0
		}
		if off == int64(len(of.mem)) {
			if s := f.startStream(); s != nil {
				err := s.write(of.mem)
				f.endMemLocked(of)
				of.stream = s
				if err == nil {
					err = s.write(data)
				}
				if err != nil {
					f.log.Error("store file contents", "path", path, "err", err)
					return 0, syscall.EIO
				}
				return len(data), 0
			}
		}
	}
	if of.stream != nil && off == of.stream.n {
		if err := of.stream.write(data); err != nil {
			f.log.Error("store file contents", "path", path, "err", err)
			return 0, syscall.EIO
		}
		return len(data), 0
	}
	if errno := n.fileLocked(of, e, path); errno != 0 {
		return 0, errno
	}
	k, err := of.staging.WriteAt(data, off)
	if err != nil {
		return k, fs.ToErrno(err)
	}
	return k, 0
}

// fileLocked makes sure the staged contents are in a staging file, moving
// them there from their current form, or filling it with e's stored
// contents if nothing is staged yet. Callers hold of.mu.
func (n *node) fileLocked(of *openFile, e *tree.Entry, path string) syscall.Errno {
	if of.staging != nil {
		return 0
	}
	f := n.fsys
	staged := of.staged.Load()
	if of.stream != nil {
		chunks, size, err := of.stream.finish()
		if err != nil {
			f.log.Error("store file contents", "path", path, "err", err)
			return syscall.EIO
		}
		of.stream = nil
		of.stored = &tree.Entry{Kind: tree.File, Chunks: chunks, Size: size}
	}
	sf, err := os.CreateTemp(f.opt.StagingDir, "jax-stage-*")
	if err != nil {
		f.log.Error("create staging file", "path", path, "err", err)
		return fs.ToErrno(err)
	}
	os.Remove(sf.Name()) // lives as long as the descriptor
	var from *tree.Entry
	switch {
	case of.memOn:
		_, err = sf.Write(of.mem)
	case of.stored != nil:
		from = of.stored
	case !staged && e != nil:
		from = e
	}
	if err == nil && from != nil && from.Size > 0 {
		_, err = f.b.NewReader(from, path).WriteTo(sf)
	}
	if err != nil {
		sf.Close()
		return f.readErrno(path, err)
	}
	f.endMemLocked(of)
	of.stored = nil
	of.staging = sf
	if !staged {
		size := int64(0)
		if e != nil {
			size = e.Size
			of.mtime.Store(e.MTime)
			of.stagedFrom.Store(e)
		}
		of.size.Store(size)
		of.staged.Store(true)
	}
	return 0
}

// readStagedLocked reads staged contents at off into dest. It reports
// false if they are held as stored chunks (or nothing is staged), for the
// caller to read those through the chunk cache. Callers hold of.mu.
func (f *FS) readStagedLocked(of *openFile, path string, dest []byte, off int64) (int, bool, syscall.Errno) {
	switch {
	case of.staging != nil:
		k, err := of.staging.ReadAt(dest, off)
		if err != nil && err != io.EOF {
			return 0, true, fs.ToErrno(err)
		}
		return k, true, 0
	case of.memOn:
		if off >= int64(len(of.mem)) {
			return 0, true, 0
		}
		return copy(dest, of.mem[off:]), true, 0
	case of.stream != nil:
		// Reading a file while it streams: end the stream, read its chunks.
		chunks, size, err := of.stream.finish()
		if err != nil {
			f.log.Error("store file contents", "path", path, "err", err)
			return 0, true, syscall.EIO
		}
		of.stream = nil
		of.stored = &tree.Entry{Kind: tree.File, Chunks: chunks, Size: size}
	}
	return 0, false, 0
}

// storeLocked stores the staged contents as chunks (a stream's are stored
// already). Callers hold of.mu.
func (f *FS) storeLocked(ctx context.Context, of *openFile, size int64) ([]tree.ChunkRef, int64, error) {
	switch {
	case of.staging != nil:
		return f.b.WriteData(ctx, io.NewSectionReader(of.staging, 0, size), nil)
	case of.memOn:
		return f.b.WriteData(ctx, bytes.NewReader(of.mem), nil)
	case of.stream != nil:
		chunks, n, err := of.stream.finish()
		if err != nil {
			return nil, 0, err
		}
		of.stream = nil
		of.stored = &tree.Entry{Kind: tree.File, Chunks: chunks, Size: n}
	}
	if of.stored != nil {
		return of.stored.Chunks, of.stored.Size, nil
	}
	return nil, 0, errors.New("nothing staged")
}
