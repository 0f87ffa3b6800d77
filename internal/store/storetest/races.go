package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// The read races: get_result's ReadResult polled while the record changes
// under it (FinishVerification, the expiry transition, a purge), by
// several pollers at once. Each poller reads until it is refused, so that
// a round uses up every read, and checks every answer:
//
//   - a non-terminal record comes back as it is, uncounted;
//   - a terminal one comes back counted, with its data;
//   - ErrResultGone only for a reason that holds when it is given: the
//     poller looks at the record right away, and its reads must be used
//     up (or, where a round allows it, the record purged). Fetches never
//     goes down and a purge is never undone, so a true reason is still
//     true when the poller looks.
//
// A round then checks that the counted reads were 1 … MaxResultReads, each
// once. Failures are counted over the rounds and reported together, so
// that a run says how often the race is lost, not only that it was.

// RunReadRaces runs the read races with every store open returns, which
// must share one database (nodes of one installation, or handles on one
// file): pollers alternate between them, and the record changes through
// the last. Run runs the same races with a single store. The stores are
// closed when each subtest ends.
func RunReadRaces(t *testing.T, open func(t *testing.T) []store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, []store.Store)
	}{
		{"Finish", raceReadFinish},
		{"Expiry", raceReadExpiry},
		{"Purge", raceReadPurge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nodes := open(t)
			t.Cleanup(func() {
				for _, s := range nodes {
					if err := s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
			})
			tc.fn(t, nodes)
		})
	}
}

// onOneStore adapts a race to Run's single store.
func onOneStore(fn func(*testing.T, []store.Store)) func(*testing.T, store.Store) {
	return func(t *testing.T, s store.Store) { fn(t, []store.Store{s}) }
}

// pollTimeout bounds one poller, so that a store that never refuses (or
// never finishes the record) fails the round instead of hanging the test;
// raceBudget bounds a race, whose remaining rounds are then skipped (the
// failures say how many ran).
const (
	pollTimeout = 5 * time.Second
	raceBudget  = 30 * time.Second
)

// poller is one get_result client polling one token.
type poller struct {
	s     store.Store
	token string
	now   time.Time
	// terminal checks a counted read's result; nil accepts any.
	terminal func(*store.Result) error
	// purgeExplains lets ErrResultGone stand for a purged record whose
	// reads are not used up (its retention ended at the sweep's time).
	purgeExplains bool

	fetches []int   // Fetches of each counted read
	reads   int     // every answer, refusals included
	errs    []error // what was wrong
}

// run reads until refused; ready is called once, after the first answer.
func (p *poller) run(ready func()) {
	defer ready()
	deadline := time.Now().Add(pollTimeout)
	for {
		r, err := p.s.ReadResult(ctx, p.token, "k", p.now)
		p.reads++
		if p.reads == 1 {
			ready()
		}
		switch {
		case errors.Is(err, store.ErrResultGone):
			p.checkGone(err)
			return
		case err != nil:
			p.errs = append(p.errs, fmt.Errorf("read %d: %w", p.reads, err))
			return
		case !r.Status.Terminal():
			if r.Fetches != 0 || !r.TerminalAt.IsZero() || len(r.Images) != 0 ||
				(r.Status != store.StatusNotStarted && r.Status != store.StatusProcessing) {
				p.errs = append(p.errs, fmt.Errorf("read %d: non-terminal answer %s with %d fetches, terminal at %v, %d images",
					p.reads, r.Status, r.Fetches, r.TerminalAt, len(r.Images)))
				return
			}
		default:
			p.fetches = append(p.fetches, r.Fetches)
			if r.Fetches < 1 || r.Fetches > store.MaxResultReads || !r.PurgedAt.IsZero() {
				p.errs = append(p.errs, fmt.Errorf("read %d: counted answer with Fetches %d, purged at %v",
					p.reads, r.Fetches, r.PurgedAt))
			}
			if p.terminal != nil {
				if err := p.terminal(r); err != nil {
					p.errs = append(p.errs, fmt.Errorf("read %d: %w", p.reads, err))
				}
			}
		}
		if time.Now().After(deadline) {
			p.errs = append(p.errs, fmt.Errorf("still not refused after %d reads in %v", p.reads, pollTimeout))
			return
		}
	}
}

// checkGone checks that a refusal's reason holds: the reads are used up,
// or (if allowed) the record is purged. The retention never ends within
// a round (pollers read well inside it).
func (p *poller) checkGone(gone error) {
	r, err := p.s.Result(ctx, p.token)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("read %d refused (%v), then Result: %w", p.reads, gone, err))
		return
	}
	if r.Fetches >= store.MaxResultReads || (p.purgeExplains && !r.PurgedAt.IsZero()) {
		return
	}
	p.errs = append(p.errs, fmt.Errorf("read %d: %v, but %s with %d of %d reads counted, purged at %v",
		p.reads, gone, r.Status, r.Fetches, store.MaxResultReads, r.PurgedAt))
}

