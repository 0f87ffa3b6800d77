package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Limits of one migration step, which may rewrite a large table: far above
// the timeouts of ordinary statements, but still finite.
const (
	migrationStatementTimeout = "15min"
	migrationLockTimeout      = "2min"
)

// errNoSchema explains a search_path that names no existing schema, where
// PostgreSQL would create nothing.
var errNoSchema = errors.New("postgres: no schema to create tables in: the search_path names none that exists")

// migrate applies every embedded migration not yet recorded in
// schema_migrations, each in its own transaction with its record
// (PostgreSQL's DDL is transactional, so a failure leaves the database at
// the previous version). Each transaction first takes an advisory lock
// named after the schema, so nodes starting at once apply each step once:
// the others wait, then find it recorded.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := store.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	latest := ms[len(ms)-1].Version
	for _, m := range ms {
		err := db.inTx(ctx, func(tx pgx.Tx) error {
			current, err := lockForMigration(ctx, tx)
			if err != nil {
				return err
			}
			if current > latest {
				return fmt.Errorf("postgres: database schema version %d is newer than this binary's %d; use a newer glint", current, latest)
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
				m.Version).Scan(&done); err != nil {
				return fmt.Errorf("postgres: read schema version: %w", err)
			}
			if done {
				return nil
			}
			// No arguments: pgx sends it with the simple protocol, which
			// runs a script of several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", m.File(), err)
			}
			at, ns := splitTime(db.now())
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at, applied_at_ns)
				VALUES ($1, $2, $3, $4)`, m.Version, m.File(), at, ns); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", m.File(), err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// lockForMigration takes the migration lock for tx's lifetime, creates
// schema_migrations if needed (under the lock: concurrent CREATE TABLE IF
// NOT EXISTS can fail) and returns the schema's version.
func lockForMigration(ctx context.Context, tx pgx.Tx) (int, error) {
	for _, q := range []string{
		`SET LOCAL statement_timeout = '` + migrationStatementTimeout + `'`,
		`SET LOCAL lock_timeout = '` + migrationLockTimeout + `'`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return 0, fmt.Errorf("postgres: migrate: %w", err)
		}
	}
	if err := checkSchema(ctx, tx); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockID("migrate")+`)`); err != nil {
		return 0, fmt.Errorf("postgres: take the migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version       integer PRIMARY KEY,
		name          text NOT NULL,
		applied_at    timestamptz NOT NULL,
		applied_at_ns integer NOT NULL DEFAULT 0
	)`); err != nil {
		return 0, fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return current, nil
}

// checkSchema fails with errNoSchema if the search_path names no existing
// schema, where PostgreSQL would create nothing and lockID would be NULL.
func checkSchema(ctx context.Context, q DBTX) error {
	var schema *string
	if err := q.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: read the schema: %w", err)
	}
	if schema == nil {
		return errNoSchema
	}
	return nil
}

// lockID is the SQL expression of the advisory lock named purpose for the
// current schema: installations in different schemas of one database (and
// parallel tests) do not block each other, nodes of one installation do.
func lockID(purpose string) string {
	return `hashtextextended('glint ` + purpose + ` ' || current_schema(), 0)`
}
