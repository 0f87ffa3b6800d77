package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

// The capture methods follow the SQLite backend's pattern: a single
// conditional UPDATE whose WHERE clause holds every precondition. Under
// READ COMMITTED an UPDATE that finds the row locked waits for the other
// transaction, then re-evaluates its WHERE clause on the row as committed,
// so the check and the write cannot be separated by another writer on any
// node. Only when it matches no row is the record read, to tell the
// caller which precondition failed.

// Status values as SQL literals, for statements that do not take them as
// parameters.
const (
	sqlNotTerminal = `('NOT_STARTED', 'PROCESSING')`
	sqlTerminal    = `('OK', 'FAILED')`
)

// captureState is what a refused capture call reads to explain itself.
type captureState struct {
	status   store.Status
	attempts int
	max      int
	expires  time.Time
}

func readCaptureState(ctx context.Context, tx pgx.Tx, token string) (*captureState, error) {
	var (
		s         captureState
		status    string
		expires   time.Time
		expiresNS int
	)
	err := tx.QueryRow(ctx, `SELECT status, attempts, max_upload_times, expires_at, expires_at_ns
		FROM verifications WHERE token = $1`, token).Scan(&status, &s.attempts, &s.max, &expires, &expiresNS)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read verification state: %w", err)
	}
	s.status = store.Status(status)
	s.expires = joinTime(expires, expiresNS)
	return &s, nil
}

// expireOne applies the expiry transition to token if it is due at now.
func expireOne(ctx context.Context, tx pgx.Tx, token string, now time.Time) error {
	_, err := expire(ctx, tx, now, token)
	return err
}

// refusal explains why a conditional update matched nothing, applying the
// expiry transition when that is the reason (a zero now skips the expiry
// check). needProcessing says whether NOT_STARTED is a refusal (it is not
// for BeginCapture).
func refusal(ctx context.Context, tx pgx.Tx, token string, now time.Time, needProcessing bool) error {
	s, err := readCaptureState(ctx, tx, token)
	if err != nil {
		return err
	}
	switch {
	case s.status.Terminal():
		return fmt.Errorf("verification is %s: %w", s.status, store.ErrFinished)
	case !now.IsZero() && !now.Before(s.expires):
		if err := expireOne(ctx, tx, token, now); err != nil {
			return err
		}
		return committedRefusal{store.ErrExpired}
	case needProcessing && s.status == store.StatusNotStarted:
		return store.ErrNotStarted
	case s.attempts >= s.max:
		return fmt.Errorf("%d of %d attempts used: %w", s.attempts, s.max, store.ErrAttemptsExhausted)
	}
	return fmt.Errorf("postgres: verification in state %s refused without a reason", s.status)
}

// committedRefusal carries a refusal out of a transaction that must still
// commit (the expiry transition it applied).
type committedRefusal struct{ err error }

func (c committedRefusal) Error() string { return c.err.Error() }