// raceStats gathers the failed rounds of one race.
type raceStats struct {
	t      *testing.T
	start  time.Time
	rounds int
	failed int
	first  []string
}

func newRaceStats(t *testing.T) *raceStats { return &raceStats{t: t, start: time.Now()} }

// more reports whether the race may start another round.
func (st *raceStats) more() bool { return time.Since(st.start) < raceBudget }

// round checks the pollers of one round; want is how many counted reads
// they must have made between them (normally MaxResultReads).
func (st *raceStats) round(name string, want int, pollers ...*poller) {
	st.rounds++
	var (
		fetches []int
		errs    []string
		reads   int
	)
	for i, p := range pollers {
		fetches = append(fetches, p.fetches...)
		reads += p.reads
		for _, err := range p.errs {
			errs = append(errs, fmt.Sprintf("poller %d: %v", i, err))
		}
	}
	slices.Sort(fetches)
	var seq []int
	for i := range want {
		seq = append(seq, i+1)
	}
	if !slices.Equal(fetches, seq) {
		errs = append(errs, fmt.Sprintf("counted reads %v, want %v", fetches, seq))
	}
	if len(errs) == 0 {
		return
	}
	st.failed++
	if len(st.first) < 3 {
		st.first = append(st.first, fmt.Sprintf("%s (%d reads): %s", name, reads, strings.Join(errs, "; ")))
	}
}

func (st *raceStats) report() {
	if st.failed > 0 {
		st.t.Errorf("%d of %d rounds lost a race (in %v); the first:\n%s", st.failed, st.rounds,
			time.Since(st.start).Round(time.Millisecond), strings.Join(st.first, "\n"))
	} else {
		st.t.Logf("%d rounds in %v, none lost", st.rounds, time.Since(st.start).Round(time.Millisecond))
	}
}

// race starts the pollers, then, once each has had its first answer,
// change; and waits for all of them.
func race(change func(), pollers ...*poller) {
	var ready, done sync.WaitGroup
	ready.Add(len(pollers))
	for _, p := range pollers {
		var once sync.Once
		done.Go(func() { p.run(func() { once.Do(ready.Done) }) })
	}
	ready.Wait()
	change()
	done.Wait()
}

