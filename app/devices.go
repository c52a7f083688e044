package app

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"

	"github.com/jax-desktop/jax/store/bucket"
	"github.com/jax-desktop/jax/store/db"
	"github.com/jax-desktop/jax/store/tree"
)

// A device card is what another device needs to share buckets with this
// one: its id, name and X25519 key. It holds no secret.
const cardPrefix = "jaxdev1-"

type card struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Recipient string `json:"recipient"`
}

// Card returns this device's card.
func (s *Store) Card() string {
	b, _ := json.Marshal(card{ID: s.Buckets.ID.ID().String(), Name: s.Buckets.DeviceName(), Recipient: s.Buckets.ID.Recipient()})
	return cardPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// AddDevice records another device from its card.
func (s *Store) AddDevice(text string) (bucket.Device, error) {
	bad := errors.New("not a device card (run 'jax device card' on the other device)")
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, cardPrefix) {
		return bucket.Device{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(text, cardPrefix))
	var c card
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return bucket.Device{}, bad
	}
	id, err := hex.DecodeString(c.ID)
	if err != nil || len(id) != len(tree.DeviceID{}) {
		return bucket.Device{}, bad
	}
	if _, err := age.ParseX25519Recipient(c.Recipient); err != nil {
		return bucket.Device{}, fmt.Errorf("device card has a bad key: %w", err)
	}
	if c.Name == "" {
		c.Name = c.ID[:8]
	}
	d := bucket.Device{ID: tree.DeviceID(id), Name: c.Name, Recipient: c.Recipient}
	return d, s.DB.PutDevice(db.Device{ID: id, Name: c.Name, Recipient: c.Recipient})
}

// FindDevice finds a known device by name, id or id prefix.
func (s *Store) FindDevice(ref string) (bucket.Device, error) {
	devs, err := s.DB.Devices()
	if err != nil {
		return bucket.Device{}, err
	}
	var hits []db.Device
	for _, d := range devs {
		h := hex.EncodeToString(d.ID)
		if d.Name == ref || h == ref || len(ref) >= 6 && strings.HasPrefix(h, ref) {
			hits = append(hits, d)
		}
	}
	switch len(hits) {
	case 0:
		return bucket.Device{}, fmt.Errorf("no device %q (add it with 'jax device add CARD'): %w", ref, db.ErrNotFound)
	case 1:
		return bucket.Device{ID: tree.DeviceID(hits[0].ID), Name: hits[0].Name, Recipient: hits[0].Recipient}, nil
	}
	return bucket.Device{}, fmt.Errorf("device %q is %w: give its id", ref, bucket.ErrAmbiguous)
}
