package fuse

import (
	"context"
	"errors"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"

	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/merge"
	"github.com/jax-desktop/jax/store/tree"
)

// openFile is the state shared by every open handle of one file: a reader of
// the stored contents and, once something writes, the whole new contents
// until they are committed (in one of the forms described in stage.go).
type openFile struct {
	id tree.ID

	// Guarded by FS.mu.
	refs       int
	writers    int         // handles open for writing
	path       string      // last known path, to recreate the file if sync deleted it
	unlinked   bool        // removed through this mount: commits are dropped
	entry      *tree.Entry // last entry seen, for the mode of a recreated file
	appliedGen uint64      // newest staging generation put in the working tree

	// Readable without locks (getattr must not wait for a commit).
	staged     atomic.Bool // the staged contents are the file's
	size       atomic.Int64
	mtime      atomic.Int64
	stagedFrom atomic.Pointer[tree.Entry] // stored contents the staging matches when clean
	gen        atomic.Uint64              // bumped (under mu) on every change to staging

	mu         sync.Mutex  // guards the fields below; never held while taking FS.mu
	staging    *os.File    // form file
	mem        []byte      // form mem, when memOn
	memOn      bool        //
	stream     *stream     // form stream
	stored     *tree.Entry // form stored: chunks and size only
	committed  uint64      // gen last stored as chunks
	reader     *bucket.FileReader
	readerOf   *tree.Entry
	offs       []int64 // start of each chunk of readerOf
	prefetched int     // chunk whose successors were last asked for
}

// handle is one open file description.
type handle struct {
	of    *openFile
	write bool
}

// openLocked registers a handle on n. Callers hold fsys.mu.
func (n *node) openLocked(e *tree.Entry, flags uint32) *handle {
	f := n.fsys
	of := n.of
	if of == nil {
		of = &openFile{id: n.id}
		n.of = of
		f.open[of] = struct{}{}
	}
	of.refs++
	h := &handle{of: of, write: flags&syscall.O_ACCMODE != syscall.O_RDONLY}
	if h.write {
		of.writers++
	}
	of.entry = e
	if p := f.work.Path(n.id); p != "" {
		of.path = p
	}
	return h
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	f := n.fsys
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	trunc := write && flags&syscall.O_TRUNC != 0
	if f.opt.ReadOnly && (write || flags&syscall.O_TRUNC != 0) {
		return nil, 0, syscall.EROFS
	}
	f.mu.Lock()
	e := f.work.Get(n.id)
	if e == nil {
		f.mu.Unlock()
		return nil, 0, syscall.ENOENT
	}
	if e.Kind == tree.Dir {
		f.mu.Unlock()
		return nil, 0, syscall.EISDIR
	}
	h := n.openLocked(e, flags)
	f.mu.Unlock()
	if trunc {
		if errno := n.truncateStaging(h.of, e, 0); errno != 0 {
			n.Release(ctx, h)
			return nil, 0, errno
		}
	}
	var fuseFlags uint32
	if !write {
		// Pages stay valid across opens: every change that does not come
		// through the kernel is invalidated explicitly.
		fuseFlags = gofuse.FOPEN_KEEP_CACHE
	}
	return h, fuseFlags, 0
}

// current returns the file's entry and path. It takes fsys.mu.
func (n *node) current() (*tree.Entry, string) {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	e, _ := n.entry()
	p := f.work.Path(n.id)
	if n.of != nil {
		if p == "" {
			p = n.of.path
		} else {
			n.of.path = p // follows local renames, for recreating the file
		}
	}
	return e, p
}

// dropStaleLocked forgets clean staged contents that were replaced in the
// tree (by a merge or sync). Callers hold of.mu.
func (f *FS) dropStaleLocked(of *openFile, e *tree.Entry) {
	if !of.staged.Load() || of.gen.Load() != of.committed || e == nil {
		return
	}
	if sf := of.stagedFrom.Load(); sf != nil && !sf.SameData(e) {
		f.dropStagedLocked(of)
	}
}

// readErrno logs a failed read of stored data and maps it to an errno.
func (f *FS) readErrno(path string, err error) syscall.Errno {
	if errors.Is(err, bucket.ErrDamaged) {
		f.log.Error("integrity check failed", "path", path, "err", err)
	} else {
		f.log.Error("read failed", "path", path, "err", err)
	}
	return syscall.EIO
}

func (n *node) handleOf(fh fs.FileHandle) *handle {
	if h, ok := fh.(*handle); ok {
		return h
	}
	return nil
}

