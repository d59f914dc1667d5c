-- Each problem pg_maintenance looks for, in a throwaway database.
\set ON_ERROR_STOP off
-- Statistics are flushed at most once a second: pg_stat_force_next_flush() before each
-- ANALYZE or VACUUM makes them count the rows changed just before.
CREATE EXTENSION pgstattuple;

-- many dead tuples: 10,000 dead of 20,000 (autovacuum off so they stay)
CREATE TABLE dead (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
INSERT INTO dead SELECT g, repeat('x', 50) FROM generate_series(1, 20000) AS g;
SELECT pg_stat_force_next_flush();
ANALYZE dead;
DELETE FROM dead WHERE id % 2 = 0;

-- a bloated table: 90 % of its rows deleted and vacuumed, the pages stay
CREATE TABLE bloated (id int, pad text) WITH (autovacuum_enabled = false);
INSERT INTO bloated SELECT g, repeat('y', 200) FROM generate_series(1, 60000) AS g;
DELETE FROM bloated WHERE id % 10 <> 0;
SELECT pg_stat_force_next_flush();
VACUUM ANALYZE bloated;

-- an unused index and a duplicate of it
CREATE TABLE items (id int, category int, name text) WITH (autovacuum_enabled = false);
INSERT INTO items SELECT g, g % 100, 'item ' || g FROM generate_series(1, 50000) AS g;
SELECT pg_stat_force_next_flush();
CREATE INDEX items_category_idx ON items (category);
CREATE INDEX items_category_dup ON items (category);
ANALYZE items;

-- an invalid index: a CREATE UNIQUE INDEX CONCURRENTLY that fails on duplicates
-- (the error is expected), then the duplicate goes so that a reindex can succeed
CREATE TABLE dupvals (v int) WITH (autovacuum_enabled = false);
INSERT INTO dupvals VALUES (1), (1), (2);
CREATE UNIQUE INDEX CONCURRENTLY dupvals_v_key ON dupvals (v);
DELETE FROM dupvals a USING dupvals b WHERE a.v = b.v AND a.ctid > b.ctid;

-- a sequence at 95 % of its range
CREATE SEQUENCE nearly_done MAXVALUE 1000;
SELECT setval('nearly_done', 950);

-- a trigger left disabled after a bulk load
CREATE TABLE audited (id int);
CREATE FUNCTION audited_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER audited_audit BEFORE INSERT ON audited FOR EACH ROW EXECUTE FUNCTION audited_noop();
ALTER TABLE audited DISABLE TRIGGER audited_audit;

-- a prepared transaction left behind
BEGIN;
CREATE TABLE prepared_leftover (id int);
PREPARE TRANSACTION 'pgm_test_orphan';
