package db

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Mount statuses, as the seed names them.
const (
	StatusStopped  = "stopped"
	StatusStarting = "starting"
	StatusRunning  = "running"
	StatusStopping = "stopping"
	StatusError    = "error"
)

// Mount is a row of the mounts table: one bucket mounted at one folder.
type Mount struct {
	ID           string `json:"id"`
	BucketID     string `json:"bucket_id"`
	MountPoint   string `json:"mount_point"`
	Enabled      bool   `json:"enabled"`
	AutoMount    bool   `json:"auto_mount"`
	ReadOnly     bool   `json:"read_only"`
	CacheSizeMB  int    `json:"cache_size_mb"`
	CacheTTLSecs int    `json:"cache_ttl_secs"`
	Status       string `json:"status"`
	ErrorMessage string `json:"error_message,omitempty"`
	CreatedAt    int64  `json:"created_at"`
	UpdatedAt    int64  `json:"updated_at"`
}

// ErrMountPointTaken means another mount config uses the same folder.
var ErrMountPointTaken = errors.New("another mount already uses this folder")

const mountCols = "id, bucket_id, mount_point, enabled, auto_mount, read_only, cache_size_mb, cache_ttl_secs, status, COALESCE(error_message, ''), created_at, updated_at"

func scanMount(s interface{ Scan(...any) error }) (Mount, error) {
	var m Mount
	err := s.Scan(&m.ID, &m.BucketID, &m.MountPoint, &m.Enabled, &m.AutoMount, &m.ReadOnly, &m.CacheSizeMB, &m.CacheTTLSecs,
		&m.Status, &m.ErrorMessage, &m.CreatedAt, &m.UpdatedAt)
	return m, err
}

func uniqueErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed: mounts.mount_point") {
		return ErrMountPointTaken
	}
	return err
}

// AddMount stores a new mount config.
func (d *DB) AddMount(m Mount) error {
	now := time.Now().UnixNano()
	_, err := d.Exec(`INSERT INTO mounts(id, bucket_id, mount_point, enabled, auto_mount, read_only, cache_size_mb, cache_ttl_secs, status, created_at, updated_at)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'stopped', ?, ?)`,
		m.ID, m.BucketID, m.MountPoint, m.Enabled, m.AutoMount, m.ReadOnly, m.CacheSizeMB, m.CacheTTLSecs, now, now)
	return uniqueErr(err)
}

// UpdateMount saves a config's settings (not its status).
func (d *DB) UpdateMount(m Mount) error {
	res, err := d.Exec(`UPDATE mounts SET bucket_id = ?, mount_point = ?, enabled = ?, auto_mount = ?, read_only = ?, cache_size_mb = ?, cache_ttl_secs = ?, updated_at = ? WHERE id = ?`,
		m.BucketID, m.MountPoint, m.Enabled, m.AutoMount, m.ReadOnly, m.CacheSizeMB, m.CacheTTLSecs, time.Now().UnixNano(), m.ID)
	if err != nil {
		return uniqueErr(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("mount %s: %w", m.ID, ErrNotFound)
	}
	return nil
}

// SetMountStatus records a mount's state and error message.
func (d *DB) SetMountStatus(id, status, message string) error {
	_, err := d.Exec(`UPDATE mounts SET status = ?, error_message = NULLIF(?, ''), updated_at = ? WHERE id = ?`,
		status, message, time.Now().UnixNano(), id)
	return err
}

// Mount returns one config or ErrNotFound.
func (d *DB) Mount(id string) (Mount, error) {
	m, err := scanMount(d.QueryRow("SELECT "+mountCols+" FROM mounts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("mount %s: %w", id, ErrNotFound)
	}
	return m, err
}

// Mounts lists every mount config by mount point.
func (d *DB) Mounts() ([]Mount, error) {
	rows, err := d.Query("SELECT " + mountCols + " FROM mounts ORDER BY mount_point")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mount
	for rows.Next() {
		m, err := scanMount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeleteMount removes a config.
func (d *DB) DeleteMount(id string) error {
	_, err := d.Exec("DELETE FROM mounts WHERE id = ?", id)
	return err
}
