-- Retention and notification settings per key: schema version 3, the
-- PostgreSQL form of sqlite/migrations/0003_retention.sql.
--
-- A key's result_retention_seconds is copied into each verification at
-- creation; purged_at marks a tombstone; purge_after = terminal_at +
-- result_retention_seconds is kept by a trigger, because terminal_at is
-- set by several statements (finish, expiry) and the sweeper wants an
-- indexed range.

ALTER TABLE keys
	ADD COLUMN result_retention_seconds bigint NOT NULL DEFAULT 86400,
	ADD COLUMN notify_url               text NOT NULL DEFAULT '',
	ADD COLUMN notify_secret            bytea;

ALTER TABLE verifications
	ADD COLUMN result_retention_seconds bigint NOT NULL DEFAULT 86400,
	ADD COLUMN purged_at                timestamptz,
	ADD COLUMN purged_at_ns             integer NOT NULL DEFAULT 0,
	ADD COLUMN purge_after              timestamptz,
	ADD COLUMN purge_after_ns           integer NOT NULL DEFAULT 0;

-- A whole number of seconds added to a timestamptz moves it by exactly
-- that much (no calendar arithmetic), and leaves the nanoseconds alone.
CREATE FUNCTION verifications_purge_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.purge_after := NEW.terminal_at + make_interval(secs => NEW.result_retention_seconds);
	NEW.purge_after_ns := NEW.terminal_at_ns;
	RETURN NEW;
END
$$;

CREATE TRIGGER verifications_purge_after
	BEFORE INSERT OR UPDATE OF terminal_at, terminal_at_ns, result_retention_seconds ON verifications
	FOR EACH ROW EXECUTE FUNCTION verifications_purge_after();

CREATE INDEX verifications_purged_at ON verifications (purged_at, purged_at_ns) WHERE purged_at IS NOT NULL;
CREATE INDEX verifications_purge_after ON verifications (purge_after, purge_after_ns) WHERE purged_at IS NULL;
CREATE INDEX verifications_read_out ON verifications (fetches) WHERE purged_at IS NULL AND fetches >= 3;

-- Records already finished when this version is applied get their
-- purge_after too; without it the sweeper would never select them.
UPDATE verifications
SET purge_after = terminal_at + make_interval(secs => result_retention_seconds), purge_after_ns = terminal_at_ns
WHERE terminal_at IS NOT NULL;
