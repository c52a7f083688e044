package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jax-desktop/jax/fuse/manager"
	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/identity"
)

// FirstBucketName is the bucket a new device starts with, mounted at
// ~/Jax/<name> so a new user sees a working folder at once.
const FirstBucketName = "Personal"

// firstMountKey holds, between FirstRun and FinishFirstRun, the id of the
// bucket still to be mounted; a crash in between mounts it next start.
const firstMountKey = "first_run_mount"

// firstRunKey is set while FirstRun has made the identity but not yet the
// first bucket, so a start after a crash in between still makes it.
const firstRunKey = "first_run_pending"

// FirstRun sets up a device that has never run: its identity and a first
// bucket. It reports whether it did; a device already set up is left alone.
// Call it before Start, and FinishFirstRun after.
func FirstRun(ctx context.Context, dirs Dirs, log *slog.Logger) (bool, error) {
	var s *Store
	if _, err := identity.Load(dirs.identityPath()); err == nil {
		// Set up already; finish a first run that stopped half way.
		if s, err = Open(dirs, log); err != nil {
			return false, err
		}
		defer s.Close()
		if p, err := s.DB.Setting(firstRunKey, ""); err != nil || p == "" {
			return false, err
		}
	} else if !errors.Is(err, identity.ErrNone) {
		return false, err
	} else {
		if s, err = Init(ctx, dirs, "", log); err != nil {
			return false, err
		}
		defer s.Close()
		if err := s.DB.SetSetting(firstRunKey, "pending"); err != nil {
			return true, err
		}
	}
	b, err := s.Buckets.Open(FirstBucketName)
	if errors.Is(err, bucket.ErrNoBucket) {
		b, err = s.Buckets.Create(ctx, FirstBucketName)
	}
	if err != nil {
		return true, fmt.Errorf("create the first bucket: %w", err)
	}
	if err := s.DB.SetSetting(firstMountKey, b.ID.String()); err != nil {
		return true, err
	}
	return true, s.DB.SetSetting(firstRunKey, "")
}

// FirstMountPoint is the folder the first bucket is mounted at.
func FirstMountPoint() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home directory: %w", err)
	}
	return filepath.Join(home, "Jax", FirstBucketName), nil
}

// FinishFirstRun adds and starts the auto-mount of the bucket FirstRun
// made. With nothing to do it returns nil, nil.
func (a *App) FinishFirstRun(ctx context.Context) (*db.Mount, error) {
	id, err := a.DB.Setting(firstMountKey, "")
	if err != nil || id == "" {
		return nil, err
	}
	base, err := FirstMountPoint()
	if err != nil {
		return nil, err
	}
	// A folder left from an earlier install is not ours to mount over:
	// the next free name is.
	var m db.Mount
	for i := 1; ; i++ {
		mp := base
		if i > 1 {
			mp = fmt.Sprintf("%s-%d", base, i)
		}
		s := manager.DefaultSettings(mp)
		s.AutoMount = true
		m, err = a.Mounts.Create(ctx, id, s)
		if err == nil {
			break
		}
		if i == 20 || !errors.Is(err, manager.ErrNotEmpty) && !errors.Is(err, db.ErrMountPointTaken) && !errors.Is(err, manager.ErrInUse) {
			return nil, fmt.Errorf("mount your first bucket at %s: %w", mp, err)
		}
	}
	// Recorded before starting: a mount that fails to start stays in the
	// list with its error, and is not made a second time.
	if err := a.DB.SetSetting(firstMountKey, ""); err != nil {
		return nil, err
	}
	if err := a.Mounts.Start(ctx, m.ID); err != nil {
		return &m, err
	}
	m, err = a.Mounts.Get(m.ID)
	return &m, err
}