// inTxRefusing is inTx for calls whose refusals may have written: fn
// returns a committedRefusal to commit and then report the refusal.
func (db *DB) inTxRefusing(ctx context.Context, fn func(pgx.Tx) error) error {
	var refused error
	err := db.inTx(ctx, func(tx pgx.Tx) error {
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
	ctx, cancel := db.bound(ctx)
	defer cancel()
	at, ns := splitTime(now)
	err := db.inTxRefusing(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE verifications SET status = 'PROCESSING'
			WHERE token = $1 AND status IN `+sqlNotTerminal+`
				AND (expires_at, expires_at_ns) > ($2, $3) AND attempts < max_upload_times`,
			token, at, ns)
		if err != nil {
			return fmt.Errorf("postgres: begin capture: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return refusal(ctx, tx, token, now, false)
		}
		// The record's own checks passed; the uuid's budget comes last. A
		// plain error rolls the status change back: nothing changes. No
		// lock: BeginCapture only reads the budget, and an attempt that
		// another node records meanwhile is held to it by CountAttempt.
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

// CountAttempt implements store.Store.
func (db *DB) CountAttempt(ctx context.Context, token string, now time.Time) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	at, ns := splitTime(now)
	var attempts int
	err := db.inTxRefusing(ctx, func(tx pgx.Tx) error {
		var (
			keyID   string
			subject []byte
		)
		err := tx.QueryRow(ctx, `UPDATE verifications SET attempts = attempts + 1
			WHERE token = $1 AND status = 'PROCESSING'
				AND (expires_at, expires_at_ns) > ($2, $3) AND attempts < max_upload_times
			RETURNING attempts, key_id, subject`, token, at, ns).Scan(&attempts, &keyID, &subject)
		if errors.Is(err, pgx.ErrNoRows) {
			return refusal(ctx, tx, token, now, true)
		}
		if err != nil {
			return fmt.Errorf("postgres: count attempt: %w", err)
		}
		if len(subject) == 0 {
			return nil // not budgeted
		}
		// The row lock above serialises the attempts of one token only;
		// the uuid's other tokens may be counting on other nodes right
		// now. A transaction-level advisory lock on (schema, key,
		// subject) serialises the count and the insert of every attempt
		// of the pair: the next holder gets the lock only once this
		// transaction has committed or rolled back, and under READ
		// COMMITTED its count, a later statement, sees the row this one
		// inserted. Lock order is always the verification row, then the
		// subject's lock, and a holder of the subject's lock takes no
		// other lock (subject_attempts has no foreign key, whose check
		// would lock the key's row), so no deadlock can form.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(
			'glint subject ' || current_schema() || ' ' || $1::text || ' ' || encode($2::bytea, 'hex'), 0))`,
			keyID, subject); err != nil {
			return fmt.Errorf("postgres: lock attempts per uuid: %w", err)
		}
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
func readSubjectBudget(ctx context.Context, tx pgx.Tx, token string, now time.Time) (*subjectBudget, error) {
	from, fromNS := splitTime(now.Add(-store.SubjectWindow))
	to, toNS := splitTime(now)
	var b subjectBudget
	err := tx.QueryRow(ctx, `SELECT v.key_id, v.subject, k.attempts_per_uuid,
			(SELECT count(*) FROM subject_attempts a
				WHERE a.key_id = v.key_id AND a.subject = v.subject
					AND (a.at, a.at_ns) > ($2, $3) AND (a.at, a.at_ns) <= ($4, $5))
		FROM verifications v JOIN keys k ON k.id = v.key_id WHERE v.token = $1`,
		token, from, fromNS, to, toNS).Scan(&b.keyID, &b.subject, &b.allowed, &b.used)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read attempts per uuid: %w", err)
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
func (b *subjectBudget) record(ctx context.Context, tx pgx.Tx, now time.Time) error {
	if b.subject == nil {
		return nil
	}
	at, ns := splitTime(now)
	if _, err := tx.Exec(ctx, `INSERT INTO subject_attempts (key_id, subject, at, at_ns) VALUES ($1, $2, $3, $4)`,
		b.keyID, b.subject, at, ns); err != nil {
		return fmt.Errorf("postgres: record attempt per uuid: %w", err)
	}
	return nil
}

// SaveLiveness implements store.Store.
func (db *DB) SaveLiveness(ctx context.Context, token string, lr *store.LivenessResult) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	js, err := encodeJSON(lr)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE verifications SET liveness_result = $1 WHERE token = $2 AND status = 'PROCESSING'`,
			js, token)
		if err != nil {
			return fmt.Errorf("postgres: save liveness: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return refusal(ctx, tx, token, time.Time{}, true)
		}
		return nil
	})
}

// FinishVerification implements store.Store. The status UPDATE locks the
// row, so of concurrent finishers one matches and the others, re-checking
// after it commits, find it terminal. The notification, if the key wants
// one, is queued by the trigger of migration 0004 in this transaction.
func (db *DB) FinishVerification(ctx context.Context, token string, o *store.Outcome) error {
	if err := o.Check(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	live, err := encodeJSON(o.Liveness)
	if err != nil {
		return err
	}
	verify, err := encodeJSON(o.Verify)
	if err != nil {
		return err
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	at := o.At
	if at.IsZero() {
		at = db.now()
	}
	atUS, atNS := splitTime(at)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE verifications
			SET status = $1, liveness_result = $2, verify_result = $3, terminal_at = $4, terminal_at_ns = $5
			WHERE token = $6 AND status = 'PROCESSING'`,
			string(o.Status), live, verify, atUS, atNS, token)
		if err != nil {
			return fmt.Errorf("postgres: finish verification: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return refusal(ctx, tx, token, time.Time{}, true)
		}
		for i, img := range o.Images {
			key := imageBlobKey(token, i)
			if _, err := tx.Exec(ctx, `INSERT INTO verification_images (token, idx, blob) VALUES ($1, $2, $3)`,
				token, i, key); err != nil {
				return fmt.Errorf("postgres: store image: %w", err)
			}
			if err := db.Blobs.Put(ctx, tx, key, img); err != nil {
				return err
			}
		}
		if o.Status == store.StatusOK && o.Verify != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO usage (key_id, endpoint, outcome, billed, request_id, at, at_ns)
				SELECT key_id, $1, 'OK', true, '', $2, $3 FROM verifications WHERE token = $4`,
				store.BillableEndpoint, atUS, atNS, token); err != nil {
				return fmt.Errorf("postgres: record billable event: %w", err)
			}
		}
		return nil
	})
}

// ExpireVerifications implements store.Store.
func (db *DB) ExpireVerifications(ctx context.Context, now time.Time, token string) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return expire(ctx, db.pool, now, token)
}

// encodeJSON returns v as JSON, or nil (SQL NULL) for a nil pointer.
func encodeJSON[T any](v *T) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode result: %w", err)
	}
	return b, nil
}
