-- The application's own tables under the pgbench workload (script weight 2 of 10, tpcb-like 8):
-- an order read and updated (an indexed column: every update adds index entries), and a row of
-- the bloated table read. So the maintenance of these tables (VACUUM FULL, REINDEX) meets
-- clients, as it would in production.
\set oid random(1, 200000)
\set bid random(1, 100000) * 3
BEGIN;
SELECT status, amount FROM live_orders WHERE id = :oid;
UPDATE live_orders SET amount = amount + 1 WHERE id = :oid;
SELECT length(payload) FROM live_bloat WHERE id = :bid;
END;
