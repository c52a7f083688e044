// Package manager keeps the FUSE mounts of buckets alive and in step with
// sync: mount configs in the database, start and stop with the platform's
// unmount fallbacks, auto-mount at start-up, stale mount clean-up, and
// merging each new version that sync brings into the live mounts.
//
// Lock order: Manager.annMu, then Manager.mu, then nothing (FS calls are
// made without mu held, except Stop/Start bookkeeping).
package manager

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/uuid"

	"github.com/jax-desktop/jax/fuse"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
)

// Limits for mount settings: refused with a reason outside them.
const (
	MaxCacheSizeMB  = 64 << 10 // 64 GiB
	MaxCacheTTLSecs = 86400
)

var (
	// ErrRunning means the mount is already running.
	ErrRunning = errors.New("mount is already running")
	// ErrNotEmpty means the mount point holds files.
	ErrNotEmpty = errors.New("mount point is not empty")
	// ErrInUse means another filesystem is mounted there.
	ErrInUse = errors.New("mount point is in use by another filesystem")
)

// Event is something subscribers (tray, notifications, tests) hear about.
type Event struct {
	Kind     string `json:"kind"` // status, invalidated, conflict, error
	MountID  string `json:"mount_id,omitempty"`
	BucketID string `json:"bucket_id,omitempty"`
	Status   string `json:"status,omitempty"`
	Path     string `json:"path,omitempty"`      // conflict: the file that kept its name
	CopyPath string `json:"copy_path,omitempty"` // conflict: the copy, absolute in the mount (in the bucket if MountID is "")
	Device   string `json:"device,omitempty"`    // conflict: the other device's name, or its short id
	Message  string `json:"message,omitempty"`
}

// Manager runs the mounts of one data dir.
type Manager struct {
	db      *db.DB
	buckets *bucket.Store
	staging string
	log     *slog.Logger
	device  string // the FUSE device, /dev/fuse; tests point it elsewhere

	mu   sync.Mutex // guards live and subs
	live map[string]*liveMount
	subs map[chan Event]struct{}

	// Conflicts are announced by id, whoever recorded them (sync, an
	// import, a mount's merge): per bucket, the highest id announced; ids up
	// to annFrom were recorded before the manager started.
	annMu     sync.Mutex // guards announced; taken before mu
	announced map[string]int64
	annFrom   int64
}

type liveMount struct {
	cfg     db.Mount
	fs      *fuse.FS
	b       *bucket.Bucket
	lastErr string // last failure to bring a new version in; guarded by Manager.mu
}

// New returns a manager; staging is a directory for write staging files.
func New(d *db.DB, buckets *bucket.Store, staging string, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	from, err := d.LastConflictID()
	if err != nil {
		log.Error("read conflicts", "err", err)
	}
	return &Manager{db: d, buckets: buckets, staging: staging, log: log, device: "/dev/fuse",
		live: map[string]*liveMount{}, subs: map[chan Event]struct{}{}, announced: map[string]int64{}, annFrom: from}
}

// Settings are the user-chosen parts of a mount config.
type Settings struct {
	MountPoint   string
	AutoMount    bool
	ReadOnly     bool
	Enabled      bool
	CacheSizeMB  int
	CacheTTLSecs int
}

// DefaultSettings are the seed's defaults.
func DefaultSettings(mountPoint string) Settings {
	return Settings{MountPoint: mountPoint, Enabled: true, CacheSizeMB: 100, CacheTTLSecs: 60}
}

// Validate refuses settings that cannot work, with the reason.
func (s Settings) Validate() error {
	switch {
	case s.MountPoint == "":
		return errors.New("a mount point is required")
	case !filepath.IsAbs(s.MountPoint):
		return fmt.Errorf("mount point %q must be an absolute path", s.MountPoint)
	case s.CacheSizeMB < 1 || s.CacheSizeMB > MaxCacheSizeMB:
		return fmt.Errorf("cache size must be between 1 and %d MB, not %d", MaxCacheSizeMB, s.CacheSizeMB)
	case s.CacheTTLSecs < 0 || s.CacheTTLSecs > MaxCacheTTLSecs:
		return fmt.Errorf("cache TTL must be between 0 and %d seconds, not %d", MaxCacheTTLSecs, s.CacheTTLSecs)
	}
	return nil
}

