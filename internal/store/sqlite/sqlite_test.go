package sqlite_test

import (
	"context"
	"database/sql"
	"os"
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

// TestUpgradeToCaptureDefences opens a database at schema version 6, the
// last before the capture defences, holding a key and a verification:
// the key must come out with the upload fallback off and the default
// attempts per uuid, and the verification unbudgeted.
func TestUpgradeToCaptureDefences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "glint.db")
	raw := rawDB(t, path)
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, v := range store.SchemaVersions() {
		if v.Version >= 7 {
			break
		}
		b, err := os.ReadFile(filepath.Join("migrations", v.File()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", v.File(), err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000000000Z')`, v.Version, v.File()); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO keys (id, name, secret_hash, concurrency, created_at) VALUES ('k', 'k', x'00', 1, '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO verifications (token, key_id, uuid, color_number, liveness_preferences, language, procedure_type,
			comparison_type, max_upload_times, life_time_seconds, multi_oriented_detection, fail_when_ref_multiple_faces,
			return_multifaces_tag, face_occlusion_detection, status, issued_at, expires_at)
			VALUES ('old', 'k', 'person', 6, 'none', '0', 'raw_flash', '0', 3, 3600, 0, 0, 0, 0, 'NOT_STARTED',
			'2026-01-01T00:00:00.000000000Z', '2026-01-01T01:00:00.000000000Z')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db := sqlite.New(path)
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, err := db.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if k.AllowUploadFallback || k.AttemptsPerUUID != store.DefaultAttemptsPerUUID {
		t.Errorf("key after the upgrade: AllowUploadFallback %v, AttemptsPerUUID %d; want false, %d",
			k.AllowUploadFallback, k.AttemptsPerUUID, store.DefaultAttemptsPerUUID)
	}
	now := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	if v, err := db.BeginCapture(ctx, "old", now); err != nil || v.Subject != nil {
		t.Fatalf("BeginCapture of the old record = %+v, %v; want it admitted, without a subject", v, err)
	}
	for range 3 {
		if _, err := db.CountAttempt(ctx, "old", now); err != nil {
			t.Fatalf("CountAttempt of the old record: %v", err)
		}
	}
}

// The read races of the conformance suite with two handles on one file,
// as a server and a `glint` command beside it (or two processes) have.
func TestReadRacesTwoHandles(t *testing.T) {
	t.Parallel()
	storetest.RunReadRaces(t, func(t *testing.T) []store.Store {
		first := MustOpen(t)
		second := sqlite.New(first.Path)
		if err := second.Open(context.Background()); err != nil {
			first.Close()
			t.Fatal(err)
		}
		return []store.Store{first, second}
	})
}
