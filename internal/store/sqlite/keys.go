package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/glint-id/glint/internal/store"
)

const keyColumns = `id, name, secret_hash, disabled, can_compare, allowed_ips, call_limit, calls, concurrency, allowed_origins,
	result_retention_seconds, notify_url, notify_secret, allow_upload_fallback, attempts_per_uuid, record_attempts, recorded_attempts, created_at`

// keyReadColumns are what scanKey reads: keyColumns and the replaced
// secret, which CreateKey does not write.
const keyReadColumns = keyColumns + `, old_secret_hash, old_secret_until`

// CreateKey implements store.Store.
func (db *DB) CreateKey(ctx context.Context, k *store.Key) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	s, err := keySettings(k)
	if err != nil {
		return err
	}
	_, err = db.db.ExecContext(ctx, `INSERT INTO keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
		k.ID, k.Name, k.SecretHash, boolInt(k.Disabled), boolInt(k.CanCompare), s.ips,
		k.CallLimit, k.Concurrency, s.origins, s.retentionSeconds, k.NotifyURL, k.NotifySecret,
		boolInt(k.AllowUploadFallback), s.attemptsPerUUID, k.RecordAttempts, formatTime(k.CreatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("key %q: %w", k.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	k.Calls, k.Recorded = 0, 0
	return nil
}

// Key implements store.Store.
func (db *DB) Key(ctx context.Context, id string) (*store.Key, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+keyReadColumns+` FROM keys WHERE id = ?`, id)
	k, err := scanKey(row, db.now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	return k, err
}

// Keys implements store.Store.
func (db *DB) Keys(ctx context.Context) ([]*store.Key, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+keyReadColumns+` FROM keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list keys: %w", err)
	}
	defer rows.Close()
	var keys []*store.Key
	now := db.now()
	for rows.Next() {
		k, err := scanKey(rows, now)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list keys: %w", err)
	}
	return keys, nil
}

// SetKeyDisabled implements store.Store.
func (db *DB) SetKeyDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := db.db.ExecContext(ctx, `UPDATE keys SET disabled = ? WHERE id = ?`, boolInt(disabled), id)
	if err != nil {
		return fmt.Errorf("sqlite: update key: %w", err)
	}
	return oneRow(res, id)
}

// UpdateKey implements store.Store. It does not write notify_url or
// notify_secret (see store.Store.UpdateKey).
func (db *DB) UpdateKey(ctx context.Context, k *store.Key) error {
	s, err := keySettings(k)
	if err != nil {
		return err
	}
	res, err := db.db.ExecContext(ctx, `UPDATE keys SET name = ?, can_compare = ?, allowed_ips = ?, call_limit = ?,
		concurrency = ?, allowed_origins = ?, result_retention_seconds = ?,
		allow_upload_fallback = ?, attempts_per_uuid = ?, record_attempts = ?
		WHERE id = ?`,
		k.Name, boolInt(k.CanCompare), s.ips, k.CallLimit, k.Concurrency, s.origins, s.retentionSeconds,
		boolInt(k.AllowUploadFallback), s.attemptsPerUUID, k.RecordAttempts, k.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update key: %w", err)
	}
	return oneRow(res, k.ID)
}

// SetKeyNotify implements store.Store. The UPDATE compares the hash and
// writes in one statement, so a rotation lands wholly before it (and it
// is refused) or after it (and replaces the sealed secret).
func (db *DB) SetKeyNotify(ctx context.Context, id, url string, sealed, secretHash []byte) error {
	if len(secretHash) == 0 {
		return fmt.Errorf("key %q: notifications without the secret hash", id)
	}
	res, err := db.db.ExecContext(ctx, `UPDATE keys SET notify_url = ?, notify_secret = ? WHERE id = ? AND secret_hash = ?`,
		url, sealed, id, secretHash)
	if err != nil {
		return fmt.Errorf("sqlite: set key notifications: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = db.db.QueryRowContext(ctx, `SELECT 1 FROM keys WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: set key notifications: %w", err)
	}
	return fmt.Errorf("key %q: secret changed: %w", id, store.ErrConflict)
}

