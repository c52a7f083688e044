package fuse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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

// Options configure one mount.
type Options struct {
	ReadOnly   bool          // EROFS on every mutation
	CacheTTL   time.Duration // kernel entry/attr timeouts (default 60s)
	CacheBytes int64         // bound on decrypted chunks cached in memory (default 100 MiB)
	StagingDir string        // where write staging files live, one per open file (must exist)
	SaveDelay  time.Duration // coalescing delay before a save (default 200ms)
	AllowOther bool
	Log        *slog.Logger
	// OnSave, if set, hears of every version saved from changes made
	// through the mount, so sync can offer it at once. It is called
	// holding no lock of the filesystem.
	OnSave func(*bucket.Version)
	// Journal, if set, is a file that lets files closed just before a
	// crash survive it (see journal.go).
	Journal string
}

// FS is one bucket served as a filesystem.
type FS struct {
	b          *bucket.Bucket
	opt        Options
	log        *slog.Logger
	uid, gid   uint32
	root       *node
	cache      *chunkCache   // decrypted chunks, shared by all open files
	journal    *os.File      // see journal.go; written under mu
	journalLen int64         // bytes in journal; guarded by mu
	memUsed    atomic.Int64  // bytes reserved for contents staged in memory (stage.go)
	streams    chan struct{} // one token per stream running

	inflightMu sync.Mutex                 // guards inflight; taken alone
	saveMu     sync.Mutex                 // one save at a time; taken before mu
	inflight   map[[32]byte]chan struct{} // chunk fetches under way, closed when done

	mu    sync.Mutex             // guards the fields below
	base  *bucket.Version        // the saved version the working tree started from
	work  *tree.Snapshot         // base's tree plus unsaved local changes
	dirty bool                   // work holds changes not yet saved
	timer *time.Timer            // pending coalesced save, or nil
	open  map[*openFile]struct{} // files with open handles, for Flush

	nodesMu sync.Mutex        // guards nodes; taken last
	nodes   map[tree.ID]*node // nodes the kernel may hold, for invalidation

	mountMu sync.Mutex // guards server, dir
	server  *gofuse.Server
	dir     string
}

