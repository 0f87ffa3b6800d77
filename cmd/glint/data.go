package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// dbFile is the database's name inside the data directory.
const dbFile = "glint.db"

// data is an opened data directory: the store and the keyring over it.
type data struct {
	db   *sqlite.DB
	keys *auth.Keyring
}

// openData opens (creating on first use) the data directory: the SQLite
// database and the secret pepper. The directory is private to its owner
// since it holds biometric records.
func openData(ctx context.Context, dir string) (*data, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	pepper, err := auth.LoadPepper(dir)
	if err != nil {
		return nil, err
	}
	db := sqlite.New(filepath.Join(dir, dbFile))
	if err := db.Open(ctx); err != nil {
		return nil, err
	}
	return &data{db: db, keys: &auth.Keyring{Store: db, Pepper: pepper}}, nil
}

func (d *data) Close() error { return d.db.Close() }
