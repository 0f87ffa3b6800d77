package session

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store"
)

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func withLog(logs *logtest.Buffer) harnessOpt {
	return func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) }
}

// toColour plays s until the colour message until accepts (the gate
// included), and fails the test if it never comes.
func (c *client) toColour(s *sim, until func(*ColorMessage) bool) {
	c.h.t.Helper()
	if !c.toGate(s, 5*time.Second) {
		c.h.t.Fatal("the gate did not pass")
	}
	pr := c.playUntil(s, 0, until)
	if len(pr.colors) == 0 || !until(pr.colors[len(pr.colors)-1]) {
		c.h.t.Fatalf("colours %+v, result %+v: the awaited colour never came", pr.colors, pr.result)
	}
}

func closedWith(t *testing.T, name string, c *client, code int, errCode string) {
	t.Helper()
	// Closed before Serve counts as done (its last step), so at once.
	if got := c.closeCode(); got != code {
		t.Errorf("%s: close code %d, want %d", name, got, code)
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: Serve still running", name)
	}
	e := findErr(c.all())
	switch {
	case errCode == "" && e != nil:
		t.Errorf("%s: error message %+v, want none", name, e)
	case errCode != "" && (e == nil || e.Code != errCode || e.Message == ""):
		t.Errorf("%s: error message %+v, want %s with a text", name, e, errCode)
	}
}

// TestShutdown ends sessions at every stage: each is closed with 1001
// and told NETWORK_ERROR, a challenge that was shown is counted, one not
// yet drawn is not, Shutdown returns only once every Serve has, and a
// connection arriving afterwards is turned away without the store.
func TestShutdown(t *testing.T) {
	h := newHarness(t)

	silent := h.connect("") // no hello yet

	mirrorTok := h.token(3)
	mirror := h.connect("")
	mirror.hello(mirrorTok)

	flashTok := h.token(3)
	flash := h.connect("")
	flash.hello(flashTok)
	flash.toColour(h.render(flashsim.Genuine, h.nextChallenge(6), 1), func(m *ColorMessage) bool {
		return m.Status == ColorColoring && m.Index == 2
	})

	lastTok := h.token(1)
	last := h.connect("")
	last.hello(lastTok)
	last.toColour(h.render(flashsim.Genuine, h.nextChallenge(6), 2), func(m *ColorMessage) bool {
		return m.Status == ColorColoring && m.Index == 1
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.m.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range []struct {
		name string
		c    *client
	}{{"before hello", silent}, {"mirror", mirror}, {"flash", flash}, {"last attempt", last}} {
		closedWith(t, c.name, c.c, CloseGoingAway, CodeNetworkError)
	}
	if n := h.m.Live(); n != 0 {
		t.Errorf("%d sessions live after Shutdown", n)
	}

	if r := h.result(mirrorTok); r.Status != store.StatusProcessing || r.Attempts != 0 {
		t.Errorf("mirror-stage token: status %s, %d attempts; want PROCESSING, none spent", r.Status, r.Attempts)
	}
	if r := h.result(flashTok); r.Status != store.StatusProcessing || r.Attempts != 1 {
		t.Errorf("mid-flash token: status %s, %d attempts; want PROCESSING with the shown challenge spent", r.Status, r.Attempts)
	}
	if r := h.result(lastTok); r.Status != store.StatusFailed || r.Attempts != 1 {
		t.Errorf("token on its last attempt: status %s, %d attempts; want FAILED", r.Status, r.Attempts)
	}

	// After Shutdown: closed at once, the token untouched.
	tok := h.token(3)
	late := h.connect("")
	late.hello(tok)
	<-late.done
	closedWith(t, "after Shutdown", late, CloseGoingAway, "")
	if r := h.result(tok); r.Status != store.StatusNotStarted {
		t.Errorf("a connection after Shutdown moved its token to %s", r.Status)
	}
	if err := h.m.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// TestShutdownDecidesTail: a sequence whose colours have all been shown
// when the server begins shutting down is evaluated before the session
// ends, instead of dropping an attempt already counted.
func TestShutdownDecidesTail(t *testing.T) {
	logs := &logtest.Buffer{}
	h := newHarness(t, withLog(logs))
	tok := h.token(3)
	c := h.connect("")
	c.hello(tok)
	c.toColour(h.render(flashsim.Genuine, h.nextChallenge(6), 1), func(m *ColorMessage) bool { return m.Status == ColorDone })

	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errc <- h.m.Shutdown(ctx)
	}()
	// The session hears of it while the tail timer is still pending (the
	// fake clock stands still), then the tail runs out.
	waitFor(t, "the session to hear of the shutdown", func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, `"msg":"rtc shutdown"`) && strings.Contains(l, `"tail":true`) {
				return true
			}
		}
		return false
	})
	h.advance(h.m.cfg.Params.TailGrace)
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	var res *ResultMessage
	for _, m := range c.all() {
		if r, ok := m.m.(*ResultMessage); ok {
			res = r
		}
	}
	if res == nil || !res.Success {
		t.Fatalf("result %+v: the attempt in its tail was not decided", res)
	}
	closedWith(t, "tail", c, CloseNormal, "")
	if r := h.result(tok); r.Status != store.StatusOK || r.Attempts != 1 {
		t.Errorf("stored: status %s, %d attempts; want OK after one", r.Status, r.Attempts)
	}
}

