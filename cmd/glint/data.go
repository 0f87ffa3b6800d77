package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/postgres"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// dbFile is the SQLite database's name inside the data directory.
const dbFile = "glint.db"

// data is an opened data directory and database: the store and the
// keyring over it, and what the backend offers besides.
type data struct {
	db   store.Store
	keys *auth.Keyring

	// backend names the database's kind, "sqlite" or "postgres", for
	// logs (never the URL: it may hold a password).
	backend string

	// limiter returns the keys' concurrency limiter for this database,
	// logging to logger. A PostgreSQL database may be shared by several
	// nodes, whose requests a key's limit must count together: its
	// limiter keeps the slots as lease rows there. An SQLite database
	// serves this node alone, which counts in memory.
	limiter func(logger *slog.Logger) auth.Limiter
}

// dataHelp is the help text of --data, except serve's, which says more.
const dataHelp = "data `directory` (env GLINT_DATA)"

// dataFlags are --data and --database, which choose the data directory
// and the database of a command that opens them.
type dataFlags struct {
	dir      string
	database string
	pepper   pepperSource
}

// addDataFlags defines --data (env GLINT_DATA, default ./data), with the
// help text help, --database (env GLINT_DATABASE), the choice of backend,
// and --pepper-file (env GLINT_PEPPER_FILE) on fs, and takes GLINT_PEPPER,
// which has no flag: a flag's value shows in the process list.
func addDataFlags(fs *flag.FlagSet, env func(name, def string) string, help string) *dataFlags {
	f := &dataFlags{}
	fs.StringVar(&f.dir, "data", env("GLINT_DATA", "./data"), help)
	fs.StringVar(&f.database, "database", env("GLINT_DATABASE", ""),
		"PostgreSQL `URL` (postgres://…) of a database that several nodes share; empty: SQLite in --data. "+
			"The secret pepper stays in --data: every node needs a copy of the same file, or --pepper-file (env GLINT_DATABASE)")
	fs.StringVar(&f.pepper.file, "pepper-file", env("GLINT_PEPPER_FILE", ""),
		"read the secret pepper from this `file` (a platform's secret, mode 0600 or 0400) instead of the one --data keeps; "+
			"env GLINT_PEPPER gives it as 64 hex digits or 44 base64 characters instead (env GLINT_PEPPER_FILE)")
	f.pepper.value = env("GLINT_PEPPER", "")
	return f
}

// open opens the data directory and the database the flags name (see
// openDatabase).
func (f *dataFlags) open(ctx context.Context) (*data, error) {
	return openDatabase(ctx, f.dir, f.database, f.pepper)
}

// openData opens the data directory dir with its SQLite database: it is
// openDatabase without a database URL.
func openData(ctx context.Context, dir string) (*data, error) {
	return openDatabase(ctx, dir, "", pepperSource{})
}

// openDatabase opens (creating on first use) the data directory dir, which
// holds the secret pepper, and the database: with an empty databaseURL the
// SQLite database in dir, with a postgres:// or postgresql:// URL that
// PostgreSQL database; each backend comes with the keys' concurrency
// limiter that suits it (data.limiter). The directory is private to its
// owner since it holds the pepper, and with SQLite biometric records: a
// new one is made mode 0700, and an existing one that group or others may
// enter is refused (privateDir).
//
// Every node on one PostgreSQL database must use the same pepper, the key
// of every stored secret hash: copy the pepper file into each node's data
// directory, or give it explicitly. A node whose data directory has none,
// on a database that already has keys, is refused, since the pepper it
// would create would make every existing key fail.
//
// An explicit pepper (pepperSource) replaces the data directory's: none is
// created or written there, and one known not to fit the data is refused
// (checkExplicitPepper).
func openDatabase(ctx context.Context, dir, databaseURL string, ps pepperSource) (*data, error) {
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	var pepper []byte
	if ps.explicit() {
		var err error
		if pepper, err = ps.load(); err != nil {
			return nil, err
		}
	}
	d := &data{}
	switch {
	case databaseURL == "":
		s := sqlite.New(filepath.Join(dir, dbFile))
		if err := s.Open(ctx); err != nil {
			return nil, err
		}
		d.db, d.backend = s, "sqlite"
		d.limiter = func(*slog.Logger) auth.Limiter { return &auth.LocalLimiter{} }
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		s, err := openPostgres(ctx, dir, databaseURL, ps.explicit())
		if err != nil {
			return nil, err
		}
		d.db, d.backend = s, "postgres"
		d.limiter = func(logger *slog.Logger) auth.Limiter {
			l := postgres.NewLimiter(s)
			l.TTL = leaseTTL
			l.Logger = logger
			return l
		}
	default:
		// Not quoted: it may hold a password.
		return nil, errors.New("--database: want a postgres:// or postgresql:// URL, or nothing for SQLite in --data")
	}
	var err error
	if ps.explicit() {
		err = checkExplicitPepper(ctx, dir, d.db, pepper)
	} else {
		pepper, err = auth.LoadPepper(dir)
	}
	if err != nil {
		d.db.Close()
		return nil, err
	}
	d.keys = &auth.Keyring{Store: d.db, Pepper: pepper}
	return d, nil
}

// privateDir creates the data directory dir, mode 0700, or checks that
// the existing one is private to its owner: group or others who could
// enter it could read the pepper (and with it test guesses of every API
// secret) and, with SQLite, the biometric records; who could write to it
// could swap the files. Such a directory is refused, with the fix, rather
// than repaired behind the operator's back: it may be shared on purpose,
// and the files in it may already have been read.
func privateDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return fmt.Errorf("data directory %s has mode %04o: other users could read or replace the secret pepper and the biometric data in it; "+
			"make it private to the user Glint runs as with `chmod 700 %s`", dir, perm, shellQuote(dir))
	}
	return nil
}

// shellQuote returns s as one shell word, quoted only when it needs to be.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+,:@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// openPostgres opens the PostgreSQL store, refusing (before a new pepper is
// created) a data directory without the pepper next to a database with
// keys, unless the pepper is given explicitly (explicitPepper), which
// creates none.
func openPostgres(ctx context.Context, dir, databaseURL string, explicitPepper bool) (*postgres.DB, error) {
	_, statErr := os.Stat(filepath.Join(dir, auth.PepperFile))
	db := postgres.New(databaseURL)
	if err := db.Open(ctx); err != nil {
		return nil, err
	}
	if errors.Is(statErr, fs.ErrNotExist) && !explicitPepper {
		keys, err := db.Keys(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		if len(keys) > 0 {
			db.Close()
			return nil, fmt.Errorf("the database holds API keys but %s has no pepper file (%s): copy it from the data directory of a node that serves this database, or give it with --pepper-file; a new one would invalidate every key",
				dir, auth.PepperFile)
		}
	}
	return db, nil
}

func (d *data) Close() error { return d.db.Close() }

// key returns the key id, with an operator's message when there is none.
func (d *data) key(ctx context.Context, id string) (*store.Key, error) {
	k, err := d.db.Key(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no key %q in this database: %w", id, err)
	}
	return k, err
}
