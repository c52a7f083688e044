// Package app wires one running instance of Jax: the data dir, the database,
// the blob store and the bucket store. The jax CLI and (later) the daemon and
// tray app are thin shells over it.
package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dirs are the places one instance keeps its files.
type Dirs struct {
	Config string // settings a user may edit
	Data   string // identity, database, blobs
	State  string // logs
}

// ResolveDirs picks the directories: home (from --home), else $JAX_HOME, else
// the XDG base directories. A home puts everything under one folder, so tests
// and several instances on one machine never collide.
func ResolveDirs(home string) (Dirs, error) {
	if home == "" {
		home = os.Getenv("JAX_HOME")
	}
	if home != "" {
		abs, err := filepath.Abs(home)
		if err != nil {
			return Dirs{}, err
		}
		return Dirs{Config: filepath.Join(abs, "config"), Data: filepath.Join(abs, "data"), State: filepath.Join(abs, "state")}, nil
	}
	userHome, err := os.UserHomeDir()
	if err != nil {
		return Dirs{}, fmt.Errorf("cannot find your home directory (set JAX_HOME): %w", err)
	}
	xdg := func(env, def string) string {
		if v := os.Getenv(env); filepath.IsAbs(v) {
			return filepath.Join(v, "jax")
		}
		return filepath.Join(userHome, def, "jax")
	}
	return Dirs{
		Config: xdg("XDG_CONFIG_HOME", ".config"),
		Data:   xdg("XDG_DATA_HOME", ".local/share"),
		State:  xdg("XDG_STATE_HOME", ".local/state"),
	}, nil
}

// Paths inside the data dir.
func (d Dirs) identityPath() string { return filepath.Join(d.Data, "identity") }
func (d Dirs) dbPath() string       { return filepath.Join(d.Data, "jax.db") }
func (d Dirs) blobDir() string      { return filepath.Join(d.Data, "blobs") }
func (d Dirs) lockDir() string      { return filepath.Join(d.Data, "locks") }

// make creates the directories, private to this user.
func (d Dirs) make() error {
	for _, p := range []string{d.Config, d.Data, d.State} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// ErrAlreadyInit means the data dir already has a device identity.
var ErrAlreadyInit = errors.New("this device is already set up")
