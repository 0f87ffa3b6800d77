package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// RecordUsage implements store.Store.
func (db *DB) RecordUsage(ctx context.Context, e store.UsageEvent) error {
	if e.At.IsZero() {
		e.At = db.now()
	}
	_, err := db.db.ExecContext(ctx,
		`INSERT INTO usage (key_id, endpoint, outcome, billed, request_id, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.KeyID, e.Endpoint, e.Outcome, boolInt(e.Billed), e.RequestID, formatTime(e.At))
	if err != nil {
		return fmt.Errorf("sqlite: record usage: %w", err)
	}
	return nil
}

// Usage implements store.Store.
func (db *DB) Usage(ctx context.Context, keyID string, from, to time.Time) ([]store.UsageCount, error) {
	lo, hi := usageRange(from, to)
	rows, err := db.db.QueryContext(ctx, `SELECT key_id, endpoint, outcome, billed, COUNT(*) FROM usage
		WHERE (? = '' OR key_id = ?) AND at >= ? AND at < ?
		GROUP BY key_id, endpoint, outcome, billed
		ORDER BY key_id, endpoint, outcome, billed`, keyID, keyID, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("sqlite: usage: %w", err)
	}
	defer rows.Close()
	var counts []store.UsageCount
	for rows.Next() {
		var (
			c      store.UsageCount
			billed int
		)
		if err := rows.Scan(&c.KeyID, &c.Endpoint, &c.Outcome, &billed, &c.Count); err != nil {
			return nil, fmt.Errorf("sqlite: usage: %w", err)
		}
		c.Billed = billed != 0
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: usage: %w", err)
	}
	return counts, nil
}

// UsageEvents implements store.Store.
func (db *DB) UsageEvents(ctx context.Context, keyID string, from, to time.Time, fn func(store.UsageEvent) error) error {
	lo, hi := usageRange(from, to)
	rows, err := db.db.QueryContext(ctx, `SELECT key_id, endpoint, outcome, billed, request_id, at FROM usage
		WHERE (? = '' OR key_id = ?) AND at >= ? AND at < ?
		ORDER BY at, id`, keyID, keyID, lo, hi)
	if err != nil {
		return fmt.Errorf("sqlite: usage events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e      store.UsageEvent
			billed int
			at     string
		)
		if err := rows.Scan(&e.KeyID, &e.Endpoint, &e.Outcome, &billed, &e.RequestID, &at); err != nil {
			return fmt.Errorf("sqlite: usage events: %w", err)
		}
		e.Billed = billed != 0
		if e.At, err = parseTime(at); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: usage events: %w", err)
	}
	return nil
}

// usageRange gives the stored-time bounds of [from, to), a zero time
// leaving its side open: "" is before every stored time, "9999" after.
func usageRange(from, to time.Time) (lo, hi string) {
	lo, hi = "", "9999"
	if !from.IsZero() {
		lo = formatTime(from)
	}
	if !to.IsZero() {
		hi = formatTime(to)
	}
	return lo, hi
}
