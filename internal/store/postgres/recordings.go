package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

const recordingColumns = `id, key_id, token, attempt, pass, species, device, lighting, created_at, created_at_ns`

// SaveRecording implements store.Store.
func (db *DB) SaveRecording(ctx context.Context, r *store.Recording) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now()
	}
	created, createdNS := splitTime(r.CreatedAt)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var purged *time.Time
		err := tx.QueryRow(ctx, `SELECT purged_at FROM verifications WHERE token = $1 AND key_id = $2 FOR SHARE`,
			r.Token, r.KeyID).Scan(&purged)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && purged != nil) {
			return fmt.Errorf("verification %q of key %q: %w", r.Token, r.KeyID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: save recording: %w", err)
		}
		// The check and the count in one row update: concurrent savers
		// of one key queue on its row lock and see each other's counts.
		tag, err := tx.Exec(ctx, `UPDATE keys SET recorded_attempts = recorded_attempts + 1
			WHERE id = $1 AND recorded_attempts < record_attempts`, r.KeyID)
		if err != nil {
			return fmt.Errorf("postgres: save recording: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("key %q: %w", r.KeyID, store.ErrLimitReached)
		}
		_, err = tx.Exec(ctx, `INSERT INTO recordings (`+recordingColumns+`, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			r.ID, r.KeyID, r.Token, r.Attempt, r.Pass, r.Label.Species, r.Label.Device, r.Label.Lighting,
			created, createdNS, r.Data)
		if sqlState(err) == uniqueViolation {
			return fmt.Errorf("recording %q: %w", r.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("postgres: save recording: %w", err)
		}
		return nil
	})
}

// Recordings implements store.Store.
func (db *DB) Recordings(ctx context.Context, keyID string) ([]*store.Recording, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE $1 = '' OR key_id = $1 ORDER BY created_at, created_at_ns, id`, keyID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list recordings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Recording, error) { return scanRecording(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list recordings: %w", err)
	}
	return out, nil
}

// Recording implements store.Store.
func (db *DB) Recording(ctx context.Context, id string) (*store.Recording, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var data []byte
	r, err := scanRecording(db.pool.QueryRow(ctx, `SELECT `+recordingColumns+`, data FROM recordings WHERE id = $1`, id), &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("recording %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r.Data = data
	return r, nil
}

// LabelRecording implements store.Store.
func (db *DB) LabelRecording(ctx context.Context, id string, l store.RecordingLabel) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `UPDATE recordings SET species = $1, device = $2, lighting = $3 WHERE id = $4`,
		l.Species, l.Device, l.Lighting, id)
	if err != nil {
		return fmt.Errorf("postgres: label recording: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("recording %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeleteRecording implements store.Store. The deleted row's bytes stay
// in the table's pages until a VACUUM (the sweeper's next one after a
// purge, or autovacuum): see PurgeVerifications.
func (db *DB) DeleteRecording(ctx context.Context, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `DELETE FROM recordings WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: delete recording: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("recording %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func scanRecording(row pgx.Row, extra ...any) (*store.Recording, error) {
	var (
		r         store.Recording
		created   time.Time
		createdNS int
	)
	dest := append([]any{&r.ID, &r.KeyID, &r.Token, &r.Attempt, &r.Pass, &r.Label.Species, &r.Label.Device,
		&r.Label.Lighting, &created, &createdNS}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("postgres: read recording: %w", err)
	}
	r.CreatedAt = joinTime(created, createdNS)
	return &r, nil
}
