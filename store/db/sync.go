package db

import "time"

// SyncPeer is a row of sync_peers: a bucket's sync state with one device.
type SyncPeer struct {
	BucketID string
	Device   []byte
	Head     []byte
	Height   uint64
	SyncedAt int64 // unix nanoseconds; 0 = never
	Error    string
}

// PutSyncPeer records a bucket's sync state with one device.
func (d *DB) PutSyncPeer(p SyncPeer) error {
	_, err := d.Exec(`INSERT INTO sync_peers(bucket_id, device, head, height, synced_at, error, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(bucket_id, device) DO UPDATE SET head = excluded.head, height = excluded.height,
		synced_at = excluded.synced_at, error = excluded.error, updated_at = excluded.updated_at`,
		p.BucketID, p.Device, p.Head, p.Height, p.SyncedAt, p.Error, time.Now().UnixNano())
	return err
}

// SyncPeers returns a bucket's recorded sync state with every device.
func (d *DB) SyncPeers(bucketID string) ([]SyncPeer, error) {
	rows, err := d.Query(`SELECT bucket_id, device, COALESCE(head, x''), height, synced_at, error FROM sync_peers WHERE bucket_id = ? ORDER BY device`, bucketID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SyncPeer
	for rows.Next() {
		var p SyncPeer
		if err := rows.Scan(&p.BucketID, &p.Device, &p.Head, &p.Height, &p.SyncedAt, &p.Error); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
