-- Signed result notifications (issue 5): the queue and the delivery log.
--
-- A notification is queued by a trigger, not by Go code, because a
-- verification ends on several paths (FinishVerification, and the expiry
-- transition applied by BeginCapture, CountAttempt, ReadResult and the
-- sweeper); each runs one UPDATE of status, and the trigger queues the
-- notification in that statement's transaction, so a result is never
-- terminal without its notification or the other way round.

CREATE TABLE notifications (
	id              INTEGER PRIMARY KEY,
	-- UNIQUE: one notification per verification, however it ended.
	token           TEXT NOT NULL UNIQUE REFERENCES verifications (token) ON DELETE CASCADE,
	key_id          TEXT NOT NULL,
	-- The key's notify_url when the verification ended.
	url             TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	-- The verification's terminal_at; the retry window runs from it.
	created_at      TEXT NOT NULL,
	-- When the next attempt is due; a claim moves it forward by its lease.
	next_attempt_at TEXT NOT NULL,
	-- Set once delivered or given up.
	finished_at     TEXT
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE finished_at IS NULL;

-- terminal_at is set by the same UPDATE as the status on every path; the
-- fallback to the current time only keeps a future path that forgets it
-- from failing the finish (created_at is NOT NULL).
CREATE TRIGGER verifications_notify AFTER UPDATE OF status ON verifications
WHEN NEW.status IN ('OK', 'FAILED') AND OLD.status NOT IN ('OK', 'FAILED')
BEGIN
	INSERT INTO notifications (token, key_id, url, created_at, next_attempt_at)
	SELECT NEW.token, NEW.key_id, keys.notify_url,
		COALESCE(NEW.terminal_at, strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z'),
		COALESCE(NEW.terminal_at, strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z')
	FROM keys WHERE keys.id = NEW.key_id AND keys.notify_url <> '';
END;

-- One row per delivery attempt. No foreign key: the log outlives purged
-- verifications and deleted keys, as the usage ledger does. It holds no
-- personal data: identifiers, the URL, times and what the receiver said.
CREATE TABLE notification_deliveries (
	id              INTEGER PRIMARY KEY,
	notification_id INTEGER NOT NULL,
	token           TEXT NOT NULL,
	key_id          TEXT NOT NULL,
	url             TEXT NOT NULL,
	attempt         INTEGER NOT NULL,
	at              TEXT NOT NULL,
	duration_ns     INTEGER NOT NULL,
	status_code     INTEGER NOT NULL,
	error           TEXT NOT NULL,
	delivered       INTEGER NOT NULL
);

CREATE INDEX notification_deliveries_key_at ON notification_deliveries (key_id, at);
CREATE INDEX notification_deliveries_token ON notification_deliveries (token);
