package bucket

import (
	"context"
	"fmt"
	"sort"

	"github.com/jax-desktop/jax/store/blob"
	"github.com/jax-desktop/jax/store/seal"
	"github.com/jax-desktop/jax/store/tree"
)

// Device is what sharing needs to know of a device.
type Device struct {
	ID        tree.DeviceID
	Name      string
	Recipient string // age X25519 recipient
}

// Share gives a device access to the bucket with a role, wrapping the
// keyring (every epoch) to it, as a new version. Sharing again changes the
// role.
func (b *Bucket) Share(ctx context.Context, d Device, role Role) (*Version, error) {
	if role != Owner && role != Mirror {
		return nil, fmt.Errorf("unknown role %d", role)
	}
	return b.changeShares(ctx, false, func(m *Manifest, keys *seal.Keyring) error {
		wrapped, err := seal.Wrap(keys, d.Recipient)
		if err != nil {
			return err
		}
		sh := Share{Device: d.ID, Name: d.Name, Role: role, Recipient: d.Recipient, Keys: wrapped}
		if old := m.Share(d.ID); old != nil {
			*old = sh
			return nil
		}
		m.Shares = append(m.Shares, sh)
		return nil
	})
}

// Unshare removes a device and rotates the bucket key, so the device cannot
// read anything written from this version on. What it could read before
// stays readable to it: that data was already in its hands.
func (b *Bucket) Unshare(ctx context.Context, id tree.DeviceID) (*Version, error) {
	if id == b.store.ID.ID() {
		return nil, fmt.Errorf("this device cannot remove itself from bucket %s", b.Name)
	}
	return b.changeShares(ctx, true, func(m *Manifest, _ *seal.Keyring) error {
		for i := range m.Shares {
			if m.Shares[i].Device == id {
				m.Shares = append(m.Shares[:i], m.Shares[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("device %s is not in bucket %s", id.Short(), b.Name)
	})
}

// changeShares saves a version with the same tree and changed shares; with
// rotate, under a new key epoch rewrapped to every remaining device.
func (b *Bucket) changeShares(ctx context.Context, rotate bool, f func(*Manifest, *seal.Keyring) error) (*Version, error) {
	cur, unlock, err := b.lockForWrite()
	if err != nil {
		return nil, err
	}
	defer unlock()
	m := b.child(cur.Manifest, []blob.ID{cur.Link}, cur.Manifest.Height+1)
	m.Shares = append([]Share(nil), cur.Manifest.Shares...)
	b.mu.Lock()
	keys, err := seal.UnmarshalKeyring(b.keys.Marshal()) // a copy: nothing changes if the save fails
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := f(m, keys); err != nil {
		return nil, err
	}
	old := b.keys
	if rotate {
		keys.Rotate()
		for i := range m.Shares {
			w, err := seal.Wrap(keys, m.Shares[i].Recipient)
			if err != nil {
				return nil, err
			}
			m.Shares[i].Keys = w
		}
	}
	sort.Slice(m.Shares, func(i, j int) bool {
		return string(m.Shares[i].Device[:]) < string(m.Shares[j].Device[:])
	})
	b.mu.Lock()
	b.keys = keys
	b.mu.Unlock()
	v, err := b.commit(ctx, m, cur.Tree, true)
	if err != nil {
		b.mu.Lock()
		b.keys = old
		b.mu.Unlock()
	}
	return v, err
}
