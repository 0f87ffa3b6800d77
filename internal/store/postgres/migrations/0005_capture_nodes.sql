-- Capture state shared by the nodes (see the SQLite migration of the same
-- version): the connection that owns a token's capture, and the HTTP
-- fallback's pending sequences, one per token, taken once.
ALTER TABLE verifications ADD COLUMN capture_owner text NOT NULL DEFAULT '';

CREATE TABLE flash_sequences (
	id            text PRIMARY KEY,
	token         text NOT NULL UNIQUE REFERENCES verifications (token) ON DELETE CASCADE,
	challenge     bytea NOT NULL,
	issued_at     timestamptz NOT NULL,
	issued_at_ns  integer NOT NULL,
	expires_at    timestamptz NOT NULL,
	expires_at_ns integer NOT NULL
);
