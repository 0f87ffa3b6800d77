-- Secret rotation: schema version 9, the PostgreSQL form of
-- sqlite/migrations/0009_secret_rotation.sql.
--
-- old_secret_hash: the keyed hash of the api_secret that the last
-- rotation replaced, which authenticates too until old_secret_until
-- (+ old_secret_until_ns, as for created_at); NULL when there is none.
-- A key has at most two valid secrets: a new rotation replaces the old
-- hash.
ALTER TABLE keys
	ADD COLUMN old_secret_hash     bytea,
	ADD COLUMN old_secret_until    timestamptz,
	ADD COLUMN old_secret_until_ns integer NOT NULL DEFAULT 0;