func (n *node) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (gofuse.ReadResult, syscall.Errno) {
	h := n.handleOf(fh)
	if h == nil {
		return nil, syscall.EBADF
	}
	of := h.of
	e, path := n.current()
	of.mu.Lock()
	defer of.mu.Unlock()
	f := n.fsys
	f.dropStaleLocked(of, e)
	if k, done, errno := f.readStagedLocked(of, path, dest, off); errno != 0 {
		return nil, errno
	} else if done {
		return gofuse.ReadResultData(dest[:k]), 0
	}
	if of.stored != nil {
		e = of.stored
	}
	if e == nil {
		return nil, syscall.ENOENT
	}
	if of.reader == nil || !of.readerOf.SameData(e) {
		of.reader, of.readerOf, of.prefetched = n.fsys.b.NewReader(e, path), e, -1
		of.offs = make([]int64, len(e.Chunks))
		var o int64
		for i, c := range e.Chunks {
			of.offs[i] = o
			o += int64(c.Size)
		}
	}
	reply, errno := n.fsys.readChunks(of, path, len(dest), off)
	if errno != 0 {
		return nil, errno
	}
	return reply, 0
}

// readChunks fills dest from stored contents at off, one whole chunk at a
// time through the chunk cache. Callers hold of.mu.
//
// The result points into the cached chunks (never modified), so the reply
// goes to the kernel without another copy.
func (f *FS) readChunks(of *openFile, path string, want int, off int64) (*chunkReply, syscall.Errno) {
	e := of.readerOf
	out := &chunkReply{}
	for n := 0; n < want && off < e.Size; {
		i := sort.Search(len(of.offs), func(i int) bool { return of.offs[i] > off }) - 1
		c := e.Chunks[i]
		ch, err := f.fetch(of.reader, i, c.Blob)
		if err != nil {
			out.Done()
			return nil, f.readErrno(path, err)
		}
		out.chunks = append(out.chunks, ch)
		// Sequential readers find the next chunks decrypted already:
		// disk reads and decryption overlap with the reader's own work.
		// Once per chunk, not per request: a chunk spans several.
		if i != of.prefetched {
			of.prefetched = i
			for j := i + 1; j < len(e.Chunks) && j <= i+readAhead; j++ {
				f.prefetch(of.reader, j, e.Chunks[j].Blob)
			}
		}
		part := ch.data[off-of.offs[i]:]
		part = part[:min(len(part), want-n)]
		out.parts = append(out.parts, part)
		n += len(part)
		off += int64(len(part))
	}
	return out, 0
}

func (n *node) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h := n.handleOf(fh)
	if h == nil || !h.write {
		return 0, syscall.EBADF
	}
	of := h.of
	e, path := n.current()
	of.mu.Lock()
	defer of.mu.Unlock()
	n.fsys.dropStaleLocked(of, e)
	k, errno := n.writeLocked(of, e, path, data, off)
	if k > 0 {
		if end := off + int64(k); end > of.size.Load() {
			of.size.Store(end)
		}
		of.mtime.Store(time.Now().UnixNano())
		of.gen.Add(1)
	}
	return uint32(k), errno
}

// truncateStaging cuts or extends the staged contents to size.
func (n *node) truncateStaging(of *openFile, e *tree.Entry, size int64) syscall.Errno {
	_, path := n.current()
	of.mu.Lock()
	defer of.mu.Unlock()
	n.fsys.dropStaleLocked(of, e)
	switch {
	case size == 0:
		if errno := n.beginEmptyLocked(of, e, path); errno != 0 {
			return errno
		}
	case of.memOn && size <= memMax:
		if int64(len(of.mem)) < size {
			of.mem = append(of.mem, make([]byte, size-int64(len(of.mem)))...)
		}
		of.mem = of.mem[:size]
	default:
		if errno := n.fileLocked(of, e, path); errno != 0 {
			return errno
		}
		if err := of.staging.Truncate(size); err != nil {
			return fs.ToErrno(err)
		}
	}
	of.size.Store(size)
	of.mtime.Store(time.Now().UnixNano())
	of.gen.Add(1)
	return 0
}

