package fuse

import (
	"context"
	"encoding/binary"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"

	"github.com/jax-desktop/jax/store/tree"
)

// node is one file, directory or symlink, known by its stable file ID. Its
// state lives in the working tree; the node only points at it.
type node struct {
	fs.Inode
	fsys *FS
	id   tree.ID

	of   *openFile   // open state while any handle is open; guarded by fsys.mu
	last *tree.Entry // entry last seen, answers fstat once unlinked; guarded by fsys.mu
}

var (
	_ = (fs.NodeLookuper)((*node)(nil))
	_ = (fs.NodeReaddirer)((*node)(nil))
	_ = (fs.NodeGetattrer)((*node)(nil))
	_ = (fs.NodeSetattrer)((*node)(nil))
	_ = (fs.NodeStatxer)((*node)(nil))
	_ = (fs.NodeStatfser)((*node)(nil))
	_ = (fs.NodeMkdirer)((*node)(nil))
	_ = (fs.NodeCreater)((*node)(nil))
	_ = (fs.NodeSymlinker)((*node)(nil))
	_ = (fs.NodeReadlinker)((*node)(nil))
	_ = (fs.NodeUnlinker)((*node)(nil))
	_ = (fs.NodeRmdirer)((*node)(nil))
	_ = (fs.NodeRenamer)((*node)(nil))
	_ = (fs.NodeOpener)((*node)(nil))
	_ = (fs.NodeReader)((*node)(nil))
	_ = (fs.NodeWriter)((*node)(nil))
	_ = (fs.NodeFlusher)((*node)(nil))
	_ = (fs.NodeFsyncer)((*node)(nil))
	_ = (fs.NodeReleaser)((*node)(nil))
	_ = (fs.NodeOnForgetter)((*node)(nil))
	_ = (fs.NodeAllocater)((*node)(nil))
	_ = (fs.NodeGetxattrer)((*node)(nil))
	_ = (fs.NodeSetxattrer)((*node)(nil))
	_ = (fs.NodeListxattrer)((*node)(nil))
	_ = (fs.NodeRemovexattrer)((*node)(nil))
)

// inoOf derives a stable inode number from a file ID; 1 is the root's.
func inoOf(id tree.ID) uint64 {
	if id == tree.Root {
		return 1
	}
	ino := binary.LittleEndian.Uint64(id[:8])
	if ino <= 1 || ino == ^uint64(0) { // the root's, and go-fuse's reserved one
		ino = binary.LittleEndian.Uint64(id[8:])&^(1<<63) | 2
	}
	return ino
}

func kindMode(k tree.Kind) uint32 {
	switch k {
	case tree.Dir:
		return syscall.S_IFDIR
	case tree.Symlink:
		return syscall.S_IFLNK
	}
	return syscall.S_IFREG
}

// child finds the inode the kernel knows for e, or makes one, and keeps it
// in the index used for invalidation. Reusing the known node keeps open
// state and go-fuse's view in one place.
func (n *node) child(ctx context.Context, e *tree.Entry) *fs.Inode {
	f := n.fsys
	mode := kindMode(e.Kind)
	f.nodesMu.Lock()
	defer f.nodesMu.Unlock()
	if old := f.nodes[e.ID]; old != nil && old.StableAttr().Mode == mode {
		return old.EmbeddedInode()
	}
	cn := &node{fsys: f, id: e.ID}
	ch := n.NewInode(ctx, cn, fs.StableAttr{Mode: mode, Ino: inoOf(e.ID)})
	f.nodes[e.ID] = cn
	return ch
}

// OnForget drops the node from the invalidation index once the kernel has
// forgotten it.
func (n *node) OnForget() {
	n.fsys.nodesMu.Lock()
	if n.fsys.nodes[n.id] == n {
		delete(n.fsys.nodes, n.id)
	}
	n.fsys.nodesMu.Unlock()
}

