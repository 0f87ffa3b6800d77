package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

const keyColumns = `id, name, secret_hash, disabled, can_compare, allowed_ips, call_limit, calls, concurrency,
	allowed_origins, result_retention_seconds, notify_url, notify_secret, allow_upload_fallback, attempts_per_uuid,
	record_attempts, recorded_attempts, created_at, created_at_ns`

// keyReadColumns are what scanKey reads: keyColumns and the replaced
// secret, which CreateKey does not write.
const keyReadColumns = keyColumns + `, old_secret_hash, old_secret_until, old_secret_until_ns`

// CreateKey implements store.Store.
func (db *DB) CreateKey(ctx context.Context, k *store.Key) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	s, err := keySettings(k)
	if err != nil {
		return err
	}
	created, createdNS := splitTime(k.CreatedAt)
	_, err = db.pool.Exec(ctx, `INSERT INTO keys (`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $17)`,
		k.ID, k.Name, k.SecretHash, k.Disabled, k.CanCompare, s.ips, k.CallLimit, k.Concurrency,
		s.origins, s.retentionSeconds, k.NotifyURL, k.NotifySecret, k.AllowUploadFallback, s.attemptsPerUUID,
		k.RecordAttempts, created, createdNS)
	if sqlState(err) == uniqueViolation {
		return fmt.Errorf("key %q: %w", k.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create key: %w", err)
	}
	k.Calls, k.Recorded = 0, 0
	return nil
}

// Key implements store.Store.
func (db *DB) Key(ctx context.Context, id string) (*store.Key, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	k, err := scanKey(db.pool.QueryRow(ctx, `SELECT `+keyReadColumns+` FROM keys WHERE id = $1`, id), db.now())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	return k, err
}

// Keys implements store.Store.
func (db *DB) Keys(ctx context.Context) ([]*store.Key, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT `+keyReadColumns+` FROM keys ORDER BY created_at, created_at_ns, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", err)
	}
	now := db.now()
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Key, error) { return scanKey(r, now) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", err)
	}
	return keys, nil
}

// SetKeyDisabled implements store.Store.
func (db *DB) SetKeyDisabled(ctx context.Context, id string, disabled bool) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `UPDATE keys SET disabled = $1 WHERE id = $2`, disabled, id)
	if err != nil {
		return fmt.Errorf("postgres: update key: %w", err)
	}
	return oneKey(tag.RowsAffected(), id)
}

// UpdateKey implements store.Store. It does not write notify_url or
// notify_secret (see store.Store.UpdateKey).
func (db *DB) UpdateKey(ctx context.Context, k *store.Key) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	s, err := keySettings(k)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE keys SET name = $1, can_compare = $2, allowed_ips = $3, call_limit = $4,
		concurrency = $5, allowed_origins = $6, result_retention_seconds = $7,
		allow_upload_fallback = $8, attempts_per_uuid = $9, record_attempts = $10
		WHERE id = $11`,
		k.Name, k.CanCompare, s.ips, k.CallLimit, k.Concurrency, s.origins, s.retentionSeconds,
		k.AllowUploadFallback, s.attemptsPerUUID, k.RecordAttempts, k.ID)
	if err != nil {
		return fmt.Errorf("postgres: update key: %w", err)
	}
	return oneKey(tag.RowsAffected(), k.ID)
}

// SetKeyNotify implements store.Store. The UPDATE compares the hash
// under the row's lock, so a rotation lands wholly before it (and it is
// refused) or after it (and replaces the sealed secret).
func (db *DB) SetKeyNotify(ctx context.Context, id, url string, sealed, secretHash []byte) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if len(secretHash) == 0 {
		return fmt.Errorf("key %q: notifications without the secret hash", id)
	}
	var changed bool
	err := db.pool.QueryRow(ctx, `WITH upd AS (
			UPDATE keys SET notify_url = $1, notify_secret = $2 WHERE id = $3 AND secret_hash = $4 RETURNING 1)
		SELECT NOT EXISTS (SELECT 1 FROM upd) FROM keys WHERE id = $3`,
		url, sealed, id, secretHash).Scan(&changed)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: set key notifications: %w", err)
	}
	if changed {
		return fmt.Errorf("key %q: secret changed: %w", id, store.ErrConflict)
	}
	return nil
}

// RotateKeySecret implements store.Store. One UPDATE reads the hash it
// replaces and writes the new one, under the row's lock, so concurrent
// rotations serialize: each one's replaced hash is the previous one's new
// hash.
func (db *DB) RotateKeySecret(ctx context.Context, id string, r store.SecretRotation) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if len(r.SecretHash) == 0 || len(r.NotifySecret) == 0 {
		return fmt.Errorf("key %q: rotation without a secret hash or sealed secret", id)
	}
	until, untilNS := nullTime(r.OldSecretUntil)
	tag, err := db.pool.Exec(ctx, `UPDATE keys SET
		old_secret_hash = CASE WHEN $1::timestamptz IS NULL THEN NULL ELSE secret_hash END,
		old_secret_until = $1, old_secret_until_ns = $2,
		secret_hash = $3,
		notify_secret = CASE WHEN notify_secret IS NULL THEN NULL ELSE $4::bytea END
		WHERE id = $5`,
		until, untilNS, r.SecretHash, r.NotifySecret, id)
	if err != nil {
		return fmt.Errorf("postgres: rotate key secret: %w", err)
	}
	return oneKey(tag.RowsAffected(), id)
}