// stuckConn is a fakeConn whose Close waits until release is closed: a
// close handshake with a client that does not answer.
type stuckConn struct {
	*fakeConn
	release chan struct{}
}

func (c *stuckConn) Close(code int, reason string) error {
	<-c.release
	return c.fakeConn.Close(code, reason)
}

// TestShutdownBounded: Shutdown gives up when its context ends, saying how
// many sessions still run, and succeeds once they are done.
func TestShutdownBounded(t *testing.T) {
	h := newHarness(t)
	conn := &stuckConn{fakeConn: &fakeConn{clk: h.clk, in: make(chan Inbound, 8), closed: make(chan struct{})}, release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.m.Serve(context.Background(), conn, ConnInfo{})
	}()
	waitFor(t, "the session to start", func() bool {
		h.m.runMu.Lock()
		defer h.m.runMu.Unlock()
		return h.m.running == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := h.m.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 sessions") {
		t.Fatalf("Shutdown with a session stuck closing: %v", err)
	}
	close(conn.release)
	<-done
	if err := h.m.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown once the session ended: %v", err)
	}
}

// panicky is the test analyzer, panicking on the frames of bombSide
// pixels a side: a crafted frame that trips a bug in the analysis.
type panicky struct {
	*sessiontest.Analyzer
	panics atomic.Int64
}

const bombSide = 77

func (a *panicky) check(img *face.RGB) {
	if img.W == bombSide {
		a.panics.Add(1)
		panic("analysis bug")
	}
}

func (a *panicky) Detect(img *face.RGB) []face.Face {
	a.check(img)
	return a.Analyzer.Detect(img)
}

func (a *panicky) Track(img *face.RGB, box face.Rect) face.Face {
	a.check(img)
	return a.Analyzer.Track(img, box)
}

func bombJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, bombSide, bombSide))
	for i := range img.Pix {
		img.Pix[i] = 120
	}
	img.Set(3, 3, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPanicEndsOnlySession: a panic while a session's frame is analysed
// ends that session with INTERNAL_ERROR and close 1011, logs the stack,
// spends a shown challenge, and leaves the process and the other sessions
// running.
func TestPanicEndsOnlySession(t *testing.T) {
	logs := &logtest.Buffer{}
	an := &panicky{}
	h := newHarness(t, withLog(logs), func(c *Config) {
		an.Analyzer = c.Analyzer.(*sessiontest.Analyzer)
		c.Analyzer = an
	})
	bomb := bombJPEG(t)

	otherTok := h.token(3)
	other := h.connect("")
	other.hello(otherTok)

	// In the mirror stage (the worker's mirror job).
	tok := h.token(3)
	c := h.connect("")
	c.hello(tok)
	c.frame(KindPreview, 0, ms(h.clk.Now().Add(-uplink)), bomb)
	c.sync()
	<-c.done
	if an.panics.Load() != 1 {
		t.Fatalf("%d panics, want 1", an.panics.Load())
	}
	if c.closeCode() != CloseInternal {
		t.Errorf("close code %d after a panic, want %d", c.closeCode(), CloseInternal)
	}
	if e := findErr(c.all()); e == nil || e.Code != CodeInternalError {
		t.Errorf("error message %+v, want INTERNAL_ERROR", e)
	}
	log := logs.String()
	if !strings.Contains(log, `"level":"ERROR","msg":"rtc panic","client"`) || !strings.Contains(log, "analysis bug") ||
		!strings.Contains(log, "panicky).Detect") {
		t.Errorf("no error log with the panic's stack:\n%s", log)
	}
	if r := h.result(tok); r.Attempts != 0 || r.Status != store.StatusProcessing {
		t.Errorf("after a panic in the mirror stage: status %s, %d attempts", r.Status, r.Attempts)
	}

	// Mid-flash (the tracker's capture job): the challenge is spent.
	flashTok := h.token(3)
	f := h.connect("")
	f.hello(flashTok)
	f.toColour(h.render(flashsim.Genuine, h.nextChallenge(6), 3), func(m *ColorMessage) bool {
		return m.Status == ColorColoring && m.Index == 2
	})
	f.frame(KindFlash, 2, ms(h.clk.Now().Add(-uplink)), bomb)
	f.sync()
	<-f.done
	if f.closeCode() != CloseInternal {
		t.Errorf("close code %d after a panic mid-flash, want %d", f.closeCode(), CloseInternal)
	}
	if r := h.result(flashTok); r.Attempts != 1 {
		t.Errorf("after a panic mid-flash: %d attempts, want the shown challenge spent", r.Attempts)
	}

	// The other session is untouched and still answers: a frame without a
	// face gets its tip.
	other.next()
	other.frame(KindPreview, 0, ms(h.clk.Now().Add(-uplink)), h.blank())
	other.sync()
	select {
	case <-other.done:
		t.Fatal("the other session ended")
	default:
	}
	var tip *TipMessage
	for _, m := range other.next() {
		if tm, ok := m.m.(*TipMessage); ok {
			tip = tm
		}
	}
	if tip == nil || tip.Code != TipNoFace {
		t.Errorf("the other session answered a faceless frame with %+v, want the %s tip", tip, TipNoFace)
	}
}
