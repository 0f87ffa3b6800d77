package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// A get_result poll that counts nothing and changes nothing takes no
// write lock: with another connection holding the database's write lock
// (a finishing verification, a sweep, a `glint keys` command), polls of a
// record in NOT_STARTED or PROCESSING, and of a result whose reads are
// used up, answer at once instead of waiting behind it. A read that must
// count waits for the lock: with a busy timeout shorter than the lock is
// held, it fails rather than answering without counting.
func TestReadResultWithoutWriteLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlite.New(filepath.Join(t.TempDir(), "glint.db"))
	db.BusyTimeout = 200 * time.Millisecond
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"waiting", "capturing", "readout", "unread"} {
		if err := db.CreateVerification(ctx, &store.Verification{Token: tok, KeyID: "k", UUID: "u", MaxUploadTimes: 1,
			LifeTime: time.Hour, Status: store.StatusNotStarted, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if tok == "waiting" {
			continue
		}
		if _, err := db.BeginCapture(ctx, tok, t0); err != nil {
			t.Fatal(err)
		}
		if tok == "capturing" {
			continue
		}
		if err := db.FinishVerification(ctx, tok, &store.Outcome{Status: store.StatusOK, At: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(2 * time.Minute)
	for range store.MaxResultReads {
		if _, err := db.ReadResult(ctx, "readout", "k", now); err != nil {
			t.Fatal(err)
		}
	}

	// Another connection takes the write lock and keeps it.
	conn, err := rawDB(t, db.Path).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE keys SET name = 'busy' WHERE id = 'k'`); err != nil {
		t.Fatal(err)
	}

	for tok, want := range map[string]store.Status{"waiting": store.StatusNotStarted, "capturing": store.StatusProcessing} {
		for range 3 {
			start := time.Now()
			r, err := db.ReadResult(ctx, tok, "k", now)
			if err != nil || r.Status != want || r.Fetches != 0 {
				t.Fatalf("poll of %s while another connection writes = %+v, %v; want %s at once", tok, r, err, want)
			}
			if d := time.Since(start); d >= db.BusyTimeout {
				t.Fatalf("poll of %s took %v: it waited for the write lock", tok, d)
			}
		}
	}
	if _, err := db.ReadResult(ctx, "readout", "k", now); !errors.Is(err, store.ErrResultGone) {
		t.Fatalf("read of a used-up result while another connection writes: %v, want ErrResultGone at once", err)
	}
	if _, err := db.ReadResult(ctx, "waiting", "other", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read by another key while another connection writes: %v, want ErrNotFound at once", err)
	}
	// Counting a read, or applying the expiry transition, needs the lock.
	if r, err := db.ReadResult(ctx, "unread", "k", now); err == nil {
		t.Fatalf("counted read while another connection held the write lock = %+v", r)
	}
	if r, err := db.ReadResult(ctx, "waiting", "k", t0.Add(time.Hour)); err == nil {
		t.Fatalf("read applying the expiry while another connection held the write lock = %+v", r)
	}

	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if r, err := db.ReadResult(ctx, "unread", "k", now); err != nil || r.Fetches != 1 {
		t.Fatalf("counted read once the lock is free = %+v, %v", r, err)
	}
	if r, err := db.ReadResult(ctx, "waiting", "k", t0.Add(time.Hour)); err != nil || r.Status != store.StatusFailed || r.Fetches != 1 {
		t.Fatalf("read at expiry once the lock is free = %+v, %v", r, err)
	}
}
