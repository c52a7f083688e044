package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/identity"
)

// Store is an opened data dir.
type Store struct {
	Dirs    Dirs
	DB      *db.DB
	Buckets *bucket.Store
}

// Close releases the database.
func (s *Store) Close() error { return s.DB.Close() }

// DefaultDeviceName is the name a device gets when none is given.
func DefaultDeviceName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "device"
}

// Init sets up a new device in the data dir: its identity and database.
func Init(ctx context.Context, dirs Dirs, name string, log *slog.Logger) (*Store, error) {
	if name == "" {
		name = DefaultDeviceName()
	}
	if err := dirs.make(); err != nil {
		return nil, err
	}
	if _, err := identity.Load(dirs.identityPath()); err == nil {
		return nil, fmt.Errorf("%w (data in %s)", ErrAlreadyInit, dirs.Data)
	} else if !errors.Is(err, identity.ErrNone) {
		return nil, err
	}
	id, err := identity.Generate()
	if err != nil {
		return nil, err
	}
	// The database first: an identity without one would look set up but fail.
	d, err := db.Open(dirs.dbPath())
	if err != nil {
		return nil, err
	}
	dev := id.ID()
	if err := d.PutDevice(db.Device{ID: dev[:], Name: name, Recipient: id.Recipient(), IsSelf: true}); err != nil {
		d.Close()
		return nil, err
	}
	if err := id.Save(dirs.identityPath()); err != nil {
		d.Close()
		return nil, err
	}
	d.Close()
	return Open(dirs, log)
}

// Open opens an initialised data dir.
func Open(dirs Dirs, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id, err := identity.Load(dirs.identityPath())
	if err != nil {
		return nil, err
	}
	d, err := db.Open(dirs.dbPath())
	if err != nil {
		return nil, err
	}
	name := DefaultDeviceName()
	devs, err := d.Devices()
	if err != nil {
		d.Close()
		return nil, err
	}
	if len(devs) > 0 && devs[0].IsSelf {
		name = devs[0].Name
	}
	blobs, err := blob.Open(dirs.blobDir())
	if err != nil {
		d.Close()
		return nil, err
	}
	if n, err := blobs.CleanTemp(10 * time.Minute); n > 0 || err != nil {
		log.Info("removed unfinished blob writes", "count", n, "err", err)
	}
	return &Store{Dirs: dirs, DB: d, Buckets: bucket.NewStore(d, blobs, id, name, dirs.lockDir(), log)}, nil
}