// New returns a filesystem over b, starting at its current version.
func New(b *bucket.Bucket, opt Options) (*FS, error) {
	if opt.CacheTTL == 0 {
		opt.CacheTTL = 60 * time.Second
	}
	if opt.CacheBytes == 0 {
		opt.CacheBytes = 100 << 20
	}
	if opt.SaveDelay == 0 {
		opt.SaveDelay = 200 * time.Millisecond
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.StagingDir == "" {
		return nil, errors.New("mount: no staging directory given")
	}
	if st, err := os.Stat(opt.StagingDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("mount: staging directory %s is not usable: %v", opt.StagingDir, err)
	}
	v, err := b.Current()
	if err != nil {
		return nil, fmt.Errorf("mount bucket %s: %w", b.Name, err)
	}
	f := &FS{b: b, opt: opt, log: opt.Log.With("bucket", b.Name), uid: uint32(os.Getuid()), gid: uint32(os.Getgid()),
		base: v, work: v.Tree.Clone(), open: map[*openFile]struct{}{}, nodes: map[tree.ID]*node{}}
	f.cache = newChunkCache(opt.CacheBytes)
	f.streams = make(chan struct{}, maxStreams)
	f.inflight = map[[32]byte]chan struct{}{}
	f.root = &node{fsys: f, id: tree.Root}
	f.nodes[tree.Root] = f.root
	if opt.Journal != "" && !opt.ReadOnly {
		j, recs, err := openJournal(opt.Journal)
		if err != nil {
			return nil, err
		}
		f.journal = j
		if st, err := j.Stat(); err == nil {
			f.journalLen = st.Size()
		}
		if len(recs) > 0 {
			f.mu.Lock()
			f.replayLocked(recs)
			_, err := f.saveLocked(context.Background(), false)
			f.mu.Unlock()
			if err != nil {
				j.Close()
				return nil, err
			}
		}
	}
	return f, nil
}

// Mount mounts the filesystem on dir and serves it in the background.
func (f *FS) Mount(dir string) error {
	f.mountMu.Lock()
	defer f.mountMu.Unlock()
	if f.server != nil {
		return fmt.Errorf("bucket %s is already mounted on %s", f.b.Name, f.dir)
	}
	if err := prepareMountPoint(dir); err != nil {
		return fmt.Errorf("mount bucket %s: %w", f.b.Name, err)
	}
	ttl := f.opt.CacheTTL
	var neg time.Duration
	opts := &fs.Options{
		MountOptions: gofuse.MountOptions{
			FsName:      "jax",
			Name:        "jax",
			Options:     []string{"default_permissions"},
			AllowOther:  f.opt.AllowOther,
			DirectMount: os.Geteuid() == 0,
			MaxWrite:    1 << 20,
			// Replies point into cached chunks; go-fuse's splice attempt
			// would only add a pipe round trip to every read.
			DisableSplice: true,
		},
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &neg,
		NullPermissions: true,
		UID:             f.uid,
		GID:             f.gid,
		RootStableAttr:  &fs.StableAttr{Ino: 1},
	}
	if f.opt.ReadOnly {
		opts.MountOptions.Options = append(opts.MountOptions.Options, "ro")
	}
	srv, err := fs.Mount(dir, f.root, opts)
	if err != nil {
		return fmt.Errorf("mount bucket %s on %s: %w", f.b.Name, dir, err)
	}
	f.server, f.dir = srv, dir
	if err := setReadahead(dir, readaheadKB); err != nil {
		f.log.Debug("kernel readahead left at its default", "err", err)
	}
	return nil
}

// readaheadKB is the kernel readahead asked for on a mount. FUSE starts at
// 128 KiB, so a sequential reader gets 128 KiB requests; 1 MiB (the
// largest request, MaxWrite) takes an eighth of the round trips.
const readaheadKB = 1024

// Unmount saves pending changes, then unmounts, lazily if the mount is busy.
func (f *FS) Unmount() error {
	ferr := f.Flush(context.Background())
	f.mountMu.Lock()
	defer f.mountMu.Unlock()
	if f.server == nil {
		return ferr
	}
	srv, dir := f.server, f.dir
	f.server, f.dir = nil, ""
	if err := srv.Unmount(); err != nil {
		f.log.Warn("unmount failed, detaching lazily", "dir", dir, "err", err)
		if err := lazyUnmount(dir); err != nil {
			return errors.Join(ferr, err)
		}
	}
	// Handles the kernel released while unmounting may have committed more.
	ferr = errors.Join(ferr, f.Flush(context.Background()))
	f.mu.Lock()
	if f.journal != nil && ferr == nil {
		f.journal.Close()
		f.journal = nil
	}
	f.mu.Unlock()
	return ferr
}

// ErrMountPointBusy means the mount point has files in it.
var ErrMountPointBusy = errors.New("mount point is not empty")

// prepareMountPoint cleans up a mount left dead by a crash ("transport
// endpoint is not connected") and refuses a non-empty directory.
func prepareMountPoint(dir string) error {
	// Listing needs the filesystem's server, where a stat may be answered
	// from cached attributes.
	ents, err := os.ReadDir(dir)
	if errors.Is(err, syscall.ENOTCONN) {
		if err := lazyUnmount(dir); err != nil {
			return fmt.Errorf("clean up dead mount on %s: %w", dir, err)
		}
		ents, err = os.ReadDir(dir)
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s: %w", dir, ErrMountPointBusy)
	}
	return nil
}

// Version returns the saved version the mount is on.
func (f *FS) Version() *bucket.Version {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base
}

// Flush commits what open files hold and saves pending changes now.
func (f *FS) Flush(ctx context.Context) error {
	f.mu.Lock()
	ofs := make([]*openFile, 0, len(f.open))
	for of := range f.open {
		ofs = append(ofs, of)
	}
	f.mu.Unlock()
	var errs []error
	for _, of := range ofs {
		if errno := f.commit(ctx, of); errno != 0 {
			errs = append(errs, fmt.Errorf("commit %s: %w", of.lastPath(f), errno))
		}
	}
	inv, err := f.save(ctx)
	f.invalidate(inv)
	return errors.Join(append(errs, err)...)
}

// Update moves the mount to a new head that arrived by sync: unsaved local
// changes are merged with it, and the kernel forgets what changed.
//
// The bucket's recorded head is authoritative, not v: by the time Update
// runs, a save from this mount may already have merged v into a newer head,
// and switching back to v would drop that save.
func (f *FS) Update(ctx context.Context, v *bucket.Version) error {
	f.saveMu.Lock()
	defer f.saveMu.Unlock()
	f.mu.Lock()
	before := f.work
	var saved *bucket.Version
	var err error
	if f.opt.ReadOnly {
		var cur *bucket.Version
		if cur, err = f.b.Current(); err == nil {
			f.base, f.work, f.dirty = cur, cur.Tree.Clone(), false
		}
	} else {
		saved, err = f.saveLocked(ctx, true)
	}
	inv := diffTrees(before, f.work)
	f.mu.Unlock()
	f.invalidate(inv)
	f.announce(saved)
	return err
}

// announce tells OnSave about a saved version, if any.
func (f *FS) announce(v *bucket.Version) {
	if v != nil && f.opt.OnSave != nil {
		f.opt.OnSave(v)
	}
}

// schedule arms the coalesced save. Callers hold f.mu.
func (f *FS) scheduleLocked() { f.scheduleInLocked(f.opt.SaveDelay) }

// saveNowSize is the size of a committed file that is saved without the
// coalescing delay: writing it took longer than the delay already, and
// other devices wait for the save to fetch it.
const saveNowSize = 32 << 20

// scheduleInLocked arms the coalesced save to run within d. Callers hold
// f.mu.
func (f *FS) scheduleInLocked(d time.Duration) {
	f.dirty = true
	if f.timer != nil && d < f.opt.SaveDelay {
		f.timer.Reset(d)
	}
	if f.timer == nil {
		f.timer = time.AfterFunc(d, func() {
			inv, err := f.save(context.Background())
			if err != nil {
				f.log.Error("save failed", "err", err)
			}
			f.invalidate(inv)
		})
	}
}

func (f *FS) stopTimerLocked() {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
}

// save saves the working tree if it changed and returns what the kernel must
// forget because the save merged in changes from elsewhere.
//
// The filesystem keeps serving while the version is written and made
// durable (fsyncs take milliseconds each): the save works on a snapshot of
// the working tree, and what changed meanwhile is put back on top of the
// saved version.
func (f *FS) save(ctx context.Context) (invalidation, error) {
	f.saveMu.Lock()
	defer f.saveMu.Unlock()
	f.mu.Lock()
	f.stopTimerLocked()
	if !f.dirty || f.opt.ReadOnly {
		f.mu.Unlock()
		return invalidation{}, nil
	}
	base, snap := f.base, f.work
	f.work, f.dirty = snap.Clone(), false
	mark := f.journalLen
	f.mu.Unlock()

	start := time.Now()
	res, err := f.b.Save(ctx, base, snap, merge.Options{})

	f.mu.Lock()
	if err != nil {
		f.dirty = true // f.work still holds everything, on the same base
		f.mu.Unlock()
		return invalidation{}, fmt.Errorf("save bucket %s: %w", f.b.Name, err)
	}
	before := f.work
	f.work, f.base = f.rebaseLocked(base, snap, before, res)
	f.trimJournalLocked(mark)
	inv := diffTrees(before, f.work)
	f.mu.Unlock()
	for _, c := range res.Conflicts {
		f.log.Warn("merge conflict", "conflict", c.String(), "version", res.Version.Link.Short())
	}
	if res.Version.Link != base.Link {
		f.log.Debug("saved", "height", res.Version.Manifest.Height, "took", time.Since(start))
		f.announce(res.Version)
	}
	return inv, nil
}

// rebaseLocked returns the working tree and its base after a save of snap
// (taken from cur, which went on changing) from base: the saved version,
// and its tree plus what cur changed since snap. Callers hold f.mu.
func (f *FS) rebaseLocked(base *bucket.Version, snap, cur *tree.Snapshot, res *bucket.MergeResult) (*tree.Snapshot, *bucket.Version) {
	saved := res.Version.Tree
	var changed []*tree.Entry
	var gone []tree.ID
	cur.Each(func(e *tree.Entry) {
		if snap.Get(e.ID) != e { // entries are replaced, never edited
			changed = append(changed, e)
		}
	})
	snap.Each(func(e *tree.Entry) {
		if cur.Get(e.ID) == nil {
			gone = append(gone, e.ID)
		}
	})
	if len(changed) == 0 && len(gone) == 0 {
		return saved.Clone(), res.Version
	}
	ps := res.Version.Manifest.Parents
	if res.Version.Link == base.Link || len(ps) == 1 && ps[0] == base.Link {
		// Saved as is (entries only stamped): cur's changes apply as they are.
		out := saved.Clone()
		for _, e := range changed {
			out.Put(e)
		}
		for _, id := range gone {
			out.Delete(id)
		}
		return out, res.Version
	}
	// The save merged in another head: merge what changed here meanwhile
	// with it the same way. Entries the save only stamped with its Rev
	// take that stamp on the base and our side, or the merge would take
	// the stamp for a change (and, say, keep a file removed here).
	mbase, ours := snap.Clone(), cur.Clone()
	snap.Each(func(e *tree.Entry) {
		if s := saved.Get(e.ID); s != nil && s != e && s.Kind == e.Kind && s.SamePlace(e) && s.SameContent(e) {
			mbase.Put(s)
			if cur.Get(e.ID) == e {
				ours.Put(s)
			}
		}
	})
	m, err := merge.Merge(mbase, ours, saved, merge.Options{DeviceName: res.Version.Manifest.DeviceName})
	if err != nil {
		// Keep the local view; the next save merges it with the head.
		f.log.Error("merge changes made during a save", "err", err)
		f.dirty = true
		return cur, base
	}
	for _, c := range m.Conflicts {
		f.log.Warn("merge conflict", "conflict", c.String())
	}
	f.dirty = true
	return m.Tree, res.Version
}

// saveLocked saves the working tree if it has changes, or with force also
// without, which still merges in a head that moved. It returns the new
// version if local changes were saved. Callers hold f.mu.
func (f *FS) saveLocked(ctx context.Context, force bool) (*bucket.Version, error) {
	f.stopTimerLocked()
	if !(f.dirty || force) || f.opt.ReadOnly {
		return nil, nil
	}
	res, err := f.b.Save(ctx, f.base, f.work, merge.Options{})
	if err != nil {
		return nil, fmt.Errorf("save bucket %s: %w", f.b.Name, err)
	}
	var saved *bucket.Version
	if f.dirty && res.Version.Link != f.base.Link {
		saved = res.Version
	}
	f.base, f.work, f.dirty = res.Version, res.Version.Tree.Clone(), false
	f.clearJournalLocked()
	for _, c := range res.Conflicts {
		f.log.Warn("merge conflict", "conflict", c.String(), "version", res.Version.Link.Short())
	}
	return saved, nil
}

// entryRef names a directory entry by parent and name.
type entryRef struct {
	parent tree.ID
	name   string
}

// invalidation is what the kernel must forget after the tree changed under it.
type invalidation struct {
	entries []entryRef
	content []tree.ID
}

// diffTrees lists the names and contents that differ between two trees,
// ignoring Rev stamps (which the kernel never sees).
func diffTrees(a, b *tree.Snapshot) invalidation {
	var inv invalidation
	if a == b {
		return inv
	}
	a.Each(func(ea *tree.Entry) {
		eb := b.Get(ea.ID)
		switch {
		case eb == nil:
			inv.entries = append(inv.entries, entryRef{ea.Parent, ea.Name})
			inv.content = append(inv.content, ea.ID)
		default:
			// A changed kind needs a new inode, so the name is dropped too.
			if ea.ID != tree.Root && (!ea.SamePlace(eb) || ea.Kind != eb.Kind) {
				inv.entries = append(inv.entries, entryRef{ea.Parent, ea.Name}, entryRef{eb.Parent, eb.Name})
			}
			if !ea.SameContent(eb) || ea.Kind != eb.Kind {
				inv.content = append(inv.content, ea.ID)
			}
		}
	})
	b.Each(func(eb *tree.Entry) {
		if a.Get(eb.ID) == nil {
			inv.entries = append(inv.entries, entryRef{eb.Parent, eb.Name})
		}
	})
	return inv
}

// invalidate tells the kernel to drop cached names, attributes and pages.
// It must not be called holding f.mu, nor from a FUSE request handler
// (the kernel may wait on that request while serving the notification).
func (f *FS) invalidate(inv invalidation) {
	if len(inv.entries) == 0 && len(inv.content) == 0 {
		return
	}
	f.mountMu.Lock()
	mounted := f.server != nil
	f.mountMu.Unlock()
	if !mounted {
		return
	}
	type ent struct {
		n    *node
		name string
	}
	var ents []ent
	var content []*node
	f.nodesMu.Lock()
	for _, e := range inv.entries {
		if n := f.nodes[e.parent]; n != nil {
			ents = append(ents, ent{n, e.name})
		}
	}
	for _, id := range inv.content {
		if n := f.nodes[id]; n != nil {
			content = append(content, n)
		}
	}
	f.nodesMu.Unlock()
	for _, n := range content {
		n.NotifyContent(0, 0)
	}
	for _, e := range ents {
		e.n.NotifyEntry(e.name)
	}
}
