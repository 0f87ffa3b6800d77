package session

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// node returns another node's manager: the harness's store and clock, its
// own process state, challenges drawn from newPCG(seed).
func (h *harness) node(seed uint64, opts ...harnessOpt) *Manager {
	h.t.Helper()
	cfg := Config{Store: h.db, Analyzer: h.an, Clock: h.clk, Rand: newPCG(seed), Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func ownerCheckEvery(d time.Duration) harnessOpt {
	return func(c *Config) { c.Params.OwnerCheckInterval = d }
}

// waitDone waits for c's session to end.
func (c *client) waitDone() {
	c.h.t.Helper()
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.h.t.Fatal("the session did not end")
	}
}

func TestSupersededAcrossNodes(t *testing.T) {
	h := newHarness(t)
	b := h.node(2)
	tok := h.token(3)
	older := h.connect("")
	older.hello(tok)
	newer := h.connectTo(b, "")
	newer.hello(tok)

	// Another process: nothing tells the older connection at once; its
	// next ownership check, one interval after its hello, does.
	every := h.m.cfg.Params.OwnerCheckInterval
	h.advance(every - time.Millisecond)
	if older.closeCode() != 0 {
		t.Fatalf("older connection closed (%d) before its check", older.closeCode())
	}
	h.advance(time.Millisecond)
	older.waitDone()
	if older.closeCode() != CloseSuperseded {
		t.Fatalf("older connection closed with %d, want %d", older.closeCode(), CloseSuperseded)
	}
	if e := findErr(older.all()); e == nil || e.Code != CodeSuperseded {
		t.Fatalf("older connection's error %+v", e)
	}
	h.advance(3 * every)
	if newer.closeCode() != 0 {
		t.Fatalf("newer connection closed (%d)", newer.closeCode())
	}
	if r := h.result(tok); r.Status != store.StatusProcessing || r.Attempts != 0 {
		t.Fatalf("stored %+v: superseding in the mirror stage costs nothing", r)
	}
}

// claimAfterCount is another node claiming the token just after this
// one counted an attempt: between the count and the outcome.
type claimAfterCount struct{ *sqlite.DB }

func (s claimAfterCount) CountAttempt(ctx context.Context, token string, now time.Time) (int, error) {
	n, err := s.DB.CountAttempt(ctx, token, now)
	if err == nil {
		err = s.DB.ClaimCapture(ctx, token, "another-node")
	}
	return n, err
}

// Between the periodic checks (an hour apart here), the decisive points
// check ownership themselves. Another node's claims are made on the store
// directly.
func TestSupersededAtDecisivePoints(t *testing.T) {
	ctx := context.Background()
	claim := func(h *harness, tok string) {
		if err := h.db.ClaimCapture(ctx, tok, "another-node"); err != nil {
			h.t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		opt  harnessOpt
		// run takes the connection from hello to the decisive point.
		run      func(h *harness, c *client, tok string)
		attempts int
	}{
		{"mirror time-out", nil, func(h *harness, c *client, tok string) {
			claim(h, tok)
			h.advance(31 * time.Second)
		}, 0},
		{"attempt count at RESET", nil, func(h *harness, c *client, tok string) {
			s := h.render(flashsim.Genuine, h.nextChallenge(6), 9)
			if !c.toGate(s, 5*time.Second) {
				h.t.Fatal("the gate did not pass")
			}
			claim(h, tok)
			c.play(s, 2) // the face leaves after two colours
		}, 1}, // spent, as the colours were shown
		{"outcome", func(c *Config) { c.Store = claimAfterCount{c.Store.(*sqlite.DB)} }, func(h *harness, c *client, tok string) {
			s := h.render(flashsim.Genuine, h.nextChallenge(6), 10)
			if !c.toGate(s, 5*time.Second) {
				h.t.Fatal("the gate did not pass")
			}
			c.play(s, 0)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []harnessOpt{ownerCheckEvery(time.Hour)}
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			h := newHarness(t, opts...)
			tok := h.token(3)
			c := h.connect("")
			c.hello(tok)
			tc.run(h, c, tok)
			c.waitDone()
			if c.closeCode() != CloseSuperseded {
				t.Fatalf("close %d, want %d", c.closeCode(), CloseSuperseded)
			}
			for _, m := range c.all() {
				if r, ok := m.m.(*ResultMessage); ok {
					t.Errorf("a superseded connection sent a result: %+v", r)
				}
			}
			// Nothing of the superseded connection decided the verification.
			if r := h.result(tok); r.Status != store.StatusProcessing || r.Attempts != tc.attempts || r.Liveness != nil {
				t.Fatalf("stored %+v, want PROCESSING with %d attempts and no outcome", r, tc.attempts)
			}
		})
	}
}

func TestFallbackAcrossNodes(t *testing.T) {
	h := newHarness(t)
	b := h.node(2)
	predictB := newPCG(2)
	ctx := context.Background()
	tok := h.token(3)
	h.allowUpload(true)

	// Started on A, validated on B.
	fs, err := h.m.StartFlash(ctx, tok, ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	attack := h.render(flashsim.ScreenTint, h.nextChallenge(6), 51)
	out, err := b.ValidateFlash(ctx, attack.upload(tok, fs.SeqID))
	if err != nil {
		t.Fatal(err)
	}
	if out.Success || out.Attempt != 1 || out.Status != store.StatusProcessing {
		t.Fatalf("attack outcome %+v", out)
	}
	// Used once, on whichever node.
	for name, m := range map[string]*Manager{"A": h.m, "B": b} {
		if _, err := m.ValidateFlash(ctx, attack.upload(tok, fs.SeqID)); !errors.Is(err, ErrSeqID) {
			t.Errorf("reuse on %s: %v, want ErrSeqID", name, err)
		}
	}

	// A newer start_flash on B replaces A's sequence.
	old, err := h.m.StartFlash(ctx, tok, ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	h.nextChallenge(6)
	fs, err = b.StartFlash(ctx, tok, ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	ch := liveness.NewChallenge(predictB, 6)
	if fs.SeqID != ch.SeqID {
		t.Fatalf("B's sequence %s, predicted %s", fs.SeqID, ch.SeqID)
	}
	genuine := h.render(flashsim.Genuine, ch, 52)
	if _, err := b.ValidateFlash(ctx, genuine.upload(tok, old.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("replaced sequence: %v, want ErrSeqID", err)
	}
	// Another token's upload does not use the sequence up.
	other := h.token(3)
	if _, err := b.StartFlash(ctx, other, ConnInfo{}); err != nil {
		t.Fatal(err)
	}
	liveness.NewChallenge(predictB, 6)
	if _, err := h.m.ValidateFlash(ctx, genuine.upload(other, fs.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("another token's sequence: %v, want ErrSeqID", err)
	}
	// Started on B, validated on A.
	out, err = h.m.ValidateFlash(ctx, genuine.upload(tok, fs.SeqID))
	if err != nil {
		t.Fatal(err)
	}
	// Three sequences were drawn: three attempts.
	if !out.Success || out.Attempt != 3 || out.Status != store.StatusOK {
		t.Fatalf("genuine outcome %+v", out)
	}
}

func TestChallengeRecord(t *testing.T) {
	rng := newPCG(3)
	started := liveness.NewChallenge(rng, 6)
	started.Start = time.Date(2026, 5, 1, 9, 0, 0, 123456789, time.UTC)
	for name, ch := range map[string]liveness.Challenge{
		"4 colours": liveness.NewChallenge(rng, 4),
		"6 colours": liveness.NewChallenge(rng, 6),
		"8 colours": liveness.NewChallenge(rng, 8),
		"started":   started,
	} {
		b, err := encodeChallenge(ch)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeChallenge(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, ch) {
			t.Errorf("%s: round trip\n%+v\nwant\n%+v", name, got, ch)
		}
	}
	for name, b := range map[string]string{
		"not JSON":        `colours`,
		"no colours":      `{"seq_id":"s","colors":[],"holds_ns":[]}`,
		"holds too short": `{"seq_id":"s","colors":[{"name":"red","r":255,"g":0,"b":0}],"holds_ns":[]}`,
	} {
		if _, err := decodeChallenge([]byte(b)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// stallClaim is a store whose ClaimCapture of one token waits until
// release is closed: a database stalled on that claim.
type stallClaim struct {
	*sqlite.DB
	token   string // set before any hello
	entered chan struct{}
	release chan struct{}
}

func (s *stallClaim) ClaimCapture(ctx context.Context, token, owner string) error {
	if token == s.token {
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.DB.ClaimCapture(ctx, token, owner)
}

// A claim stuck in the store holds up hellos for its own token only.
func TestStuckClaimDelaysOnlyItsToken(t *testing.T) {
	st := &stallClaim{entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := newHarness(t, func(c *Config) {
		st.DB = c.Store.(*sqlite.DB)
		c.Store = st
	})
	release := sync.OnceFunc(func() { close(st.release) })
	t.Cleanup(release) // before the harness's cleanup, which waits for the sessions
	stuck, free := h.token(3), h.token(3)
	st.token = stuck

	a := h.connect("")
	a.send(&Hello{Token: stuck, SDKVersion: "test", Screen: Screen{W: 390, H: 844, DPR: 3}})
	select {
	case <-st.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the claim of the stuck token did not reach the store")
	}
	b := h.connect("")
	b.hello(free) // fails the test if it waits for a's claim
	if msgs := b.next(); b.closeCode() != 0 || len(msgs) == 0 {
		t.Fatalf("hello for another token: close %d, messages %+v", b.closeCode(), msgs)
	} else if _, ok := msgs[0].m.(*ConfigMessage); !ok {
		t.Fatalf("hello for another token answered %+v, want its config", msgs[0].m)
	}
	if got := len(a.all()); got != 0 {
		t.Fatalf("the stuck hello was answered (%d messages) before its claim returned", got)
	}

	release()
	a.sync()
	if msgs := a.next(); a.closeCode() != 0 || len(msgs) == 0 {
		t.Fatalf("stuck hello after the store answered: close %d, messages %+v", a.closeCode(), msgs)
	} else if _, ok := msgs[0].m.(*ConfigMessage); !ok {
		t.Fatalf("stuck hello answered %+v, want its config", msgs[0].m)
	}
	if n := h.m.Live(); n != 2 {
		t.Fatalf("%d live sessions, want 2", n)
	}
}

// tokenLocks excludes within a token and forgets a token once nobody
// holds or waits for it.
func TestTokenLocks(t *testing.T) {
	var l tokenLocks
	unlockX := l.lock("x")
	unlockY := l.lock("y") // another token: not held up by x
	got := make(chan func())
	go func() { got <- l.lock("x") }()
	select {
	case <-got:
		t.Fatal("x locked twice at once")
	case <-time.After(20 * time.Millisecond):
	}
	unlockX()
	var unlockX2 func()
	select {
	case unlockX2 = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the waiter did not get x once it was unlocked")
	}
	unlockY()
	unlockX2()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) != 0 {
		t.Fatalf("%d tokens left in the map after every unlock", len(l.m))
	}
}
