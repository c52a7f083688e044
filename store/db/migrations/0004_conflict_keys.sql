-- A conflict that made no copy (edit/delete, move/move, ...) has a NULL
-- copy_id, which the table's UNIQUE key treats as distinct from every other
-- NULL: recording one merge's conflicts twice (a device learning of a merge
-- another device made) would duplicate them. Such conflicts are keyed by the
-- version whose merge made them instead.
DELETE FROM conflicts WHERE copy_id IS NULL AND id NOT IN (
    SELECT MIN(id) FROM conflicts WHERE copy_id IS NULL GROUP BY bucket_id, version, file_id, kind);
CREATE UNIQUE INDEX conflicts_no_copy ON conflicts(bucket_id, version, file_id, kind) WHERE copy_id IS NULL;
CREATE INDEX conflicts_version ON conflicts(bucket_id, version);
