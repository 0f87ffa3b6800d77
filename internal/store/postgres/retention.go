package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/glint-id/glint/internal/store"
)

// purgeBatch bounds the records purged in one transaction, so the sweeper
// never holds many row locks, or a long transaction, at once.
const purgeBatch = 500

// vacuumTimeout replaces statement_timeout for the VACUUM after a purge,
// which visits whole tables.
const vacuumTimeout = "10min"

// purgedTables are the tables a purge deletes from or rewrites rows of,
// in the order VACUUM visits them. verifications is among them: the
// UPDATE that blanks uuid, subject, biz_no and the results leaves the old
// row version, with them, behind as a dead tuple.
const purgedTables = `blobs, verification_refs, verification_images, notifications, flash_sequences, verifications,
	subject_attempts, recordings`

// PurgeVerifications implements store.Store. One node sweeps at a time: the
// call takes a session advisory lock named after the schema, and a call
// that does not get it (another node, or another goroutine, is sweeping)
// returns a zero Purge and nil at once.
//
// What stays on disk: a DELETE (or the UPDATE that blanks a row) only
// marks the old tuple dead; its bytes, and those of the TOAST chunks that
// hold large bytea values out of line, stay in the table's pages until
// VACUUM removes them. So after a purge that changed rows, the sweeper
// runs VACUUM on those tables (outside a transaction, as VACUUM requires):
// afterwards no SQL can read them, their space is reused by new rows, and
// pages emptied at the end of a table are cut off its file. (A tuple that
// an open snapshot, a long query anywhere in the database, may still see
// survives that VACUUM; autovacuum, or the next sweep that purges, takes
// it.) VACUUM does not overwrite the space it frees, though, and
// PostgreSQL has nothing like SQLite's secure_delete: the bytes stay in
// the data files until new rows reuse the space, in WAL segments until
// they are recycled, and in any WAL archive, replica or base backup.
// Measured on PostgreSQL 15: after a purge, its VACUUM and a checkpoint,
// a purged crop and original were gone from the table files (their pages
// had been cut off) but still in the current WAL segment, and the blanked
// uuid was still in the free space of a verifications page.
// Where deleted biometric data must not survive on disk, the database's
// storage and backups must be encrypted, with keys whose retention is
// bounded. Plain VACUUM, not VACUUM FULL: FULL takes an exclusive lock
// that would stall the service, and the old files it drops are not
// overwritten either.
func (db *DB) PurgeVerifications(ctx context.Context, now time.Time) (store.Purge, error) {
	var p store.Purge
	lctx, cancel := db.bound(ctx)
	defer cancel()
	conn, err := db.pool.Acquire(lctx)
	if err != nil {
		return p, fmt.Errorf("postgres: purge: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(lctx, `SELECT pg_try_advisory_lock(`+lockID("sweep")+`)`).Scan(&locked); err != nil {
		return p, fmt.Errorf("postgres: purge: take the sweeper lock: %w", err)
	}
	if !locked {
		return p, nil
	}
	defer unlockSweep(ctx, conn)

	if _, err := expire(lctx, conn, now, ""); err != nil {
		return p, err
	}
	for {
		n, err := db.purgeBatch(ctx, conn, now)
		p.Records += n
		if err != nil {
			return p, err
		}
		if n < purgeBatch {
			break
		}
	}
	before, beforeNS := splitTime(now.Add(-store.TombstoneRetention))
	dctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := conn.Exec(dctx, `DELETE FROM verifications WHERE purged_at IS NOT NULL AND (purged_at, purged_at_ns) <= ($1, $2)`,
		before, beforeNS)
	if err != nil {
		return p, fmt.Errorf("postgres: delete tombstones: %w", err)
	}
	p.Tombstones = int(tag.RowsAffected())
	// The delivery log holds no personal data, but it names tokens; it
	// lives as long as the tombstones do.
	if _, err := conn.Exec(dctx, `DELETE FROM notification_deliveries WHERE (at, at_ns) <= ($1, $2)`,
		before, beforeNS); err != nil {
		return p, fmt.Errorf("postgres: prune delivery log: %w", err)
	}
	// The per-uuid budget counts attempts within SubjectWindow; older
	// records count for nothing and go, whatever became of their
	// verifications.
	window, windowNS := splitTime(now.Add(-store.SubjectWindow))
	tag, err = conn.Exec(dctx, `DELETE FROM subject_attempts WHERE (at, at_ns) <= ($1, $2)`, window, windowNS)
	if err != nil {
		return p, fmt.Errorf("postgres: prune attempts per uuid: %w", err)
	}
	if p.Records > 0 || p.Tombstones > 0 || tag.RowsAffected() > 0 {
		if err := vacuum(ctx, conn); err != nil {
			return p, err
		}
	}
	return p, nil
}

// unlockSweep releases the sweeper lock. The lock belongs to the session,
// which goes back to the pool: if it cannot be released, the connection is
// closed (which releases it) rather than returned holding it, where it
// would stop every node's sweeps.
func unlockSweep(ctx context.Context, conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+lockID("sweep")+`)`); err != nil {
		conn.Conn().Close(ctx) // the pool drops a closed connection on Release
	}
}

