package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

// Notifications are queued by the trigger of migration 0004 and deleted
// with their verification (ON DELETE CASCADE for deleted keys and
// tombstones, purgeBatch for purged records).

// ClaimNotifications implements store.NotificationStore. One statement
// picks the due rows and moves their lease: FOR UPDATE SKIP LOCKED passes
// over rows another claimer is taking at that moment, and a row another
// claimer has just taken is re-checked after its commit and no longer
// due, so no two claimers, on any node, get the same notification.
func (db *DB) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("postgres: claim notifications: lease %s is not positive", lease)
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	at, atNS := splitTime(now)
	until := now.Add(lease)
	untilUS, untilNS := splitTime(until)
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT n.id FROM notifications n JOIN keys k ON k.id = n.key_id
			WHERE n.finished_at IS NULL AND (n.next_attempt_at, n.next_attempt_at_ns) <= ($1, $2)
			ORDER BY n.created_at, n.created_at_ns, n.id
			LIMIT $3
			FOR UPDATE OF n SKIP LOCKED
		)
		UPDATE notifications n SET next_attempt_at = $4, next_attempt_at_ns = $5
		FROM due WHERE n.id = due.id
		RETURNING n.id, n.token, n.key_id, n.url, (SELECT notify_secret FROM keys WHERE id = n.key_id),
			n.attempts, n.created_at, n.created_at_ns`,
		at, atNS, limit, untilUS, untilNS)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	ns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Notification, error) {
		var (
			n         store.Notification
			created   time.Time
			createdNS int
		)
		err := r.Scan(&n.ID, &n.Token, &n.KeyID, &n.URL, &n.Secret, &n.Attempts, &created, &createdNS)
		n.CreatedAt = joinTime(created, createdNS)
		n.NextAttemptAt = until
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(ns, func(a, b store.Notification) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ns, nil
}

// RecordDelivery implements store.NotificationStore. The update's
// condition is the claim's fence (store.ErrClaimLost): it matches only an
// unfinished row whose attempts are still the claimed count, so a claimer
// whose lease ran out cannot reopen or overwrite another's record. Two
// concurrent records of one attempt queue on the row lock, and READ
// COMMITTED re-checks the condition against the winner's row, so the
// second matches nothing. The log row is inserted only when it matched.
func (db *DB) RecordDelivery(ctx context.Context, a store.DeliveryAttempt, next time.Time) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	at := a.At
	if at.IsZero() {
		at = db.now()
	}
	atUS, atNS := splitTime(at)
	// A zero next finishes the notification at the attempt's time; its
	// next_attempt_at then keeps its value (nothing claims a finished row).
	// Otherwise finished_at stays NULL, as the condition requires it to be.
	const claimed = ` WHERE id = $4 AND finished_at IS NULL AND attempts = $5`
	update, args := `UPDATE notifications SET attempts = $1, finished_at = $2, finished_at_ns = $3`+claimed,
		[]any{a.Attempt, atUS, atNS, a.NotificationID, a.Attempt - 1}
	if !next.IsZero() {
		nextUS, nextNS := splitTime(next)
		update, args = `UPDATE notifications SET attempts = $1, next_attempt_at = $2, next_attempt_at_ns = $3`+claimed,
			[]any{a.Attempt, nextUS, nextNS, a.NotificationID, a.Attempt - 1}
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, update, args...)
		if err != nil {
			return fmt.Errorf("postgres: record delivery: %w", err)
		}
		if tag.RowsAffected() == 0 {
			// Gone, or overtaken. Rows are deleted (purge, key deletion)
			// but never brought back, so a row seen here existed when the
			// update missed it.
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE id = $1)`,
				a.NotificationID).Scan(&exists); err != nil {
				return fmt.Errorf("postgres: record delivery: %w", err)
			}
			if exists {
				return fmt.Errorf("notification %d, attempt %d: %w", a.NotificationID, a.Attempt, store.ErrClaimLost)
			}
			return fmt.Errorf("notification %d: %w", a.NotificationID, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, `INSERT INTO notification_deliveries
			(notification_id, token, key_id, url, attempt, at, at_ns, duration_ns, status_code, error, delivered)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.NotificationID, a.Token, a.KeyID, a.URL, a.Attempt, atUS, atNS, int64(a.Duration),
			a.StatusCode, a.Error, a.Delivered)
		if err != nil {
			return fmt.Errorf("postgres: record delivery: %w", err)
		}
		return nil
	})
}

// Deliveries implements store.NotificationStore.
func (db *DB) Deliveries(ctx context.Context, keyID, token string) ([]store.DeliveryAttempt, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT notification_id, token, key_id, url, attempt, at, at_ns, duration_ns,
			status_code, error, delivered
		FROM notification_deliveries
		WHERE key_id = $1 AND ($2 = '' OR token = $2)
		ORDER BY at, at_ns, id`, keyID, token)
	if err != nil {
		return nil, fmt.Errorf("postgres: read delivery log: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DeliveryAttempt, error) {
		var (
			a        store.DeliveryAttempt
			at       time.Time
			ns       int
			duration int64
		)
		err := r.Scan(&a.NotificationID, &a.Token, &a.KeyID, &a.URL, &a.Attempt, &at, &ns, &duration,
			&a.StatusCode, &a.Error, &a.Delivered)
		a.At = joinTime(at, ns)
		a.Duration = time.Duration(duration)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read delivery log: %w", err)
	}
	return as, nil
}
