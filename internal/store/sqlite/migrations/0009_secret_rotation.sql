-- Secret rotation (issue 13, item 7).
--
-- old_secret_hash: the keyed hash of the api_secret that the last
-- rotation replaced, which authenticates too until old_secret_until
-- (a TEXT time like created_at); both NULL when there is none. A key has
-- at most two valid secrets: a new rotation replaces the old hash.
ALTER TABLE keys ADD COLUMN old_secret_hash BLOB;
ALTER TABLE keys ADD COLUMN old_secret_until TEXT;
