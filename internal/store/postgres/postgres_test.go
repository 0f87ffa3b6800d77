package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/postgres"
	"github.com/glint-id/glint/internal/store/storetest"
)

// The tests run against the server that GLINT_TEST_POSTGRES names (a URL
// or key=value connection string), each store in a schema of its own that
// the test creates and drops, so tests run in parallel on one database
// and need no CREATEDB right. scripts/with-postgres.sh starts a
// throw-away server and sets the variable.
const envDSN = "GLINT_TEST_POSTGRES"

// serverDSN returns the test server's connection string. Without one the
// test is skipped, except under CI=true, where a skipped PostgreSQL
// backend would pass unnoticed, so it fails.
func serverDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn != "" {
		return dsn
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set and CI=true: the PostgreSQL store must be tested in CI; "+
			"run the tests under scripts/with-postgres.sh (it needs Debian's postgresql package)", envDSN)
	}
	t.Skipf("%s is not set: PostgreSQL store tests skipped (run them with scripts/with-postgres.sh go test ./internal/store/postgres)", envDSN)
	return ""
}

// runID keeps the schemas of concurrent test processes on one server
// apart; schemaSeq those of one process.
var (
	runID     = func() string { b := make([]byte, 4); rand.Read(b); return hex.EncodeToString(b) }()
	schemaSeq atomic.Int64
)

// newSchema creates an empty schema, dropped when the test ends, and
// returns its name and a connection string whose search_path is it.
func newSchema(t testing.TB) (name, dsn string) {
	t.Helper()
	server := serverDSN(t)
	name = fmt.Sprintf("glint_test_%s_%d", runID, schemaSeq.Add(1))
	admin := connect(t, server)
	if _, err := admin.Exec(context.Background(), `CREATE SCHEMA `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Registered before the store's Close, so it runs after it.
		if _, err := admin.Exec(context.Background(), `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name, withSearchPath(t, server, name)
}

// withSearchPath adds search_path=schema to a URL or key=value string.
func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s is not a valid URL", envDSN)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// connect opens a plain connection, closed when the test ends.
func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// mustOpen opens a migrated store in a new schema.
func mustOpen(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	_, dsn := newSchema(t)
	db := postgres.New(dsn)
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

func TestConformance(t *testing.T) {
	serverDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		db, _ := mustOpen(t)
		return db
	})
}

func TestMigrationsRecordedOnce(t *testing.T) {
	t.Parallel()
	_, dsn := newSchema(t)
	// Nodes starting at once on an empty schema: each must see the whole
	// schema, applied once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db := postgres.New(dsn)
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
	var got []int
	rows, err := connect(t, dsn).Query(context.Background(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, v := range store.SchemaVersions() {
		want = append(want, v.Version)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("schema_migrations holds %v, want %v", got, want)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	db, dsn := mustOpen(t)
	db.Close()
	if _, err := connect(t, dsn).Exec(context.Background(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', now())`); err != nil {
		t.Fatal(err)
	}
	err := postgres.New(dsn).Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

func TestMissingSchema(t *testing.T) {
	t.Parallel()
	dsn := withSearchPath(t, serverDSN(t), "glint_test_no_such_schema")
	err := postgres.New(dsn).Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("Open with a search_path naming no schema: %v", err)
	}
}

// A purgeable record, and a session holding the sweeper lock as another
// node would: the sweep is skipped, not waited for, until the lock is free.
func TestSweeperOneNodeAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := mustOpen(t)
	defer db.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	createFinished(t, db, "tok", t0)

	other := connect(t, dsn)
	const lock = `hashtextextended('glint sweep ' || current_schema(), 0)`
	if _, err := other.Exec(ctx, `SELECT pg_advisory_lock(`+lock+`)`); err != nil {
		t.Fatal(err)
	}
	late := t0.Add(48 * time.Hour)
	// A sweep that waited for the lock would run into this deadline and
	// fail instead of returning a zero Purge.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if p, err := db.PurgeVerifications(wctx, late); err != nil || p != (store.Purge{}) {
		t.Fatalf("sweep while another node sweeps = %+v, %v; want nothing and no error", p, err)
	}
	if _, err := other.Exec(ctx, `SELECT pg_advisory_unlock(`+lock+`)`); err != nil {
		t.Fatal(err)
	}
	if p, err := db.PurgeVerifications(ctx, late); err != nil || p.Records != 1 {
		t.Fatalf("sweep after the lock was freed = %+v, %v; want 1 record", p, err)
	}
	// The lock went back with the connection: another store (node) on the
	// same schema gets it.
	db2 := postgres.New(dsn)
	if err := db2.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	createFinished(t, db2, "tok2", t0)
	if p, err := db2.PurgeVerifications(ctx, late); err != nil || p.Records != 1 {
		t.Fatalf("second node's sweep = %+v, %v; want 1 record", p, err)
	}
}

