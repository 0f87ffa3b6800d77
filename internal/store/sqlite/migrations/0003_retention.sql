-- Retention and notifications per key (issue 5).
--
-- result_retention_seconds: how long a terminal result stays readable (and
-- its biometric data stored); the key's value is copied into each
-- verification at creation, so changing a key never shortens or stretches
-- the life of results already promised. notify_url/notify_secret: where
-- signed results are POSTed, and the sealed api_secret that signs them.
-- purged_at marks a verification whose data the sweeper deleted (a
-- tombstone: get_result answers RESULT_NOT_FOUND for it).

ALTER TABLE keys ADD COLUMN result_retention_seconds INTEGER NOT NULL DEFAULT 86400;
ALTER TABLE keys ADD COLUMN notify_url TEXT NOT NULL DEFAULT '';
ALTER TABLE keys ADD COLUMN notify_secret BLOB;

ALTER TABLE verifications ADD COLUMN result_retention_seconds INTEGER NOT NULL DEFAULT 86400;
ALTER TABLE verifications ADD COLUMN purged_at TEXT;

CREATE INDEX verifications_purged_at ON verifications (purged_at) WHERE purged_at IS NOT NULL;

-- purge_after = terminal_at + result_retention_seconds, kept by a trigger
-- because terminal_at is set by several statements (finish, expiry) and
-- the sweeper wants an indexed range, not arithmetic on every row.
ALTER TABLE verifications ADD COLUMN purge_after TEXT;

CREATE TRIGGER verifications_purge_after AFTER UPDATE OF terminal_at ON verifications
WHEN NEW.terminal_at IS NOT NULL
BEGIN
	UPDATE verifications
	SET purge_after = strftime('%Y-%m-%dT%H:%M:%S', substr(NEW.terminal_at, 1, 19),
		'+' || NEW.result_retention_seconds || ' seconds') || substr(NEW.terminal_at, 20)
	WHERE token = NEW.token;
END;

CREATE INDEX verifications_purge_after ON verifications (purge_after) WHERE purged_at IS NULL;
CREATE INDEX verifications_read_out ON verifications (fetches) WHERE purged_at IS NULL AND fetches >= 3;

-- Records that were already finished when this version was applied get
-- their purge_after too; without it the sweeper would never select them.
UPDATE verifications
SET purge_after = strftime('%Y-%m-%dT%H:%M:%S', substr(terminal_at, 1, 19),
	'+' || result_retention_seconds || ' seconds') || substr(terminal_at, 20)
WHERE terminal_at IS NOT NULL;
