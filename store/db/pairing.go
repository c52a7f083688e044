package db

import (
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Pairing: devices that proved an invite are paired (paired_at set) and may
// talk to this one over the network until removed (removed_at set). A
// removed device keeps its row, because bucket shares still name it.

// Why an invite token was refused.
var (
	ErrInviteUnknown = errors.New("the invite is not known here (wrong code, or made on another device)")
	ErrInviteUsed    = errors.New("the invite was already used (an invite pairs one device; make a new one)")
	ErrInviteExpired = errors.New("the invite has expired (make a new one)")
)

// PeerDevice is a device row with its pairing state.
type PeerDevice struct {
	Device
	RemovedAt int64 // unix seconds, 0 if not removed
}

// Paired reports whether the device may use the network protocols.
func (p PeerDevice) Paired() bool { return !p.IsSelf && p.PairedAt != 0 && p.RemovedAt == 0 }

const peerCols = "id, name, recipient, addresses, is_self, COALESCE(paired_at, 0), COALESCE(last_seen, 0), COALESCE(removed_at, 0)"

func scanPeer(s interface{ Scan(...any) error }) (PeerDevice, error) {
	var v PeerDevice
	err := s.Scan(&v.ID, &v.Name, &v.Recipient, &v.Addresses, &v.IsSelf, &v.PairedAt, &v.LastSeen, &v.RemovedAt)
	return v, err
}

// PeerDevice returns one device by id.
func (d *DB) PeerDevice(id []byte) (PeerDevice, error) {
	v, err := scanPeer(d.QueryRow("SELECT "+peerCols+" FROM devices WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("device %x: %w", id, ErrNotFound)
	}
	return v, err
}

// PeerDevices lists every device, this one first, removed ones included.
func (d *DB) PeerDevices() ([]PeerDevice, error) {
	rows, err := d.Query("SELECT " + peerCols + " FROM devices ORDER BY is_self DESC, name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PeerDevice
	for rows.Next() {
		v, err := scanPeer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// IsPaired reports whether a device is paired and not removed.
func (d *DB) IsPaired(id []byte) (bool, error) {
	var n int
	err := d.QueryRow("SELECT COUNT(*) FROM devices WHERE id = ? AND is_self = 0 AND paired_at > 0 AND removed_at IS NULL", id).Scan(&n)
	return n > 0, err
}

// IsRemoved reports whether a device was removed.
func (d *DB) IsRemoved(id []byte) (bool, error) {
	var n int
	err := d.QueryRow("SELECT COUNT(*) FROM devices WHERE id = ? AND removed_at IS NOT NULL", id).Scan(&n)
	return n > 0, err
}

// PairDevice records a device as paired now: it is added or updated, and
// no longer removed.
func (d *DB) PairDevice(dev Device, now time.Time) error {
	return pairDevice(d.DB, dev, now)
}

type execer interface {
	Exec(string, ...any) (sql.Result, error)
}

func pairDevice(e execer, dev Device, now time.Time) error {
	if dev.Addresses == "" {
		dev.Addresses = "[]"
	}
	res, err := e.Exec(`INSERT INTO devices(id, name, recipient, addresses, is_self, paired_at, last_seen) VALUES(?, ?, ?, ?, 0, ?, ?)
		ON CONFLICT(id) DO UPDATE SET name = excluded.name, recipient = excluded.recipient, addresses = excluded.addresses,
			paired_at = excluded.paired_at, last_seen = excluded.last_seen, removed_at = NULL
		WHERE is_self = 0`,
		dev.ID, dev.Name, dev.Recipient, dev.Addresses, now.Unix(), now.Unix())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errors.New("a device cannot pair with itself")
	}
	return nil
}

// SeenDevice records that a device was online now and, if addrs is not
// empty, where (a JSON list of multiaddrs).
func (d *DB) SeenDevice(id []byte, addrs string, now time.Time) error {
	var err error
	if addrs == "" {
		_, err = d.Exec("UPDATE devices SET last_seen = ? WHERE id = ?", now.Unix(), id)
	} else {
		_, err = d.Exec("UPDATE devices SET last_seen = ?, addresses = ? WHERE id = ?", now.Unix(), addrs, id)
	}
	return err
}

// RenameDevice changes a device's name.
func (d *DB) RenameDevice(id []byte, name string) error {
	res, err := d.Exec("UPDATE devices SET name = ? WHERE id = ?", name, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("device %x: %w", id, ErrNotFound)
	}
	return nil
}

// RemoveDevice marks a device removed: it is no longer paired.
func (d *DB) RemoveDevice(id []byte, now time.Time) error {
	res, err := d.Exec("UPDATE devices SET removed_at = ? WHERE id = ? AND is_self = 0", now.Unix(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("device %x (this device cannot be removed): %w", id, ErrNotFound)
	}
	return nil
}

// AddInvite stores a new invite by the hash of its token.
func (d *DB) AddInvite(tokenHash []byte, now, expires time.Time) error {
	// Invites long expired are of no further use, not even for a clear error.
	if _, err := d.Exec("DELETE FROM invites WHERE expires_at < ?", now.Add(-7*24*time.Hour).Unix()); err != nil {
		return err
	}
	_, err := d.Exec("INSERT INTO invites(token_hash, created_at, expires_at) VALUES(?, ?, ?)", tokenHash, now.Unix(), expires.Unix())
	return err
}

// OpenInvites counts invites that are unused and not expired.
func (d *DB) OpenInvites(now time.Time) (int, error) {
	var n int
	err := d.QueryRow("SELECT COUNT(*) FROM invites WHERE used_at IS NULL AND expires_at > ?", now.Unix()).Scan(&n)
	return n, err
}

// RedeemInvite checks a token's hash against the stored invites, in
// constant time for each, and if it names an unused, unexpired invite marks
// it used and records dev as paired, all in one transaction. Otherwise it
// returns ErrInviteUnknown, ErrInviteUsed or ErrInviteExpired.
func (d *DB) RedeemInvite(tokenHash []byte, dev Device, now time.Time) error {
	tx, err := d.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.Query("SELECT token_hash, expires_at, used_at IS NOT NULL FROM invites")
	if err != nil {
		return err
	}
	var match []byte
	var expires int64
	var used bool
	for rows.Next() {
		var h []byte
		var e int64
		var u bool
		if err := rows.Scan(&h, &e, &u); err != nil {
			rows.Close()
			return err
		}
		if subtle.ConstantTimeCompare(h, tokenHash) == 1 {
			match, expires, used = h, e, u
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	switch {
	case match == nil:
		return ErrInviteUnknown
	case used:
		return ErrInviteUsed
	case expires <= now.Unix():
		return ErrInviteExpired
	}
	res, err := tx.Exec("UPDATE invites SET used_at = ?, used_by = ? WHERE token_hash = ? AND used_at IS NULL", now.Unix(), dev.ID, match)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrInviteUsed
	}
	if err := pairDevice(tx, dev, now); err != nil {
		return err
	}
	return tx.Commit()
}