// vacuum runs VACUUM on the purged tables, on conn and outside any
// transaction, with a longer statement_timeout than ordinary statements.
func vacuum(ctx context.Context, conn *pgxpool.Conn) error {
	for _, q := range []string{
		`SET statement_timeout = '` + vacuumTimeout + `'`,
		`VACUUM ` + purgedTables,
		`RESET statement_timeout`, // back to the connection's setting
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			// A failed RESET would leave the long timeout on a pooled
			// connection: drop it instead.
			conn.Conn().Close(context.WithoutCancel(ctx))
			return fmt.Errorf("postgres: vacuum after purge: %w", err)
		}
	}
	return nil
}

// expire applies the expiry transition to every record (or only token, if
// not empty) due at now.
func expire(ctx context.Context, q DBTX, now time.Time, token string) (int, error) {
	at, ns := splitTime(now)
	tag, err := q.Exec(ctx, `UPDATE verifications SET status = 'FAILED', terminal_at = expires_at, terminal_at_ns = expires_at_ns
		WHERE status IN `+sqlNotTerminal+` AND (expires_at, expires_at_ns) <= ($1, $2) AND ($3 = '' OR token = $3)`,
		at, ns, token)
	if err != nil {
		return 0, fmt.Errorf("postgres: expire verifications: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// purgeBatch purges up to purgeBatch due records in one transaction on
// conn. Records that a reader has locked at that moment are skipped, and
// purged by the next sweep, rather than waited for.
func (db *DB) purgeBatch(ctx context.Context, conn *pgxpool.Conn, now time.Time) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	at, ns := splitTime(now)
	var n int
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT token FROM verifications
			WHERE purged_at IS NULL AND ((purge_after, purge_after_ns) <= ($1, $2) OR fetches >= $3)
			LIMIT $4
			FOR UPDATE SKIP LOCKED`, at, ns, store.MaxResultReads, purgeBatch)
		if err != nil {
			return fmt.Errorf("postgres: find records to purge: %w", err)
		}
		tokens, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("postgres: find records to purge: %w", err)
		}
		if len(tokens) == 0 {
			return nil
		}
		if err := db.deleteBlobs(ctx, tx, tokens); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM verification_refs WHERE token = ANY($1)`,
			`DELETE FROM verification_images WHERE token = ANY($1)`,
			`DELETE FROM notifications WHERE token = ANY($1)`,
			`DELETE FROM flash_sequences WHERE token = ANY($1)`,
			`DELETE FROM recordings WHERE token = ANY($1)`,
		} {
			if _, err := tx.Exec(ctx, q, tokens); err != nil {
				return fmt.Errorf("postgres: purge: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE verifications SET liveness_result = NULL, verify_result = NULL,
			uuid = '', biz_no = NULL, subject = NULL, purged_at = $1, purged_at_ns = $2 WHERE token = ANY($3)`, at, ns, tokens); err != nil {
			return fmt.Errorf("postgres: purge: %w", err)
		}
		n = len(tokens)
		return nil
	})
	return n, err
}
