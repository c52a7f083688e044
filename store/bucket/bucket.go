// Package bucket is the bucket model: encrypted, chunked, versioned file trees
// kept as signed manifests and sealed blobs, indexed in the database.
//
// Every change is a new immutable version (manifest) whose parents are the
// versions it was made from. A change is made by Edit under a per-bucket
// lock, against the current head, so two writers on one device never fork
// the history; forks come only from other devices and are merged.
// Ordering of writes: blobs, then a sync of the blob store, then the
// manifest blob, then the database row. A process killed at any point leaves
// the previous version intact and at worst some unreferenced blobs.
package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/identity"
	"github.com/jax-desktop/jax/store/seal"
	"github.com/jax-desktop/jax/store/tree"
)

var (
	// ErrNoBucket means no bucket has the given name or ID.
	ErrNoBucket = errors.New("no such bucket")
	// ErrAmbiguous means a name or prefix matches more than one thing.
	ErrAmbiguous = errors.New("ambiguous")
	// ErrDamaged means stored data failed its integrity check.
	ErrDamaged = errors.New("data failed its integrity check")
	// ErrNoAccess means this device is not in the bucket's shares.
	ErrNoAccess = errors.New("this device has no key for the bucket")
	// ErrReadOnly means this device is a mirror of the bucket.
	ErrReadOnly = errors.New("this device may only read the bucket (mirror)")
)

// Store gives access to every bucket of one data dir.
type Store struct {
	DB      *db.DB
	Blobs   *blob.Store
	ID      *identity.Identity
	LockDir string // per-bucket lock files
	Log     *slog.Logger

	dirs dirCache

	mu      sync.Mutex             // guards device, buckets and watchers
	device  string                 // this device's name
	buckets map[string]*sync.Mutex // in-process edit lock per bucket
	watch   []func(bucketID string)
	stored  []func(bucketID string, ids []blob.ID)
}

// DeviceName is this device's name, as put in the shares of the buckets it
// creates.
func (s *Store) DeviceName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.device
}

// SetDeviceName renames this device from now on (a rename while running).
func (s *Store) SetDeviceName(name string) {
	s.mu.Lock()
	s.device = name
	s.mu.Unlock()
}

// OnHeadChange calls f, after the change is durable, each time this process
// moves a bucket's head (a save, a merge, an adopted version). Sync uses it
// to announce new versions at once. f must not block.
func (s *Store) OnHeadChange(f func(bucketID string)) {
	s.mu.Lock()
	s.watch = append(s.watch, f)
	s.mu.Unlock()
}

func (s *Store) headChanged(bucketID string) {
	s.mu.Lock()
	fs := s.watch
	s.mu.Unlock()
	for _, f := range fs {
		f(bucketID)
	}
}

// OnChunks calls f with the chunk blobs a large write has stored so far,
// while it goes on, from its earlyMin-th byte: sync offers them to other
// devices before the file is saved. They may never be part of a version
// (the write may fail or be undone). f must not block.
func (s *Store) OnChunks(f func(bucketID string, ids []blob.ID)) {
	s.mu.Lock()
	s.stored = append(s.stored, f)
	s.mu.Unlock()
}

func (s *Store) chunksStored(bucketID string, ids []blob.ID) {
	s.mu.Lock()
	fs := s.stored
	s.mu.Unlock()
	for _, f := range fs {
		f(bucketID, ids)
	}
}

// NewStore returns a store over opened parts.
func NewStore(d *db.DB, blobs *blob.Store, id *identity.Identity, device, lockDir string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{DB: d, Blobs: blobs, ID: id, device: device, LockDir: lockDir, Log: log,
		dirs: dirCache{m: map[blob.ID]*dirBlob{}}, buckets: map[string]*sync.Mutex{}}
}

// Bucket is one open bucket.
type Bucket struct {
	store *Store
	ID    uuid.UUID
	Name  string

	mu   sync.Mutex // guards keys
	keys *seal.Keyring

	written writtenCache // directories as last written, see writeTree
}

// Version is one loaded version of a bucket.
type Version struct {
	Link     blob.ID
	Manifest *Manifest
	Tree     *tree.Snapshot
}

