package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// ClaimCapture implements store.CaptureStore. One UPDATE: the latest
// claim wins by being the latest write.
func (db *DB) ClaimCapture(ctx context.Context, token, owner string) error {
	if owner == "" {
		return errors.New("sqlite: claim capture: empty owner")
	}
	res, err := db.db.ExecContext(ctx, `UPDATE verifications SET capture_owner = ? WHERE token = ?`, owner, token)
	if err != nil {
		return fmt.Errorf("sqlite: claim capture: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: claim capture: %w", err)
	} else if n == 0 {
		return fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	return nil
}

// CaptureOwner implements store.CaptureStore.
func (db *DB) CaptureOwner(ctx context.Context, token string) (string, error) {
	var owner string
	err := db.db.QueryRowContext(ctx, `SELECT capture_owner FROM verifications WHERE token = ?`, token).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: read capture owner: %w", err)
	}
	return owner, nil
}

// SaveFlashSequence implements store.CaptureStore. The insert selects
// from verifications, so an unknown token inserts nothing rather than
// tripping the foreign key, and the upsert on the token's UNIQUE
// constraint replaces the token's older sequence in the same statement.
func (db *DB) SaveFlashSequence(ctx context.Context, seq *store.FlashSequence) error {
	// The WHERE clause also keeps SQLite from reading ON CONFLICT as a
	// join's ON.
	res, err := db.db.ExecContext(ctx, `INSERT INTO flash_sequences (id, token, challenge, issued_at, expires_at)
		SELECT ?, token, ?, ?, ? FROM verifications WHERE token = ?
		ON CONFLICT (token) DO UPDATE SET id = excluded.id, challenge = excluded.challenge,
			issued_at = excluded.issued_at, expires_at = excluded.expires_at`,
		seq.ID, nonNil(seq.Challenge), formatTime(seq.IssuedAt), formatTime(seq.ExpiresAt), seq.Token)
	if isUniqueViolation(err) {
		return fmt.Errorf("sequence %q: %w", seq.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: save flash sequence: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: save flash sequence: %w", err)
	} else if n == 0 {
		return fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	return nil
}

// TakeFlashSequence implements store.CaptureStore. DELETE … RETURNING is
// the check and the removal in one statement: of concurrent takers only
// the one whose DELETE matched the row gets it back.
func (db *DB) TakeFlashSequence(ctx context.Context, token, id string, now time.Time) (*store.FlashSequence, error) {
	seq := store.FlashSequence{ID: id}
	var issued, expires string
	err := db.db.QueryRowContext(ctx, `DELETE FROM flash_sequences WHERE id = ? AND token = ?
		RETURNING token, challenge, issued_at, expires_at`, id, token).Scan(&seq.Token, &seq.Challenge, &issued, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("flash sequence: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: take flash sequence: %w", err)
	}
	if seq.IssuedAt, err = parseTime(issued); err != nil {
		return nil, err
	}
	if seq.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	if now.After(seq.ExpiresAt) {
		return nil, fmt.Errorf("flash sequence stale since %s: %w", expires, store.ErrNotFound)
	}
	return &seq, nil
}
