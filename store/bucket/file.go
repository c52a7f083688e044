package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/chunker"
	"github.com/jax-desktop/jax/store/seal"
	"github.com/jax-desktop/jax/store/tree"
)

// Buffers for one chunk's plaintext and its sealed form. Pooled so a long
// stream allocates a handful of buffers, not one per chunk.
var (
	plainPool  = newBufPool(chunker.MaxSize, chunker.MaxSize)
	sealedPool = newBufPool(0, chunker.MaxSize+seal.Overhead)
	// Chunker read buffers: many small files (a folder of them through a
	// mount) would otherwise allocate one each.
	readPool = newBufPool(chunker.BufferSize, chunker.BufferSize)
)

// earlyMin is how much of a stream is stored before its chunks are offered
// to other devices: a small file is saved and sent as fast as offering its
// chunks would be.
const earlyMin = 8 << 20

func parallelism() int {
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		n = 2
	}
	return n
}

// WriteData chunks, seals and stores a stream, returning its chunk list and
// length. Memory stays bounded by a few chunks per core whatever the stream's
// size. progress, if not nil, is called with the bytes stored so far.
func (b *Bucket) WriteData(ctx context.Context, r io.Reader, progress func(done int64)) ([]tree.ChunkRef, int64, error) {
	k, err := b.currentKey()
	if err != nil {
		return nil, 0, err
	}
	if sr, ok := r.(interface{ Size() int64 }); ok && sr.Size() <= chunker.MinSize {
		return b.writeSmall(r, sr.Size(), k, progress)
	}
	type job struct {
		i   int
		buf *[]byte
		n   int
	}
	workers := parallelism()
	jobs := make(chan job, workers)
	g, ctx := errgroup.WithContext(ctx)

	var mu sync.Mutex // guards refs, done and early
	refs := map[int]tree.ChunkRef{}
	var done int64
	// Chunks are offered to other devices once the stream is large enough
	// that they would wait for it (see OnChunks).
	var early []blob.ID
	offered := false

	g.Go(func() (err error) {
		defer close(jobs)
		rbuf := readPool.get()
		defer readPool.put(rbuf)
		c := chunker.NewBuffer(r, k.Gear(), *rbuf)
		m := mapFile(r)
		if m != nil {
			// A mapped file is chunked in place, without read's copy into
			// a buffer: a third less CPU for a large add. If the file shrinks
			// meanwhile, touching the lost pages faults; that becomes an
			// error here instead of killing the process.
			defer unix.Munmap(m)
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("read input: the file changed while it was being added (%v)", p)
				}
			}()
			c = chunker.NewBytes(m, k.Gear())
		}
		var read, dropped int
		for i := 0; ; i++ {
			data, err := c.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read input: %w", err)
			}
			buf := plainPool.get()
			n := copy(*buf, data)
			if read += n; m != nil && read-dropped >= 8<<20 {
				// Pages already copied leave our mapping (not the page
				// cache), so memory stays flat however large the file.
				end := read &^ (os.Getpagesize() - 1)
				unix.Madvise(m[dropped:end], unix.MADV_DONTNEED)
				dropped = end
			}
			select {
			case jobs <- job{i, buf, n}:
			case <-ctx.Done():
				plainPool.put(buf)
				return ctx.Err()
			}
		}
	})
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			for j := range jobs {
				out := sealedPool.get()
				sealed := k.Seal((*out)[:0], (*j.buf)[:j.n])
				id, err := b.store.Blobs.Put(sealed)
				*out = sealed
				sealedPool.put(out)
				plainPool.put(j.buf)
				if err != nil {
					return err
				}
				mu.Lock()
				refs[j.i] = tree.ChunkRef{Blob: id, Size: uint32(j.n), Epoch: k.Epoch}
				done += int64(j.n)
				d := done
				var offer []blob.ID
				if !offered {
					early = append(early, id)
					if done >= earlyMin {
						offer, early, offered = early, nil, true
					}
				} else {
					offer = []blob.ID{id}
				}
				mu.Unlock()
				if offer != nil {
					b.store.chunksStored(b.ID.String(), offer)
				}
				if progress != nil {
					progress(d)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	out := make([]tree.ChunkRef, len(refs))
	for i, c := range refs {
		out[i] = c
	}
	return out, done, nil
}

// writeSmall stores an input of at most one chunk without the pipeline's
// goroutines: most files in a folder are small.
func (b *Bucket) writeSmall(r io.Reader, size int64, k *seal.Key, progress func(int64)) ([]tree.ChunkRef, int64, error) {
	buf := plainPool.get()
	defer plainPool.put(buf)
	n, err := io.ReadFull(r, (*buf)[:size])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, 0, fmt.Errorf("read input: %w", err)
	}
	if n == 0 {
		return []tree.ChunkRef{}, 0, nil
	}
	out := sealedPool.get()
	sealed := k.Seal((*out)[:0], (*buf)[:n])
	id, err := b.store.Blobs.Put(sealed)
	*out = sealed
	sealedPool.put(out)
	if err != nil {
		return nil, 0, err
	}
	if progress != nil {
		progress(int64(n))
	}
	return []tree.ChunkRef{{Blob: id, Size: uint32(n), Epoch: k.Epoch}}, int64(n), nil
}

