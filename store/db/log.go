package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Device is a row of the devices table.
type Device struct {
	ID        []byte
	Name      string
	Recipient string
	Addresses string
	IsSelf    bool
	PairedAt  int64
	LastSeen  int64
}

// PutDevice inserts or updates a device.
func (d *DB) PutDevice(dev Device) error {
	if dev.Addresses == "" {
		dev.Addresses = "[]"
	}
	_, err := d.Exec(`INSERT INTO devices(id, name, recipient, addresses, is_self, paired_at, last_seen) VALUES(?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET name = excluded.name, recipient = excluded.recipient, addresses = excluded.addresses`,
		dev.ID, dev.Name, dev.Recipient, dev.Addresses, dev.IsSelf, dev.PairedAt, dev.LastSeen)
	return err
}

// Devices lists known devices, this one first.
func (d *DB) Devices() ([]Device, error) {
	rows, err := d.Query("SELECT id, name, recipient, addresses, is_self, COALESCE(paired_at, 0), COALESCE(last_seen, 0) FROM devices ORDER BY is_self DESC, name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var v Device
		if err := rows.Scan(&v.ID, &v.Name, &v.Recipient, &v.Addresses, &v.IsSelf, &v.PairedAt, &v.LastSeen); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Bucket is a row of the buckets table.
type Bucket struct {
	ID        string
	Name      string
	Head      []byte
	CreatedAt int64
	UpdatedAt int64
}

const bucketCols = "id, name, head, created_at, updated_at"

func scanBucket(s interface{ Scan(...any) error }) (Bucket, error) {
	var b Bucket
	err := s.Scan(&b.ID, &b.Name, &b.Head, &b.CreatedAt, &b.UpdatedAt)
	return b, err
}

// Buckets lists buckets by name.
func (d *DB) Buckets() ([]Bucket, error) {
	rows, err := d.Query("SELECT " + bucketCols + " FROM buckets ORDER BY name, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// BucketByID returns one bucket or ErrNotFound.
func (d *DB) BucketByID(id string) (Bucket, error) {
	b, err := scanBucket(d.QueryRow("SELECT "+bucketCols+" FROM buckets WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	return b, err
}

// BucketsByName returns every bucket with that name.
func (d *DB) BucketsByName(name string) ([]Bucket, error) {
	rows, err := d.Query("SELECT "+bucketCols+" FROM buckets WHERE name = ? ORDER BY id", name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Version is a row of the version log.
type Version struct {
	Link    []byte
	Parents [][]byte
	Height  uint64
	Author  []byte
	Time    int64
	IsMerge bool
}

// AddVersion records a version (idempotent), keeps the heads table right, and
// if setHead is true makes it the bucket's current head. A new bucket row is
// created on its first version with the given name.
func (d *DB) AddVersion(ctx context.Context, bucketID, name string, v Version, setHead bool) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UnixNano()
		if _, err := tx.Exec(`INSERT INTO buckets(id, name, created_at, updated_at) VALUES(?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
			bucketID, name, now, now); err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT INTO versions(bucket_id, link, height, author, time, is_merge) VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			bucketID, v.Link, v.Height, v.Author, v.Time, v.IsMerge)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			for _, p := range v.Parents {
				if _, err := tx.Exec(`INSERT INTO version_parents(bucket_id, link, parent) VALUES(?, ?, ?)`, bucketID, v.Link, p); err != nil {
					return err
				}
				if _, err := tx.Exec(`DELETE FROM heads WHERE bucket_id = ? AND link = ?`, bucketID, p); err != nil {
					return err
				}
			}
			var children int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM version_parents WHERE bucket_id = ? AND parent = ?`, bucketID, v.Link).Scan(&children); err != nil {
				return err
			}
			if children == 0 {
				if _, err := tx.Exec(`INSERT INTO heads(bucket_id, link) VALUES(?, ?)`, bucketID, v.Link); err != nil {
					return err
				}
			}
		}
		if setHead {
			if _, err := tx.Exec(`UPDATE buckets SET head = ?, name = ?, updated_at = ? WHERE id = ?`, v.Link, name, now, bucketID); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetHead makes an already recorded version the bucket's current head.
func (d *DB) SetHead(bucketID string, link []byte, name string) error {
	res, err := d.Exec(`UPDATE buckets SET head = ?, name = ?, updated_at = ? WHERE id = ? AND EXISTS (SELECT 1 FROM versions WHERE bucket_id = ? AND link = ?)`,
		link, name, time.Now().UnixNano(), bucketID, bucketID, link)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("set head of bucket %s: %w", bucketID, ErrNotFound)
	}
	return nil
}

// VersionByLink returns one version or ErrNotFound.
func (d *DB) VersionByLink(bucketID string, link []byte) (Version, error) {
	var v Version
	err := d.QueryRow(`SELECT link, height, author, time, is_merge FROM versions WHERE bucket_id = ? AND link = ?`, bucketID, link).
		Scan(&v.Link, &v.Height, &v.Author, &v.Time, &v.IsMerge)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, err
	}
	v.Parents, err = d.Parents(bucketID, link)
	return v, err
}

// Parents returns a version's parents.
func (d *DB) Parents(bucketID string, link []byte) ([][]byte, error) {
	return d.blobColumn(`SELECT parent FROM version_parents WHERE bucket_id = ? AND link = ? ORDER BY parent`, bucketID, link)
}

// Versions returns every version of a bucket, newest (highest) first.
func (d *DB) Versions(bucketID string) ([]Version, error) {
	rows, err := d.Query(`SELECT link, height, author, time, is_merge FROM versions WHERE bucket_id = ? ORDER BY height DESC, link`, bucketID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		if err := rows.Scan(&v.Link, &v.Height, &v.Author, &v.Time, &v.IsMerge); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	parents, err := d.Query(`SELECT link, parent FROM version_parents WHERE bucket_id = ? ORDER BY parent`, bucketID)
	if err != nil {
		return nil, err
	}
	defer parents.Close()
	idx := make(map[string]int, len(out))
	for i, v := range out {
		idx[string(v.Link)] = i
	}
	for parents.Next() {
		var l, p []byte
		if err := parents.Scan(&l, &p); err != nil {
			return nil, err
		}
		if i, ok := idx[string(l)]; ok {
			out[i].Parents = append(out[i].Parents, p)
		}
	}
	return out, parents.Err()
}

// Heads returns the bucket's head versions (more than one when forked).
func (d *DB) Heads(bucketID string) ([][]byte, error) {
	return d.blobColumn(`SELECT link FROM heads WHERE bucket_id = ? ORDER BY link`, bucketID)
}

// Conflict is a row of the conflicts table.
type Conflict struct {
	ID          int64
	BucketID    string
	Version     []byte
	Kind        string
	Path        string
	CopyPath    string
	FileID      []byte
	CopyID      []byte
	OtherDevice []byte
	CreatedAt   int64
	ResolvedAt  int64
}

// AddConflicts records conflicts in one transaction; a copy already
// recorded is not recorded again, nor a conflict without a copy already
// recorded for the same version. A non-zero ResolvedAt records it as
// resolved. It returns how many were new.
func (d *DB) AddConflicts(cs []Conflict) (int, error) {
	n := 0
	err := d.Tx(context.Background(), func(tx *sql.Tx) error {
		st, err := tx.Prepare(`INSERT INTO conflicts(bucket_id, version, kind, path, copy_path, file_id, copy_id, other_device, created_at, resolved_at)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, 0)) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		now := time.Now().UnixNano()
		for _, c := range cs {
			res, err := st.Exec(c.BucketID, c.Version, c.Kind, c.Path, c.CopyPath, c.FileID, c.CopyID, c.OtherDevice, now, c.ResolvedAt)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

const conflictCols = `id, bucket_id, version, kind, path, copy_path, file_id, COALESCE(copy_id, x''), COALESCE(other_device, x''), created_at, COALESCE(resolved_at, 0)`

// Conflicts lists a bucket's conflicts ("" for every bucket), newest first.
func (d *DB) Conflicts(bucketID string, unresolvedOnly bool) ([]Conflict, error) {
	q := `SELECT ` + conflictCols + ` FROM conflicts WHERE (? = '' OR bucket_id = ?)`
	if unresolvedOnly {
		q += " AND resolved_at IS NULL"
	}
	rows, err := d.Query(q+" ORDER BY created_at DESC, id DESC", bucketID, bucketID)
	if err != nil {
		return nil, err
	}
	return scanConflicts(rows)
}

// ConflictsAfter lists a bucket's conflicts with an id above after, in the
// order they were recorded.
func (d *DB) ConflictsAfter(bucketID string, after int64) ([]Conflict, error) {
	rows, err := d.Query(`SELECT `+conflictCols+` FROM conflicts WHERE bucket_id = ? AND id > ? ORDER BY id`, bucketID, after)
	if err != nil {
		return nil, err
	}
	return scanConflicts(rows)
}

// LastConflictID returns the highest conflict id recorded, 0 if none.
func (d *DB) LastConflictID() (int64, error) {
	var id int64
	err := d.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM conflicts`).Scan(&id)
	return id, err
}

// HasConflicts tells whether conflicts are recorded for a version.
func (d *DB) HasConflicts(bucketID string, version []byte) (bool, error) {
	var n int
	err := d.QueryRow(`SELECT COUNT(*) FROM conflicts WHERE bucket_id = ? AND version = ?`, bucketID, version).Scan(&n)
	return n > 0, err
}

// MergesOf lists the versions whose parents are exactly a and b.
func (d *DB) MergesOf(bucketID string, a, b []byte) ([][]byte, error) {
	return d.blobColumn(`SELECT p.link FROM version_parents p JOIN version_parents q ON q.bucket_id = p.bucket_id AND q.link = p.link
		WHERE p.bucket_id = ? AND p.parent = ? AND q.parent = ? AND p.parent != q.parent
		AND (SELECT COUNT(*) FROM version_parents r WHERE r.bucket_id = p.bucket_id AND r.link = p.link) = 2 ORDER BY p.link`, bucketID, a, b)
}

func scanConflicts(rows *sql.Rows) ([]Conflict, error) {
	defer rows.Close()
	var out []Conflict
	for rows.Next() {
		var c Conflict
		if err := rows.Scan(&c.ID, &c.BucketID, &c.Version, &c.Kind, &c.Path, &c.CopyPath, &c.FileID, &c.CopyID, &c.OtherDevice, &c.CreatedAt, &c.ResolvedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ResolveConflict marks a conflict handled.
func (d *DB) ResolveConflict(id int64) error {
	_, err := d.Exec(`UPDATE conflicts SET resolved_at = ? WHERE id = ?`, time.Now().UnixNano(), id)
	return err
}

// blobColumn runs a query of one BLOB column and returns its values.
func (d *DB) blobColumn(query string, args ...any) ([][]byte, error) {
	rows, err := d.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
