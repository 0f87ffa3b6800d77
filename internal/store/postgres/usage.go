package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

// RecordUsage implements store.Store.
func (db *DB) RecordUsage(ctx context.Context, e store.UsageEvent) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if e.At.IsZero() {
		e.At = db.now()
	}
	at, ns := splitTime(e.At)
	_, err := db.pool.Exec(ctx, `INSERT INTO usage (key_id, endpoint, outcome, billed, request_id, at, at_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.KeyID, e.Endpoint, e.Outcome, e.Billed, e.RequestID, at, ns)
	if err != nil {
		return fmt.Errorf("postgres: record usage: %w", err)
	}
	return nil
}

// usageRange is the condition from ≤ at < to on parameters $2–$5 (from
// and its nanoseconds, to and its), a NULL time leaving its side open.
const usageRange = `
	AND ($2::timestamptz IS NULL OR (at, at_ns) >= ($2, $3))
	AND ($4::timestamptz IS NULL OR (at, at_ns) < ($4, $5))`

// Usage implements store.Store.
func (db *DB) Usage(ctx context.Context, keyID string, from, to time.Time) ([]store.UsageCount, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	lo, loNS := nullTime(from)
	hi, hiNS := nullTime(to)
	rows, err := db.pool.Query(ctx, `SELECT key_id, endpoint, outcome, billed, COUNT(*) FROM usage
		WHERE ($1 = '' OR key_id = $1)`+usageRange+`
		GROUP BY key_id, endpoint, outcome, billed
		ORDER BY key_id, endpoint, outcome, billed`, keyID, lo, loNS, hi, hiNS)
	if err != nil {
		return nil, fmt.Errorf("postgres: usage: %w", err)
	}
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UsageCount, error) {
		var c store.UsageCount
		err := r.Scan(&c.KeyID, &c.Endpoint, &c.Outcome, &c.Billed, &c.Count)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: usage: %w", err)
	}
	return counts, nil
}

// UsageEvents implements store.Store. It streams rows to fn as they come,
// so it runs without OpTimeout and, in its own transaction, without a
// statement_timeout: an export of a long ledger to a slow writer may take
// longer than any ordinary statement.
func (db *DB) UsageEvents(ctx context.Context, keyID string, from, to time.Time, fn func(store.UsageEvent) error) error {
	lo, loNS := nullTime(from)
	hi, hiNS := nullTime(to)
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return fmt.Errorf("postgres: usage events: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT key_id, endpoint, outcome, billed, request_id, at, at_ns FROM usage
			WHERE ($1 = '' OR key_id = $1)`+usageRange+`
			ORDER BY at, at_ns, id`, keyID, lo, loNS, hi, hiNS)
		if err != nil {
			return fmt.Errorf("postgres: usage events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e  store.UsageEvent
				at time.Time
				ns int
			)
			if err := rows.Scan(&e.KeyID, &e.Endpoint, &e.Outcome, &e.Billed, &e.RequestID, &at, &ns); err != nil {
				return fmt.Errorf("postgres: usage events: %w", err)
			}
			e.At = joinTime(at, ns)
			if err := fn(e); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: usage events: %w", err)
		}
		return nil
	})
}
