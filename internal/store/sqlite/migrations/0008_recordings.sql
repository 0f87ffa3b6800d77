-- Consented recordings of capture attempts (issue 11, the field kit).
--
-- record_attempts: how many capture attempts of the key's tokens to
-- record over the key's life; 0, what existing keys get, records none.
-- recorded_attempts: how many were recorded, maintained by SaveRecording
-- in the transaction that stores one.
ALTER TABLE keys ADD COLUMN record_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN recorded_attempts INTEGER NOT NULL DEFAULT 0;

-- One row per recorded attempt. data is sealed by package auth under a
-- key derived from the pepper, which is not in the database. The rows go
-- when their verification is purged (PurgeVerifications deletes them with
-- its other personal data) and with the verification row (a deleted key,
-- a deleted tombstone). The label is the operator's, in the clear.
CREATE TABLE recordings (
	id         TEXT PRIMARY KEY,
	key_id     TEXT NOT NULL,
	token      TEXT NOT NULL REFERENCES verifications (token) ON DELETE CASCADE,
	attempt    INTEGER NOT NULL,
	pass       INTEGER NOT NULL,
	data       BLOB NOT NULL,
	species    TEXT NOT NULL DEFAULT '',
	device     TEXT NOT NULL DEFAULT '',
	lighting   TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
);

CREATE INDEX recordings_token ON recordings (token);
CREATE INDEX recordings_key_created ON recordings (key_id, created_at);
