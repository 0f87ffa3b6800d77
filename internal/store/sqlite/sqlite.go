// Package sqlite implements store.Store on an embedded SQLite database
// through modernc.org/sqlite, a pure-Go driver, so the glint binary stays
// static and needs no C toolchain.
//
// The database runs in WAL mode (readers never block the writer), with a
// busy timeout (concurrent writers, including a `glint keys` command next to
// a running server, wait instead of failing) and foreign keys on. The schema
// is created by versioned migrations embedded in the binary, each applied in
// its own transaction and recorded in schema_migrations.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/glint-id/glint/internal/store"
)

var _ store.Store = (*DB)(nil)

// DefaultBusyTimeout is how long a statement waits for another writer's lock
// before giving up.
const DefaultBusyTimeout = 10 * time.Second

// DB is a store.Store backed by one SQLite file.
type DB struct {
	// Path is the database file. It is created if missing.
	Path string

	// Now is the clock used for timestamps the store fills in itself.
	// Tests replace it; it defaults to time.Now.
	Now func() time.Time

	// BusyTimeout defaults to DefaultBusyTimeout.
	BusyTimeout time.Duration

	db *sql.DB
}

// New returns a DB for the file at path, with defaults set. Call Open
// before use.
func New(path string) *DB {
	return &DB{Path: path, Now: time.Now, BusyTimeout: DefaultBusyTimeout}
}

// Open opens (creating if needed) the database and migrates it to the
// latest schema. The database and its -wal and -shm files are made
// private to their owner (FileMode).
func (db *DB) Open(ctx context.Context) error {
	if db.Path == "" {
		return errors.New("sqlite: no database path")
	}
	abs, err := filepath.Abs(db.Path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := privateFiles(abs); err != nil {
		return err
	}
	// A file: URI so that any character in the path survives; SQLite
	// decodes the escaping. _txlock=immediate takes the write lock at BEGIN,
	// so two transactions never deadlock upgrading from read to write (an
	// upgrade failure is not retried by the busy handler).
	u := url.URL{Scheme: "file", Path: abs}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(db.BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL") // durable across process crashes in WAL mode; an OS crash may lose the last commits
	q.Set("_txlock", "immediate")
	// Deleted biometric data must not survive in free pages (retention).
	q.Add("_pragma", "secure_delete(1)")
	u.RawQuery = q.Encode()

	sqldb, err := sql.Open("sqlite", u.String())
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.Path, err)
	}
	// Writers serialise on SQLite's lock anyway; a small pool still lets
	// reads run beside a write in WAL mode.
	sqldb.SetMaxOpenConns(4)
	sqldb.SetMaxIdleConns(4)
	db.db = sqldb
	if err := pingBusy(ctx, sqldb); err != nil {
		sqldb.Close()
		return fmt.Errorf("sqlite: open %s: %w", db.Path, err)
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return err
	}
	return nil
}

// FileMode is the mode of the database file and of the -wal, -shm and
// -journal files beside it: they hold biometric templates, readable by
// their owner only.
const FileMode fs.FileMode = 0o600

// privateFiles creates the database file at path with FileMode if it is
// missing, and takes group and other permissions off it and off the
// -wal, -shm and -journal files already there. SQLite gives the files it
// creates later the database file's mode (unix VFS, findCreateFileMode),
// whatever the process's umask: so they are private too.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&^FileMode != 0 {
			if err := os.Chmod(p, perm&FileMode); err != nil {
				return fmt.Errorf("sqlite: make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// pingBusy opens the first connection, retrying while the file is busy.
// Switching a new file to WAL takes an exclusive lock that SQLite does not
// wait for (the busy handler is not called, to rule out deadlock), so
// processes creating the same database at once may see SQLITE_BUSY here.
func pingBusy(ctx context.Context, sqldb *sql.DB) error {
	var err error
	for i := range 8 {
		if err = sqldb.PingContext(ctx); err == nil || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i+1) * 10 * time.Millisecond):
		}
	}
	return err
}

func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// Close closes the database.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	return db.db.Close()
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now()
	}
	return db.Now()
}

// inTx runs fn in a transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// timeLayout has fixed width so that TEXT order equals time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad stored time %q: %w", s, err)
	}
	return t, nil
}

// constraint reports whether err is an SQLite constraint violation with the
// given extended code.
func constraint(err error, codes ...int) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code() == c {
			return true
		}
	}
	return false
}

func isUniqueViolation(err error) bool {
	return constraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
