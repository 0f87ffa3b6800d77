package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// fakeClock moves only when the test says so; timers fire in order of
// their due times, each at exactly that time (see harness.advance).
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	pending bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f, pending: true}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.pending
	t.pending = false
	return was
}

// popDue removes the earliest pending timer due at or before limit and
// moves the clock to its time.
func (c *fakeClock) popDue(limit time.Time) *fakeTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return !t.pending })
	var best *fakeTimer
	for _, t := range c.timers {
		if !t.at.After(limit) && (best == nil || t.at.Before(best.at)) {
			best = t
		}
	}
	if best != nil {
		best.pending = false
		if best.at.After(c.now) {
			c.now = best.at
		}
	}
	return best
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

var errFakeClosed = errors.New("fake connection closed")

// sent is one outbound message with the (fake) time it was sent.
type sent struct {
	m  Outbound
	at time.Time
}

// fakeConn is the client end of a session: the test pushes inbound
// messages and reads what the session sent.
type fakeConn struct {
	clk    *fakeClock
	in     chan Inbound
	closed chan struct{}

	mu     sync.Mutex
	out    []sent
	code   int
	reason string
	once   sync.Once
}

func (c *fakeConn) Read(ctx context.Context) (Inbound, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.closed:
		return nil, errFakeClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *fakeConn) Send(ctx context.Context, m Outbound) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.code != 0 {
		return errFakeClosed
	}
	c.out = append(c.out, sent{m, c.clk.Now()})
	return nil
}

func (c *fakeConn) Close(code int, reason string) error {
	c.once.Do(func() {
		c.mu.Lock()
		c.code, c.reason = code, reason
		c.mu.Unlock()
		close(c.closed)
	})
	return nil
}

// pcgReader is a reproducible byte stream for challenges.
type pcgReader struct{ r *rand.Rand }

func newPCG(seed uint64) *pcgReader { return &pcgReader{rand.New(rand.NewPCG(seed, 77))} }

func (p *pcgReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.r.Uint32())
	}
	return len(b), nil
}

// harness is a Manager on a fake clock and a temporary SQLite store,
// with the fake analyzer.
type harness struct {
	// scale enlarges rendered frames (nearest neighbour) before encoding,
	// for the real detector, which misses faces at the simulator's 144 px.
	scale   int
	t       *testing.T
	clk     *fakeClock
	db      *sqlite.DB
	an      *sessiontest.Analyzer
	m       *Manager
	predict *pcgReader // the same stream as the manager's challenges
	clients []*client
	// subject, when set, replaces the simulator's first subject in
	// render, and cover, when set, paints over every rendered frame
	// before it is encoded.
	subject *flashsim.Subject
	cover   func(img *face.RGB, f *face.Face)
}

type harnessOpt func(*Config)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	clk := &fakeClock{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	db := sqlite.New(filepath.Join(t.TempDir(), "glint.db"))
	db.Now = clk.Now
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, clk: clk, db: db, an: sessiontest.NewAnalyzer(), predict: newPCG(1)}
	cfg := Config{
		Store:    db,
		Analyzer: h.an,
		Clock:    clk,
		Rand:     newPCG(1),
		Logger:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	t.Cleanup(func() {
		for _, c := range h.clients {
			c.conn.Close(CloseNormal, "test over")
			<-c.done
		}
	})
	return h
}

// token creates a verification of a new key whose reference is person 0.
func (h *harness) token(maxUploads int, origins ...string) string {
	h.t.Helper()
	return h.tokenWithRef(maxUploads, store.Reference{Index: 1, Model: sessiontest.Model, Embedding: sessiontest.Identity(0), Crop: []byte{1}}, origins...)
}

// tokenWithRef creates a verification with the given reference.
func (h *harness) tokenWithRef(maxUploads int, ref store.Reference, origins ...string) string {
	h.t.Helper()
	return h.tokenWith(maxUploads, ref, nil, origins...)
}

