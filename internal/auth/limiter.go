package auth

import (
	"context"
	"sync"
)

// Limiter caps the requests of one key in flight at once.
//
// The in-process LocalLimiter is right for one server; several servers
// sharing a PostgreSQL database use postgres.Limiter, which holds a lease
// there for each slot. So Acquire takes a context, and may fail for
// reasons other than the limit.
type Limiter interface {
	// Acquire takes one of limit slots for keyID, returning a function
	// that gives it back (call it exactly once), or ErrConcurrencyLimit
	// when all slots are taken. A limit of 0 or less means no limit.
	Acquire(ctx context.Context, keyID string, limit int) (release func(), err error)
}

var _ Limiter = (*LocalLimiter)(nil)

// LocalLimiter is a Limiter for a single process. The zero value is ready
// to use.
type LocalLimiter struct {
	mu       sync.Mutex
	inFlight map[string]int
}

// Acquire implements Limiter. It never waits: a request over the limit is
// refused at once rather than queued, as FaceID does.
func (l *LocalLimiter) Acquire(_ context.Context, keyID string, limit int) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight == nil {
		l.inFlight = make(map[string]int)
	}
	if limit > 0 && l.inFlight[keyID] >= limit {
		return nil, ErrConcurrencyLimit
	}
	l.inFlight[keyID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			// Drop idle keys so the map does not grow with every key ever seen.
			if l.inFlight[keyID]--; l.inFlight[keyID] <= 0 {
				delete(l.inFlight, keyID)
			}
		})
	}, nil
}

// InFlight returns the number of requests of keyID holding a slot.
func (l *LocalLimiter) InFlight(keyID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight[keyID]
}