// fillAttr writes e's attributes (with the open file's pending size and
// mtime, if any) to out; a gone entry has no links. Callers hold fsys.mu.
func (n *node) fillAttr(e *tree.Entry, gone bool, out *gofuse.Attr) {
	f := n.fsys
	size, mtime := e.Size, e.MTime
	if of := n.of; of != nil && of.staged.Load() && of.gen.Load() > of.appliedGen {
		// Written here and not yet in the tree: the staging file is the truth.
		size, mtime = of.size.Load(), of.mtime.Load()
	}
	out.Ino = inoOf(e.ID)
	out.Mode = kindMode(e.Kind) | e.Mode&0o7777
	out.Size = uint64(size)
	out.Blocks = (uint64(size) + 511) / 512
	// The preferred I/O size: cp, cat and most tools size their buffers by
	// it, and a 1 MiB write (the largest request, MaxWrite) is one round
	// trip through the kernel where 128 KiB ones were eight.
	out.Blksize = 1 << 20
	out.Nlink = 1
	if e.Kind == tree.Dir {
		out.Nlink = 2
		out.Size = 4096
		out.Blocks = 8
	}
	if gone {
		out.Nlink = 0
	}
	t := time.Unix(0, mtime)
	out.SetTimes(&t, &t, &t)
	out.Uid, out.Gid = f.uid, f.gid
}

// entry returns the node's current entry, or the last one seen (gone) if
// its name was removed while the kernel still holds it, e.g. open. Callers
// hold fsys.mu.
func (n *node) entry() (e *tree.Entry, gone bool) {
	if e := n.fsys.work.Get(n.id); e != nil {
		n.last = e
		return e, false
	}
	return n.last, n.last != nil
}

func (n *node) Lookup(ctx context.Context, name string, out *gofuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.work.Child(n.id, name)
	if c == nil {
		return nil, syscall.ENOENT
	}
	ch := n.child(ctx, c)
	cn := ch.Operations().(*node)
	cn.last = c
	cn.fillAttr(c, false, &out.Attr)
	return ch, 0
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.work.Get(n.id) == nil {
		return nil, syscall.ENOENT
	}
	kids := f.work.Children(n.id)
	out := make([]gofuse.DirEntry, 0, len(kids))
	for _, c := range kids {
		out = append(out, gofuse.DirEntry{Name: c.Name, Mode: kindMode(c.Kind), Ino: inoOf(c.ID)})
	}
	return fs.NewListDirStream(out), 0
}

func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *gofuse.AttrOut) syscall.Errno {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	e, gone := n.entry()
	if e == nil {
		return syscall.ENOENT
	}
	n.fillAttr(e, gone, &out.Attr)
	return 0
}

// Statx answers from the same data as Getattr; there is no birth time.
func (n *node) Statx(ctx context.Context, fh fs.FileHandle, flags uint32, mask uint32, out *gofuse.StatxOut) syscall.Errno {
	var a gofuse.AttrOut
	if errno := n.Getattr(ctx, fh, &a); errno != 0 {
		return errno
	}
	sx := &out.Statx
	sx.Mask = statxBasicStats
	sx.Blksize = a.Blksize
	sx.Nlink = a.Nlink
	sx.Uid, sx.Gid = a.Uid, a.Gid
	sx.Mode = uint16(a.Mode)
	sx.Ino = a.Ino
	sx.Size = a.Size
	sx.Blocks = a.Blocks
	sx.Atime = gofuse.SxTime{Sec: a.Atime, Nsec: a.Atimensec}
	sx.Mtime = gofuse.SxTime{Sec: a.Mtime, Nsec: a.Mtimensec}
	sx.Ctime = gofuse.SxTime{Sec: a.Ctime, Nsec: a.Ctimensec}
	return 0
}

func (n *node) Statfs(ctx context.Context, out *gofuse.StatfsOut) syscall.Errno {
	if err := statfs(n.fsys.opt.StagingDir, out); err != nil {
		return fs.ToErrno(err)
	}
	out.NameLen = 255
	return 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.work.Get(n.id)
	if e == nil {
		return nil, syscall.ENOENT
	}
	if e.Kind != tree.Symlink {
		return nil, syscall.EINVAL
	}
	return []byte(e.Target), 0
}

// touchLocked stamps a directory's mtime, as POSIX does when its entries
// change. Callers hold fsys.mu.
func (f *FS) touchLocked(dir tree.ID, now int64) {
	if d := f.work.Get(dir); d != nil {
		c := d.Clone()
		c.MTime = now
		f.work.Put(c)
	}
}

