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

// ReadResult implements store.Store.
//
// The read count must never be decided on one version of the record and
// answered from another. Under READ COMMITTED each statement sees what
// had committed when it started, so a conditional UPDATE of the count
// followed by a SELECT of the record can see PROCESSING in the first and,
// once a finish (or an expiry, by any node or any caller) has committed
// in between, OK in the second: a readable result counted nothing and was
// answered as gone. Instead, ReadResult decides on exactly the version it
// counts, and only takes a lock when it has something to count or to
// change:
//
// First, one SELECT without a lock or a transaction: a single statement,
// so one committed version of the row. What that version settles is
// answered from it and writes nothing:
//
//   - no record, or another key's: ErrNotFound;
//   - not terminal and not yet expired at now: the record as it is,
//     uncounted, without images (a record gets its images in the
//     transaction that makes it terminal). This is the common poll, made
//     while the capture runs, and it neither waits for the row's lock nor
//     writes a row version;
//   - terminal, and refused by store.Result.ReadRefusal (purged, reads
//     used up, retention over): ErrResultGone. These reasons never stop
//     being true, so a refusal decided on any committed version is still
//     true when it is given.
//
// Otherwise there is a read to count, or an expiry transition to apply
// first, and readCounted does it in a transaction that begins by locking
// the row (SELECT … FOR NO KEY UPDATE). That waits for any transaction
// holding the row (a finish, an expiry, another read's count, the
// sweeper's purge batch, a key deletion) and then returns the newest
// committed version, which nobody else can change until this transaction
// ends: the decision (expire? readable?), the count and the images read
// after it all belong to that one version. The interleavings:
//
//   - FinishVerification, or an expiry transition (ExpireVerifications,
//     the sweeper's, BeginCapture's, CountAttempt's, another ReadResult's,
//     on any node and at any node's clock): if it commits before the
//     first SELECT starts, the read sees the terminal record and counts
//     it under the lock; if after, the read answers the state before it,
//     which was true at that moment. When the read itself applies the
//     expiry it holds the lock, so a concurrent transition either
//     committed first (the read sees FAILED and does not expire again) or
//     waits and then finds the record terminal (its WHERE clause,
//     re-checked, matches nothing).
//   - Another ReadResult: the counts serialise on the lock, each deciding
//     on the version the previous one committed, so at most
//     store.MaxResultReads succeed, on any number of nodes.
//   - PurgeVerifications: its batch locks the records it purges FOR
//     UPDATE SKIP LOCKED. A purge that locked the row first commits
//     before the read's lock is granted, and the read then sees
//     purged_at and refuses, truly; a row the read holds is skipped by
//     the purge (and purged by the next sweep), so a counted read never
//     returns data half deleted. Purge only picks a record whose reads
//     are used up or whose retention is over at the sweep's time. The
//     tombstone's deletion, 30 days later, makes the token unknown
//     (ErrNotFound), as the contract says.
//   - DeleteKey locks the key's records FOR UPDATE before deleting their
//     blobs: a count holding the row finishes first; a read waiting for
//     the lock then finds no row (ErrNotFound).
//
// Only the verifications row is locked, and nothing else is waited for
// while it is held, so no deadlock can form with the other writers.
func (db *DB) ReadResult(ctx context.Context, token, keyID string, now time.Time) (*store.Result, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	r, expires, err := readResultRow(ctx, db.pool, token, false)
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
	return db.readCounted(ctx, token, keyID, now)
}