// truncate sets a file's length (setattr), committing at once.
func (n *node) truncate(ctx context.Context, size int64) syscall.Errno {
	f := n.fsys
	f.mu.Lock()
	e, _ := n.entry()
	if e == nil {
		f.mu.Unlock()
		return syscall.ENOENT
	}
	if e.Kind != tree.File {
		f.mu.Unlock()
		return syscall.EISDIR
	}
	h := n.openLocked(e, syscall.O_WRONLY)
	f.mu.Unlock()
	errno := n.truncateStaging(h.of, e, size)
	if rerr := n.release(ctx, h, errno == 0); errno == 0 {
		errno = rerr
	}
	return errno
}

// commit stores the staged contents as chunks and puts them in the working
// tree, scheduling a save.
func (f *FS) commit(ctx context.Context, of *openFile) syscall.Errno {
	of.mu.Lock()
	if !of.staged.Load() || of.gen.Load() == of.committed {
		of.mu.Unlock()
		return 0
	}
	gen, size, mtime := of.gen.Load(), of.size.Load(), of.mtime.Load()
	chunks, n, err := f.storeLocked(ctx, of, size)
	if err != nil {
		of.mu.Unlock()
		f.log.Error("store file contents", "path", of.lastPath(f), "err", err)
		return syscall.EIO
	}
	of.committed = gen
	of.mu.Unlock()

	f.mu.Lock()
	defer f.mu.Unlock()
	if gen <= of.appliedGen || of.unlinked {
		return 0
	}
	of.appliedGen = gen
	var ne *tree.Entry
	if e := f.work.Get(of.id); e != nil {
		if sf := of.stagedFrom.Load(); sf != nil && !e.SameData(sf) {
			f.conflictCopyLocked(e)
		}
		ne = e.Clone()
		ne.Chunks, ne.Size, ne.MTime = chunks, n, mtime
		f.work.Put(ne)
	} else {
		// Deleted elsewhere (sync) while open here: the write wins, at the
		// path the file last had.
		mode := uint32(0o644)
		if of.entry != nil {
			mode = of.entry.Mode
		}
		tx := &bucket.Tx{Tree: f.work, Now: time.Now().UnixNano()}
		ne, err = tx.PutFile(of.path, bucket.FileData{Chunks: chunks, Size: n, Mode: mode, MTime: mtime})
		if err != nil {
			f.log.Error("recreate file deleted elsewhere", "path", of.path, "err", err)
			return syscall.EIO
		}
		if ne.ID != of.id { // keep the file's identity (and inode) for its open handles
			f.work.Delete(ne.ID)
			ne = ne.Clone()
			ne.ID = of.id
			f.work.Put(ne)
		}
		f.log.Warn("file deleted elsewhere while open; recreated", "path", of.path)
	}
	of.entry = ne
	of.stagedFrom.Store(ne)
	f.journalLocked(ne)
	if n >= saveNowSize {
		f.scheduleInLocked(0)
	} else {
		f.scheduleLocked()
	}
	return 0
}

// conflictCopyLocked keeps e, contents that arrived by sync while the file
// was being written here, as a conflict copy beside it: the open file keeps
// its name for the writer. Callers hold f.mu.
func (f *FS) conflictCopyLocked(e *tree.Entry) {
	name := merge.ConflictName(e.Name, f.base.Manifest.DeviceName(e.Rev.Device), e.MTime, e.DataHash())
	if f.work.Child(e.Parent, name) != nil {
		return // the same contents were kept already
	}
	c := e.Clone()
	c.ID, c.Name = tree.NewID(), name
	f.work.Put(c)
	f.log.Warn("file changed elsewhere while open for writing; kept the other version as a copy",
		"path", f.work.Path(e.ID), "copy", name)
}

// lastPath is the file's last known path, for messages.
func (of *openFile) lastPath(f *FS) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return of.path
}

func (n *node) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno {
	h := n.handleOf(fh)
	if h == nil || !h.write {
		return 0
	}
	return n.fsys.commit(ctx, h.of)
}

// Fsync commits and saves a new version at once.
func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	f := n.fsys
	if h := n.handleOf(fh); h != nil && h.write {
		if errno := f.commit(ctx, h.of); errno != 0 {
			return errno
		}
	}
	if f.opt.ReadOnly {
		return 0
	}
	inv, err := f.save(ctx)
	// Not from inside this request: the kernel could wait on it.
	go f.invalidate(inv)
	if err != nil {
		f.log.Error("save failed", "err", err)
		return syscall.EIO
	}
	return 0
}

func (n *node) Release(ctx context.Context, fh fs.FileHandle) syscall.Errno {
	h := n.handleOf(fh)
	if h == nil {
		return 0
	}
	return n.release(ctx, h, h.write)
}