// Purging a record, or deleting its key, deletes its blobs, which no
// foreign key ties to the rows; other records keep theirs.
func TestBlobsDeletedWithRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := mustOpen(t)
	defer db.Close()
	raw := connect(t, dsn)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tok := range []string{"purged", "kept", "a/b"} {
		createFinished(t, db, tok, t0)
	}
	blobs := func() map[string]bool {
		t.Helper()
		rows, err := raw.Query(ctx, `SELECT key FROM blobs`)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, k := range keys {
			m[k] = true
		}
		return m
	}
	// Per record: a crop, an original and a best image.
	if got := blobs(); len(got) != 9 || !got["v/a%2Fb/ref1.crop"] {
		t.Fatalf("blobs before = %v", got)
	}

	for range store.MaxResultReads {
		if _, err := db.ReadResult(ctx, "purged", "k", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := db.PurgeVerifications(ctx, t0.Add(time.Hour)); err != nil || p.Records != 1 {
		t.Fatalf("purge = %+v, %v", p, err)
	}
	for k := range blobs() {
		if strings.HasPrefix(k, "v/purged/") {
			t.Errorf("blob %s of the purged record is left", k)
		}
	}
	// The sweep vacuumed what it deleted from (the test cannot demand
	// that no dead tuple is left: another test's open snapshot keeps
	// VACUUM from removing the newest ones).
	for _, table := range []string{"blobs", "verification_refs", "verification_images", "verifications"} {
		var vacuumed bool
		if err := raw.QueryRow(ctx, `SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = $1`, table).Scan(&vacuumed); err != nil {
			t.Fatal(err)
		}
		if !vacuumed {
			t.Errorf("%s was not vacuumed after the purge", table)
		}
	}
	if got := blobs(); len(got) != 6 {
		t.Errorf("after the purge %d blobs are left, want the other records' 6: %v", len(got), got)
	}
	if v, err := db.Verification(ctx, "kept"); err != nil || string(v.Refs[0].Original) != "original" {
		t.Fatalf("kept record = %+v, %v", v, err)
	}

	if err := db.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got := blobs(); len(got) != 0 {
		t.Errorf("blobs left after the key was deleted: %v", got)
	}
}

// createFinished stores a verification of key "k" (created if needed)
// with a crop, an original and a best image, finished OK at t0+1m and
// purgeable a day after that.
func createFinished(t *testing.T, db *postgres.DB, token string, t0 time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Key(ctx, "k"); errors.Is(err, store.ErrNotFound) {
		if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1}); err != nil {
			t.Fatal(err)
		}
	}
	v := &store.Verification{
		Token: token, KeyID: "k", UUID: "u", MaxUploadTimes: 1, LifeTime: time.Hour,
		Status: store.StatusNotStarted, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Refs: []store.Reference{{Index: 1, Model: "m", Embedding: []float32{1}, Crop: []byte("crop"), Original: []byte("original")}},
	}
	if err := db.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginCapture(ctx, token, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishVerification(ctx, token, &store.Outcome{Status: store.StatusOK, Images: [][]byte{[]byte("best")},
		At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

// A dead or stuck database yields errors within the configured bounds.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("silent server", func(t *testing.T) {
		t.Parallel()
		// A listener that accepts and never answers, as a hung server or a
		// black-holing network would: only the connect timeout ends the
		// attempt.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		db := postgres.New("postgres://glint@" + ln.Addr().String() + "/glint?sslmode=disable")
		db.ConnectTimeout = 300 * time.Millisecond
		err = db.Open(ctx)
		if err == nil {
			db.Close()
			t.Fatal("Open succeeded against a server that never answers")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Open = %v, want the connect timeout's deadline", err)
		}
	})
	t.Run("row lock", func(t *testing.T) {
		t.Parallel()
		_, dsn := newSchema(t)
		db := postgres.New(dsn)
		db.LockTimeout = 200 * time.Millisecond
		if err := db.Open(ctx); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1}); err != nil {
			t.Fatal(err)
		}
		// Another session holds the key's row, as a stuck node would.
		tx, err := connect(t, dsn).Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT 1 FROM keys WHERE id = 'k' FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
		err = db.SetKeyDisabled(ctx, "k", true)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
			t.Fatalf("SetKeyDisabled on a locked row = %v, want lock_not_available (55P03) from the lock timeout", err)
		}
	})
}

