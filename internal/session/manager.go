package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/store"
)

// Store is the part of store.Store the capture flow uses, the capture
// state nodes share (store.CaptureStore: which connection owns a token's
// capture, and the fallback's pending sequences) included.
type Store interface {
	store.CaptureStore

	Key(ctx context.Context, id string) (*store.Key, error)
	Verification(ctx context.Context, token string) (*store.Verification, error)
	BeginCapture(ctx context.Context, token string, now time.Time) (*store.Verification, error)
	CountAttempt(ctx context.Context, token string, now time.Time) (int, error)
	SaveLiveness(ctx context.Context, token string, lr *store.LivenessResult) error
	FinishVerification(ctx context.Context, token string, o *store.Outcome) error
	ExpireVerifications(ctx context.Context, now time.Time, token string) (int, error)
	Result(ctx context.Context, token string) (*store.Result, error)
	SaveRecording(ctx context.Context, r *store.Recording) error
}

// Params are the channel's timings and limits. The zero value of each
// field selects its default.
type Params struct {
	// HelloTimeout is how long a new connection may take to say hello
	// (default 5 s, spec §2.3.1).
	HelloTimeout time.Duration
	// MirrorTimeout ends the verification (FAILED) when the mirror gate
	// has not passed in this long (default 30 s, spec §1 step 5).
	MirrorTimeout time.Duration
	// GoodFrames is how many good mirror frames in a row pass the gate
	// (default 3: 0.6 s at 5 fps).
	GoodFrames int
	// BaselineDuration is how long the dense pre-flash capture lasts
	// between the gate and the first colour (default 600 ms).
	BaselineDuration time.Duration
	// FaceLostTimeout abandons a sequence (RESET) when no frame has shown
	// one face for this long (default 1.2 s).
	FaceLostTimeout time.Duration
	// TailGrace is how long after DONE frames still in flight are
	// awaited before evaluation (default 400 ms).
	TailGrace time.Duration
	// DetectEvery is the capture-time interval between full face
	// detections during an attempt (default 250 ms).
	DetectEvery time.Duration
	// MaxFrameDelay drops attempt frames that arrive later than this
	// after their (mapped) capture time (default 1 s): it bounds how far
	// a client can shift its timestamps.
	MaxFrameDelay time.Duration
	// AckTolerance is the slack, beyond the latency the clock mapping
	// measured, allowed between a shown acknowledgement and the server's
	// own times (default 100 ms).
	AckTolerance time.Duration
	// MaxFrameBytes and MaxFrameSide bound a frame's JPEG (defaults
	// 1 MiB and 1920 px).
	MaxFrameBytes int
	MaxFrameSide  int
	// MaxAttemptFrames caps the frames one attempt keeps (default 200:
	// eight 600 ms colours at 20 fps with the baseline and tail need
	// about 130).
	MaxAttemptFrames int
	// MirrorCapture and BaselineCapture are the capture settings sent
	// for the mirror stage and from the gate to the end of the flashes.
	MirrorCapture, BaselineCapture Capture
	// SeqTTL is how long a fallback sequence stays valid (default 120 s,
	// spec §2.3.2).
	SeqTTL time.Duration
	// MaxUploadSpan bounds the time an uploaded sequence covers (default
	// 15 s).
	MaxUploadSpan time.Duration
	// OwnerCheckInterval is how often a connection asks the store whether
	// a newer connection, possibly on another node, has claimed its token
	// (default 1 s). It bounds how long two connections of one token
	// both run; a store read each time, so not per frame.
	OwnerCheckInterval time.Duration
}

func (p Params) withDefaults() Params {
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	num := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&p.HelloTimeout, 5*time.Second)
	dur(&p.MirrorTimeout, 30*time.Second)
	num(&p.GoodFrames, 3)
	dur(&p.BaselineDuration, 600*time.Millisecond)
	dur(&p.FaceLostTimeout, 1200*time.Millisecond)
	dur(&p.TailGrace, 400*time.Millisecond)
	dur(&p.DetectEvery, 250*time.Millisecond)
	dur(&p.MaxFrameDelay, time.Second)
	dur(&p.AckTolerance, 100*time.Millisecond)
	num(&p.MaxFrameBytes, 1<<20)
	num(&p.MaxFrameSide, 1920)
	num(&p.MaxAttemptFrames, 200)
	dur(&p.SeqTTL, 120*time.Second)
	dur(&p.MaxUploadSpan, 15*time.Second)
	dur(&p.OwnerCheckInterval, time.Second)
	if p.MirrorCapture == (Capture{}) {
		// Small and slow: the framing check looks at one frame at a time.
		p.MirrorCapture = Capture{PreviewFPS: 5, PreviewMaxSide: 480, FlashMaxSide: 640, FlashMaxFPS: 20, JPEGQuality: 0.85}
	}
	if p.BaselineCapture == (Capture{}) {
		// From the gate on, preview frames come at the flash size and
		// often enough to serve as the analysis baseline: the SDK sends
		// flash frames only once the first colour arrives.
		p.BaselineCapture = Capture{PreviewFPS: 15, PreviewMaxSide: 640, FlashMaxSide: 640, FlashMaxFPS: 20, JPEGQuality: 0.85}
	}
	return p
}