// readCounted is ReadResult's locking path: on the row locked, it applies
// the expiry transition if it is due, then counts the read if the record
// is terminal and readable, and reads the images.
func (db *DB) readCounted(ctx context.Context, token, keyID string, now time.Time) (*store.Result, error) {
	var r *store.Result
	err := db.inTxRefusing(ctx, func(tx pgx.Tx) error {
		got, expires, err := readResultRow(ctx, tx, token, true)
		if err != nil {
			return err // ErrNotFound: the key or the tombstone was deleted meanwhile
		}
		if got.KeyID != keyID {
			return fmt.Errorf("verification of another key: %w", store.ErrNotFound)
		}
		if !got.Status.Terminal() {
			if now.Before(expires) {
				// Not reached from ReadResult (a record never becomes
				// non-terminal again, and ExpiresAt does not move), but
				// the answer would be right: nothing to count.
				r = got
				return nil
			}
			if err := expireOne(ctx, tx, token, now); err != nil {
				return err
			}
			if got, _, err = readResultRow(ctx, tx, token, false); err != nil {
				return err
			}
		}
		// An expiry transition applied above is committed with a refusal:
		// the record is FAILED whoever asked.
		if err := got.ReadRefusal(now); err != nil {
			return committedRefusal{err}
		}
		if err := tx.QueryRow(ctx, `UPDATE verifications SET fetches = fetches + 1 WHERE token = $1 RETURNING fetches`,
			token).Scan(&got.Fetches); err != nil {
			return fmt.Errorf("postgres: count result read: %w", err)
		}
		if got.Images, err = db.readImages(ctx, tx, token); err != nil {
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

// Result implements store.Store.
func (db *DB) Result(ctx context.Context, token string) (*store.Result, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var r *store.Result
	// One snapshot for the row, its images and their blobs.
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if r, _, err = readResultRow(ctx, tx, token, false); err != nil {
			return err
		}
		r.Images, err = db.readImages(ctx, tx, token)
		return err
	})
	return r, err
}

// readResultRow reads the result of token without its images, and the
// record's ExpiresAt; lock takes the row's lock for an update of its
// other columns (FOR NO KEY UPDATE), which q must then be a transaction
// for.
func readResultRow(ctx context.Context, q DBTX, token string, lock bool) (*store.Result, time.Time, error) {
	var (
		r                   store.Result
		status              string
		live, verify        []byte
		terminal, purged    *time.Time
		terminalNS, purgeNS int
		retention           int64
		expires             time.Time
		expiresNS           int
	)
	query := `SELECT token, key_id, biz_no, return_multifaces_tag, face_occlusion_detection,
			fetches, status, attempts, liveness_result, verify_result, terminal_at, terminal_at_ns,
			result_retention_seconds, purged_at, purged_at_ns, expires_at, expires_at_ns
		FROM verifications WHERE token = $1`
	if lock {
		query += ` FOR NO KEY UPDATE`
	}
	err := q.QueryRow(ctx, query, token).Scan(&r.Token, &r.KeyID, &r.BizNo, &r.ReturnMultifacesTag,
		&r.FaceOcclusionDetection, &r.Fetches, &status, &r.Attempts, &live, &verify, &terminal, &terminalNS,
		&retention, &purged, &purgeNS, &expires, &expiresNS)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("postgres: read result: %w", err)
	}
	r.Status = store.Status(status)
	if live != nil {
		r.Liveness = new(store.LivenessResult)
		if err := json.Unmarshal(live, r.Liveness); err != nil {
			return nil, time.Time{}, fmt.Errorf("postgres: stored liveness_result: %w", err)
		}
	}
	if verify != nil {
		r.Verify = new(store.VerifyResult)
		if err := json.Unmarshal(verify, r.Verify); err != nil {
			return nil, time.Time{}, fmt.Errorf("postgres: stored verify_result: %w", err)
		}
	}
	r.TerminalAt = joinNullTime(terminal, terminalNS)
	r.PurgedAt = joinNullTime(purged, purgeNS)
	r.ResultRetention = time.Duration(retention) * time.Second
	return &r, joinTime(expires, expiresNS), nil
}

// readImages reads the best images of token, best first.
func (db *DB) readImages(ctx context.Context, q DBTX, token string) ([][]byte, error) {
	rows, err := q.Query(ctx, `SELECT blob FROM verification_images WHERE token = $1 ORDER BY idx`, token)
	if err != nil {
		return nil, fmt.Errorf("postgres: read images: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: read images: %w", err)
	}
	return db.Blobs.Get(ctx, q, keys...)
}
