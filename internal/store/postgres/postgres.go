// Package postgres implements store.Store on PostgreSQL (tested with 15)
// through pgx, so that several Glint nodes can serve from one database.
//
// Everything that must hold across nodes holds in the database, never in a
// node's memory: each check-then-write (a call limit, an attempt budget, a
// state transition) is one conditional UPDATE whose WHERE clause carries
// the precondition. Under READ COMMITTED, a second writer of the same row
// waits for the first to commit and then re-evaluates that WHERE clause on
// the new row version, so the check and the write cannot be separated.
// The per-uuid attempt budget, which spans rows (one per counted attempt,
// over all of a person's tokens), is an exception: its count and insert
// are serialised by a transaction-level advisory lock on (key, subject)
// (capture.go). The three terminal reads are another: counting one locks
// the row first (SELECT … FOR NO KEY UPDATE), so that the read is decided
// on the version it counts, while a poll of a record not yet terminal, or
// a refusal of one that is, locks nothing (results.go). Notifications are
// claimed with FOR UPDATE SKIP LOCKED; the retention sweeper and the
// migrator take advisory locks (one node at a time).
//
// The schema comes from versioned migrations embedded in the binary (the
// versions are store.SchemaVersions, shared with the SQLite backend),
// recorded in schema_migrations. Column types are PostgreSQL's own
// (boolean, bigint, text[], jsonb, real[], bytea, timestamptz), except that
// each time carries a second column with the nanoseconds a timestamptz
// drops (migrations/0001_init.sql says why).
//
// Large binary data (face crops, uploaded originals, best images) goes
// through a BlobStore, by default the blobs table of the same database,
// written and deleted in the same transactions as the rows; BlobStore's
// documentation says how an object store would plug in and what that would
// change.
//
// All objects live in the first schema of the connection's search_path, so
// one database can hold several installations (and the tests use a schema
// per test); the advisory locks are named after that schema.
//
// A dead or stuck database yields errors rather than hangs: connections
// time out (ConnectTimeout), every statement has a server-side
// statement_timeout and lock_timeout, and every call a client-side
// deadline (OpTimeout) that also covers a server that stopped answering.
// The exceptions: UsageEvents, which streams a ledger of any length to its
// caller, is bounded by the caller's context alone; the VACUUM after a
// purge and the migrations have longer server-side limits of their own.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/glint-id/glint/internal/store"
)

var _ store.Store = (*DB)(nil)

// Defaults of the DB fields of the same names.
const (
	DefaultConnectTimeout   = 10 * time.Second
	DefaultStatementTimeout = 30 * time.Second
	DefaultLockTimeout      = 10 * time.Second
	DefaultOpTimeout        = time.Minute
)

// DB is a store.Store backed by a PostgreSQL database.
type DB struct {
	// URL is the connection string, a postgres:// URL or key=value
	// pairs as libpq takes them. Settings it gives (connect_timeout,
	// statement_timeout, lock_timeout…) win over the fields below.
	URL string

	// Now is the clock used for timestamps the store fills in itself.
	// Tests replace it; it defaults to time.Now.
	Now func() time.Time

	// ConnectTimeout bounds opening one connection.
	ConnectTimeout time.Duration

	// StatementTimeout and LockTimeout are the server's statement_timeout
	// and lock_timeout for every session: a statement that runs, or waits
	// for a row lock, longer than that fails instead of piling up.
	StatementTimeout time.Duration
	LockTimeout      time.Duration

	// OpTimeout bounds each store call on the client side, including the
	// wait for a pooled connection; it catches what the server cannot (a
	// server that stopped answering). Longer than StatementTimeout, so
	// that the server's clearer error normally comes first.
	OpTimeout time.Duration

	// MaxConns caps the pool; 0 means the URL's pool_max_conns, or else
	// pgxpool's default (the larger of 4 and the number of CPUs).
	MaxConns int32

	// Blobs stores the large binary data; nil means TableBlobs, the
	// blobs table in the same database.
	Blobs BlobStore

	pool *pgxpool.Pool
}

