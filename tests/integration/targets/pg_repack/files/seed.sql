-- Three bloated tables (two thirds of their rows deleted, then vacuumed: the space stays):
-- bloated (a primary key; a writer inserts into it during the repack), locked (a primary key;
-- a session holds a lock on it) and nokey (no key: pg_repack cannot follow its changes).
CREATE EXTENSION pg_repack;
CREATE TABLE bloated (
    id bigserial PRIMARY KEY,
    payload text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX bloated_written_at ON bloated (written_at);
INSERT INTO bloated (payload) SELECT repeat(md5(n::text), 8) FROM generate_series(1, 300000) AS n;
DELETE FROM bloated WHERE id % 3 <> 0;
CREATE TABLE locked (id bigint PRIMARY KEY, payload text NOT NULL);
INSERT INTO locked SELECT n, repeat(md5(n::text), 8) FROM generate_series(1, 100000) AS n;
DELETE FROM locked WHERE id % 3 <> 0;
CREATE TABLE nokey (id bigint, payload text);
INSERT INTO nokey SELECT n, repeat(md5(n::text), 8) FROM generate_series(1, 100000) AS n;
DELETE FROM nokey WHERE id % 3 <> 0;
VACUUM ANALYZE bloated;
VACUUM ANALYZE locked;
VACUUM ANALYZE nokey;