// DefaultPassiveThreshold is the live probability the passive check
// needs unless Config.Liveness sets one. It is below liveness's own
// default (0.5) because human's anti-spoof model gives photographs of
// real faces as little as 0.454 (the 22 faces of the sample photos:
// median 0.683, TestAntiSpoofSamples), and a veto must not fall on
// genuine users; the reflection analysis stays the primary decision.
const DefaultPassiveThreshold = 0.35

// Config is what a Manager needs. Store and Analyzer are required.
type Config struct {
	Store    Store
	Analyzer FaceAnalyzer
	// Passive, when set, scores the best frame; its probability becomes
	// Analyze's passive check (Options.Passive).
	Passive PassiveScorer
	// Liveness tunes the analysis; Passive is filled in per attempt.
	Liveness liveness.Options
	// Seal, when set, seals a recorded attempt for the recording id
	// (auth.Keyring.SealRecording); the attempts of keys that record
	// (store.Key.RecordAttempts) are recorded only when it is set.
	Seal   func(id string, plain []byte) ([]byte, error)
	Gate   Gate
	Params Params
	// Clock defaults to SystemClock.
	Clock Clock
	// Rand is the challenges' randomness; defaults to crypto/rand. Tests
	// pass a seeded stream to know the colours in advance.
	Rand   io.Reader
	Logger *slog.Logger
}

// Manager runs the capture channel's sessions and the HTTP fallback. A
// newer connection for a token supersedes the older (spec §5.4 item 10):
// through the store's capture owner wherever the older one is served, and
// at once, through the live map, when it is served by this process. The
// fallback's pending sequences are in the store too, so that
// validate_flash may reach another node than start_flash did.
type Manager struct {
	cfg Config

	// claimLocks serialises the claims of each token (see claim).
	claimLocks tokenLocks

	mu     sync.Mutex
	live   map[string]*Session
	randMu sync.Mutex

	// runMu guards running and closing. running counts what may still
	// use the store on a session's behalf: Serve calls and background
	// ownership checks. stopping is closed when Shutdown begins, drained
	// once running is zero after that.
	runMu    sync.Mutex
	running  int
	closing  bool
	stopping chan struct{}
	drained  chan struct{}
}

// NewManager returns a Manager for cfg.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.Analyzer == nil {
		return nil, errors.New("session: Store and Analyzer are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Liveness.PassiveThreshold == 0 {
		cfg.Liveness.PassiveThreshold = DefaultPassiveThreshold
	}
	cfg.Gate = cfg.Gate.withDefaults()
	cfg.Params = cfg.Params.withDefaults()
	m := &Manager{cfg: cfg, live: map[string]*Session{}, stopping: make(chan struct{}), drained: make(chan struct{})}
	return m, nil
}

// Params returns the parameters the manager runs with, defaults filled.
func (m *Manager) Params() Params { return m.cfg.Params }

// newChallenge draws a challenge; the reader is shared, so draws are
// serialised to keep a seeded stream reproducible.
func (m *Manager) newChallenge(n int) liveness.Challenge {
	m.randMu.Lock()
	defer m.randMu.Unlock()
	return liveness.NewChallenge(m.cfg.Rand, n)
}

// register makes s the live session of its token and returns the one it
// supersedes, if any.
func (m *Manager) register(token string, s *Session) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.live[token]
	m.live[token] = s
	return old
}

// unregister forgets s if it is still its token's live session.
func (m *Manager) unregister(token string, s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[token] == s {
		delete(m.live, token)
	}
}

// Live returns the number of connections with a session.
func (m *Manager) Live() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

// enter counts one piece of session work that may use the store; it
// reports false, counting nothing, once Shutdown has begun. Each true
// needs a leave.
func (m *Manager) enter() bool {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.closing {
		return false
	}
	m.running++
	return true
}

func (m *Manager) leave() {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	m.running--
	if m.closing && m.running == 0 {
		close(m.drained)
	}
}

// Shutdown ends every session and waits, until ctx ends, for them to
// finish. Each session is told at once: a sequence whose colours have all
// been shown is still evaluated (its attempt is counted already), one cut
// short is counted as an attempt (as when the person leaves), and the
// client gets NETWORK_ERROR and close 1001, so that the page offers to
// try again. Connections that arrive later are closed with 1001 without
// touching the store. When Shutdown returns nil, no session will use the
// store again, so the caller may close it; an error says how many were
// still running when ctx ended. The HTTP fallback's calls are requests
// like any other and are not waited for here.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.runMu.Lock()
	if !m.closing {
		m.closing = true
		close(m.stopping)
		if m.running == 0 {
			close(m.drained)
		}
	}
	m.runMu.Unlock()
	select {
	case <-m.drained:
		return nil
	case <-ctx.Done():
		m.runMu.Lock()
		n := m.running
		m.runMu.Unlock()
		return fmt.Errorf("session: %d sessions still running: %w", n, ctx.Err())
	}
}
