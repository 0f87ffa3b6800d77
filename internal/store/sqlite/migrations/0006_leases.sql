-- Schema version 6: concurrency leases on PostgreSQL
-- (postgres/migrations/0006_leases.sql). An SQLite database serves one
-- node, which keeps its keys' concurrency limits in memory
-- (auth.LocalLimiter), so SQLite has no leases table.
--
-- The version is used here for an index version 4 lacked: the sweeper
-- prunes the delivery log by age every minute (retention.go), which
-- without it reads the whole table. PostgreSQL's version 4 has it.

CREATE INDEX notification_deliveries_at ON notification_deliveries (at);