// Two nodes (stores with their own pools) on one database: what the
// conformance suite checks within one store holds across them, since it
// is held by the database.
func TestAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first, dsn := mustOpen(t)
	defer first.Close()
	second := postgres.New(dsn)
	if err := second.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	nodes := []*postgres.DB{first, second}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := first.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1,
		NotifyURL: "https://h.example/", NotifySecret: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	const count = 30
	for i := range count {
		createFinished(t, nodes[i%2], fmt.Sprintf("tok-%02d", i), t0)
	}

	// Every caller on both nodes at once; each test counts what succeeded.
	race := func(callers int, call func(node *postgres.DB) (int, error)) (total int) {
		t.Helper()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for i := range callers {
			wg.Go(func() {
				n, err := call(nodes[i%2])
				mu.Lock()
				defer mu.Unlock()
				total += n
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("unexpected errors: %v", errs)
		}
		return total
	}

	t.Run("claims", func(t *testing.T) {
		var (
			mu   sync.Mutex
			seen = map[int64]int{}
		)
		got := race(16, func(node *postgres.DB) (int, error) {
			total := 0
			for {
				ns, err := node.ClaimNotifications(ctx, t0.Add(time.Minute), time.Hour, 3)
				if err != nil || len(ns) == 0 {
					return total, err
				}
				mu.Lock()
				for _, n := range ns {
					seen[n.ID]++
				}
				mu.Unlock()
				total += len(ns)
			}
		})
		if got != count || len(seen) != count {
			t.Fatalf("%d claims of %d notifications, want each of %d once", got, len(seen), count)
		}
	})
	t.Run("reads", func(t *testing.T) {
		got := race(40, func(node *postgres.DB) (int, error) {
			_, err := node.ReadResult(ctx, "tok-00", "k", t0.Add(time.Minute))
			if errors.Is(err, store.ErrResultGone) {
				return 0, nil
			}
			return 1, err
		})
		if got != store.MaxResultReads {
			t.Fatalf("%d reads succeeded, want %d", got, store.MaxResultReads)
		}
	})
}

// A status UPDATE that forgets terminal_at (no path of the store does)
// still queues its notification, due from the transaction's time.
func TestNotifyTriggerWithoutTerminalTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := mustOpen(t)
	defer db.Close()
	at := time.Now().Add(-time.Hour)
	if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1,
		NotifyURL: "https://h.example/", NotifySecret: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateVerification(ctx, &store.Verification{Token: "tok", KeyID: "k", UUID: "u", MaxUploadTimes: 3,
		LifeTime: time.Hour, Status: store.StatusNotStarted, IssuedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, dsn).Exec(ctx, `UPDATE verifications SET status = 'FAILED' WHERE token = 'tok'`); err != nil {
		t.Fatal(err)
	}
	ns, err := db.ClaimNotifications(ctx, time.Now().Add(time.Minute), time.Minute, 10)
	if err != nil || len(ns) != 1 {
		t.Fatalf("claim = %+v, %v", ns, err)
	}
	if d := time.Since(ns[0].CreatedAt); d < -time.Minute || d > time.Minute {
		t.Fatalf("CreatedAt %v, want about now", ns[0].CreatedAt)
	}
}

// Deleting a key while its verifications finish leaves no blob behind:
// each finish commits before the deletion looks for blobs, or fails.
func TestDeleteKeyWhileFinishing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := mustOpen(t)
	defer db.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	const count = 20
	for i := range count {
		tok := fmt.Sprintf("tok-%02d", i)
		createFinished(t, db, "done-"+tok, t0) // creates key k on the first call
		if err := db.CreateVerification(ctx, &store.Verification{Token: tok, KeyID: "k", UUID: "u", MaxUploadTimes: 1,
			LifeTime: time.Hour, Status: store.StatusNotStarted, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.BeginCapture(ctx, tok, t0); err != nil {
			t.Fatal(err)
		}
	}
	deleteKeyDuring(t, db, dsn, count, "blobs", func(i int) {
		err := db.FinishVerification(ctx, fmt.Sprintf("tok-%02d", i), &store.Outcome{Status: store.StatusOK,
			Images: [][]byte{[]byte("best 1"), []byte("best 2")}, At: t0.Add(time.Minute)})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("finish: %v", err)
		}
	})
}

// deleteKeyDuring runs work(0) … work(count-1) concurrently with the
// deletion of key "k", started halfway, and then requires table to be
// empty: nothing the work wrote for the key may outlive its deletion.
func deleteKeyDuring(t *testing.T, db *postgres.DB, dsn string, count int, table string, work func(i int)) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range count {
		wg.Go(func() { work(i) })
		if i == count/2 {
			wg.Go(func() {
				if err := db.DeleteKey(ctx, "k"); err != nil {
					t.Errorf("DeleteKey: %v", err)
				}
			})
		}
	}
	wg.Wait()
	var left int
	if err := connect(t, dsn).QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d rows of %s left after the key was deleted", left, table)
	}
}

