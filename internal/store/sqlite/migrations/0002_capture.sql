-- The capture lifecycle (issue 4): results of a verification and the best
-- images, the only media kept.
--
-- liveness_result and verify_result are the JSON objects of spec §4.2 and
-- §4.3 as the API sends them; terminal_at is set when the status becomes
-- OK or FAILED (get_result's retention runs from it).

ALTER TABLE verifications ADD COLUMN liveness_result TEXT;
ALTER TABLE verifications ADD COLUMN verify_result TEXT;
ALTER TABLE verifications ADD COLUMN terminal_at TEXT;

CREATE TABLE verification_images (
	token TEXT NOT NULL REFERENCES verifications (token) ON DELETE CASCADE,
	idx   INTEGER NOT NULL,
	data  BLOB NOT NULL,
	PRIMARY KEY (token, idx)
);