// Info describes a bucket for listings.
type Info struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Head    string    `json:"head"`
	Height  uint64    `json:"height"`
	Heads   int       `json:"heads"`
	Updated time.Time `json:"updated"`
}

// Create makes a new bucket with one empty version, shared with this device
// as owner.
func (s *Store) Create(ctx context.Context, name string) (*Bucket, error) {
	if name == "" {
		return nil, errors.New("a bucket needs a name")
	}
	b := &Bucket{store: s, ID: uuid.New(), Name: name, keys: seal.NewKeyring()}
	wrapped, err := seal.Wrap(b.keys, s.ID.Recipient())
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: manifestFormat, Bucket: b.ID, Name: name, Author: s.ID.ID(), Time: time.Now().UnixNano(),
		Shares: []Share{{Device: s.ID.ID(), Name: s.DeviceName(), Role: Owner, Recipient: s.ID.Recipient(), Keys: wrapped}}}
	t := tree.New()
	root := t.Root().Clone()
	root.MTime = m.Time
	root.Rev = tree.Rev{Height: 0, Device: s.ID.ID()}
	t.Put(root)
	if _, err := b.commit(ctx, m, t, true); err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return b, nil
}

// Open finds a bucket by name, full ID, or unique ID prefix.
func (s *Store) Open(ref string) (*Bucket, error) {
	row, err := s.find(ref)
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(row.ID)
	if err != nil {
		return nil, fmt.Errorf("bucket %q has a bad id in the database", row.Name)
	}
	return &Bucket{store: s, ID: id, Name: row.Name}, nil
}

func (s *Store) find(ref string) (db.Bucket, error) {
	if ref == "" {
		return db.Bucket{}, fmt.Errorf("%w: no name given", ErrNoBucket)
	}
	byName, err := s.DB.BucketsByName(ref)
	if err != nil {
		return db.Bucket{}, err
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
	default:
		return db.Bucket{}, fmt.Errorf("%w: %d buckets are named %q; use the id", ErrAmbiguous, len(byName), ref)
	}
	all, err := s.DB.Buckets()
	if err != nil {
		return db.Bucket{}, err
	}
	var hits []db.Bucket
	for _, b := range all {
		if b.ID == ref || len(ref) >= 4 && len(b.ID) >= len(ref) && b.ID[:len(ref)] == ref {
			hits = append(hits, b)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return db.Bucket{}, fmt.Errorf("%w: %q", ErrNoBucket, ref)
	}
	return db.Bucket{}, fmt.Errorf("%w: %q matches %d buckets", ErrAmbiguous, ref, len(hits))
}

// List describes every bucket.
func (s *Store) List() ([]Info, error) {
	rows, err := s.DB.Buckets()
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(rows))
	for _, r := range rows {
		heads, err := s.DB.Heads(r.ID)
		if err != nil {
			return nil, err
		}
		in := Info{ID: r.ID, Name: r.Name, Heads: len(heads), Updated: time.Unix(0, r.UpdatedAt)}
		if v, err := s.DB.VersionByLink(r.ID, r.Head); err == nil {
			in.Head = blob.ID(v.Link).String()
			in.Height = v.Height
		}
		out = append(out, in)
	}
	return out, nil
}

// HeadLink returns the link of the current version.
func (b *Bucket) HeadLink() (blob.ID, error) {
	row, err := b.store.DB.BucketByID(b.ID.String())
	if errors.Is(err, db.ErrNotFound) {
		return blob.ID{}, fmt.Errorf("%w: %s", ErrNoBucket, b.Name)
	}
	if err != nil {
		return blob.ID{}, err
	}
	if len(row.Head) != len(blob.ID{}) {
		return blob.ID{}, fmt.Errorf("bucket %s has no current version", b.Name)
	}
	return blob.ID(row.Head), nil
}

// Current loads the current version.
func (b *Bucket) Current() (*Version, error) {
	link, err := b.HeadLink()
	if err != nil {
		return nil, err
	}
	return b.Load(link)
}

// Manifest reads and verifies one version's manifest.
func (b *Bucket) Manifest(link blob.ID) (*Manifest, error) {
	raw, err := b.store.Blobs.Get(link, nil)
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", link.Short(), damaged(err))
	}
	m, err := DecodeManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("version %s: %w", link.Short(), err)
	}
	if m.Bucket != b.ID {
		return nil, fmt.Errorf("version %s: %w: belongs to another bucket", link.Short(), ErrBadManifest)
	}
	return m, nil
}

