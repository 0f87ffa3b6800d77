package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
	"github.com/glint-id/glint/internal/store/storetest"
)

// MustOpen opens a migrated database in a fresh temporary directory.
func MustOpen(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db := sqlite.New(filepath.Join(tb.TempDir(), "glint.db"))
	if err := db.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return MustOpen(t) })
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	defer db.Close()
	raw := rawDB(t, db.Path)
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(mode, "wal") {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestMigrationsRecordedOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "glint.db")
	// Several processes (here: handles) opening the same new file at
	// once must each see a fully migrated schema, applied exactly once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db := sqlite.New(path)
			if err := db.Open(context.Background()); err != nil {
				errs <- err
				return
			}
			errs <- db.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	raw := rawDB(t, path)
	var n, v int
	if err := raw.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != v || n < 1 {
		t.Fatalf("%d migration rows, latest version %d", n, v)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	db.Close()
	raw := rawDB(t, db.Path)
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	err := sqlite.New(db.Path).Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

func TestClockInjection(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	db := sqlite.New(filepath.Join(t.TempDir(), "glint.db"))
	db.Now = func() time.Time { return fixed }
	ctx := context.Background()
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	k, err := db.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !k.CreatedAt.Equal(fixed) {
		t.Fatalf("CreatedAt = %v, want the injected %v", k.CreatedAt, fixed)
	}
}

// rawDB opens the file directly, bypassing the store, for inspection.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}
