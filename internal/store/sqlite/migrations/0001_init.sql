-- Keys, verification records and the usage ledger (issue 3).
--
-- Times are TEXT in UTC with fixed-width nanoseconds so that text order is
-- time order; lists are JSON arrays; booleans are 0/1.

CREATE TABLE keys (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	secret_hash     BLOB NOT NULL,
	disabled        INTEGER NOT NULL DEFAULT 0,
	can_compare     INTEGER NOT NULL DEFAULT 1,
	allowed_ips     TEXT NOT NULL DEFAULT '[]',
	call_limit      INTEGER NOT NULL DEFAULT 0,
	calls           INTEGER NOT NULL DEFAULT 0,
	concurrency     INTEGER NOT NULL,
	allowed_origins TEXT NOT NULL DEFAULT '[]',
	created_at      TEXT NOT NULL
);

CREATE TABLE verifications (
	token                        TEXT PRIMARY KEY,
	key_id                       TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
	biz_no                       TEXT,
	uuid                         TEXT NOT NULL,
	color_number                 INTEGER NOT NULL,
	liveness_preferences         TEXT NOT NULL,
	language                     TEXT NOT NULL,
	procedure_type               TEXT NOT NULL,
	comparison_type              TEXT NOT NULL,
	max_upload_times             INTEGER NOT NULL,
	life_time_seconds            INTEGER NOT NULL,
	multi_oriented_detection     INTEGER NOT NULL,
	fail_when_ref_multiple_faces INTEGER NOT NULL,
	return_multifaces_tag        INTEGER NOT NULL,
	face_occlusion_detection     INTEGER NOT NULL,
	status                       TEXT NOT NULL,
	attempts                     INTEGER NOT NULL DEFAULT 0,
	fetches                      INTEGER NOT NULL DEFAULT 0,
	issued_at                    TEXT NOT NULL,
	expires_at                   TEXT NOT NULL
);

CREATE INDEX verifications_key_id ON verifications (key_id);
CREATE INDEX verifications_expires_at ON verifications (expires_at);

CREATE TABLE verification_refs (
	token     TEXT NOT NULL REFERENCES verifications (token) ON DELETE CASCADE,
	idx       INTEGER NOT NULL,
	model     TEXT NOT NULL,
	embedding BLOB NOT NULL,
	crop      BLOB NOT NULL,
	box_x0    INTEGER NOT NULL,
	box_y0    INTEGER NOT NULL,
	box_x1    INTEGER NOT NULL,
	box_y1    INTEGER NOT NULL,
	original  BLOB,
	PRIMARY KEY (token, idx)
);

-- No foreign key to keys: the ledger outlives deleted keys (billing history).
CREATE TABLE usage (
	id         INTEGER PRIMARY KEY,
	key_id     TEXT NOT NULL,
	endpoint   TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	billed     INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	at         TEXT NOT NULL
);

CREATE INDEX usage_key_id_at ON usage (key_id, at);
