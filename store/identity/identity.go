// Package identity holds this device's keys: an ed25519 key that signs the
// versions it writes (and is its network identity), and an X25519 key that
// bucket secrets are wrapped to.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/jax-desktop/jax/store/tree"
)

// ErrNone means the data dir has no device identity yet.
var ErrNone = errors.New("this device is not set up yet: run 'jax init'")

// Identity is one device's key material.
type Identity struct {
	Sign ed25519.PrivateKey
	Box  *age.X25519Identity
}

// ID is the device ID: its ed25519 public key.
func (i *Identity) ID() tree.DeviceID {
	var d tree.DeviceID
	copy(d[:], i.Sign.Public().(ed25519.PublicKey))
	return d
}

// Recipient is the public X25519 key others wrap bucket secrets to.
func (i *Identity) Recipient() string { return i.Box.Recipient().String() }

type file struct {
	Version int    `json:"version"`
	Ed25519 []byte `json:"ed25519_seed"`
	X25519  string `json:"x25519"`
}

// Generate makes a new identity.
func Generate() (*Identity, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	box, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	return &Identity{Sign: priv, Box: box}, nil
}

// Save writes the identity to path with mode 0600, atomically, refusing to
// replace an existing one (that would orphan every bucket wrapped to it).
func (i *Identity) Save(path string) error {
	b, _ := json.MarshalIndent(file{Version: 1, Ed25519: i.Sign.Seed(), X25519: i.Box.String()}, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Link(tmp, path) // fails if path exists
	}
	os.Remove(tmp)
	if err != nil {
		return fmt.Errorf("save device identity: %w", err)
	}
	return nil
}

// Load reads an identity written by Save.
func Load(path string) (*Identity, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNone
	}
	if err != nil {
		return nil, fmt.Errorf("read device identity: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil || f.Version != 1 || len(f.Ed25519) != ed25519.SeedSize {
		return nil, fmt.Errorf("device identity %s is damaged", filepath.Base(path))
	}
	box, err := age.ParseX25519Identity(f.X25519)
	if err != nil {
		return nil, fmt.Errorf("device identity %s is damaged: %w", filepath.Base(path), err)
	}
	return &Identity{Sign: ed25519.NewKeyFromSeed(f.Ed25519), Box: box}, nil
}