// DeleteKey implements store.Store. Verification records go with the key
// through ON DELETE CASCADE; the records' blobs and the key's subject
// attempts, which no foreign key ties to them, are deleted in the same
// transaction.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the key first: a get_token racing the deletion either
		// commits before (and its blobs are found below) or fails on the
		// missing key.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM keys WHERE id = $1 FOR UPDATE`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("key %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: delete key: %w", err)
		}
		// Lock its records too: one being finished right now commits its
		// best images first, and they are found below; none can be
		// finished after this point.
		rows, err := tx.Query(ctx, `SELECT token FROM verifications WHERE key_id = $1 FOR UPDATE`, id)
		if err != nil {
			return fmt.Errorf("postgres: delete key: %w", err)
		}
		tokens, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("postgres: delete key: %w", err)
		}
		if err := db.deleteBlobs(ctx, tx, tokens); err != nil {
			return err
		}
		// An attempt counted for one of the records has committed by now
		// (the record's lock was waited for), and no later one can be: its
		// record is locked, and then gone.
		if _, err := tx.Exec(ctx, `DELETE FROM subject_attempts WHERE key_id = $1`, id); err != nil {
			return fmt.Errorf("postgres: delete key: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM keys WHERE id = $1`, id); err != nil {
			return fmt.Errorf("postgres: delete key: %w", err)
		}
		return nil
	})
}

func oneKey(n int64, id string) error {
	if n == 0 {
		return fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// settings are a key's list, duration and budget settings as stored.
type settings struct {
	ips, origins     []string
	retentionSeconds int64
	attemptsPerUUID  int
}

// keySettings checks the settings of k and returns them as stored, with
// defaults made explicit.
func keySettings(k *store.Key) (settings, error) {
	if err := store.CheckResultRetention(k.ResultRetention); err != nil {
		return settings{}, fmt.Errorf("key %q: %w", k.ID, err)
	}
	if err := store.CheckAttemptsPerUUID(k.AttemptsPerUUID); err != nil {
		return settings{}, fmt.Errorf("key %q: %w", k.ID, err)
	}
	if err := store.CheckRecordAttempts(k.RecordAttempts); err != nil {
		return settings{}, fmt.Errorf("key %q: %w", k.ID, err)
	}
	retention := k.ResultRetention
	if retention == 0 {
		retention = store.MaxResultRetention
	}
	attempts := k.AttemptsPerUUID
	if attempts == 0 {
		attempts = store.DefaultAttemptsPerUUID
	}
	s := settings{
		ips:              make([]string, len(k.AllowedIPs)),
		origins:          append([]string{}, k.AllowedOrigins...), // never nil: NOT NULL
		retentionSeconds: int64(retention / time.Second),
		attemptsPerUUID:  attempts,
	}
	for i, p := range k.AllowedIPs {
		s.ips[i] = p.String()
	}
	return s, nil
}

// scanKey reads a row of keyReadColumns. The replaced secret is left out
// unless its overlap lasts beyond now.
func scanKey(row pgx.Row, now time.Time) (*store.Key, error) {
	var (
		k          store.Key
		ips        []string
		retention  int64
		created    time.Time
		createdNS  int
		oldHash    []byte
		oldUntil   *time.Time
		oldUntilNS int
	)
	err := row.Scan(&k.ID, &k.Name, &k.SecretHash, &k.Disabled, &k.CanCompare, &ips, &k.CallLimit, &k.Calls,
		&k.Concurrency, &k.AllowedOrigins, &retention, &k.NotifyURL, &k.NotifySecret, &k.AllowUploadFallback,
		&k.AttemptsPerUUID, &k.RecordAttempts, &k.Recorded, &created, &createdNS, &oldHash, &oldUntil, &oldUntilNS)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("postgres: read key: %w", err)
	}
	for _, s := range ips {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("postgres: key %q: allowed_ips: %w", k.ID, err)
		}
		k.AllowedIPs = append(k.AllowedIPs, p)
	}
	if len(k.AllowedOrigins) == 0 {
		k.AllowedOrigins = nil
	}
	k.ResultRetention = time.Duration(retention) * time.Second
	k.CreatedAt = joinTime(created, createdNS)
	if len(oldHash) > 0 && oldUntil != nil {
		if until := joinTime(*oldUntil, oldUntilNS); until.After(now) {
			k.OldSecretHash, k.OldSecretUntil = oldHash, until
		}
	}
	return &k, nil
}
