-- Concurrency leases: schema version 6 (the SQLite form is
-- sqlite/migrations/0006_leases.sql). A key's concurrency limit holds
-- across every node serving this database: each request in flight holds
-- one lease row of its key while it runs, and a request is admitted only
-- while its key has fewer unexpired leases than its limit (limiter.go).
--
-- A lease is deleted when its request ends. expires_at bounds the life of
-- the lease of a node that died holding it: past that instant the lease no
-- longer counts, and the next acquisition of the key deletes it.
--
-- The times are the database server's clock (now()), never a node's, so
-- that nodes whose clocks disagree still agree on which leases are live;
-- and as no Go time round-trips through them, they need no _ns columns.
--
-- UNLOGGED: a lease lives for one request, and every request writes and
-- deletes one, so it is spared the write-ahead log. The cost is that a
-- crash of the database server (or a failover to a replica) empties the
-- table; the requests that held those leases were failing anyway, their
-- database having gone away under them.
--
-- No foreign key to keys: a lease must not hold up, or fail with, the
-- deletion of its key; an orphan lease is deleted by its request or
-- expires.
CREATE UNLOGGED TABLE leases (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key_id      text NOT NULL,
	-- The node that holds the lease (host name and process id), for
	-- whoever looks at the table while diagnosing a limit.
	node        text NOT NULL,
	acquired_at timestamptz NOT NULL,
	expires_at  timestamptz NOT NULL
);

CREATE INDEX leases_key_id_expires_at ON leases (key_id, expires_at);