// release drops a handle; with commit, its writes are committed first. The
// last handle of a file commits whatever is left before the staging file
// goes.
func (n *node) release(ctx context.Context, h *handle, commit bool) syscall.Errno {
	f := n.fsys
	of := h.of
	var errno syscall.Errno
	if commit {
		errno = f.commit(ctx, of)
	}
	f.mu.Lock()
	of.refs--
	if h.write {
		of.writers--
	}
	last := of.refs == 0
	f.mu.Unlock()
	if !last {
		return errno
	}
	if e := f.commit(ctx, of); errno == 0 {
		errno = e
	}
	f.mu.Lock()
	if of.refs > 0 { // opened again meanwhile: its last release cleans up
		f.mu.Unlock()
		return errno
	}
	if n.of == of {
		n.of = nil
	}
	delete(f.open, of)
	f.mu.Unlock()
	of.mu.Lock()
	f.dropStagedLocked(of)
	of.mu.Unlock()
	return errno
}

// Allocate reserves or punches space in the staged contents.
func (n *node) Allocate(ctx context.Context, fh fs.FileHandle, off uint64, size uint64, mode uint32) syscall.Errno {
	h := n.handleOf(fh)
	if h == nil || !h.write {
		return syscall.EBADF
	}
	of := h.of
	e, path := n.current()
	of.mu.Lock()
	defer of.mu.Unlock()
	n.fsys.dropStaleLocked(of, e)
	if errno := n.fileLocked(of, e, path); errno != 0 {
		return errno
	}
	if err := allocate(of.staging, mode, int64(off), int64(size)); err != nil {
		return fs.ToErrno(err)
	}
	if end := int64(off + size); mode&fallocKeepSize == 0 && end > of.size.Load() {
		of.size.Store(end)
	}
	of.mtime.Store(time.Now().UnixNano())
	of.gen.Add(1)
	return 0
}

// readAhead is how many chunks after the one being read are fetched in the
// background (at 512 KiB average chunks, about 6 MiB).
const readAhead = 12

// fetch returns chunk i of r through the cache, with a reference the
// caller releases, waiting for a fetch of the same chunk already in flight
// rather than doing it twice.
func (f *FS) fetch(r *bucket.FileReader, i int, key [32]byte) (*chunk, error) {
	for {
		if ch, ok := f.cache.get(key); ok {
			return ch, nil
		}
		f.inflightMu.Lock()
		wait, busy := f.inflight[key]
		if !busy {
			wait = make(chan struct{})
			f.inflight[key] = wait
		}
		f.inflightMu.Unlock()
		if busy {
			<-wait
			continue // cached now, or failed: then fetch it ourselves
		}
		n := int64(r.SealedSize(i))
		f.cache.reserve(n)
		ch, err := f.readChunk(r, i, key)
		f.cache.unreserve(n)
		if err == nil {
			f.cache.put(ch)
		}
		f.inflightMu.Lock()
		delete(f.inflight, key)
		f.inflightMu.Unlock()
		close(wait)
		return ch, err
	}
}

// readChunk reads and decrypts chunk i of r into a pooled buffer.
func (f *FS) readChunk(r *bucket.FileReader, i int, key [32]byte) (*chunk, error) {
	buf := getBuf(r.SealedSize(i))
	var dst []byte
	if buf != nil {
		dst = *buf
	}
	data, err := r.ChunkInto(i, dst)
	if err != nil {
		if buf != nil {
			putBuf(buf)
		}
		return nil, err
	}
	if buf != nil && !sameArray(data, *buf) {
		putBuf(buf) // read into new memory after all (an oversized blob)
		buf = nil
	}
	ch := &chunk{key: key, data: data, buf: buf}
	ch.refs.Store(1)
	return ch, nil
}

// sameArray reports whether a and b end in the same backing array (data
// decrypted in place is a tail of the buffer it was read into).
func sameArray(a, b []byte) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	return &a[:cap(a)][cap(a)-1] == &b[:cap(b)][cap(b)-1]
}

// prefetch fetches chunk i in the background unless it is cached or coming.
func (f *FS) prefetch(r *bucket.FileReader, i int, key [32]byte) {
	if f.cache.has(key) {
		return
	}
	f.inflightMu.Lock()
	_, busy := f.inflight[key]
	f.inflightMu.Unlock()
	if !busy {
		go func() {
			// Errors surface when the reader gets there.
			if ch, err := f.fetch(r, i, key); err == nil {
				ch.release()
			}
		}()
	}
}
