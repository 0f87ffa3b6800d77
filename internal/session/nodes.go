package session

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/glint-id/glint/internal/liveness"
)

// Several nodes may serve one store behind a load balancer with no
// affinity but the WebSocket connection itself. What a connection must
// know about the others — whether a newer connection took its token, and
// which fallback sequences are pending — is therefore in the store
// (store.CaptureStore); this file is the session's side of it.
//
// Ownership is claimed at hello and checked at the decisive points (before
// an attempt is counted, before an outcome is stored, before the mirror
// time-out fails the verification) and every OwnerCheckInterval between
// them. A check and the write it guards are two statements, so a newer
// connection on another node may claim the token in between, and both
// connections may then pass their checks at once. That residual race
// costs nothing that matters: the store counts attempts against the
// budget atomically and finishes a verification exactly once, so the
// older connection can at most use an attempt or store an outcome a
// moment after it was superseded — as it could have a moment before — and
// the newer one then finds the verification finished (4010) or its
// attempts spent. Closing it would take the owner as a condition of
// CountAttempt's and FinishVerification's UPDATEs, changing store.Store
// for every backend.

// claim makes s the owner of its token's capture, in the store for every
// node and in the live map for this one, and returns the local session it
// supersedes, if any. A token's claims in one process are serialised so
// that the store's latest claim and the live map name the same
// connection: two hellos racing here must not end with one newest in the
// store and the other in the map, each superseding the other. Claims of
// different tokens share nothing, so they are not serialised: the lock is
// held across a store round trip, and a stalled database must hold up
// only the hellos of the token waiting on it, not every hello on the node.
func (m *Manager) claim(ctx context.Context, token string, s *Session) (*Session, error) {
	unlock := m.claimLocks.lock(token)
	defer unlock()
	if err := m.cfg.Store.ClaimCapture(ctx, token, s.owner); err != nil {
		return nil, fmt.Errorf("session: claim capture: %w", err)
	}
	return m.register(token, s), nil
}

// tokenLocks is a mutex per token, for the tokens being locked or waited
// for: an entry lives while someone holds or waits for it, so the map
// stays as small as the claims in flight. The zero value is ready to use.
type tokenLocks struct {
	mu sync.Mutex
	m  map[string]*tokenLock
}

type tokenLock struct {
	mu   sync.Mutex
	refs int // holders and waiters; guarded by tokenLocks.mu
}

// lock locks token's mutex and returns its unlock, to call once.
func (l *tokenLocks) lock(token string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*tokenLock{}
	}
	e := l.m[token]
	if e == nil {
		e = &tokenLock{}
		l.m[token] = e
	}
	e.refs++
	l.mu.Unlock()

	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		if e.refs--; e.refs == 0 {
			delete(l.m, token)
		}
	}
}

// ownerCheckTimeout bounds one background ownership check, so that a
// stalled store does not leave a timer goroutine behind for long.
const ownerCheckTimeout = 5 * time.Second

// watchOwner asks the store every OwnerCheckInterval whether another
// connection has claimed the token, and supersedes s if so. It runs off
// the loop, in the timers' goroutines, so that a slow store never delays
// a colour; the loop hears only of a loss. Failed checks are retried at
// the next interval: the decisive points check again anyway.
func (s *Session) watchOwner() {
	token, me, log := s.token, s.owner, s.log
	var check func()
	check = func() {
		select {
		case <-s.quit:
			return
		default:
		}
		// Counted with the sessions, so that Shutdown waits for a check
		// in flight before the store closes.
		if !s.m.enter() {
			return
		}
		defer s.m.leave()
		ctx, cancel := context.WithTimeout(s.ctx, ownerCheckTimeout)
		owner, err := s.m.cfg.Store.CaptureOwner(ctx, token)
		cancel()
		if err == nil && owner != me {
			select {
			case s.ctl <- supersedeEvent{}:
			case <-s.quit:
			}
			return
		}
		if err != nil {
			log.Debug("rtc owner check", "err", err)
		}
		s.clk.AfterFunc(s.p.OwnerCheckInterval, check)
	}
	s.clk.AfterFunc(s.p.OwnerCheckInterval, check)
}

// ownsCapture reports whether s still owns its token's capture, checked
// in the store now, before a decisive write. If not, it has ended the
// session: superseded (4011) when another connection claimed the token,
// an internal error when the store could not say. Either way a revealed
// challenge is spent first, as on any departure.
func (s *Session) ownsCapture() bool {
	owner, err := s.m.cfg.Store.CaptureOwner(s.ctx, s.token)
	switch {
	case err != nil:
		s.abandon()
		s.internal(err)
		return false
	case owner != s.owner:
		s.superseded()
		return false
	}
	return true
}

// superseded ends s because a newer connection took its token.
func (s *Session) superseded() {
	if s.state == stEnded {
		return
	}
	s.abandon()
	s.fail(CodeSuperseded, CloseSuperseded, "a newer connection took over")
}

// challengeRecord is a challenge as a stored fallback sequence holds it.
// The encoding is explicit, not liveness.Challenge's own fields, so that
// a node of another version reads the sequences this one wrote.
type challengeRecord struct {
	SeqID   string        `json:"seq_id"`
	Colors  []colorRecord `json:"colors"`
	HoldsNs []int64       `json:"holds_ns"`
	// Start is kept to the nanosecond with its offset from UTC; the
	// monotonic reading and a zone's name are not (a fallback sequence
	// is stored before it has a start).
	Start time.Time `json:"start,omitzero"`
}

type colorRecord struct {
	Name string `json:"name"`
	R    uint8  `json:"r"`
	G    uint8  `json:"g"`
	B    uint8  `json:"b"`
}

// encodeChallenge is the store's form of ch (store.FlashSequence.Challenge).
func encodeChallenge(ch liveness.Challenge) ([]byte, error) {
	r := challengeRecord{SeqID: ch.SeqID, Start: ch.Start}
	for _, c := range ch.Colors {
		r.Colors = append(r.Colors, colorRecord{c.Name, c.R, c.G, c.B})
	}
	for _, h := range ch.Holds {
		r.HoldsNs = append(r.HoldsNs, int64(h))
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("session: encode challenge: %w", err)
	}
	return b, nil
}

// decodeChallenge reverses encodeChallenge.
func decodeChallenge(b []byte) (liveness.Challenge, error) {
	var r challengeRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return liveness.Challenge{}, fmt.Errorf("session: decode challenge: %w", err)
	}
	if len(r.Colors) == 0 || len(r.Colors) != len(r.HoldsNs) {
		return liveness.Challenge{}, fmt.Errorf("session: decode challenge: %d colours and %d holds", len(r.Colors), len(r.HoldsNs))
	}
	ch := liveness.Challenge{
		SeqID:  r.SeqID,
		Colors: make([]liveness.Color, len(r.Colors)),
		Holds:  make([]time.Duration, len(r.HoldsNs)),
		Start:  r.Start,
	}
	for i, c := range r.Colors {
		ch.Colors[i] = liveness.Color{Name: c.Name, R: c.R, G: c.G, B: c.B}
	}
	for i, h := range r.HoldsNs {
		ch.Holds[i] = time.Duration(h)
	}
	return ch, nil
}
