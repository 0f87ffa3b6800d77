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

// ReadResult implements store.Store.
//
// get_result is polled, mostly before there is a result, so a read that
// changes nothing takes no write lock. It first reads the record with one
// SELECT outside any transaction: in WAL mode that reads one committed
// snapshot, without waiting for a writer or making one wait. What that
// snapshot settles is answered from it:
//
//   - no record, or another key's: ErrNotFound;
//   - not terminal and not yet expired at now: the record as it is,
//     uncounted (a record in NOT_STARTED or PROCESSING has no images);
//   - terminal, and refused by store.Result.ReadRefusal: ErrResultGone.
//     The reasons (purged, reads used up, retention over) never stop
//     being true, so a refusal read from any snapshot is still true.
//
// What is left, a read to count or an expiry transition to apply, runs in
// a write transaction (BEGIN IMMEDIATE, see Open), which holds the
// database's write lock from its start: every other writer (a finish, an
// expiry, a purge, another read's count, another process) has committed
// before it or starts after it. Within it the record is read again and
// the decision taken on that, the expiry applied if due, the read counted
// and the images read, so what is counted is what is returned, and the
// first snapshot's view only chose the path. The uncounted answers of the
// first path are what a read at that snapshot's instant would have
// answered, since the transitions only move forward.
func (db *DB) ReadResult(ctx context.Context, token, keyID string, now time.Time) (*store.Result, error) {
	r, expires, err := readResultRow(ctx, db.db, token)
	if err != nil {
		return nil, err
	}
	if r.KeyID != keyID {
		return nil, fmt.Errorf("verification of another key: %w", store.ErrNotFound)
	}
	if !r.Status.Terminal() && now.Before(expires) {
		return r, nil
	}
	if r.Status.Terminal() {
		if err := r.ReadRefusal(now); err != nil {
			return nil, err
		}
	}
	return db.countRead(ctx, token, keyID, now)
}

// countRead is ReadResult's write path: it applies the expiry transition
// if it is due, then counts the read if the record is terminal and
// readable, in one write transaction.
func (db *DB) countRead(ctx context.Context, token, keyID string, now time.Time) (*store.Result, error) {
	var r *store.Result
	err := db.inTxRefusing(ctx, func(tx *sql.Tx) error {
		got, expires, err := readResultRow(ctx, tx, token)
		if err != nil {
			return err // ErrNotFound: the key or the tombstone was deleted meanwhile
		}
		if got.KeyID != keyID {
			return fmt.Errorf("verification of another key: %w", store.ErrNotFound)
		}
		if !got.Status.Terminal() {
			if now.Before(expires) {
				r = got // not due: nothing to write
				return nil
			}
			if err := expireOne(ctx, tx, token, now); err != nil {
				return err
			}
			if got, _, err = readResultRow(ctx, tx, token); err != nil {
				return err
			}
		}
		// An expiry transition applied above is committed with a refusal:
		// the record is FAILED whoever asked.
		if err := got.ReadRefusal(now); err != nil {
			return committedRefusal{err}
		}
		if err := tx.QueryRowContext(ctx, `UPDATE verifications SET fetches = fetches + 1 WHERE token = ? RETURNING fetches`,
			token).Scan(&got.Fetches); err != nil {
			return fmt.Errorf("sqlite: count result read: %w", err)
		}
		if got.Images, err = readImages(ctx, tx, token); err != nil {
			return err
		}
		r = got
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Result implements store.Store. The record and its images come from one
// snapshot (a read transaction takes no write lock).
func (db *DB) Result(ctx context.Context, token string) (*store.Result, error) {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	r, _, err := readResultRow(ctx, tx, token)
	if err != nil {
		return nil, err
	}
	if r.Images, err = readImages(ctx, tx, token); err != nil {
		return nil, err
	}
	return r, nil
}

// querier is what the result readers need of a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readResultRow reads the result of token without its images, and the
// record's ExpiresAt.
func readResultRow(ctx context.Context, q querier, token string) (*store.Result, time.Time, error) {
	var (
		r                store.Result
		status           string
		bizNo            sql.NullString
		retMulti, occl   int
		live, verify, at sql.NullString
		purged           sql.NullString
		retention        int64
		expiresAt        string
	)
	err := q.QueryRowContext(ctx, `SELECT token, key_id, biz_no, return_multifaces_tag, face_occlusion_detection,
			fetches, status, attempts, liveness_result, verify_result, terminal_at, result_retention_seconds, purged_at,
			expires_at
		FROM verifications WHERE token = ?`, token).Scan(&r.Token, &r.KeyID, &bizNo, &retMulti, &occl,
		&r.Fetches, &status, &r.Attempts, &live, &verify, &at, &retention, &purged, &expiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("sqlite: read result: %w", err)
	}
	if bizNo.Valid {
		r.BizNo = &bizNo.String
	}
	r.ReturnMultifacesTag = retMulti != 0
	r.FaceOcclusionDetection = occl != 0
	r.Status = store.Status(status)
	if live.Valid {
		r.Liveness = new(store.LivenessResult)
		if err := json.Unmarshal([]byte(live.String), r.Liveness); err != nil {
			return nil, time.Time{}, fmt.Errorf("sqlite: stored liveness_result: %w", err)
		}
	}
	if verify.Valid {
		r.Verify = new(store.VerifyResult)
		if err := json.Unmarshal([]byte(verify.String), r.Verify); err != nil {
			return nil, time.Time{}, fmt.Errorf("sqlite: stored verify_result: %w", err)
		}
	}
	if at.Valid {
		if r.TerminalAt, err = parseTime(at.String); err != nil {
			return nil, time.Time{}, err
		}
	}
	if purged.Valid {
		if r.PurgedAt, err = parseTime(purged.String); err != nil {
			return nil, time.Time{}, err
		}
	}
	r.ResultRetention = time.Duration(retention) * time.Second
	expires, err := parseTime(expiresAt)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &r, expires, nil
}

// readImages reads the best images of token, best first.
func readImages(ctx context.Context, q querier, token string) ([][]byte, error) {
	rows, err := q.QueryContext(ctx, `SELECT data FROM verification_images WHERE token = ? ORDER BY idx`, token)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read images: %w", err)
	}
	defer rows.Close()
	var images [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("sqlite: read image: %w", err)
		}
		images = append(images, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read images: %w", err)
	}
	return images, nil
}
