-- Pairing: removed devices keep their row (bucket shares still name them)
-- but may no longer connect; invites are one-time tokens, stored hashed.
ALTER TABLE devices ADD COLUMN removed_at INTEGER;

CREATE TABLE invites (
    token_hash BLOB PRIMARY KEY,           -- SHA-256 of the 128-bit token
    created_at INTEGER NOT NULL,           -- unix seconds
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    BLOB                        -- the device that paired with it
);
