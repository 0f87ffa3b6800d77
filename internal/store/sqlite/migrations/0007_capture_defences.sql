-- Capture defences (issue 10, "Liveness a still photo cannot pass").
--
-- allow_upload_fallback: whether the key's tokens may use the HTTP upload
-- fallback (start_flash/validate_flash), whose verdict is weaker than the
-- live channel's. Off unless the key opts in, so keys that exist when
-- this version is applied get 0.
--
-- attempts_per_uuid: the capture attempts one uuid of the key may use in
-- a sliding day (store.SubjectWindow), across all the key's tokens for
-- it. The key's effective value is stored; 10 is store.DefaultAttemptsPerUUID,
-- which existing keys get.
ALTER TABLE keys ADD COLUMN allow_upload_fallback INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN attempts_per_uuid INTEGER NOT NULL DEFAULT 10;

-- subject: HMAC of (key, uuid) under a key derived from the pepper
-- (auth.Keyring.SubjectDigest); NULL for a record the budget does not
-- cover (older records, tests). The purge blanks it with the uuid.
ALTER TABLE verifications ADD COLUMN subject BLOB;

-- One row per capture attempt counted for a subject, written by
-- CountAttempt in the transaction that counts the attempt. It names the
-- person only by the digest and outlives the verification, so that the
-- budget holds after the record is purged; the sweeper deletes rows older
-- than the window, and the rows go with their key.
CREATE TABLE subject_attempts (
	id      INTEGER PRIMARY KEY,
	key_id  TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
	subject BLOB NOT NULL,
	at      TEXT NOT NULL
);

-- The budget's count: one subject's attempts in a time range.
CREATE INDEX subject_attempts_key_subject_at ON subject_attempts (key_id, subject, at);
-- The sweeper's prune by age.
CREATE INDEX subject_attempts_at ON subject_attempts (at);
