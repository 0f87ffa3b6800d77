-- Consented recordings of capture attempts: schema version 8, the
-- PostgreSQL form of sqlite/migrations/0008_recordings.sql.
--
-- record_attempts: how many capture attempts of the key's tokens to
-- record over the key's life; 0, what existing keys get, records none.
-- recorded_attempts: how many were recorded, maintained by SaveRecording.
ALTER TABLE keys
	ADD COLUMN record_attempts   integer NOT NULL DEFAULT 0,
	ADD COLUMN recorded_attempts integer NOT NULL DEFAULT 0;

-- One row per recorded attempt; data is sealed by package auth under a
-- key derived from the pepper. The purge deletes the rows of the records
-- it purges (and VACUUMs the table), the verification row's deletion the
-- rest.
CREATE TABLE recordings (
	id            text PRIMARY KEY,
	key_id        text NOT NULL,
	token         text NOT NULL REFERENCES verifications (token) ON DELETE CASCADE,
	attempt       integer NOT NULL,
	pass          boolean NOT NULL,
	data          bytea NOT NULL,
	species       text NOT NULL DEFAULT '',
	device        text NOT NULL DEFAULT '',
	lighting      text NOT NULL DEFAULT '',
	created_at    timestamptz NOT NULL,
	created_at_ns integer NOT NULL DEFAULT 0
);

CREATE INDEX recordings_token ON recordings (token);
CREATE INDEX recordings_key_created ON recordings (key_id, created_at, created_at_ns);
