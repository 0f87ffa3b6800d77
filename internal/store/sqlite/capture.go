package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// The capture methods follow one pattern: a single conditional UPDATE
// whose WHERE clause holds every precondition, so that the check and the
// write cannot be separated by another writer (PostgreSQL would run the
// same statements). Only when it matches no row is the record read, to
// tell the caller which precondition failed.

// captureState is what a refused capture call reads to explain itself.
type captureState struct {
	status   store.Status
	attempts int
	max      int
	expires  string
}

func readCaptureState(ctx context.Context, tx *sql.Tx, token string) (*captureState, error) {
	var (
		s      captureState
		status string
	)
	err := tx.QueryRowContext(ctx, `SELECT status, attempts, max_upload_times, expires_at FROM verifications WHERE token = ?`,
		token).Scan(&status, &s.attempts, &s.max, &s.expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read verification state: %w", err)
	}
	s.status = store.Status(status)
	return &s, nil
}

// expireOne applies the expiry transition to token if it is due at now.
func expireOne(ctx context.Context, tx *sql.Tx, token string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE verifications SET status = ?, terminal_at = expires_at
		WHERE token = ? AND status IN (?, ?) AND expires_at <= ?`,
		string(store.StatusFailed), token, string(store.StatusNotStarted), string(store.StatusProcessing), formatTime(now))
	if err != nil {
		return fmt.Errorf("sqlite: expire verification: %w", err)
	}
	return nil
}

// refusal explains why a conditional update matched nothing, applying the
// expiry transition when that is the reason. needProcessing says whether
// NOT_STARTED is a refusal (it is not for BeginCapture).
func refusal(ctx context.Context, tx *sql.Tx, token string, now time.Time, needProcessing bool) error {
	s, err := readCaptureState(ctx, tx, token)
	if err != nil {
		return err
	}
	switch {
	case s.status.Terminal():
		return fmt.Errorf("verification is %s: %w", s.status, store.ErrFinished)
	case !now.IsZero() && s.expires <= formatTime(now):
		if err := expireOne(ctx, tx, token, now); err != nil {
			return err
		}
		return store.ErrExpired
	case needProcessing && s.status == store.StatusNotStarted:
		return store.ErrNotStarted
	case s.attempts >= s.max:
		return fmt.Errorf("%d of %d attempts used: %w", s.attempts, s.max, store.ErrAttemptsExhausted)
	}
	return fmt.Errorf("sqlite: verification in state %s refused without a reason", s.status)
}

// committedRefusal carries a refusal out of a transaction that must still
// commit (the expiry transition it applied).
type committedRefusal struct{ err error }

func (c committedRefusal) Error() string { return c.err.Error() }

// inTxRefusing is inTx for calls whose refusals may have written: fn
// returns a committedRefusal to commit and then report the refusal.
func (db *DB) inTxRefusing(ctx context.Context, fn func(*sql.Tx) error) error {
	var refused error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := fn(tx)
		var cr committedRefusal
		if errors.As(err, &cr) {
			refused = cr.err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return refused
}

// BeginCapture implements store.Store.
func (db *DB) BeginCapture(ctx context.Context, token string, now time.Time) (*store.Verification, error) {
	err := db.inTxRefusing(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE verifications SET status = ?
			WHERE token = ? AND status IN (?, ?) AND expires_at > ? AND attempts < max_upload_times`,
			string(store.StatusProcessing), token, string(store.StatusNotStarted), string(store.StatusProcessing), formatTime(now))
		if err != nil {
			return fmt.Errorf("sqlite: begin capture: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: begin capture: %w", err)
		} else if n == 0 {
			return refusalTx(ctx, tx, token, now, false)
		}
		// The record's own checks passed; the uuid's budget comes last. A
		// plain error rolls the status change back: nothing changes.
		b, err := readSubjectBudget(ctx, tx, token, now)
		if err != nil {
			return err
		}
		return b.check()
	})
	if err != nil {
		return nil, err
	}
	return db.Verification(ctx, token)
}

// refusalTx wraps refusal so that an expiry transition it applied is
// committed with the refusal.
func refusalTx(ctx context.Context, tx *sql.Tx, token string, now time.Time, needProcessing bool) error {
	err := refusal(ctx, tx, token, now, needProcessing)
	if errors.Is(err, store.ErrExpired) {
		return committedRefusal{err}
	}
	return err
}

