package sqlite_test

import (
	"context"
	"fmt"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// seedNotifications creates a key with notifications on and n finished
// verifications of it, so n notifications are due from t.
func seedNotifications(t *testing.T, db *sqlite.DB, n int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1,
		NotifyURL: "https://h.example/", NotifySecret: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		tok := fmt.Sprintf("tok-%03d", i)
		if err := db.CreateVerification(ctx, &store.Verification{
			Token: tok, KeyID: "k", UUID: "u", MaxUploadTimes: 3, LifeTime: time.Hour,
			Status: store.StatusNotStarted, IssuedAt: at, ExpiresAt: at.Add(time.Hour),
			Refs: []store.Reference{{Index: 1, Model: "m", Embedding: []float32{1}, Crop: []byte{1}, Box: image.Rect(0, 0, 1, 1)}},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.BeginCapture(ctx, tok, at); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishVerification(ctx, tok, &store.Outcome{Status: store.StatusOK, At: at}); err != nil {
			t.Fatal(err)
		}
	}
}

// Serve processes on one data directory claim from the same file through
// their own connection pools; the write lock taken at BEGIN keeps them
// from claiming one notification twice.
func TestClaimAcrossProcesses(t *testing.T) {
	t.Parallel()
	const count = 30
	first := MustOpen(t)
	defer first.Close()
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	seedNotifications(t, first, count, at)
	second := sqlite.New(first.Path)
	if err := second.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[int64]int{}
		errs []error
	)
	for i := range 16 {
		db := first
		if i%2 == 1 {
			db = second
		}
		wg.Go(func() {
			for {
				ns, err := db.ClaimNotifications(context.Background(), at, time.Hour, 3)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, n := range ns {
					seen[n.ID]++
				}
				mu.Unlock()
				if err != nil || len(ns) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("claim errors: %v", errs)
	}
	if len(seen) != count {
		t.Fatalf("%d notifications claimed, want %d", len(seen), count)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("notification %d claimed %d times", id, n)
		}
	}
}

// A status change that forgets terminal_at still queues the notification,
// due at once, rather than failing the change.
func TestNotifyTriggerWithoutTerminalTime(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	defer db.Close()
	at := time.Now().Add(-time.Hour)
	seedNotifications(t, db, 0, at)
	ctx := context.Background()
	if err := db.CreateVerification(ctx, &store.Verification{Token: "tok", KeyID: "k", UUID: "u", MaxUploadTimes: 3,
		LifeTime: time.Hour, Status: store.StatusNotStarted, IssuedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, db.Path)
	if _, err := raw.Exec(`UPDATE verifications SET status = 'FAILED' WHERE token = 'tok'`); err != nil {
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