// prepareMountPoint creates a missing mount point and refuses one that is
// not an empty directory.
func prepareMountPoint(p string) error {
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(p, 0o700)
	}
	if err != nil {
		return fmt.Errorf("mount point %s: %w", p, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("mount point %s is not a directory", p)
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return fmt.Errorf("mount point %s: %w", p, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%w: %s holds %d entries; choose an empty folder", ErrNotEmpty, p, len(ents))
	}
	return nil
}

// Create stores a new mount config for a bucket (name or id).
func (m *Manager) Create(ctx context.Context, bucketRef string, s Settings) (db.Mount, error) {
	s.MountPoint = filepath.Clean(s.MountPoint)
	if err := s.Validate(); err != nil {
		return db.Mount{}, err
	}
	b, err := m.buckets.Open(bucketRef)
	if err != nil {
		return db.Mount{}, err
	}
	if err := cleanStale(s.MountPoint, m.log); err != nil {
		return db.Mount{}, err
	}
	if err := prepareMountPoint(s.MountPoint); err != nil {
		return db.Mount{}, err
	}
	cfg := db.Mount{ID: uuid.NewString(), BucketID: b.ID.String(), MountPoint: s.MountPoint, Enabled: s.Enabled,
		AutoMount: s.AutoMount, ReadOnly: s.ReadOnly, CacheSizeMB: s.CacheSizeMB, CacheTTLSecs: s.CacheTTLSecs}
	if err := m.db.AddMount(cfg); err != nil {
		return db.Mount{}, err
	}
	return m.db.Mount(cfg.ID)
}

// Get returns one mount config with its status.
func (m *Manager) Get(id string) (db.Mount, error) { return m.db.Mount(id) }

// List returns every mount config.
func (m *Manager) List() ([]db.Mount, error) { return m.db.Mounts() }

// Update changes a mount's settings. A running mount keeps running; new
// settings apply the next time it starts.
func (m *Manager) Update(id string, s Settings) (db.Mount, error) {
	cfg, err := m.db.Mount(id)
	if err != nil {
		return cfg, err
	}
	s.MountPoint = filepath.Clean(s.MountPoint)
	if err := s.Validate(); err != nil {
		return cfg, err
	}
	if s.MountPoint != cfg.MountPoint {
		if m.running(id) {
			return cfg, errors.New("stop the mount before moving it to another folder")
		}
		if err := prepareMountPoint(s.MountPoint); err != nil {
			return cfg, err
		}
	}
	cfg.MountPoint, cfg.AutoMount, cfg.ReadOnly, cfg.Enabled = s.MountPoint, s.AutoMount, s.ReadOnly, s.Enabled
	cfg.CacheSizeMB, cfg.CacheTTLSecs = s.CacheSizeMB, s.CacheTTLSecs
	if err := m.db.UpdateMount(cfg); err != nil {
		return cfg, err
	}
	return m.db.Mount(id)
}

// Delete stops a mount if it runs and removes its config.
func (m *Manager) Delete(ctx context.Context, id string) error {
	if _, err := m.db.Mount(id); err != nil {
		return err
	}
	if m.running(id) {
		if err := m.Stop(ctx, id); err != nil {
			return err
		}
	}
	return m.db.DeleteMount(id)
}

func (m *Manager) running(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live[id] != nil
}

func (m *Manager) setStatus(cfg db.Mount, status, msg string) {
	if err := m.db.SetMountStatus(cfg.ID, status, msg); err != nil {
		m.log.Error("record mount status", "mount", cfg.ID, "err", err)
	}
	m.emit(Event{Kind: "status", MountID: cfg.ID, BucketID: cfg.BucketID, Status: status, Message: msg})
}

// Start mounts one config. A failure leaves status error with the reason.
func (m *Manager) Start(ctx context.Context, id string) error {
	cfg, err := m.db.Mount(id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.live[id] != nil {
		m.mu.Unlock()
		return fmt.Errorf("%s: %w", cfg.MountPoint, ErrRunning)
	}
	m.live[id] = &liveMount{cfg: cfg} // reserves the slot against a second Start
	m.mu.Unlock()
	m.setStatus(cfg, db.StatusStarting, "")
	lm, err := m.start(cfg)
	m.mu.Lock()
	if err != nil {
		delete(m.live, id)
	} else {
		m.live[id] = lm
	}
	m.mu.Unlock()
	if err != nil {
		m.log.Warn("mount failed", "mount", cfg.MountPoint, "err", err)
		m.setStatus(cfg, db.StatusError, err.Error())
		return err
	}
	m.setStatus(cfg, db.StatusRunning, "")
	return nil
}

func (m *Manager) start(cfg db.Mount) (*liveMount, error) {
	b, err := m.buckets.Open(cfg.BucketID)
	if errors.Is(err, bucket.ErrNoBucket) {
		return nil, fmt.Errorf("the bucket of this mount (%s) no longer exists on this device; remove the mount with 'jax mount remove %s'", cfg.BucketID, shortID(cfg.ID))
	}
	if err != nil {
		return nil, err
	}
	if err := cleanStale(cfg.MountPoint, m.log); err != nil {
		return nil, err
	}
	if err := prepareMountPoint(cfg.MountPoint); err != nil {
		return nil, err
	}
	if err := checkFUSE(m.device); err != nil {
		return nil, err
	}
	staging := filepath.Join(m.staging, cfg.ID)
	if err := os.MkdirAll(staging, 0o700); err != nil {
		return nil, err
	}
	// Beside the staging area, which is wiped at start-up; the journal
	// must outlive a crash.
	journals := filepath.Join(filepath.Dir(m.staging), "journal")
	if err := os.MkdirAll(journals, 0o700); err != nil {
		return nil, err
	}
	cur, err := b.Current()
	if err != nil {
		return nil, err
	}
	// A mirror may read but not write: mount it read-only rather than
	// fail every save.
	readOnly := cfg.ReadOnly || !cur.Manifest.CanWrite(m.buckets.ID.ID())
	fs, err := fuse.New(b, fuse.Options{
		ReadOnly: readOnly, CacheTTL: seconds(cfg.CacheTTLSecs), CacheBytes: int64(cfg.CacheSizeMB) << 20,
		StagingDir: staging, Journal: filepath.Join(journals, cfg.ID), Log: m.log.With("mount", cfg.MountPoint),
	})
	if err != nil {
		return nil, err
	}
	if err := fs.Mount(cfg.MountPoint); err != nil {
		return nil, fmt.Errorf("mount %s: %w", cfg.MountPoint, err)
	}
	return &liveMount{cfg: cfg, fs: fs, b: b}, nil
}

// Stop saves pending changes and unmounts.
func (m *Manager) Stop(ctx context.Context, id string) error {
	m.mu.Lock()
	lm := m.live[id]
	m.mu.Unlock()
	if lm == nil || lm.fs == nil {
		cfg, err := m.db.Mount(id)
		if err != nil {
			return err
		}
		if cfg.Status != db.StatusStopped && lm == nil {
			m.setStatus(cfg, db.StatusStopped, "")
		}
		return nil
	}
	m.setStatus(lm.cfg, db.StatusStopping, "")
	if err := lm.fs.Unmount(); err != nil {
		m.setStatus(lm.cfg, db.StatusError, err.Error())
		return err
	}
	m.mu.Lock()
	delete(m.live, id)
	m.mu.Unlock()
	m.setStatus(lm.cfg, db.StatusStopped, "")
	return nil
}

// StopAll stops every running mount (at shutdown), returning the first error.
func (m *Manager) StopAll(ctx context.Context) error {
	m.mu.Lock()
	ids := make([]string, 0, len(m.live))
	for id := range m.live {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	var first error
	for _, id := range ids {
		if err := m.Stop(ctx, id); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// StartAuto starts every enabled auto-mount, concurrently; a failure marks
// that mount error and does not hold up the others.
func (m *Manager) StartAuto(ctx context.Context) {
	cfgs, err := m.db.Mounts()
	if err != nil {
		m.log.Error("list mounts", "err", err)
		return
	}
	for _, c := range cfgs {
		// A process that died without stopping its mounts left them
		// marked as running; nothing of them is live now.
		if c.Status != db.StatusStopped && c.Status != db.StatusError && !m.running(c.ID) {
			m.setStatus(c, db.StatusStopped, "")
		}
	}
	var wg sync.WaitGroup
	for _, c := range cfgs {
		if !c.Enabled || !c.AutoMount {
			continue
		}
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			m.Start(ctx, id) // records its own error
		}(c.ID)
	}
	wg.Wait()
}

// LastError returns the last failure to bring a new version into a running
// mount (it keeps serving what it had), or "".
func (m *Manager) LastError(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lm := m.live[id]; lm != nil {
		return lm.lastErr
	}
	return ""
}

// FS returns a live mount's filesystem, or nil.
func (m *Manager) FS(id string) *fuse.FS {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lm := m.live[id]; lm != nil {
		return lm.fs
	}
	return nil
}

// Change runs f, a change to a bucket made outside its mounts (a jax
// command served by the daemon), then brings the result into the bucket's
// live mounts. What the mounts hold unsaved is saved first, so the change
// lands on top of it: history stays linear and the mounts see no conflict
// with their own writes. Files still open for writing are left to their
// handles and committed on top later, as with any sync.
func (m *Manager) Change(ctx context.Context, bucketID string, f func() error) error {
	// The mounts' own saves must not fail because the command gave up.
	mctx := context.WithoutCancel(ctx)
	for _, lm := range m.liveOf(bucketID) {
		v, err := lm.b.Current()
		if err == nil {
			err = lm.fs.Update(mctx, v)
		}
		if err != nil {
			// The change still goes ahead; the mount's edits are merged
			// with it afterwards, as a sync would.
			m.log.Warn("save mount before a change", "mount", lm.cfg.MountPoint, "err", err)
		}
	}
	if err := f(); err != nil {
		return err
	}
	m.OnBucketSynced(mctx, bucketID)
	return nil
}

func (m *Manager) liveOf(bucketID string) []*liveMount {
	m.mu.Lock()
	defer m.mu.Unlock()
	var mounts []*liveMount
	for _, lm := range m.live {
		if lm.cfg.BucketID == bucketID && lm.fs != nil {
			mounts = append(mounts, lm)
		}
	}
	return mounts
}

// deviceName names a device for people: its name if known, else its short id.
func deviceName(devs []db.Device, id []byte) string {
	for _, d := range devs {
		if len(id) > 0 && bytes.Equal(d.ID, id) {
			return d.Name
		}
	}
	if len(id) >= 4 {
		return hex.EncodeToString(id[:4])
	}
	return ""
}

func shortID(id string) string { return id[:min(8, len(id))] }

// OnBucketSynced brings a bucket's new version into each of its live mounts:
// unsaved local changes are merged, never dropped, the kernel cache is
// invalidated for what changed, and subscribers hear of it and of every
// conflict copy recorded since they last heard, whoever recorded it.
func (m *Manager) OnBucketSynced(ctx context.Context, bucketID string) {
	mounts := m.liveOf(bucketID)
	var updated []*liveMount
	for _, lm := range mounts {
		v, err := lm.b.Current()
		if err == nil {
			err = lm.fs.Update(ctx, v)
		}
		m.mu.Lock()
		lm.lastErr = ""
		if err != nil {
			lm.lastErr = err.Error()
		}
		m.mu.Unlock()
		if err != nil {
			m.log.Error("merge new version into mount", "mount", lm.cfg.MountPoint, "err", err)
			m.emit(Event{Kind: "error", MountID: lm.cfg.ID, BucketID: bucketID, Message: err.Error()})
			continue
		}
		updated = append(updated, lm)
	}
	m.announceConflicts(bucketID, mounts)
	for _, lm := range updated {
		m.emit(Event{Kind: "invalidated", MountID: lm.cfg.ID, BucketID: bucketID})
	}
}

// announceConflicts emits one "conflict" event for each open conflict copy
// of the bucket recorded since the last announcement, with paths in the
// first of its mounts (by mount point); with no mount, MountID is empty and
// the paths are the bucket's own.
func (m *Manager) announceConflicts(bucketID string, mounts []*liveMount) {
	m.annMu.Lock()
	defer m.annMu.Unlock()
	after, ok := m.announced[bucketID]
	if !ok {
		after = m.annFrom
	}
	cs, err := m.db.ConflictsAfter(bucketID, after)
	if err != nil {
		m.log.Error("read conflicts", "bucket", bucketID, "err", err)
		return
	}
	var lm *liveMount
	for _, x := range mounts {
		if lm == nil || x.cfg.MountPoint < lm.cfg.MountPoint {
			lm = x
		}
	}
	var devs []db.Device
	for _, c := range cs {
		after = max(after, c.ID)
		if c.CopyPath == "" || c.ResolvedAt != 0 {
			continue
		}
		if devs == nil {
			devs, _ = m.db.Devices()
		}
		e := Event{Kind: "conflict", BucketID: bucketID, Path: c.Path, CopyPath: c.CopyPath, Message: c.Kind, Device: deviceName(devs, c.OtherDevice)}
		if lm != nil {
			e.MountID, e.Path, e.CopyPath = lm.cfg.ID, filepath.Join(lm.cfg.MountPoint, c.Path), filepath.Join(lm.cfg.MountPoint, c.CopyPath)
		}
		m.log.Info("conflict copy made", "bucket", bucketID, "path", e.Path, "copy", e.CopyPath, "kind", c.Kind)
		m.emit(e)
	}
	m.announced[bucketID] = after
}

// Subscribe returns a channel of events and a function that ends the
// subscription. A subscriber that does not keep up loses events, not the
// manager's time.
func (m *Manager) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		if _, ok := m.subs[ch]; ok {
			delete(m.subs, ch)
			close(ch)
		}
		m.mu.Unlock()
	}
}

func (m *Manager) emit(e Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- e:
		default:
			m.log.Warn("event subscriber too slow; event dropped", "kind", e.Kind)
		}
	}
}