// CountAttempt implements store.Store.
func (db *DB) CountAttempt(ctx context.Context, token string, now time.Time) (int, error) {
	var attempts int
	err := db.inTxRefusing(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE verifications SET attempts = attempts + 1
			WHERE token = ? AND status = ? AND expires_at > ? AND attempts < max_upload_times
			RETURNING attempts`,
			token, string(store.StatusProcessing), formatTime(now)).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return refusalTx(ctx, tx, token, now, true)
		}
		if err != nil {
			return fmt.Errorf("sqlite: count attempt: %w", err)
		}
		// The transaction holds the database's write lock from BEGIN
		// (_txlock=immediate), so no other writer can record an attempt
		// between this count and the insert below.
		b, err := readSubjectBudget(ctx, tx, token, now)
		if err != nil {
			return err
		}
		if err := b.check(); err != nil {
			return err // rolls back the attempt counted above
		}
		return b.record(ctx, tx, now)
	})
	if err != nil {
		return 0, err
	}
	return attempts, nil
}

// subjectBudget is the per-uuid attempt budget of one verification at
// one instant (store.Key.AttemptsPerUUID).
type subjectBudget struct {
	keyID   string
	subject []byte // nil: not budgeted
	allowed int    // the key's AttemptsPerUUID
	used    int    // attempts recorded for (keyID, subject) in the window
}

// readSubjectBudget reads the budget of token's verification at now: the
// attempts recorded for its key and subject with now − SubjectWindow < at
// ≤ now.
func readSubjectBudget(ctx context.Context, tx *sql.Tx, token string, now time.Time) (*subjectBudget, error) {
	var b subjectBudget
	err := tx.QueryRowContext(ctx, `SELECT v.key_id, v.subject, k.attempts_per_uuid,
			(SELECT COUNT(*) FROM subject_attempts a
				WHERE a.key_id = v.key_id AND a.subject = v.subject AND a.at > ? AND a.at <= ?)
		FROM verifications v JOIN keys k ON k.id = v.key_id WHERE v.token = ?`,
		formatTime(now.Add(-store.SubjectWindow)), formatTime(now), token).Scan(&b.keyID, &b.subject, &b.allowed, &b.used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read attempts per uuid: %w", err)
	}
	if len(b.subject) == 0 {
		b.subject = nil
	}
	return &b, nil
}

// check refuses with ErrSubjectAttempts when the budget is spent.
func (b *subjectBudget) check() error {
	if b.subject != nil && b.used >= b.allowed {
		return fmt.Errorf("%d of %d attempts per uuid used: %w", b.used, b.allowed, store.ErrSubjectAttempts)
	}
	return nil
}

// record records one attempt at now against the budget, if it has one.
func (b *subjectBudget) record(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if b.subject == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO subject_attempts (key_id, subject, at) VALUES (?, ?, ?)`,
		b.keyID, b.subject, formatTime(now)); err != nil {
		return fmt.Errorf("sqlite: record attempt per uuid: %w", err)
	}
	return nil
}

// SaveLiveness implements store.Store.
func (db *DB) SaveLiveness(ctx context.Context, token string, lr *store.LivenessResult) error {
	js, err := encodeJSON(lr)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE verifications SET liveness_result = ? WHERE token = ? AND status = ?`,
			js, token, string(store.StatusProcessing))
		if err != nil {
			return fmt.Errorf("sqlite: save liveness: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: save liveness: %w", err)
		} else if n == 0 {
			return refusal(ctx, tx, token, time.Time{}, true)
		}
		return nil
	})
}

// FinishVerification implements store.Store.
func (db *DB) FinishVerification(ctx context.Context, token string, o *store.Outcome) error {
	if err := o.Check(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	live, err := encodeJSON(o.Liveness)
	if err != nil {
		return err
	}
	verify, err := encodeJSON(o.Verify)
	if err != nil {
		return err
	}
	at := o.At
	if at.IsZero() {
		at = db.now()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE verifications
			SET status = ?, liveness_result = ?, verify_result = ?, terminal_at = ?
			WHERE token = ? AND status = ?`,
			string(o.Status), live, verify, formatTime(at), token, string(store.StatusProcessing))
		if err != nil {
			return fmt.Errorf("sqlite: finish verification: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: finish verification: %w", err)
		} else if n == 0 {
			return refusal(ctx, tx, token, time.Time{}, true)
		}
		for i, img := range o.Images {
			if _, err := tx.ExecContext(ctx, `INSERT INTO verification_images (token, idx, data) VALUES (?, ?, ?)`,
				token, i, nonNil(img)); err != nil {
				return fmt.Errorf("sqlite: store image: %w", err)
			}
		}
		if o.Status == store.StatusOK && o.Verify != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO usage (key_id, endpoint, outcome, billed, request_id, at)
				SELECT key_id, ?, 'OK', 1, '', ? FROM verifications WHERE token = ?`,
				store.BillableEndpoint, formatTime(at), token); err != nil {
				return fmt.Errorf("sqlite: record billable event: %w", err)
			}
		}
		return nil
	})
}

// ExpireVerifications implements store.Store.
func (db *DB) ExpireVerifications(ctx context.Context, now time.Time, token string) (int, error) {
	res, err := db.db.ExecContext(ctx, `UPDATE verifications SET status = ?, terminal_at = expires_at
		WHERE status IN (?, ?) AND expires_at <= ? AND (? = '' OR token = ?)`,
		string(store.StatusFailed), string(store.StatusNotStarted), string(store.StatusProcessing),
		formatTime(now), token, token)
	if err != nil {
		return 0, fmt.Errorf("sqlite: expire verifications: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: expire verifications: %w", err)
	}
	return int(n), nil
}

// encodeJSON returns v as JSON text, or NULL for a nil pointer.
func encodeJSON[T any](v *T) (sql.NullString, error) {
	if v == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("sqlite: encode result: %w", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}