// RotateKeySecret implements store.Store. One UPDATE reads the hash it
// replaces and writes the new one, so concurrent rotations serialize: each
// one's replaced hash is the previous one's new hash.
func (db *DB) RotateKeySecret(ctx context.Context, id string, r store.SecretRotation) error {
	if len(r.SecretHash) == 0 || len(r.NotifySecret) == 0 {
		return fmt.Errorf("key %q: rotation without a secret hash or sealed secret", id)
	}
	keep, until := 0, any(nil)
	if !r.OldSecretUntil.IsZero() {
		keep, until = 1, formatTime(r.OldSecretUntil)
	}
	res, err := db.db.ExecContext(ctx, `UPDATE keys SET
		old_secret_hash = CASE WHEN ? THEN secret_hash ELSE NULL END,
		old_secret_until = ?,
		secret_hash = ?,
		notify_secret = CASE WHEN notify_secret IS NULL THEN NULL ELSE ? END
		WHERE id = ?`,
		keep, until, r.SecretHash, r.NotifySecret, id)
	if err != nil {
		return fmt.Errorf("sqlite: rotate key secret: %w", err)
	}
	return oneRow(res, id)
}

// settings are a key's list, duration and budget settings as stored.
type settings struct {
	ips, origins     string // JSON arrays
	retentionSeconds int64
	attemptsPerUUID  int
}

// keySettings checks the settings of k and encodes them as stored, with
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
	list := make([]string, len(k.AllowedIPs))
	for i, p := range k.AllowedIPs {
		list[i] = p.String()
	}
	ipsJSON, err := json.Marshal(list)
	if err != nil {
		return settings{}, err
	}
	o := k.AllowedOrigins
	if o == nil {
		o = []string{}
	}
	originsJSON, err := json.Marshal(o)
	if err != nil {
		return settings{}, err
	}
	return settings{
		ips:              string(ipsJSON),
		origins:          string(originsJSON),
		retentionSeconds: int64(retention / time.Second),
		attemptsPerUUID:  attempts,
	}, nil
}

// DeleteKey implements store.Store. Verification records and the key's
// subject attempts go with the key through ON DELETE CASCADE.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM keys WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete key: %w", err)
	}
	if err := oneRow(res, id); err != nil {
		return err
	}
	// secure_delete zeroed the rows in the database; the WAL still holds
	// them as they were written. Another process reading the database can
	// keep this checkpoint from completing: its sweeper's next one does.
	return db.checkpoint(ctx)
}

func oneRow(res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	return nil
}

type scanner interface{ Scan(...any) error }

// scanKey reads a row of keyReadColumns. The replaced secret is left out
// unless its overlap lasts beyond now.
func scanKey(s scanner, now time.Time) (*store.Key, error) {
	var (
		k                           store.Key
		disabled, compare, fallback int
		ips, origins                string
		created                     string
		retention                   int64
		oldHash                     []byte
		oldUntil                    sql.NullString
	)
	err := s.Scan(&k.ID, &k.Name, &k.SecretHash, &disabled, &compare, &ips, &k.CallLimit, &k.Calls,
		&k.Concurrency, &origins, &retention, &k.NotifyURL, &k.NotifySecret, &fallback, &k.AttemptsPerUUID,
		&k.RecordAttempts, &k.Recorded, &created, &oldHash, &oldUntil)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read key: %w", err)
	}
	k.Disabled = disabled != 0
	k.CanCompare = compare != 0
	k.AllowUploadFallback = fallback != 0
	var ipStrings []string
	if err := json.Unmarshal([]byte(ips), &ipStrings); err != nil {
		return nil, fmt.Errorf("sqlite: key %q: allowed_ips: %w", k.ID, err)
	}
	for _, s := range ipStrings {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("sqlite: key %q: allowed_ips: %w", k.ID, err)
		}
		k.AllowedIPs = append(k.AllowedIPs, p)
	}
	if err := json.Unmarshal([]byte(origins), &k.AllowedOrigins); err != nil {
		return nil, fmt.Errorf("sqlite: key %q: allowed_origins: %w", k.ID, err)
	}
	if len(k.AllowedOrigins) == 0 {
		k.AllowedOrigins = nil
	}
	k.ResultRetention = time.Duration(retention) * time.Second
	if k.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if len(oldHash) > 0 && oldUntil.Valid {
		until, err := parseTime(oldUntil.String)
		if err != nil {
			return nil, err
		}
		if until.After(now) {
			k.OldSecretHash, k.OldSecretUntil = oldHash, until
		}
	}
	return &k, nil
}
