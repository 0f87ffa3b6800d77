package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// purgeBatch bounds the records purged in one transaction, so the sweeper
// never holds the write lock long enough to stall get_token.
const purgeBatch = 500

// PurgeVerifications implements store.Store. The database runs with
// secure_delete on, so SQLite overwrites deleted rows and freed pages with
// zeros instead of leaving them in free space; the WAL, which still holds
// the pages as they were written, is then checkpointed and truncated.
func (db *DB) PurgeVerifications(ctx context.Context, now time.Time) (store.Purge, error) {
	var p store.Purge
	if _, err := db.ExpireVerifications(ctx, now, ""); err != nil {
		return p, err
	}
	for {
		n, err := db.purgeBatch(ctx, now)
		p.Records += n
		if err != nil {
			return p, err
		}
		if n < purgeBatch {
			break
		}
	}
	res, err := db.db.ExecContext(ctx, `DELETE FROM verifications WHERE purged_at IS NOT NULL AND purged_at <= ?`,
		formatTime(now.Add(-store.TombstoneRetention)))
	if err != nil {
		return p, fmt.Errorf("sqlite: delete tombstones: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return p, fmt.Errorf("sqlite: delete tombstones: %w", err)
	}
	p.Tombstones = int(n)
	// The delivery log holds no personal data, but it names tokens; it
	// lives as long as the tombstones do.
	if _, err := db.db.ExecContext(ctx, `DELETE FROM notification_deliveries WHERE at <= ?`,
		formatTime(now.Add(-store.TombstoneRetention))); err != nil {
		return p, fmt.Errorf("sqlite: prune delivery log: %w", err)
	}
	// The per-uuid budget counts attempts within SubjectWindow; older
	// records count for nothing and go, whatever became of their
	// verifications.
	if _, err := db.db.ExecContext(ctx, `DELETE FROM subject_attempts WHERE at <= ?`,
		formatTime(now.Add(-store.SubjectWindow))); err != nil {
		return p, fmt.Errorf("sqlite: prune attempts per uuid: %w", err)
	}
	// Every sweep, not only one that purged: a key deleted since (by this
	// process or a `glint keys delete` beside it), or a checkpoint that a
	// reader kept from completing last time, leaves deleted rows' pages in
	// the WAL until one completes.
	if err := db.checkpoint(ctx); err != nil {
		return p, err
	}
	return p, nil
}

// purgeBatch purges up to purgeBatch due records in one transaction.
func (db *DB) purgeBatch(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT token FROM verifications
			WHERE purged_at IS NULL AND (purge_after <= ? OR fetches >= ?)
			LIMIT ?`, formatTime(now), store.MaxResultReads, purgeBatch)
		if err != nil {
			return fmt.Errorf("sqlite: find records to purge: %w", err)
		}
		var tokens []string
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: find records to purge: %w", err)
			}
			tokens = append(tokens, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: find records to purge: %w", err)
		}
		for _, t := range tokens {
			if err := purgeOne(ctx, tx, t, now); err != nil {
				return err
			}
		}
		n = len(tokens)
		return nil
	})
	return n, err
}

// purgeStatements delete or blank everything personal a verification
// holds, in dependency order; each takes the token as its one argument.
var purgeStatements = []string{
	`DELETE FROM verification_refs WHERE token = ?`,
	`DELETE FROM verification_images WHERE token = ?`,
	`DELETE FROM notifications WHERE token = ?`,
	`DELETE FROM flash_sequences WHERE token = ?`,
	`DELETE FROM recordings WHERE token = ?`,
}

func purgeOne(ctx context.Context, tx *sql.Tx, token string, now time.Time) error {
	for _, q := range purgeStatements {
		if _, err := tx.ExecContext(ctx, q, token); err != nil {
			return fmt.Errorf("sqlite: purge %s: %w", token, err)
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE verifications SET liveness_result = NULL, verify_result = NULL,
		uuid = '', biz_no = NULL, subject = NULL, purged_at = ? WHERE token = ?`, formatTime(now), token)
	if err != nil {
		return fmt.Errorf("sqlite: purge %s: %w", token, err)
	}
	return nil
}

// checkpoint copies the WAL into the database file and truncates it, so
// that the pre-deletion page images in the WAL are gone too. A reader
// holding an old snapshot makes the checkpoint incomplete (SQLite then
// reports busy); that is not an error: the next sweep, a minute later,
// tries again.
func (db *DB) checkpoint(ctx context.Context) error {
	var busy, logFrames, done int
	err := db.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
	if err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	return nil
}
