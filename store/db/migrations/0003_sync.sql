-- What sync last knew of each bucket with each device, so its status
-- (last synced, last error) survives a restart. No foreign key: a failed
-- first pull of a bucket has no bucket row to point at.
CREATE TABLE sync_peers (
    bucket_id  TEXT NOT NULL,
    device     BLOB NOT NULL,              -- ed25519 public key
    head       BLOB,                       -- the head it last announced
    height     INTEGER NOT NULL DEFAULT 0,
    synced_at  INTEGER NOT NULL DEFAULT 0, -- unix nanoseconds; 0 = never
    error      TEXT NOT NULL DEFAULT '',   -- the last attempt's failure
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (bucket_id, device)
);