// Load reads one version and its whole tree.
func (b *Bucket) Load(link blob.ID) (*Version, error) {
	m, err := b.Manifest(link)
	if err != nil {
		return nil, err
	}
	if err := b.unlock(m); err != nil {
		return nil, err
	}
	t, err := b.loadTree(ref{Blob: m.Root, Epoch: m.Epoch})
	if err != nil {
		return nil, fmt.Errorf("version %d (%s): %w", m.Height, link.Short(), err)
	}
	return &Version{Link: link, Manifest: m, Tree: t}, nil
}

// unlock makes sure the keyring covers the epochs of m.
func (b *Bucket) unlock(m *Manifest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys != nil {
		if _, err := b.keys.Key(m.Epoch); err == nil {
			return nil
		}
	}
	sh := m.Share(b.store.ID.ID())
	if sh == nil && b.keys == nil {
		// A version from before this device was added: the current
		// version's keyring holds every epoch we may read.
		if link, err := b.HeadLink(); err == nil {
			if cur, err := b.Manifest(link); err == nil && cur.Epoch >= m.Epoch {
				sh = cur.Share(b.store.ID.ID())
			}
		}
	}
	if sh == nil {
		return fmt.Errorf("bucket %s: %w", b.Name, ErrNoAccess)
	}
	keys, err := seal.Unwrap(sh.Keys, b.store.ID.Box)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", b.Name, err)
	}
	b.keys = keys
	return nil
}

func (b *Bucket) key(epoch uint32) (*seal.Key, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys == nil {
		return nil, fmt.Errorf("bucket %s: %w", b.Name, ErrNoAccess)
	}
	return b.keys.Key(epoch)
}

func (b *Bucket) currentKey() (*seal.Key, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys == nil {
		return nil, fmt.Errorf("bucket %s: %w", b.Name, ErrNoAccess)
	}
	return b.keys.Current(), nil
}

// seal encrypts and stores a plaintext blob with the current key.
func (b *Bucket) seal(plain []byte) (ref, error) {
	k, err := b.currentKey()
	if err != nil {
		return ref{}, err
	}
	id, err := b.store.Blobs.Put(k.Seal(nil, plain))
	return ref{Blob: id, Epoch: k.Epoch}, err
}

// open reads, verifies and decrypts a blob.
func (b *Bucket) open(id blob.ID, epoch uint32) ([]byte, error) {
	k, err := b.key(epoch)
	if err != nil {
		return nil, err
	}
	raw, err := b.store.Blobs.Get(id, nil)
	if err != nil {
		return nil, damaged(err)
	}
	plain, err := k.OpenInPlace(raw)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", id.Short(), damaged(err))
	}
	return plain, nil
}

// damaged wraps integrity failures of any layer in ErrDamaged.
func damaged(err error) error {
	if errors.Is(err, blob.ErrCorrupt) || errors.Is(err, seal.ErrAuth) || errors.Is(err, blob.ErrMissing) {
		if !errors.Is(err, ErrDamaged) {
			return fmt.Errorf("%w (%w)", ErrDamaged, err)
		}
	}
	return err
}

// Tx is an edit in progress: a private copy of the current tree.
type Tx struct {
	Tree *tree.Snapshot
	// Now is the time stamped on changed directories.
	Now  int64
	base *Version
}

// Base is the version the edit started from.
func (tx *Tx) Base() *Version { return tx.base }

// Edit applies f to a copy of the current tree and saves the result as a new
// version, unless f changed nothing or returned an error. Entries f changed
// are stamped with the new version's Rev. Edits of one bucket are serialized
// across processes.
func (b *Bucket) Edit(ctx context.Context, f func(*Tx) error) (*Version, error) {
	cur, unlock, err := b.lockForWrite()
	if err != nil {
		return nil, err
	}
	defer unlock()
	tx := &Tx{Tree: cur.Tree.Clone(), Now: time.Now().UnixNano(), base: cur}
	if err := f(tx); err != nil {
		return nil, err
	}
	if err := tx.Tree.Validate(); err != nil {
		return nil, fmt.Errorf("edit of bucket %s would damage its tree: %w", b.Name, err)
	}
	t := stamp(cur.Tree, tx.Tree, tree.Rev{Height: cur.Manifest.Height + 1, Device: b.store.ID.ID()})
	if t == nil {
		return cur, nil
	}
	m := b.child(cur.Manifest, []blob.ID{cur.Link}, cur.Manifest.Height+1)
	return b.commit(ctx, m, t, true)
}

