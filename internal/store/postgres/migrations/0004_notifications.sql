-- Signed result notifications, the queue and the delivery log: schema
-- version 4, the PostgreSQL form of sqlite/migrations/0004_notifications.sql.
--
-- A notification is queued by a trigger, not by Go code, because a
-- verification ends on several paths (FinishVerification, and the expiry
-- transition applied by BeginCapture, CountAttempt, ReadResult and the
-- sweeper); each runs one UPDATE of status, and the trigger queues the
-- notification in that statement's transaction, so a result is never
-- terminal without its notification or the other way round.

CREATE TABLE notifications (
	id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- UNIQUE: one notification per verification, however it ended.
	token              text NOT NULL UNIQUE REFERENCES verifications (token) ON DELETE CASCADE,
	key_id             text NOT NULL,
	-- The key's notify_url when the verification ended.
	url                text NOT NULL,
	attempts           integer NOT NULL DEFAULT 0,
	-- The verification's terminal_at; the retry window runs from it.
	created_at         timestamptz NOT NULL,
	created_at_ns      integer NOT NULL DEFAULT 0,
	-- When the next attempt is due; a claim moves it forward by its lease.
	next_attempt_at    timestamptz NOT NULL,
	next_attempt_at_ns integer NOT NULL DEFAULT 0,
	-- Set once delivered or given up.
	finished_at        timestamptz,
	finished_at_ns     integer NOT NULL DEFAULT 0
);

CREATE INDEX notifications_due ON notifications (next_attempt_at, next_attempt_at_ns) WHERE finished_at IS NULL;

-- terminal_at is set by the same UPDATE as the status on every path; the
-- fallback to the transaction's time only keeps a future path that
-- forgets it from failing the finish (created_at is NOT NULL).
CREATE FUNCTION verifications_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO notifications (token, key_id, url, created_at, created_at_ns, next_attempt_at, next_attempt_at_ns)
	SELECT NEW.token, NEW.key_id, k.notify_url,
		COALESCE(NEW.terminal_at, now()), NEW.terminal_at_ns,
		COALESCE(NEW.terminal_at, now()), NEW.terminal_at_ns
	FROM keys k WHERE k.id = NEW.key_id AND k.notify_url <> '';
	RETURN NULL;
END
$$;

CREATE TRIGGER verifications_notify AFTER UPDATE OF status ON verifications
	FOR EACH ROW
	WHEN (NEW.status IN ('OK', 'FAILED') AND OLD.status NOT IN ('OK', 'FAILED'))
	EXECUTE FUNCTION verifications_notify();

-- One row per delivery attempt. No foreign key: the log outlives purged
-- verifications and deleted keys, as the usage ledger does. It holds no
-- personal data: identifiers, the URL, times and what the receiver said.
CREATE TABLE notification_deliveries (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	notification_id bigint NOT NULL,
	token           text NOT NULL,
	key_id          text NOT NULL,
	url             text NOT NULL,
	attempt         integer NOT NULL,
	at              timestamptz NOT NULL,
	at_ns           integer NOT NULL DEFAULT 0,
	duration_ns     bigint NOT NULL,
	status_code     integer NOT NULL,
	error           text NOT NULL,
	delivered       boolean NOT NULL
);

CREATE INDEX notification_deliveries_key_at ON notification_deliveries (key_id, at, at_ns);
CREATE INDEX notification_deliveries_token ON notification_deliveries (token);
-- The sweeper prunes the log by age.
CREATE INDEX notification_deliveries_at ON notification_deliveries (at, at_ns);
