-- The capture lifecycle: schema version 2, the PostgreSQL form of
-- sqlite/migrations/0002_capture.sql. liveness_result and verify_result
-- are the JSON objects of spec §4.2 and §4.3 as the API sends them;
-- terminal_at is set when the status becomes OK or FAILED.

ALTER TABLE verifications
	ADD COLUMN liveness_result jsonb,
	ADD COLUMN verify_result   jsonb,
	ADD COLUMN terminal_at     timestamptz,
	ADD COLUMN terminal_at_ns  integer NOT NULL DEFAULT 0;

-- The best images, by blob key.
CREATE TABLE verification_images (
	token text NOT NULL REFERENCES verifications (token) ON DELETE CASCADE,
	idx   integer NOT NULL,
	blob  text NOT NULL,
	PRIMARY KEY (token, idx)
);