// raceVerification stores a verification of key "k" (created if needed)
// on s, in PROCESSING when begun is set.
func raceVerification(t *testing.T, s store.Store, token string, begun bool) *store.Verification {
	t.Helper()
	v := mustCreateVerification(t, s, token, 3)
	if begun {
		if _, err := s.BeginCapture(ctx, token, t0); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// finishedWith checks a counted read of a record finished OK at at with
// one image and a liveness result.
func finishedWith(at time.Time) func(*store.Result) error {
	return func(r *store.Result) error {
		if r.Status != store.StatusOK || !r.TerminalAt.Equal(at) || r.Liveness == nil ||
			len(r.Images) != 1 || r.BizNo == nil || r.KeyID != "k" {
			return fmt.Errorf("terminal answer %s at %v, liveness %v, %d images, biz_no %v: want OK at %v with its data",
				r.Status, r.TerminalAt, r.Liveness, len(r.Images), r.BizNo, at)
		}
		return nil
	}
}

// expiredAt checks a counted read of a record moved to FAILED by the
// expiry transition at e.
func expiredAt(e time.Time) func(*store.Result) error {
	return func(r *store.Result) error {
		if r.Status != store.StatusFailed || !r.TerminalAt.Equal(e) {
			return fmt.Errorf("terminal answer %s at %v, want FAILED at %v", r.Status, r.TerminalAt, e)
		}
		return nil
	}
}

func finishOutcome(at time.Time) *store.Outcome {
	return &store.Outcome{Status: store.StatusOK, Liveness: sampleLiveness(store.LivenessPass),
		Images: [][]byte{{0xff, 0xd8, 9, 0xff, 0xd9}}, At: at}
}

// raceReadFinish: two pollers poll a verification in PROCESSING while it
// finishes. Before the finish commits they see PROCESSING; after it, the
// result, counted; never ErrResultGone before all reads are used.
func raceReadFinish(t *testing.T, nodes []store.Store) {
	const rounds = 100
	st := newRaceStats(t)
	now := t0.Add(2 * time.Minute)
	at := t0.Add(time.Minute)
	last := nodes[len(nodes)-1]
	var slowest time.Duration
	defer func() { t.Logf("slowest finish among the pollers: %v", slowest.Round(time.Microsecond)) }()
	for i := 0; i < rounds && st.more(); i++ {
		token := fmt.Sprintf("finish-%03d", i)
		raceVerification(t, nodes[0], token, true)
		ps := []*poller{
			{s: nodes[0], token: token, now: now, terminal: finishedWith(at)},
			{s: nodes[1%len(nodes)], token: token, now: now, terminal: finishedWith(at)},
		}
		race(func() {
			start := time.Now()
			if err := last.FinishVerification(ctx, token, finishOutcome(at)); err != nil {
				t.Errorf("%s: finish: %v", token, err)
			}
			slowest = max(slowest, time.Since(start))
		}, ps...)
		st.round(token, store.MaxResultReads, ps...)
	}
	st.report()
}

// raceReadExpiry: a poller whose clock is just before the record's
// ExpiresAt polls it while the record expires, by the sweep's
// ExpireVerifications and by the expiry transition of a second poller,
// whose clock is at ExpiresAt. The first sees the record as it was, or
// the FAILED result, counted; the second only the FAILED result.
func raceReadExpiry(t *testing.T, nodes []store.Store) {
	const rounds = 100
	st := newRaceStats(t)
	last := nodes[len(nodes)-1]
	for i := 0; i < rounds && st.more(); i++ {
		token := fmt.Sprintf("expiry-%03d", i)
		v := raceVerification(t, nodes[0], token, i%2 == 1)
		e := v.ExpiresAt
		early := &poller{s: nodes[0], token: token, now: e.Add(-time.Nanosecond), terminal: expiredAt(e)}
		due := &poller{s: nodes[1%len(nodes)], token: token, now: e, terminal: func(r *store.Result) error {
			if err := expiredAt(e)(r); err != nil {
				return fmt.Errorf("a read at ExpiresAt: %w", err)
			}
			return nil
		}}
		var done sync.WaitGroup
		race(func() {
			done.Go(func() { due.run(func() {}) })
			if _, err := last.ExpireVerifications(ctx, e, token); err != nil {
				t.Errorf("%s: expire: %v", token, err)
			}
			done.Wait()
		}, early)
		st.round(token, store.MaxResultReads, early, due)
	}
	st.report()
}

// raceReadPurge: reads racing PurgeVerifications, in three kinds of
// rounds.
//
//   - The sweep's expiry transition: a poller whose clock is just before
//     ExpiresAt polls while the sweep, at ExpiresAt, expires the record
//     (and purges it once the poller has used its reads up).
//   - Reads used up: two pollers read a finished result while sweeps run;
//     a sweep purges the record once its last read is counted, so every
//     counted read must still carry the result's data.
//   - Retention over: a poller reads just before the retention ends while
//     a sweep at its end purges the record; it gets the result with its
//     data, or ErrResultGone once the record is purged.
func raceReadPurge(t *testing.T, nodes []store.Store) {
	const rounds = 20
	const expiryRounds = 50 // the sweep's expiry race is lost less often
	last := nodes[len(nodes)-1]
	sweep := func(token string, at time.Time) {
		if _, err := last.PurgeVerifications(ctx, at); err != nil {
			t.Errorf("%s: purge: %v", token, err)
		}
	}

	t.Run("expiry", func(t *testing.T) {
		st := newRaceStats(t)
		for i := 0; i < expiryRounds && st.more(); i++ {
			token := fmt.Sprintf("purge-expiry-%03d", i)
			v := raceVerification(t, nodes[0], token, i%2 == 1)
			e := v.ExpiresAt
			p := &poller{s: nodes[0], token: token, now: e.Add(-time.Nanosecond), terminal: expiredAt(e)}
			race(func() { sweep(token, e) }, p)
			st.round(token, store.MaxResultReads, p)
		}
		st.report()
	})

	t.Run("reads", func(t *testing.T) {
		st := newRaceStats(t)
		at := t0.Add(time.Minute)
		now := at.Add(time.Minute)
		for i := 0; i < rounds && st.more(); i++ {
			token := fmt.Sprintf("purge-reads-%03d", i)
			raceVerification(t, nodes[0], token, true)
			if err := nodes[0].FinishVerification(ctx, token, finishOutcome(at)); err != nil {
				t.Fatal(err)
			}
			ps := []*poller{
				{s: nodes[0], token: token, now: now, terminal: finishedWith(at)},
				{s: nodes[1%len(nodes)], token: token, now: now, terminal: finishedWith(at)},
			}
			race(func() {
				// Sweep until the record is purged (its reads used up)
				// or a bound is reached.
				for range 20 {
					sweep(token, now)
					if r, err := last.Result(ctx, token); err != nil || !r.PurgedAt.IsZero() {
						return
					}
				}
			}, ps...)
			st.round(token, store.MaxResultReads, ps...)
		}
		st.report()
	})

	t.Run("retention", func(t *testing.T) {
		st := newRaceStats(t)
		at := t0.Add(time.Minute)
		end := at.Add(store.ResultRetention)
		for i := 0; i < rounds && st.more(); i++ {
			token := fmt.Sprintf("purge-retention-%03d", i)
			raceVerification(t, nodes[0], token, true)
			if err := nodes[0].FinishVerification(ctx, token, finishOutcome(at)); err != nil {
				t.Fatal(err)
			}
			p := &poller{s: nodes[0], token: token, now: end.Add(-time.Nanosecond), terminal: finishedWith(at),
				purgeExplains: true}
			race(func() { sweep(token, end) }, p)
			// Any number of reads may have beaten the sweep, all of them
			// counted once.
			st.round(token, len(p.fetches), p)
		}
		st.report()
	})
}