// tokenWith creates a verification with the given reference, which mod
// (when set) changes before it is stored.
func (h *harness) tokenWith(maxUploads int, ref store.Reference, mod func(*store.Verification), origins ...string) string {
	h.t.Helper()
	ctx := context.Background()
	keyID := "key-" + h.t.Name()
	if _, err := h.db.Key(ctx, keyID); errors.Is(err, store.ErrNotFound) {
		if err := h.db.CreateKey(ctx, &store.Key{ID: keyID, SecretHash: []byte("x"), Concurrency: 1, AllowedOrigins: origins}); err != nil {
			h.t.Fatal(err)
		}
	}
	now := h.clk.Now()
	tok := newTokenName()
	v := &store.Verification{
		Token: tok, KeyID: keyID, UUID: "u", ColorNumber: 6, LivenessPreferences: "none",
		Language: "0", ProcedureType: "raw_flash", ComparisonType: "0", MaxUploadTimes: maxUploads,
		LifeTime: time.Hour, Status: store.StatusNotStarted, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		Refs: []store.Reference{ref},
	}
	if mod != nil {
		mod(v)
	}
	if err := h.db.CreateVerification(ctx, v); err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// allowUpload sets the upload-fallback opt-in of the test's key (created
// by token, off by default as for every key).
func (h *harness) allowUpload(on bool) {
	h.t.Helper()
	ctx := context.Background()
	k, err := h.db.Key(ctx, "key-"+h.t.Name())
	if err != nil {
		h.t.Fatal(err)
	}
	k.AllowUploadFallback = on
	if err := h.db.UpdateKey(ctx, k); err != nil {
		h.t.Fatal(err)
	}
}

var tokenSeq atomic.Int64

func newTokenName() string { return fmt.Sprintf("tok-%d", tokenSeq.Add(1)) }

// client is one connection to the manager.
type client struct {
	h    *harness
	conn *fakeConn
	done chan struct{}
	seen int
}

func (h *harness) connect(origin string) *client { return h.connectTo(h.m, origin) }

// connectTo connects to m, which may be another node's manager on the
// harness's store and clock (see node).
func (h *harness) connectTo(m *Manager, origin string) *client {
	return h.connectInfo(m, ConnInfo{Origin: origin})
}

// connectInfo connects to m as the client info describes.
func (h *harness) connectInfo(m *Manager, info ConnInfo) *client {
	c := &client{
		h:    h,
		conn: &fakeConn{clk: h.clk, in: make(chan Inbound, 256), closed: make(chan struct{})},
		done: make(chan struct{}),
	}
	go func() {
		defer close(c.done)
		m.Serve(context.Background(), c.conn, info)
	}()
	h.clients = append(h.clients, c)
	c.sync() // the session is up, its hello timer armed
	return c
}

func (c *client) send(m Inbound) { c.conn.in <- m }

// sync waits until the session has handled everything sent before and
// its analysis is idle (or the session has ended).
func (c *client) sync() {
	c.h.t.Helper()
	done := make(chan struct{})
	select {
	case c.conn.in <- &syncMsg{done: done}:
	case <-c.done:
		return
	}
	select {
	case <-done:
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.h.t.Fatal("session did not settle")
	}
}

func (h *harness) syncAll() {
	for _, c := range h.clients {
		c.sync()
	}
}

// advance moves the clock by d, firing due timers one at a time at their
// own time and letting the sessions handle each before the next.
func (h *harness) advance(d time.Duration) { h.advanceTo(h.clk.Now().Add(d)) }

func (h *harness) advanceTo(t time.Time) {
	for {
		tm := h.clk.popDue(t)
		if tm == nil {
			break
		}
		tm.f()
		h.syncAll()
	}
	h.clk.set(t)
	h.syncAll()
}

// next returns the messages sent since the last call.
func (c *client) next() []sent {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	out := c.conn.out[c.seen:]
	c.seen = len(c.conn.out)
	return out
}

// all returns every message sent so far.
func (c *client) all() []sent {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	return append([]sent(nil), c.conn.out...)
}

func (c *client) closeCode() int {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	return c.conn.code
}

// hello opens the session as the SDK does: hello, then its report on a
// front camera in a browser that raises no injection signal.
func (c *client) hello(token string) {
	c.send(&Hello{Token: token, SDKVersion: "test", Screen: Screen{W: 390, H: 844, DPR: 3}})
	c.send(cameraEnv())
	c.sync()
}

// cameraEnv is the report of an SDK filming with a phone's front camera.
func cameraEnv() *Env {
	return &Env{Track: Track{Label: "camera2 1, facing front", Source: "camera", DeviceID: true, FacingMode: "user",
		Width: 640, Height: 480, FrameRate: 30}}
}

// ms is a fake-clock time as client epoch milliseconds.
func ms(t time.Time) float64 { return float64(t.UnixNano()) / 1e6 }

// sim is one rendered sequence, encoded and registered with the analyzer.
type sim struct {
	seq      flashsim.Sequence
	jpegs    [][]byte
	baseline []int // frames captured before the first colour
}

func (h *harness) render(species string, ch liveness.Challenge, seed uint64) *sim {
	h.t.Helper()
	subs := sessiontest.Subjects(h.t)
	first := subs[0]
	if h.subject != nil {
		first = h.subject
	}
	seq, err := flashsim.Render(rand.New(rand.NewPCG(seed, 3)), species, ch, first, subs[1])
	if err != nil {
		h.t.Fatal(err)
	}
	s := &sim{seq: seq}
	for i, f := range seq.Frames {
		img, fc := f.Img, *f.Face
		if h.cover != nil {
			img = &face.RGB{W: img.W, H: img.H, Pix: append([]uint8(nil), img.Pix...)}
			h.cover(img, &fc)
		}
		if h.scale > 1 {
			img, fc = upscale(img, fc, h.scale)
		}
		s.jpegs = append(s.jpegs, h.an.EncodeFrame(h.t, img, []face.Face{fc}, sessiontest.Identity(0)))
		if f.T.Before(seq.Shown[0].Add(-50 * time.Millisecond)) {
			s.baseline = append(s.baseline, i)
		}
	}
	return s
}

// blank is a frame without a face.
func (h *harness) blank() []byte {
	img := face.NewRGB(144, 144)
	for i := range img.Pix {
		img.Pix[i] = 90
	}
	return h.an.EncodeFrame(h.t, img, nil, nil)
}

// nextChallenge predicts the manager's next challenge of n colours.
func (h *harness) nextChallenge(n int) liveness.Challenge {
	return liveness.NewChallenge(h.predict, n)
}

// preview sends a preview frame captured now.
func (c *client) frame(kind, colour int, captureMs float64, jpeg []byte) {
	c.send(&Frame{Kind: kind, ColorIndex: colour, CaptureMs: captureMs, JPEG: jpeg})
}

// uplink is the simulated delay from capture to arrival.
const uplink = 15 * time.Millisecond

// toGate sends s's pre-flash frames as previews, 5 a second, until the
// gate passes (a config asking for dense frames) or limit passes.
func (c *client) toGate(s *sim, limit time.Duration) bool {
	h := c.h
	end := h.clk.Now().Add(limit)
	for k := 0; h.clk.Now().Before(end); k++ {
		c.frame(KindPreview, 0, ms(h.clk.Now().Add(-uplink)), s.jpegs[s.baseline[k%len(s.baseline)]])
		c.sync()
		for _, m := range c.peek() {
			if cm, ok := m.m.(*ConfigMessage); ok && cm.Capture.PreviewFPS == h.m.cfg.Params.BaselineCapture.PreviewFPS {
				return true
			}
		}
		h.advance(200 * time.Millisecond)
	}
	return false
}

// peek returns every message without consuming.
func (c *client) peek() []sent {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	return append([]sent(nil), c.conn.out[c.seen:]...)
}

// playResult is what playing a sequence produced.
type playResult struct {
	result *ResultMessage
	colors []*ColorMessage
}

// play runs one attempt from the gate on: dense previews until the first
// colour, then the rendered frames on the fake clock, acknowledging each
// colour as the sequence shows it. stopAfter, when positive, stops
// sending frames once that many colours were shown.
func (c *client) play(s *sim, stopAfter int) playResult { return c.playUntil(s, stopAfter, nil) }

// playUntil is play, returning as soon as a colour message satisfies
// until (when set), with the clock where that message was sent.
func (c *client) playUntil(s *sim, stopAfter int, until func(*ColorMessage) bool) playResult {
	h := c.h
	var pr playResult
	period := time.Second / time.Duration(h.m.cfg.Params.BaselineCapture.PreviewFPS)
	var first *sent
	for k := 0; first == nil; k++ {
		if k > 100 {
			h.t.Fatal("no first colour")
		}
		c.frame(KindPreview, 0, ms(h.clk.Now().Add(-uplink)), s.jpegs[s.baseline[k%len(s.baseline)]])
		c.sync()
		for _, m := range c.peek() {
			if cm, ok := m.m.(*ColorMessage); ok && cm.Status == ColorColoring && cm.Index == 1 {
				first = &m
			}
		}
		if first == nil {
			h.advance(period)
		}
	}
	lastSent := ms(h.clk.Now().Add(-uplink))
	// The page paints 20 ms after the colour is sent.
	shift := first.at.Add(20 * time.Millisecond).Sub(s.seq.Shown[0])
	acked := 0
	stopped := false
	handle := func() {
		for _, m := range c.next() {
			switch mm := m.m.(type) {
			case *ColorMessage:
				pr.colors = append(pr.colors, mm)
				if until != nil && until(mm) {
					stopped = true
				}
				if mm.Status == ColorColoring {
					c.send(&Shown{SeqID: mm.SeqID, Index: mm.Index, TClientMs: ms(s.seq.Shown[mm.Index-1].Add(shift))})
					acked = mm.Index
				}
			case *ResultMessage:
				pr.result = mm
			}
		}
	}
	handle()
	blank := h.blank()
	for i, f := range s.seq.Frames {
		if pr.result != nil || stopped {
			break
		}
		jpg := s.jpegs[i]
		if stopAfter > 0 && acked >= stopAfter {
			// The person has left: the camera goes on, without a face.
			jpg = blank
		}
		capture := f.T.Add(shift)
		if ms(capture) <= lastSent {
			continue
		}
		h.advanceTo(capture.Add(uplink))
		handle()
		colour := 0
		for j, sh := range s.seq.Shown {
			if !f.T.Before(sh) {
				colour = j + 1
			}
		}
		c.frame(KindFlash, colour, ms(capture), jpg)
		c.sync()
		handle()
	}
	for range 100 {
		if pr.result != nil || stopped {
			break
		}
		select {
		case <-c.done:
			handle()
			return pr
		default:
		}
		h.advance(100 * time.Millisecond)
		handle()
	}
	return pr
}

// upscale enlarges img k times by pixel repetition, with its face.
func upscale(img *face.RGB, f face.Face, k int) (*face.RGB, face.Face) {
	out := face.NewRGB(img.W*k, img.H*k)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			copy(out.Pix[3*(y*out.W+x):][:3], img.Pix[3*((y/k)*img.W+x/k):][:3])
		}
	}
	s := float64(k)
	for i, p := range f.Landmarks {
		f.Landmarks[i] = face.Point{X: p.X * s, Y: p.Y * s}
	}
	f.Box = face.Rect{X: f.Box.X * s, Y: f.Box.Y * s, W: f.Box.W * s, H: f.Box.H * s}
	return out, f
}