// newChildLocked checks that name can be created in n and adds e there.
func (n *node) newChildLocked(e *tree.Entry) syscall.Errno {
	f := n.fsys
	if f.opt.ReadOnly {
		return syscall.EROFS
	}
	d := f.work.Get(n.id)
	if d == nil {
		return syscall.ENOENT
	}
	if d.Kind != tree.Dir {
		return syscall.ENOTDIR
	}
	if err := tree.ValidName(e.Name); err != nil {
		if len(e.Name) > 255 {
			return syscall.ENAMETOOLONG
		}
		return syscall.EINVAL
	}
	if f.work.Child(n.id, e.Name) != nil {
		return syscall.EEXIST
	}
	e.ID, e.Parent = tree.NewID(), n.id
	f.work.Put(e)
	f.touchLocked(n.id, e.MTime)
	f.scheduleLocked()
	return 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *gofuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	e := &tree.Entry{Name: name, Kind: tree.Dir, Mode: mode & 0o7777, MTime: time.Now().UnixNano()}
	if errno := n.newChildLocked(e); errno != 0 {
		return nil, errno
	}
	ch := n.child(ctx, e)
	cn := ch.Operations().(*node)
	cn.last = e
	cn.fillAttr(e, false, &out.Attr)
	return ch, 0
}

func (n *node) Symlink(ctx context.Context, target, name string, out *gofuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	e := &tree.Entry{Name: name, Kind: tree.Symlink, Mode: 0o777, MTime: time.Now().UnixNano(), Target: target, Size: int64(len(target))}
	if errno := n.newChildLocked(e); errno != 0 {
		return nil, errno
	}
	ch := n.child(ctx, e)
	cn := ch.Operations().(*node)
	cn.last = e
	cn.fillAttr(e, false, &out.Attr)
	return ch, 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *gofuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	f := n.fsys
	f.mu.Lock()
	if old := f.work.Child(n.id, name); old != nil && old.Kind == tree.File && flags&syscall.O_EXCL == 0 && !f.opt.ReadOnly {
		// The kernel thought the name free (it changed under it): open it.
		f.mu.Unlock()
		return n.createExisting(ctx, name, flags, out)
	}
	e := &tree.Entry{Name: name, Kind: tree.File, Mode: mode & 0o7777, MTime: time.Now().UnixNano()}
	if errno := n.newChildLocked(e); errno != 0 {
		f.mu.Unlock()
		return nil, nil, 0, errno
	}
	ch := n.child(ctx, e)
	cn := ch.Operations().(*node)
	h := cn.openLocked(e, flags)
	cn.last = e
	cn.fillAttr(e, false, &out.Attr)
	f.mu.Unlock()
	return ch, h, 0, 0
}