// New returns a DB for the database at url, with defaults set. Call Open
// before use.
func New(url string) *DB {
	return &DB{
		URL:              url,
		Now:              time.Now,
		ConnectTimeout:   DefaultConnectTimeout,
		StatementTimeout: DefaultStatementTimeout,
		LockTimeout:      DefaultLockTimeout,
		OpTimeout:        DefaultOpTimeout,
	}
}

// Open connects to the database and migrates it to the latest schema.
func (db *DB) Open(ctx context.Context) error {
	if db.URL == "" {
		return errors.New("postgres: no database URL")
	}
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		// Not wrapped: pgconn's message quotes the URL, and it redacts the
		// password only on a best-effort basis (so does url.Parse's, not
		// at all).
		return errors.New("postgres: cannot parse the database URL")
	}
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = db.ConnectTimeout
	}
	setDefault := func(name, value string) {
		if _, ok := cc.RuntimeParams[name]; !ok {
			cc.RuntimeParams[name] = value
		}
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	if db.StatementTimeout > 0 {
		setDefault("statement_timeout", ms(db.StatementTimeout))
	}
	if db.LockTimeout > 0 {
		setDefault("lock_timeout", ms(db.LockTimeout))
	}
	// A node that dies inside a transaction must not hold its row locks
	// until TCP notices.
	setDefault("idle_in_transaction_session_timeout", ms(time.Minute))
	// The conditional UPDATEs rely on READ COMMITTED's re-check of a row
	// another transaction changed; under REPEATABLE READ or SERIALIZABLE,
	// which a server may default to, the second writer would fail instead.
	setDefault("default_transaction_isolation", "read committed")
	setDefault("application_name", "glint")
	if db.MaxConns > 0 {
		cfg.MaxConns = db.MaxConns
	}
	if db.Blobs == nil {
		db.Blobs = TableBlobs{}
	}

	octx, cancel := db.bound(ctx)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(octx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(octx); err != nil {
		pool.Close()
		return fmt.Errorf("postgres: connect to %s: %w", describe(cc), err)
	}
	db.pool = pool
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		db.pool = nil
		return err
	}
	return nil
}

// describe names the database for error messages, without credentials.
func describe(cc *pgx.ConnConfig) string {
	return fmt.Sprintf("database %q on %s port %d as %q", cc.Database, cc.Host, cc.Port, cc.User)
}

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
	}
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now()
	}
	return db.Now()
}

// bound gives ctx the OpTimeout deadline.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if db.OpTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, db.OpTimeout)
}

// DBTX is what the store's statements run on: the pool or a transaction.
// pgx.Tx, *pgxpool.Pool, *pgxpool.Conn and *pgx.Conn satisfy it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a transaction, READ COMMITTED (the sessions' default
// isolation, see Open), committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	// A no-op after Commit. It takes ctx, so that a rollback on a server
	// that stopped answering is bounded too (pgx then drops the
	// connection, which the server treats as a rollback).
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// SQLSTATE codes the store maps to its sentinel errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// A timestamptz keeps microseconds; the store keeps nanoseconds (see
// migrations/0001_init.sql). splitTime gives what the timestamptz column
// stores and the nanoseconds its _ns column stores; joinTime puts them
// back together.
func splitTime(t time.Time) (time.Time, int) {
	us := t.Truncate(time.Microsecond)
	return us, int(t.Sub(us))
}

func joinTime(t time.Time, ns int) time.Time {
	return t.Add(time.Duration(ns)).UTC()
}

// nullTime is splitTime for a nullable column: a zero t is NULL.
func nullTime(t time.Time) (*time.Time, int) {
	if t.IsZero() {
		return nil, 0
	}
	us, ns := splitTime(t)
	return &us, ns
}

// joinNullTime is joinTime for a nullable column: NULL is the zero time.
func joinNullTime(t *time.Time, ns int) time.Time {
	if t == nil {
		return time.Time{}
	}
	return joinTime(*t, ns)
}
