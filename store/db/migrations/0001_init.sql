-- Key/value settings of this instance.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Known devices, this one included (is_self = 1).
CREATE TABLE devices (
    id        BLOB PRIMARY KEY,            -- ed25519 public key
    name      TEXT NOT NULL,
    recipient TEXT NOT NULL,               -- age X25519 recipient
    addresses TEXT NOT NULL DEFAULT '[]',  -- JSON list
    is_self   INTEGER NOT NULL DEFAULT 0,
    paired_at INTEGER,
    last_seen INTEGER
);

CREATE TABLE buckets (
    id         TEXT PRIMARY KEY,           -- UUID
    name       TEXT NOT NULL,
    head       BLOB,                       -- the version this device works on
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX buckets_name ON buckets(name);

-- Every known version (manifest) of every bucket.
CREATE TABLE versions (
    bucket_id TEXT NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    link      BLOB NOT NULL,               -- blob id of the signed manifest
    height    INTEGER NOT NULL,
    author    BLOB NOT NULL,
    time      INTEGER NOT NULL,            -- unix nanoseconds
    is_merge  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket_id, link)
);
CREATE INDEX versions_height ON versions(bucket_id, height);

CREATE TABLE version_parents (
    bucket_id TEXT NOT NULL,
    link      BLOB NOT NULL,
    parent    BLOB NOT NULL,
    PRIMARY KEY (bucket_id, link, parent),
    FOREIGN KEY (bucket_id, link) REFERENCES versions(bucket_id, link) ON DELETE CASCADE
);

-- Versions no other known version descends from. More than one means forks.
CREATE TABLE heads (
    bucket_id TEXT NOT NULL,
    link      BLOB NOT NULL,
    PRIMARY KEY (bucket_id, link),
    FOREIGN KEY (bucket_id, link) REFERENCES versions(bucket_id, link) ON DELETE CASCADE
);

CREATE TABLE mounts (
    id             TEXT PRIMARY KEY,       -- UUID
    bucket_id      TEXT NOT NULL,          -- no FK: a mount of a deleted bucket shows an error
    mount_point    TEXT NOT NULL UNIQUE,
    enabled        INTEGER NOT NULL DEFAULT 1,
    auto_mount     INTEGER NOT NULL DEFAULT 0,
    read_only      INTEGER NOT NULL DEFAULT 0,
    cache_size_mb  INTEGER NOT NULL DEFAULT 100,
    cache_ttl_secs INTEGER NOT NULL DEFAULT 60,
    status         TEXT NOT NULL DEFAULT 'stopped'
                   CHECK (status IN ('stopped','starting','running','stopping','error')),
    error_message  TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Conflict copies made by merges, for the conflict list.
CREATE TABLE conflicts (
    id           INTEGER PRIMARY KEY,
    bucket_id    TEXT NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    version      BLOB NOT NULL,            -- the version whose merge made it
    kind         TEXT NOT NULL,
    path         TEXT NOT NULL,            -- the entry that kept the name
    copy_path    TEXT NOT NULL DEFAULT '', -- the conflict copy, if one was made
    file_id      BLOB NOT NULL,
    copy_id      BLOB,
    other_device BLOB,
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    UNIQUE (bucket_id, file_id, copy_id)
);
