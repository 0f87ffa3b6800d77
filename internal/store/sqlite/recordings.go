package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/glint-id/glint/internal/store"
)

const recordingColumns = `id, key_id, token, attempt, pass, species, device, lighting, created_at`

// SaveRecording implements store.Store.
func (db *DB) SaveRecording(ctx context.Context, r *store.Recording) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var purged sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT purged_at FROM verifications WHERE token = ? AND key_id = ?`,
			r.Token, r.KeyID).Scan(&purged)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && purged.Valid) {
			return fmt.Errorf("verification %q of key %q: %w", r.Token, r.KeyID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: save recording: %w", err)
		}
		// The count and the check in one statement: SQLite serialises
		// writers, so no other transaction counts in between.
		res, err := tx.ExecContext(ctx, `UPDATE keys SET recorded_attempts = recorded_attempts + 1
			WHERE id = ? AND recorded_attempts < record_attempts`, r.KeyID)
		if err != nil {
			return fmt.Errorf("sqlite: save recording: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: save recording: %w", err)
		} else if n == 0 {
			return fmt.Errorf("key %q: %w", r.KeyID, store.ErrLimitReached)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO recordings (`+recordingColumns+`, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.KeyID, r.Token, r.Attempt, boolInt(r.Pass), r.Label.Species, r.Label.Device, r.Label.Lighting,
			formatTime(r.CreatedAt), r.Data)
		if isUniqueViolation(err) {
			return fmt.Errorf("recording %q: %w", r.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: save recording: %w", err)
		}
		return nil
	})
}

// Recordings implements store.Store.
func (db *DB) Recordings(ctx context.Context, keyID string) ([]*store.Recording, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE ? = '' OR key_id = ? ORDER BY created_at, id`, keyID, keyID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list recordings: %w", err)
	}
	defer rows.Close()
	var out []*store.Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list recordings: %w", err)
	}
	return out, nil
}

// Recording implements store.Store.
func (db *DB) Recording(ctx context.Context, id string) (*store.Recording, error) {
	var data []byte
	r, err := scanRecording(db.db.QueryRowContext(ctx, `SELECT `+recordingColumns+`, data FROM recordings WHERE id = ?`, id), &data)
	if errors.Is(err, sql.ErrNoRows) {
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
	res, err := db.db.ExecContext(ctx, `UPDATE recordings SET species = ?, device = ?, lighting = ? WHERE id = ?`,
		l.Species, l.Device, l.Lighting, id)
	if err != nil {
		return fmt.Errorf("sqlite: label recording: %w", err)
	}
	return oneRecording(res, id)
}

// DeleteRecording implements store.Store. Like a purge, it checkpoints
// the WAL, so that the sealed bytes do not stay in it.
func (db *DB) DeleteRecording(ctx context.Context, id string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM recordings WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete recording: %w", err)
	}
	if err := oneRecording(res, id); err != nil {
		return err
	}
	return db.checkpoint(ctx)
}

func oneRecording(res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("recording %q: %w", id, store.ErrNotFound)
	}
	return nil
}

func scanRecording(s scanner, extra ...any) (*store.Recording, error) {
	var (
		r       store.Recording
		pass    int
		created string
	)
	dest := append([]any{&r.ID, &r.KeyID, &r.Token, &r.Attempt, &pass, &r.Label.Species, &r.Label.Device,
		&r.Label.Lighting, &created}, extra...)
	if err := s.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read recording: %w", err)
	}
	r.Pass = pass != 0
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return &r, nil
}
