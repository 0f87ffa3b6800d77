package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// Notifications are queued by the trigger of migration 0004 and deleted
// with their verification (ON DELETE CASCADE for deleted keys and
// tombstones, purgeStatements for purged records).

// ClaimNotifications implements store.NotificationStore. The select and
// the lease update run in one transaction, which holds SQLite's write lock
// from BEGIN (_txlock=immediate), so two claimers never see the same due
// row. (PostgreSQL would use SELECT … FOR UPDATE SKIP LOCKED.)
func (db *DB) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("sqlite: claim notifications: lease %s is not positive", lease)
	}
	var ns []store.Notification
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ns = ns[:0]
		rows, err := tx.QueryContext(ctx, `SELECT n.id, n.token, n.key_id, n.url, k.notify_secret, n.attempts, n.created_at
			FROM notifications n JOIN keys k ON k.id = n.key_id
			WHERE n.finished_at IS NULL AND n.next_attempt_at <= ?
			ORDER BY n.created_at, n.id
			LIMIT ?`, formatTime(now), limit)
		if err != nil {
			return fmt.Errorf("sqlite: claim notifications: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				n       store.Notification
				created string
			)
			if err := rows.Scan(&n.ID, &n.Token, &n.KeyID, &n.URL, &n.Secret, &n.Attempts, &created); err != nil {
				return fmt.Errorf("sqlite: claim notifications: %w", err)
			}
			if n.CreatedAt, err = parseTime(created); err != nil {
				return err
			}
			ns = append(ns, n)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim notifications: %w", err)
		}
		rows.Close()
		if len(ns) == 0 {
			return nil
		}
		until := now.Add(lease)
		ids := make([]any, 0, len(ns)+1)
		ids = append(ids, formatTime(until))
		for i := range ns {
			ns[i].NextAttemptAt = until
			ids = append(ids, ns[i].ID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE notifications SET next_attempt_at = ?
			WHERE id IN (?`+strings.Repeat(", ?", len(ns)-1)+`)`, ids...)
		if err != nil {
			return fmt.Errorf("sqlite: claim notifications: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ns, nil
}

// RecordDelivery implements store.NotificationStore. The update's
// condition is the claim's fence (store.ErrClaimLost): it matches only an
// unfinished row whose attempts are still the claimed count, so a claimer
// whose lease ran out cannot reopen or overwrite another's record; the
// log row is inserted only when it matched.
func (db *DB) RecordDelivery(ctx context.Context, a store.DeliveryAttempt, next time.Time) error {
	at := a.At
	if at.IsZero() {
		at = db.now()
	}
	// finished_at is the attempt's time when next is zero, NULL otherwise;
	// next_attempt_at keeps its value then (nothing claims a finished row).
	var finished, nextAt sql.NullString
	if next.IsZero() {
		finished = sql.NullString{String: formatTime(at), Valid: true}
	} else {
		nextAt = sql.NullString{String: formatTime(next), Valid: true}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notifications
			SET attempts = ?, next_attempt_at = COALESCE(?, next_attempt_at), finished_at = ?
			WHERE id = ? AND finished_at IS NULL AND attempts = ?`,
			a.Attempt, nextAt, finished, a.NotificationID, a.Attempt-1)
		if err != nil {
			return fmt.Errorf("sqlite: record delivery: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: record delivery: %w", err)
		} else if n == 0 {
			// Gone, or overtaken: the transaction holds the write lock,
			// so the row cannot change between the two statements.
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE id = ?)`,
				a.NotificationID).Scan(&exists); err != nil {
				return fmt.Errorf("sqlite: record delivery: %w", err)
			}
			if exists {
				return fmt.Errorf("notification %d, attempt %d: %w", a.NotificationID, a.Attempt, store.ErrClaimLost)
			}
			return fmt.Errorf("notification %d: %w", a.NotificationID, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO notification_deliveries
			(notification_id, token, key_id, url, attempt, at, duration_ns, status_code, error, delivered)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.NotificationID, a.Token, a.KeyID, a.URL, a.Attempt, formatTime(at), int64(a.Duration),
			a.StatusCode, a.Error, boolInt(a.Delivered))
		if err != nil {
			return fmt.Errorf("sqlite: record delivery: %w", err)
		}
		return nil
	})
}

// Deliveries implements store.NotificationStore.
func (db *DB) Deliveries(ctx context.Context, keyID, token string) ([]store.DeliveryAttempt, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT notification_id, token, key_id, url, attempt, at, duration_ns,
			status_code, error, delivered
		FROM notification_deliveries
		WHERE key_id = ? AND (? = '' OR token = ?)
		ORDER BY at, id`, keyID, token, token)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read delivery log: %w", err)
	}
	defer rows.Close()
	var as []store.DeliveryAttempt
	for rows.Next() {
		var (
			a         store.DeliveryAttempt
			at        string
			duration  int64
			delivered int
		)
		if err := rows.Scan(&a.NotificationID, &a.Token, &a.KeyID, &a.URL, &a.Attempt, &at, &duration,
			&a.StatusCode, &a.Error, &delivered); err != nil {
			return nil, fmt.Errorf("sqlite: read delivery log: %w", err)
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, err
		}
		a.Duration = time.Duration(duration)
		a.Delivered = delivered != 0
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read delivery log: %w", err)
	}
	return as, nil
}