// TestUpgradeToCaptureDefences migrates a schema at version 6, the last
// before the capture defences, holding a key and a verification: the key
// must come out with the upload fallback off and the default attempts per
// uuid, and the verification unbudgeted.
func TestUpgradeToCaptureDefences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, dsn := newSchema(t)
	raw := connect(t, dsn)
	if _, err := raw.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL, applied_at_ns integer NOT NULL DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	for _, v := range store.SchemaVersions() {
		if v.Version >= 7 {
			break
		}
		b, err := os.ReadFile("migrations/" + v.File())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", v.File(), err)
		}
		if _, err := raw.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())`,
			v.Version, v.File()); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO keys (id, name, secret_hash, concurrency, created_at) VALUES ('k', 'k', '\x00', 1, now())`,
		`INSERT INTO verifications (token, key_id, uuid, color_number, liveness_preferences, language, procedure_type,
			comparison_type, max_upload_times, life_time_seconds, multi_oriented_detection, fail_when_ref_multiple_faces,
			return_multifaces_tag, face_occlusion_detection, status, issued_at, expires_at)
			VALUES ('old', 'k', 'person', 6, 'none', '0', 'raw_flash', '0', 3, 3600, false, false, false, false,
			'NOT_STARTED', '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z')`,
	} {
		if _, err := raw.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	db := postgres.New(dsn)
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

// Deleting a key while attempts of its uuids are being counted ends
// without a deadlock and leaves none of its subject attempts behind: each
// attempt commits before the deletion looks, or fails on the missing
// record.
func TestDeleteKeyWhileCountingAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := mustOpen(t)
	defer db.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1, AttemptsPerUUID: 1000}); err != nil {
		t.Fatal(err)
	}
	const count = 20
	for i := range count {
		tok := fmt.Sprintf("tok-%02d", i)
		// Four uuids, five tokens each: the attempts of one uuid contend
		// for its lock while the deletion locks their records.
		if err := db.CreateVerification(ctx, &store.Verification{Token: tok, KeyID: "k", UUID: "u", MaxUploadTimes: 5,
			LifeTime: time.Hour, Status: store.StatusNotStarted, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
			Subject: []byte(fmt.Sprint("subject ", i%4))}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.BeginCapture(ctx, tok, t0); err != nil {
			t.Fatal(err)
		}
	}
	deleteKeyDuring(t, db, dsn, count, "subject_attempts", func(i int) {
		for range 3 {
			_, err := db.CountAttempt(ctx, fmt.Sprintf("tok-%02d", i), t0.Add(time.Minute))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CountAttempt: %v", err)
			}
		}
	})
}

// The read races of the conformance suite with two nodes (stores with
// pools of their own) on one database: pollers on both, the record
// finished, expired or purged by the second.
func TestReadRacesAcrossNodes(t *testing.T) {
	serverDSN(t)
	t.Parallel()
	storetest.RunReadRaces(t, func(t *testing.T) []store.Store {
		first, dsn := mustOpen(t)
		second := postgres.New(dsn)
		if err := second.Open(context.Background()); err != nil {
			first.Close()
			t.Fatal(err)
		}
		return []store.Store{first, second}
	})
}
