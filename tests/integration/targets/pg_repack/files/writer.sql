-- one row a transaction, committed: the writer that keeps going while pg_repack copies the table
INSERT INTO bloated (payload) VALUES (md5(random()::text));
