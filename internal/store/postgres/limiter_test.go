package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/postgres"
)

// twoNodes opens two stores on one new schema, each with its own pool, as
// two nodes of one installation would, and returns a Limiter on each. The
// pools are larger than the default, so that many acquisitions race in
// the database at once rather than queue for a connection.
func twoNodes(t *testing.T) (a, b *postgres.Limiter, dsn string) {
	t.Helper()
	_, dsn = newSchema(t)
	var ls [2]*postgres.Limiter
	for i, node := range []string{"a", "b"} {
		db := postgres.New(dsn)
		db.MaxConns = 16
		if err := db.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		ls[i] = postgres.NewLimiter(db)
		ls[i].Node = node
	}
	return ls[0], ls[1], dsn
}

func mustAcquire(t *testing.T, l *postgres.Limiter, key string, limit int) func() {
	t.Helper()
	release, err := l.Acquire(context.Background(), key, limit)
	if err != nil {
		t.Fatalf("Acquire(%s, %d) on node %s: %v", key, limit, l.Node, err)
	}
	return release
}

func mustRefuse(t *testing.T, l *postgres.Limiter, key string, limit int) {
	t.Helper()
	release, err := l.Acquire(context.Background(), key, limit)
	if err == nil {
		release()
		t.Fatalf("Acquire(%s, %d) on node %s succeeded, want the limit", key, limit, l.Node)
	}
	if !errors.Is(err, store.ErrConcurrencyLimit) {
		t.Fatalf("Acquire(%s, %d) on node %s: %v, want store.ErrConcurrencyLimit", key, limit, l.Node, err)
	}
}

func wantLeases(t *testing.T, l *postgres.Limiter, key string, want int) {
	t.Helper()
	n, err := l.Leases(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d leases of %s, want %d", n, key, want)
	}
}

// 50 goroutines on two nodes take and give back slots of one key as fast
// as they can: at no moment do more requests hold a slot than the limit,
// and the slots are used (not merely refused).
func TestLimiterHoldsAcrossNodes(t *testing.T) {
	t.Parallel()
	a, b, _ := twoNodes(t)
	const limit, workers, rounds = 5, 50, 8
	var (
		cur, peak  atomic.Int32
		ok, denied atomic.Int32
		wg         sync.WaitGroup
		start      = make(chan struct{})
		errs       = make(chan error, workers)
	)
	for i := range workers {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			<-start
			for range rounds {
				release, err := l.Acquire(context.Background(), "k", limit)
				if errors.Is(err, store.ErrConcurrencyLimit) {
					denied.Add(1)
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				ok.Add(1)
				n := cur.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				// Hold the slot a moment, as a request would, so that
				// the others find it taken.
				time.Sleep(2 * time.Millisecond)
				cur.Add(-1)
				release()
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p := peak.Load(); p > limit {
		t.Fatalf("%d requests held a slot at once, limit %d", p, limit)
	}
	if ok.Load()+denied.Load() != workers*rounds || ok.Load() < limit || denied.Load() == 0 {
		t.Fatalf("%d acquired, %d refused of %d: want both, and at least %d acquired", ok.Load(), denied.Load(), workers*rounds, limit)
	}
	wantLeases(t, a, "k", 0)
	t.Logf("%d acquired, %d refused, peak %d of %d", ok.Load(), denied.Load(), peak.Load(), limit)
}

// A release frees its slot for every node, once however often it is
// called, and even when the request's context is cancelled.
func TestLimiterRelease(t *testing.T) {
	t.Parallel()
	a, b, _ := twoNodes(t)
	ctx, cancel := context.WithCancel(context.Background())
	first, err := a.Acquire(ctx, "k", 2)
	if err != nil {
		t.Fatal(err)
	}
	second := mustAcquire(t, b, "k", 2)
	mustRefuse(t, a, "k", 2)
	mustRefuse(t, b, "k", 2)
	wantLeases(t, b, "k", 2)

	cancel() // the client went away; its slot must still come back
	first()
	first() // a second call must not free another slot
	wantLeases(t, b, "k", 1)
	third := mustAcquire(t, b, "k", 2)
	mustRefuse(t, a, "k", 2)
	second()
	third()
	wantLeases(t, a, "k", 0)
}

// The leases of a node that died are not released: they count until they
// expire, then stop counting and are deleted by the next acquisition.
func TestLimiterExpiry(t *testing.T) {
	t.Parallel()
	a, b, dsn := twoNodes(t)
	const ttl = time.Second
	a.TTL = ttl
	mustAcquire(t, a, "k", 2) // never released: node a "crashes"
	taken := time.Now()
	mustAcquire(t, a, "k", 2)
	mustRefuse(t, b, "k", 2)

	time.Sleep(time.Until(taken.Add(ttl + 200*time.Millisecond)))
	wantLeases(t, b, "k", 0)
	held := mustAcquire(t, b, "k", 2)
	defer held()
	conn := connect(t, dsn)
	var rows int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM leases WHERE key_id = 'k'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d lease rows of the key after an acquisition, want 1: the expired ones are not deleted", rows)
	}
}

// Each key has its own slots.
func TestLimiterKeysApart(t *testing.T) {
	t.Parallel()
	a, b, _ := twoNodes(t)
	tests := []struct {
		key   string
		limit int
	}{
		{"one", 1},
		{"two", 2},
		{"three", 3},
	}
	var releases []func()
	for _, tt := range tests {
		for i := range tt.limit {
			l := a
			if i%2 == 1 {
				l = b
			}
			releases = append(releases, mustAcquire(t, l, tt.key, tt.limit))
		}
	}
	for _, tt := range tests {
		mustRefuse(t, a, tt.key, tt.limit)
		mustRefuse(t, b, tt.key, tt.limit)
		wantLeases(t, a, tt.key, tt.limit)
	}
	releases[0]() // key "one"
	mustAcquire(t, b, "one", 1)()
	mustRefuse(t, b, "two", 2)
	for _, r := range releases[1:] {
		r()
	}
}

// A limit of 0 or less is no limit, and needs no database.
func TestLimiterUnlimited(t *testing.T) {
	t.Parallel()
	db, _ := mustOpen(t)
	l := postgres.NewLimiter(db)
	db.Close()
	for range 100 {
		release, err := l.Acquire(context.Background(), "k", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
}

// A database that cannot be reached fails Acquire with an error that is
// not the limit (the API answers it with INTERNAL_ERROR, not 403).
func TestLimiterDatabaseError(t *testing.T) {
	t.Parallel()
	db, _ := mustOpen(t)
	l := postgres.NewLimiter(db)
	db.Close()
	release, err := l.Acquire(context.Background(), "k", 1)
	if err == nil {
		release()
		t.Fatal("Acquire on a closed database succeeded")
	}
	if errors.Is(err, store.ErrConcurrencyLimit) {
		t.Fatalf("Acquire on a closed database: %v, want an error other than the limit", err)
	}
}
