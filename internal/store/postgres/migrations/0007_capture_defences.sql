-- Capture defences: schema version 7, the PostgreSQL form of
-- sqlite/migrations/0007_capture_defences.sql.
--
-- allow_upload_fallback: whether the key's tokens may use the HTTP upload
-- fallback; off for the keys that exist when this version is applied.
-- attempts_per_uuid: the capture attempts one uuid of the key may use in
-- a sliding day, stored as the effective value; existing keys get
-- store.DefaultAttemptsPerUUID, 10.
ALTER TABLE keys
	ADD COLUMN allow_upload_fallback boolean NOT NULL DEFAULT false,
	ADD COLUMN attempts_per_uuid     integer NOT NULL DEFAULT 10;

-- subject: HMAC of (key, uuid) under a key derived from the pepper; NULL
-- for a record the budget does not cover. The purge blanks it.
ALTER TABLE verifications ADD COLUMN subject bytea;

-- One row per capture attempt counted for a subject. It names the person
-- only by the digest and outlives the verification; the sweeper deletes
-- rows older than the window, and DeleteKey those of the key.
-- CountAttempt serialises the check and the insert of one (key, subject)
-- with a transaction-level advisory lock (capture.go). No foreign key to
-- keys, unlike SQLite's: its check on insert would lock the key's row
-- while the advisory lock is held, and a DeleteKey holding that row
-- while it waits for a verification row could then close a deadlock.
CREATE TABLE subject_attempts (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key_id  text NOT NULL,
	subject bytea NOT NULL,
	at      timestamptz NOT NULL,
	at_ns   integer NOT NULL DEFAULT 0
);

CREATE INDEX subject_attempts_key_subject_at ON subject_attempts (key_id, subject, at, at_ns);
CREATE INDEX subject_attempts_at ON subject_attempts (at, at_ns);