// FileReader reads one file of one version, fetching only the chunks a read
// covers.
type FileReader struct {
	b      *Bucket
	path   string
	chunks []tree.ChunkRef
	offs   []int64 // start offset of each chunk
	size   int64

	mu    sync.Mutex // guards last, lastI
	lastI int
	last  []byte
}

// NewReader returns a reader of a file entry; path is used in errors.
func (b *Bucket) NewReader(e *tree.Entry, path string) *FileReader {
	r := &FileReader{b: b, path: path, chunks: e.Chunks, offs: make([]int64, len(e.Chunks)), lastI: -1}
	for i, c := range e.Chunks {
		r.offs[i] = r.size
		r.size += int64(c.Size)
	}
	return r
}

// Size is the file's length.
func (r *FileReader) Size() int64 { return r.size }

// chunk reads, verifies and decrypts chunk i, reusing buf's memory if it
// is large enough.
func (r *FileReader) chunk(i int, buf []byte) ([]byte, error) {
	c := r.chunks[i]
	k, err := r.b.key(c.Epoch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	raw, err := r.b.store.Blobs.Get(c.Blob, buf)
	if err == nil {
		raw, err = k.OpenInPlace(raw)
	}
	if err == nil && len(raw) != int(c.Size) {
		err = fmt.Errorf("chunk is %d bytes, expected %d: %w", len(raw), c.Size, seal.ErrAuth)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: chunk %d (%s) at offset %d: %w", r.path, i, blob.ID(c.Blob).Short(), r.offs[i], damaged(err))
	}
	return raw, nil
}

// SealedSize is how many bytes chunk i takes in the blob store.
func (r *FileReader) SealedSize(i int) int { return int(r.chunks[i].Size) + seal.Overhead }

// ChunkInto reads, verifies and decrypts chunk i, reusing buf's memory if
// it holds SealedSize(i) bytes; the plaintext is a tail of buf then.
func (r *FileReader) ChunkInto(i int, buf []byte) ([]byte, error) {
	return r.chunk(i, buf[:0])
}

// Chunks is how many chunks the file has.
func (r *FileReader) Chunks() int { return len(r.chunks) }

// Chunk reads, verifies and decrypts chunk i into new memory the caller
// owns, returning it and the chunk's offset in the file.
func (r *FileReader) Chunk(i int) ([]byte, int64, error) {
	d, err := r.chunk(i, nil)
	return d, r.offs[i], err
}

// ReadAt implements io.ReaderAt.
func (r *FileReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for n < len(p) && off < r.size {
		i := sort.Search(len(r.offs), func(i int) bool { return r.offs[i] > off }) - 1
		r.mu.Lock()
		data := r.last
		if r.lastI != i {
			r.mu.Unlock()
			var err error
			if data, err = r.chunk(i, nil); err != nil {
				return n, err
			}
			r.mu.Lock()
			r.last, r.lastI = data, i
		}
		r.mu.Unlock()
		m := copy(p[n:], data[off-r.offs[i]:])
		n += m
		off += int64(m)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteTo streams the whole file to w, fetching and decrypting a few chunks
// ahead in parallel while writing in order.
func (r *FileReader) WriteTo(w io.Writer) (int64, error) {
	type result struct {
		data []byte
		buf  *[]byte
		err  error
	}
	// Enough reads in flight to keep a disk's queue busy when the blobs are
	// not cached; each holds one chunk buffer.
	window := 4 * parallelism()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slots := make([]chan result, len(r.chunks))
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	sem := make(chan struct{}, window)
	go func() {
		for i := range r.chunks {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func(i int) {
				buf := sealedPool.get()
				d, err := r.chunk(i, (*buf)[:0])
				slots[i] <- result{d, buf, err}
			}(i)
		}
	}()
	var n int64
	for i := range r.chunks {
		res := <-slots[i]
		<-sem
		if res.err != nil {
			return n, res.err
		}
		m, err := w.Write(res.data)
		sealedPool.put(res.buf)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// mapFile maps a regular file for reading, or returns nil if r is not one
// (or is empty, or cannot be mapped): the caller then reads it as a stream.
func mapFile(r io.Reader) []byte {
	f, ok := r.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil || off != 0 {
		return nil
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	unix.Madvise(m, unix.MADV_SEQUENTIAL)
	return m
}
