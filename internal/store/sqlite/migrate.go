package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/glint-id/glint/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies every embedded migration not yet recorded in
// schema_migrations, each in its own transaction with its record, so a
// failure leaves the database at the previous version. Two processes
// starting at once serialise on the write lock and the second finds the
// work done.
func (db *DB) migrate(ctx context.Context) error {
	// The versions come from the list every backend shares; the files
	// are this backend's SQL for each.
	ms, err := store.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}

	var current sql.NullInt64
	if err := db.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if latest := ms[len(ms)-1].Version; current.Int64 > int64(latest) {
		return fmt.Errorf("sqlite: database schema version %d is newer than this binary's %d; use a newer glint", current.Int64, latest)
	}

	for _, m := range ms {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return errSkip
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.File(), formatTime(db.now()))
			return err
		})
		if err != nil && !errors.Is(err, errSkip) {
			return fmt.Errorf("sqlite: migration %s: %w", m.File(), err)
		}
	}
	return nil
}

// errSkip rolls back a migration transaction that found its work done.
var errSkip = errors.New("already applied")
