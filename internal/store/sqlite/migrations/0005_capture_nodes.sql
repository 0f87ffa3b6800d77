-- Capture state shared by several nodes on one database (issue "Scale out
-- on PostgreSQL", item 3): a node serving a capture WebSocket, or
-- validate_flash, for a token another node issued or began needs no
-- affinity beyond the WebSocket connection itself.
--
-- capture_owner: the random id of the connection that claimed the token's
-- capture last; an older connection that sees another id here closes with
-- 4011 (spec §5.4 item 10). '' until the first claim.
ALTER TABLE verifications ADD COLUMN capture_owner TEXT NOT NULL DEFAULT '';

-- The HTTP fallback's pending sequences (spec §2.3.2), by seq_id. UNIQUE
-- (token): one live sequence per token, a newer start_flash replacing the
-- older. challenge is the capture side's encoding of the colours and
-- holds, opaque to the store. A sequence goes when validate_flash takes
-- it, when its verification is purged, or with its verification.
CREATE TABLE flash_sequences (
	id         TEXT PRIMARY KEY,
	token      TEXT NOT NULL UNIQUE REFERENCES verifications (token) ON DELETE CASCADE,
	challenge  BLOB NOT NULL,
	issued_at  TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
