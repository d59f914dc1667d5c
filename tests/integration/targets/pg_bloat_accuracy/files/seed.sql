-- Tables of known shapes, for the bloat estimate against pgstattuple's exact figures.
-- Autovacuum is off for each so that only the steps here change them; every data change is
-- followed by pg_stat_force_next_flush() so the statistics collector has it before the next
-- step, as it would outside a test (PostgreSQL 15 counts a change twice when a VACUUM or
-- ANALYZE lands before the change's pending statistics).
CREATE EXTENSION IF NOT EXISTS pgstattuple;
\set rows 40000

-- 90 % NULL columns, then 60 % of the rows deleted and vacuumed: about 60 % free space
CREATE TABLE null_heavy (id bigint, c1 text, c2 text, c3 text, c4 text, c5 text, c6 text, c7 text, c8 text)
    WITH (autovacuum_enabled = false);
INSERT INTO null_heavy
SELECT g, CASE WHEN random() < 0.1 THEN md5(g::text) END, CASE WHEN random() < 0.1 THEN md5(g::text) END,
       CASE WHEN random() < 0.1 THEN md5(g::text) END, CASE WHEN random() < 0.1 THEN md5(g::text) END,
       CASE WHEN random() < 0.1 THEN md5(g::text) END, CASE WHEN random() < 0.1 THEN md5(g::text) END,
       CASE WHEN random() < 0.1 THEN md5(g::text) END, CASE WHEN random() < 0.1 THEN md5(g::text) END
  FROM generate_series(1, :rows) AS g;
SELECT pg_stat_force_next_flush();
DELETE FROM null_heavy WHERE id % 10 < 6;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE null_heavy;

-- boolean and bigint columns in turn: each bigint padded to 8 bytes; clean
CREATE TABLE padding_heavy (b1 boolean, i1 bigint, b2 boolean, i2 bigint, b3 boolean, i3 bigint,
                            b4 boolean, i4 bigint, b5 boolean, i5 bigint) WITH (autovacuum_enabled = false);
INSERT INTO padding_heavy SELECT g % 2 = 0, g, g % 3 = 0, g, g % 5 = 0, g, g % 7 = 0, g, true, g
  FROM generate_series(1, :rows) AS g;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE padding_heavy;

-- a plain clean table
CREATE TABLE plain (id int, a int, filler text) WITH (autovacuum_enabled = false);
INSERT INTO plain SELECT g, g % 1000, repeat(md5(g::text), 2) FROM generate_series(1, :rows) AS g;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE plain;

-- JSON documents and text that compress like production's, a quarter of them updated: some bloat
CREATE TABLE documents (id bigserial, created timestamptz, doc jsonb, note text) WITH (autovacuum_enabled = false);
INSERT INTO documents (created, doc, note)
SELECT now() - g * interval '1 minute',
       jsonb_build_object('user', g, 'tags', jsonb_build_array('a', 'b'), 'name', md5(g::text)),
       CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END
  FROM generate_series(1, :rows) AS g;
SELECT pg_stat_force_next_flush();
UPDATE documents SET note = 'seen' WHERE id % 4 = 0;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE documents;

-- never vacuumed nor analyzed: no statistics, the catalog knows no pages
CREATE TABLE never_vacuumed (id int, a int, filler text) WITH (autovacuum_enabled = false);
INSERT INTO never_vacuumed SELECT g, g % 1000, repeat(md5(g::text), 2) FROM generate_series(1, :rows) AS g;
SELECT pg_stat_force_next_flush();

-- analyzed, then half its rows deleted and not yet vacuumed
CREATE TABLE freshly_deleted (id int, a int, filler text) WITH (autovacuum_enabled = false);
INSERT INTO freshly_deleted SELECT g, g % 1000, md5(g::text) FROM generate_series(1, :rows) AS g;
SELECT pg_stat_force_next_flush();
ANALYZE freshly_deleted;
DELETE FROM freshly_deleted WHERE id % 2 = 0;
SELECT pg_stat_force_next_flush();

-- indexes that look alike: only two pairs are duplicates
CREATE INDEX plain_a_1 ON plain (a);
CREATE INDEX plain_a_2 ON plain (a);
CREATE UNIQUE INDEX plain_id_key ON plain (id);
CREATE INDEX plain_id_idx ON plain (id);
CREATE INDEX plain_filler ON plain (filler);
CREATE INDEX plain_filler_c ON plain (filler COLLATE "C");
CREATE INDEX plain_filler_pattern ON plain (filler text_pattern_ops);
CREATE INDEX plain_filler_partial ON plain (filler) WHERE a > 500;
CREATE INDEX plain_filler_desc ON plain (filler DESC);
CREATE INDEX plain_a_include ON plain (a) INCLUDE (id);
SELECT pg_stat_force_next_flush();
