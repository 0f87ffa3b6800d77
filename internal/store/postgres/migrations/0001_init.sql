-- Keys, verification records and the usage ledger: schema version 1, the
-- PostgreSQL form of sqlite/migrations/0001_init.sql.
--
-- Times: a timestamptz keeps microseconds, the store's contract keeps Go's
-- nanoseconds (the conformance suite round-trips and compares them). So
-- each time is a timestamptz, truncated to the microsecond, and beside it
-- an integer column named after it with _ns holding the nanoseconds the
-- microsecond dropped (0-999). Comparisons and orderings take the pair,
-- (at, at_ns), which PostgreSQL compares row-wise; people and tools can
-- read the timestamptz alone.
--
-- Large binary data (face crops, uploaded originals, best images) is not
-- in these rows: they hold the key of a blob (see blob.go), stored by
-- default in the blobs table below. Embeddings are small and stay in the
-- row, as float4 arrays.

CREATE TABLE keys (
	id              text PRIMARY KEY,
	name            text NOT NULL,
	secret_hash     bytea NOT NULL,
	disabled        boolean NOT NULL DEFAULT false,
	can_compare     boolean NOT NULL DEFAULT true,
	allowed_ips     text[] NOT NULL DEFAULT '{}',
	call_limit      bigint NOT NULL DEFAULT 0,
	calls           bigint NOT NULL DEFAULT 0,
	concurrency     integer NOT NULL,
	allowed_origins text[] NOT NULL DEFAULT '{}',
	created_at      timestamptz NOT NULL,
	created_at_ns   integer NOT NULL DEFAULT 0
);

CREATE TABLE verifications (
	token                        text PRIMARY KEY,
	key_id                       text NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
	biz_no                       text,
	uuid                         text NOT NULL,
	color_number                 integer NOT NULL,
	liveness_preferences         text NOT NULL,
	language                     text NOT NULL,
	procedure_type               text NOT NULL,
	comparison_type              text NOT NULL,
	max_upload_times             integer NOT NULL,
	life_time_seconds            bigint NOT NULL,
	multi_oriented_detection     boolean NOT NULL,
	fail_when_ref_multiple_faces boolean NOT NULL,
	return_multifaces_tag        boolean NOT NULL,
	face_occlusion_detection     boolean NOT NULL,
	status                       text NOT NULL,
	attempts                     integer NOT NULL DEFAULT 0,
	fetches                      integer NOT NULL DEFAULT 0,
	issued_at                    timestamptz NOT NULL,
	issued_at_ns                 integer NOT NULL DEFAULT 0,
	expires_at                   timestamptz NOT NULL,
	expires_at_ns                integer NOT NULL DEFAULT 0
);

CREATE INDEX verifications_key_id ON verifications (key_id);
-- The expiry sweep looks only at records that are not terminal yet.
CREATE INDEX verifications_expires_at ON verifications (expires_at, expires_at_ns)
	WHERE status IN ('NOT_STARTED', 'PROCESSING');

CREATE TABLE verification_refs (
	token         text NOT NULL REFERENCES verifications (token) ON DELETE CASCADE,
	idx           integer NOT NULL,
	model         text NOT NULL,
	embedding     real[] NOT NULL,
	crop_blob     text NOT NULL,
	box_x0        integer NOT NULL,
	box_y0        integer NOT NULL,
	box_x1        integer NOT NULL,
	box_y1        integer NOT NULL,
	original_blob text,
	PRIMARY KEY (token, idx)
);

-- The default blob store. Rows name their blobs by key rather than by a
-- foreign key, so that another blob store can take over (blob.go); the
-- store deletes a record's blobs in the transaction that deletes the
-- record.
CREATE TABLE blobs (
	key  text PRIMARY KEY,
	data bytea NOT NULL
);
-- JPEGs do not compress: store them out of line without trying.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- No foreign key to keys: the ledger outlives deleted keys (billing history).
CREATE TABLE usage (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key_id     text NOT NULL,
	endpoint   text NOT NULL,
	outcome    text NOT NULL,
	billed     boolean NOT NULL,
	request_id text NOT NULL,
	at         timestamptz NOT NULL,
	at_ns      integer NOT NULL DEFAULT 0
);

CREATE INDEX usage_key_id_at ON usage (key_id, at, at_ns);