// lockForWrite takes the edit lock and loads the current version, failing
// if this device may not write.
func (b *Bucket) lockForWrite() (*Version, func(), error) {
	unlock, err := b.lock()
	if err != nil {
		return nil, nil, err
	}
	cur, err := b.Current()
	if err == nil && !cur.Manifest.CanWrite(b.store.ID.ID()) {
		err = fmt.Errorf("bucket %s: %w", b.Name, ErrReadOnly)
	}
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return cur, unlock, nil
}

// child returns a new unsigned manifest following parent.
func (b *Bucket) child(parent *Manifest, links []blob.ID, height uint64) *Manifest {
	m := *parent
	m.Parents = append([]blob.ID(nil), links...)
	m.Height = height
	m.Author = b.store.ID.ID()
	m.Time = time.Now().UnixNano()
	m.Sig = nil
	if m.Time <= parent.Time { // keep time monotonic along a chain despite clock steps
		m.Time = parent.Time + 1
	}
	return &m
}

// commit writes a tree and its signed manifest, and makes it the current
// version if setHead.
func (b *Bucket) commit(ctx context.Context, m *Manifest, t *tree.Snapshot, setHead bool) (*Version, error) {
	k, err := b.currentKey()
	if err != nil {
		return nil, err
	}
	root, err := b.writeTree(t)
	if err != nil {
		return nil, err
	}
	m.Root, m.Epoch = root.Blob, k.Epoch
	raw, err := m.Sign(b.store.ID.Sign)
	if err != nil {
		return nil, err
	}
	// Everything the manifest points at must be durable before it is.
	if err := b.store.Blobs.Sync(); err != nil {
		return nil, err
	}
	link, err := b.store.Blobs.Put(raw)
	if err != nil {
		return nil, err
	}
	if err := b.store.Blobs.Sync(); err != nil {
		return nil, err
	}
	v := db.Version{Link: link[:], Height: m.Height, Author: m.Author[:], Time: m.Time, IsMerge: len(m.Parents) > 1}
	for _, p := range m.Parents {
		v.Parents = append(v.Parents, bytes.Clone(p[:]))
	}
	if err := b.store.DB.AddVersion(ctx, b.ID.String(), m.Name, v, setHead); err != nil {
		return nil, fmt.Errorf("record version: %w", err)
	}
	b.Name = m.Name
	if setHead {
		b.store.headChanged(b.ID.String())
	}
	return &Version{Link: link, Manifest: m, Tree: t}, nil
}

// lock takes the bucket's edit lock, in this process and across processes.
func (b *Bucket) lock() (func(), error) {
	s := b.store
	s.mu.Lock()
	mu := s.buckets[b.ID.String()]
	if mu == nil {
		mu = &sync.Mutex{}
		s.buckets[b.ID.String()] = mu
	}
	s.mu.Unlock()
	mu.Lock()
	if err := os.MkdirAll(s.LockDir, 0o700); err != nil {
		mu.Unlock()
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(s.LockDir, b.ID.String()+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		mu.Unlock()
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		mu.Unlock()
		return nil, fmt.Errorf("lock bucket %s: %w", b.Name, err)
	}
	return func() { f.Close(); mu.Unlock() }, nil
}

// dirCache keeps decoded directory blobs: they are immutable, and loading
// one version after another mostly meets the same directories again.
type dirCache struct {
	mu sync.Mutex
	m  map[blob.ID]*dirBlob
}

const dirCacheMax = 1 << 14

func (c *dirCache) get(id blob.ID) (*dirBlob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[id]
	return d, ok
}

func (c *dirCache) put(id blob.ID, d *dirBlob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= dirCacheMax {
		clear(c.m)
	}
	c.m[id] = d
}
