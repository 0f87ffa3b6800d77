package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

// ClaimCapture implements store.CaptureStore: one UPDATE, the latest claim
// winning by being the latest write.
func (db *DB) ClaimCapture(ctx context.Context, token, owner string) error {
	if owner == "" {
		return errors.New("postgres: claim capture: empty owner")
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `UPDATE verifications SET capture_owner = $1 WHERE token = $2`, owner, token)
	if err != nil {
		return fmt.Errorf("postgres: claim capture: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	return nil
}

// CaptureOwner implements store.CaptureStore.
func (db *DB) CaptureOwner(ctx context.Context, token string) (string, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var owner string
	err := db.pool.QueryRow(ctx, `SELECT capture_owner FROM verifications WHERE token = $1`, token).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: read capture owner: %w", err)
	}
	return owner, nil
}

// SaveFlashSequence implements store.CaptureStore. Selecting the token
// from verifications makes an unknown token insert nothing instead of
// tripping the foreign key; the upsert on the token's UNIQUE constraint
// replaces the older sequence in the same statement.
func (db *DB) SaveFlashSequence(ctx context.Context, seq *store.FlashSequence) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	issued, issuedNS := splitTime(seq.IssuedAt)
	expires, expiresNS := splitTime(seq.ExpiresAt)
	challenge := seq.Challenge
	if challenge == nil {
		challenge = []byte{}
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO flash_sequences (id, token, challenge, issued_at, issued_at_ns, expires_at, expires_at_ns)
		SELECT $1, token, $2, $3, $4, $5, $6 FROM verifications WHERE token = $7
		ON CONFLICT (token) DO UPDATE SET id = excluded.id, challenge = excluded.challenge,
			issued_at = excluded.issued_at, issued_at_ns = excluded.issued_at_ns,
			expires_at = excluded.expires_at, expires_at_ns = excluded.expires_at_ns`,
		seq.ID, challenge, issued, issuedNS, expires, expiresNS, seq.Token)
	if sqlState(err) == uniqueViolation {
		return fmt.Errorf("sequence %q: %w", seq.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: save flash sequence: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	return nil
}

// TakeFlashSequence implements store.CaptureStore. DELETE … RETURNING
// checks and removes in one statement: of concurrent takers only the one
// whose DELETE matched the row gets it.
func (db *DB) TakeFlashSequence(ctx context.Context, token, id string, now time.Time) (*store.FlashSequence, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	seq := store.FlashSequence{ID: id}
	var (
		issued, expires     time.Time
		issuedNS, expiresNS int
	)
	err := db.pool.QueryRow(ctx, `DELETE FROM flash_sequences WHERE id = $1 AND token = $2
		RETURNING token, challenge, issued_at, issued_at_ns, expires_at, expires_at_ns`, id, token).Scan(
		&seq.Token, &seq.Challenge, &issued, &issuedNS, &expires, &expiresNS)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("flash sequence: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: take flash sequence: %w", err)
	}
	seq.IssuedAt, seq.ExpiresAt = joinTime(issued, issuedNS), joinTime(expires, expiresNS)
	if now.After(seq.ExpiresAt) {
		return nil, fmt.Errorf("flash sequence stale since %s: %w", seq.ExpiresAt.Format(time.RFC3339Nano), store.ErrNotFound)
	}
	return &seq, nil
}