func (n *node) createExisting(ctx context.Context, name string, flags uint32, out *gofuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ch, errno := n.Lookup(ctx, name, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	fh, fuseFlags, errno := ch.Operations().(*node).Open(ctx, flags)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, fh, fuseFlags, 0
}

// removeLocked deletes the entry named name from n, after check approves it.
func (n *node) removeLocked(name string, check func(*tree.Entry) syscall.Errno) syscall.Errno {
	f := n.fsys
	if f.opt.ReadOnly {
		return syscall.EROFS
	}
	c := f.work.Child(n.id, name)
	if c == nil {
		return syscall.ENOENT
	}
	if errno := check(c); errno != 0 {
		return errno
	}
	f.dropLocked(c)
	f.work.DeleteTree(c.ID)
	f.touchLocked(n.id, time.Now().UnixNano())
	f.scheduleLocked()
	return 0
}

// dropLocked marks an open file whose name is removed locally, so closing
// it does not bring the file back.
func (f *FS) dropLocked(e *tree.Entry) {
	f.nodesMu.Lock()
	cn := f.nodes[e.ID]
	f.nodesMu.Unlock()
	if cn != nil && cn.of != nil {
		cn.of.unlinked = true
		cn.of.entry = e
	}
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	return n.removeLocked(name, func(c *tree.Entry) syscall.Errno {
		if c.Kind == tree.Dir {
			return syscall.EISDIR
		}
		return 0
	})
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	f := n.fsys
	f.mu.Lock()
	defer f.mu.Unlock()
	return n.removeLocked(name, func(c *tree.Entry) syscall.Errno {
		if c.Kind != tree.Dir {
			return syscall.ENOTDIR
		}
		if len(f.work.Children(c.ID)) > 0 {
			return syscall.ENOTEMPTY
		}
		return 0
	})
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	f := n.fsys
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	if flags&^uint32(renameNoReplace) != 0 {
		return syscall.ENOTSUP
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opt.ReadOnly {
		return syscall.EROFS
	}
	src := f.work.Child(n.id, name)
	if src == nil {
		return syscall.ENOENT
	}
	dst := f.work.Get(np.id)
	if dst == nil {
		return syscall.ENOENT
	}
	if dst.Kind != tree.Dir {
		return syscall.ENOTDIR
	}
	if err := tree.ValidName(newName); err != nil {
		return syscall.EINVAL
	}
	if src.Kind == tree.Dir && f.work.IsAncestor(src.ID, np.id) {
		return syscall.EINVAL
	}
	if old := f.work.Child(np.id, newName); old != nil {
		if old.ID == src.ID {
			return 0
		}
		if flags&renameNoReplace != 0 {
			return syscall.EEXIST
		}
		switch {
		case src.Kind == tree.Dir && old.Kind != tree.Dir:
			return syscall.ENOTDIR
		case src.Kind != tree.Dir && old.Kind == tree.Dir:
			return syscall.EISDIR
		case old.Kind == tree.Dir && len(f.work.Children(old.ID)) > 0:
			return syscall.ENOTEMPTY
		}
		f.dropLocked(old)
		f.work.Delete(old.ID)
	}
	now := time.Now().UnixNano()
	c := src.Clone()
	c.Parent, c.Name = np.id, newName
	f.work.Put(c)
	f.touchLocked(n.id, now)
	f.touchLocked(np.id, now)
	f.scheduleLocked()
	return 0
}

func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *gofuse.SetAttrIn, out *gofuse.AttrOut) syscall.Errno {
	f := n.fsys
	if f.opt.ReadOnly {
		return syscall.EROFS
	}
	if uid, ok := in.GetUID(); ok && uid != f.uid {
		return syscall.EPERM
	}
	if gid, ok := in.GetGID(); ok && gid != f.gid {
		return syscall.EPERM
	}
	if size, ok := in.GetSize(); ok {
		var errno syscall.Errno
		var joined *handle
		if h := n.handleOf(fh); h == nil || !h.write {
			// open(O_TRUNC) comes without its handle; while the file is
			// open for writing the truncation joins what the writers
			// will commit, so no empty version is saved in between.
			f.mu.Lock()
			if e, _ := n.entry(); e != nil && n.of != nil && n.of.writers > 0 {
				joined = n.openLocked(e, syscall.O_WRONLY)
			}
			f.mu.Unlock()
		} else {
			joined = h // ftruncate: committed with the handle's writes
		}
		if joined != nil {
			e, _ := n.current()
			errno = n.truncateStaging(joined.of, e, int64(size))
			if joined != fh {
				if rerr := n.release(ctx, joined, false); errno == 0 {
					errno = rerr
				}
			}
		} else {
			errno = n.truncate(ctx, int64(size))
		}
		if errno != 0 {
			return errno
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, gone := n.entry()
	if e == nil {
		return syscall.ENOENT
	}
	if gone { // unlinked but still open: nothing to keep
		n.fillAttr(e, true, &out.Attr)
		return 0
	}
	c := e.Clone()
	changed := false
	if mode, ok := in.GetMode(); ok {
		c.Mode = mode & 0o7777
		changed = true
	}
	if mt, ok := in.GetMTime(); ok {
		c.MTime = mt.UnixNano()
		changed = true
		if n.of != nil {
			n.of.mtime.Store(c.MTime)
		}
	}
	if changed {
		f.work.Put(c)
		f.scheduleLocked()
	}
	n.fillAttr(c, false, &out.Attr)
	return 0
}

// Extended attributes are not part of the bucket model. ENOSYS (which
// callers see as EOPNOTSUPP) tells the kernel to stop asking: otherwise
// every write asks for security.capability first, a round trip per small
// file written.

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOSYS
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, 0
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.ENOSYS
}
