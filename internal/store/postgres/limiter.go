package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

// Defaults of the Limiter fields of the same names.
const (
	// DefaultLeaseTTL is far longer than any request should run, so that
	// a live request does not lose its lease, and short enough that the
	// slots of a node that died come back within minutes.
	DefaultLeaseTTL = 5 * time.Minute

	// DefaultReleaseTimeout bounds giving a slot back.
	DefaultReleaseTimeout = 5 * time.Second
)

// Limiter is an auth.Limiter for several nodes sharing one database: each
// slot in use is a row of the leases table (migrations/0006_leases.sql),
// so a key's concurrency limit counts its requests on every node. (It
// satisfies the interface without naming it: a backend does not import
// package auth.)
//
// Acquire never waits for a slot: like auth.LocalLimiter it refuses at
// once with store.ErrConcurrencyLimit (which auth.ErrConcurrencyLimit is)
// when the key's unexpired leases reach the limit. A database that fails or does not answer makes it fail with
// another error (within the DB's OpTimeout), which the API answers with
// INTERNAL_ERROR: a limit that cannot be checked is not waived.
//
// A lease is deleted when it is released; one whose node died before
// releasing it stops counting at its expiry (TTL after it was taken) and
// is deleted by the key's next Acquire.
type Limiter struct {
	db *DB

	// Node names this process in the lease rows it writes, for diagnosis.
	Node string

	// TTL is how long a lease counts when it is not released. It must
	// exceed the longest a request can hold its slot; otherwise a slow
	// request's slot is handed out twice.
	TTL time.Duration

	// ReleaseTimeout bounds the deletion of a lease. A release runs on a
	// context of its own, so that a request cancelled by its client still
	// gives its slot back; if the deletion fails the lease expires.
	ReleaseTimeout time.Duration

	// Logger receives failed releases; nil means slog.Default().
	Logger *slog.Logger
}

// NewLimiter returns a Limiter on db, which must be open, with the
// default TTL and ReleaseTimeout and this process's host name and process
// id as Node.
func NewLimiter(db *DB) *Limiter {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return &Limiter{
		db:             db,
		Node:           host + "/" + strconv.Itoa(os.Getpid()),
		TTL:            DefaultLeaseTTL,
		ReleaseTimeout: DefaultReleaseTimeout,
	}
}

// Acquire implements auth.Limiter.
//
// The count and the insertion must not be separated: two nodes counting
// limit-1 leases at once would both insert. So they run in one
// transaction that first takes an advisory lock named after the key (and
// the schema), serialising the acquisitions of one key across nodes while
// other keys go on in parallel; the lock is held only for that short
// transaction, never while the request runs. Under READ COMMITTED the
// count, a statement after the lock, sees every lease committed before the
// lock was granted. Releases need no lock: a deletion only lowers the
// count.
//
// The two statements go as one batch, in one round trip: pgx sends a
// batch as a pipeline ending in a single Sync, which PostgreSQL runs as
// one implicit transaction. Every request of a limited key pays for it,
// so it is kept to that one round trip and the release's.
func (l *Limiter) Acquire(ctx context.Context, keyID string, limit int) (func(), error) {
	if limit <= 0 {
		// Nothing to count, and nothing for a database to refuse.
		return func() {}, nil
	}
	ttl := l.TTL
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	ctx, cancel := l.db.bound(ctx)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('glint lease ' || current_schema() || ' ' || $1, 0))`, keyID)
	// The DELETE and the count see the same snapshot, in which the
	// expired leases still exist: the count skips them itself. When the
	// key is at its limit nothing is inserted, and the deletion still
	// commits.
	b.Queue(`WITH expired AS (
			DELETE FROM leases WHERE key_id = $1 AND expires_at <= now()
		), live AS (
			SELECT count(*) AS n FROM leases WHERE key_id = $1 AND expires_at > now()
		)
		INSERT INTO leases (key_id, node, acquired_at, expires_at)
		SELECT $1, $2, now(), now() + make_interval(secs => $3) FROM live WHERE n < $4
		RETURNING id`, keyID, l.Node, ttl.Seconds(), limit)
	br := l.db.pool.SendBatch(ctx, b)
	var id int64
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: take a concurrency lease: %w", err)
	}
	if id == 0 {
		return nil, store.ErrConcurrencyLimit
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(keyID, id) }) }, nil
}

// release deletes lease id, on a context of its own (see ReleaseTimeout).
func (l *Limiter) release(keyID string, id int64) {
	timeout := l.ReleaseTimeout
	if timeout <= 0 {
		timeout = DefaultReleaseTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := l.db.pool.Exec(ctx, `DELETE FROM leases WHERE id = $1`, id); err != nil {
		logger := l.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("concurrency lease not released; it counts until it expires",
			"key", keyID, "lease", id, "ttl", l.TTL.String(), "err", err)
	}
}

// Leases returns the number of unexpired leases of keyID: the requests of
// the key in flight on all nodes (auth.LocalLimiter's InFlight across
// nodes).
func (l *Limiter) Leases(ctx context.Context, keyID string) (int, error) {
	ctx, cancel := l.db.bound(ctx)
	defer cancel()
	var n int
	if err := l.db.pool.QueryRow(ctx, `SELECT count(*) FROM leases WHERE key_id = $1 AND expires_at > now()`,
		keyID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count leases: %w", err)
	}
	return n, nil
}
