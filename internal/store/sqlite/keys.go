package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/glint-id/glint/internal/store"
)

const keyColumns = `id, name, secret_hash, disabled, can_compare, allowed_ips, call_limit, calls, concurrency, allowed_origins, created_at`

// CreateKey implements store.Store.
func (db *DB) CreateKey(ctx context.Context, k *store.Key) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	ips := make([]string, len(k.AllowedIPs))
	for i, p := range k.AllowedIPs {
		ips[i] = p.String()
	}
	ipsJSON, err := json.Marshal(ips)
	if err != nil {
		return err
	}
	origins := k.AllowedOrigins
	if origins == nil {
		origins = []string{}
	}
	originsJSON, err := json.Marshal(origins)
	if err != nil {
		return err
	}
	_, err = db.db.ExecContext(ctx, `INSERT INTO keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		k.ID, k.Name, k.SecretHash, boolInt(k.Disabled), boolInt(k.CanCompare), string(ipsJSON),
		k.CallLimit, k.Concurrency, string(originsJSON), formatTime(k.CreatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("key %q: %w", k.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	k.Calls = 0
	return nil
}

// Key implements store.Store.
func (db *DB) Key(ctx context.Context, id string) (*store.Key, error) {
	row := db.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = ?`, id)
	k, err := scanKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	return k, err
}

// Keys implements store.Store.
func (db *DB) Keys(ctx context.Context) ([]*store.Key, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list keys: %w", err)
	}
	defer rows.Close()
	var keys []*store.Key
	for rows.Next() {
		k, err := scanKey(rows)
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

// DeleteKey implements store.Store. Verification records go with the key
// through ON DELETE CASCADE.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM keys WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete key: %w", err)
	}
	return oneRow(res, id)
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

func scanKey(s scanner) (*store.Key, error) {
	var (
		k                 store.Key
		disabled, compare int
		ips, origins      string
		created           string
	)
	err := s.Scan(&k.ID, &k.Name, &k.SecretHash, &disabled, &compare, &ips, &k.CallLimit, &k.Calls,
		&k.Concurrency, &origins, &created)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read key: %w", err)
	}
	k.Disabled = disabled != 0
	k.CanCompare = compare != 0
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
	if k.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return &k, nil
}
