package session

import (
	"context"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/store"
)

func (h *harness) result(tok string) *store.Result {
	h.t.Helper()
	r, err := h.db.Result(context.Background(), tok)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func findErr(msgs []sent) *ErrorMessage {
	for _, m := range msgs {
		if e, ok := m.m.(*ErrorMessage); ok {
			return e
		}
	}
	return nil
}

func TestGenuinePass(t *testing.T) {
	h := newHarness(t)
	tok := h.token(3)
	c := h.connect("")
	c.hello(tok)
	msgs := c.next()
	cfg, ok := msgs[0].m.(*ConfigMessage)
	if !ok || cfg.ColorNumber != 6 || cfg.Attempt != 1 || cfg.MaxUploadTimes != 3 || cfg.Language != "0" {
		t.Fatalf("first message %#v, want config", msgs[0].m)
	}
	if v, _ := h.db.Verification(context.Background(), tok); v.Status != store.StatusProcessing {
		t.Fatalf("status after hello: %s", v.Status)
	}

	s := h.render(flashsim.Genuine, h.nextChallenge(6), 1)
	if !c.toGate(s, 5*time.Second) {
		t.Fatal("the gate did not pass")
	}
	pr := c.play(s, 0)
	if pr.result == nil {
		t.Fatalf("no result; colours %+v", pr.colors)
	}
	if !pr.result.Success || pr.result.Code != CodeSuccess || pr.result.Attempt != 1 || pr.result.Remaining != 2 {
		t.Fatalf("result %+v, want a success on attempt 1", pr.result)
	}
	var coloring, done int
	for _, cm := range pr.colors {
		switch cm.Status {
		case ColorColoring:
			coloring++
			// The hold is not revealed: when the next colour comes is
			// as unpredictable as which.
			if cm.Sum != 6 || cm.Index != coloring || cm.HoldMs != 0 {
				t.Errorf("colour message %+v", cm)
			}
		case ColorDone:
			done++
		}
	}
	if coloring != 6 || done != 1 {
		t.Errorf("%d colours and %d DONE, want 6 and 1", coloring, done)
	}
	<-c.done
	if c.closeCode() != CloseNormal {
		t.Errorf("close code %d", c.closeCode())
	}

	r := h.result(tok)
	if r.Status != store.StatusOK || r.Attempts != 1 || r.TerminalAt.IsZero() {
		t.Fatalf("stored %+v", r)
	}
	if r.Liveness == nil || r.Liveness.Result != store.LivenessPass || r.Liveness.Transport != store.TransportRTC ||
		r.Liveness.Details.UploadTimes != 1 || r.Liveness.FaceGenuineness == nil {
		t.Fatalf("liveness %+v", r.Liveness)
	}
	if r.Verify == nil || len(r.Verify.Refs) != 1 || r.Verify.Refs[0].Index != 1 || r.Verify.Refs[0].Confidence < 99 ||
		len(r.Verify.Refs[0].Thresholds) != 4 {
		t.Fatalf("verify %+v", r.Verify)
	}
	if len(r.Images) == 0 || r.Images[0][0] != 0xff || r.Images[0][1] != 0xd8 {
		t.Fatalf("%d images stored", len(r.Images))
	}
	// Detection ran on a fraction of the frames only.
	det, trk := h.an.DetectCalls.Load(), h.an.TrackCalls.Load()
	if trk < 2*det {
		t.Errorf("%d detections and %d tracked frames: detection is not sparse", det, trk)
	}
}

func TestAttackFails(t *testing.T) {
	h := newHarness(t)
	tok := h.token(2)
	c := h.connect("")
	c.hello(tok)
	s := h.render(flashsim.Replay, h.nextChallenge(6), 2)
	if !c.toGate(s, 5*time.Second) {
		t.Fatal("the gate did not pass")
	}
	pr := c.play(s, 0)
	if pr.result == nil || pr.result.Success || pr.result.Code != CodeLivenessFailed || pr.result.Attempt != 1 || pr.result.Remaining != 1 {
		t.Fatalf("result %+v, want a liveness failure with one attempt left", pr.result)
	}
	// Back to the mirror stage, small frames again.
	c.sync()
	var back bool
	for _, m := range c.all() {
		if cm, ok := m.m.(*ConfigMessage); ok && cm.Attempt == 2 && cm.Capture == h.m.cfg.Params.MirrorCapture {
			back = true
		}
	}
	if !back {
		t.Error("no mirror config for attempt 2 after the failure")
	}
	r := h.result(tok)
	if r.Status != store.StatusProcessing || r.Attempts != 1 || r.Liveness == nil || r.Liveness.Result != store.LivenessFail {
		t.Fatalf("stored %+v", r)
	}

	// The second and last attempt fails too: the verification is over.
	s2 := h.render(flashsim.Replay, h.nextChallenge(6), 3)
	c.next()
	if !c.toGate(s2, 5*time.Second) {
		t.Fatal("the gate did not pass again")
	}
	pr = c.play(s2, 0)
	if pr.result == nil || pr.result.Code != CodeLivenessFailed || pr.result.Remaining != 0 {
		t.Fatalf("second result %+v", pr.result)
	}
	<-c.done
	r = h.result(tok)
	if r.Status != store.StatusFailed || r.Attempts != 2 || r.Liveness == nil || r.Liveness.Result != store.LivenessFail ||
		r.Liveness.Details.UploadTimes != 2 || r.Verify != nil || len(r.Images) != 0 {
		t.Fatalf("stored %+v", r)
	}
}

func TestMirrorTimeout(t *testing.T) {
	h := newHarness(t)
	tok := h.token(3)
	c := h.connect("")
	c.hello(tok)
	blank := h.blank()
	for range 10 {
		c.frame(KindPreview, 0, ms(h.clk.Now()), blank)
		c.sync()
		h.advance(200 * time.Millisecond)
	}
	var tips int
	for _, m := range c.next() {
		if tp, ok := m.m.(*TipMessage); ok {
			tips++
			if tp.Code != TipNoFace || tp.Text == "" {
				t.Errorf("tip %+v", tp)
			}
		}
	}
	if tips != 1 {
		t.Errorf("%d tips for one lasting problem, want 1", tips)
	}
	h.advance(30 * time.Second)
	<-c.done
	var res *ResultMessage
	for _, m := range c.next() {
		if r, ok := m.m.(*ResultMessage); ok {
			res = r
		}
	}
	if res == nil || res.Success || res.Code != CodeMirrorTimeout || res.Attempt != 0 {
		t.Fatalf("result %+v", res)
	}
	r := h.result(tok)
	if r.Status != store.StatusFailed || r.Attempts != 0 || r.Liveness != nil {
		t.Fatalf("stored %+v: a mirror time-out fails without liveness_result and costs no attempt", r)
	}
}

func TestResetCountsAttempt(t *testing.T) {
	h := newHarness(t)
	tok := h.token(2)
	c := h.connect("")
	c.hello(tok)

	// Attempt 1: the face goes after the second colour.
	s := h.render(flashsim.Genuine, h.nextChallenge(6), 4)
	if !c.toGate(s, 5*time.Second) {
		t.Fatal("the gate did not pass")
	}
	pr := c.play(s, 2)
	var reset *ColorMessage
	for _, cm := range pr.colors {
		if cm.Status == ColorReset {
			reset = cm
		}
	}
	if reset == nil || pr.result != nil {
		t.Fatalf("colours %+v, result %+v: want a RESET and no result", pr.colors, pr.result)
	}
	if r := h.result(tok); r.Attempts != 1 || r.Status != store.StatusProcessing {
		t.Fatalf("after RESET: %+v, want one attempt used", r)
	}

	// Attempt 2 (the last) is reset too: the verification fails.
	s2 := h.render(flashsim.Genuine, h.nextChallenge(6), 5)
	c.next()
	if !c.toGate(s2, 5*time.Second) {
		t.Fatal("the gate did not pass again")
	}
	pr = c.play(s2, 1)
	if pr.result == nil || pr.result.Code != CodeMoreRetryTimes || pr.result.Remaining != 0 {
		t.Fatalf("result %+v", pr.result)
	}
	<-c.done
	if r := h.result(tok); r.Attempts != 2 || r.Status != store.StatusFailed || r.Liveness != nil {
		t.Fatalf("stored %+v", r)
	}
}

func TestResetBeforeFirstColourIsFree(t *testing.T) {
	h := newHarness(t)
	tok := h.token(2)
	c := h.connect("")
	c.hello(tok)
	s := h.render(flashsim.Genuine, h.nextChallenge(6), 6)
	if !c.toGate(s, 5*time.Second) {
		t.Fatal("the gate did not pass")
	}
	// The face leaves before any colour: nothing is sent but a tip.
	h.advance(2 * time.Second)
	for _, m := range c.next() {
		if cm, ok := m.m.(*ColorMessage); ok {
			t.Fatalf("colour sent without a face: %+v", cm)
		}
	}
	if r := h.result(tok); r.Attempts != 0 {
		t.Fatalf("attempts %d, want 0", r.Attempts)
	}
}

func TestSuperseded(t *testing.T) {
	h := newHarness(t)
	tok := h.token(3)
	old := h.connect("")
	old.hello(tok)
	s := h.render(flashsim.Genuine, h.nextChallenge(6), 7)
	if !old.toGate(s, 5*time.Second) {
		t.Fatal("the gate did not pass")
	}
	// Into the flashes: the first colour is shown.
	for range 20 {
		old.frame(KindPreview, 0, ms(h.clk.Now()), s.jpegs[s.baseline[0]])
		h.advance(70 * time.Millisecond)
	}
	newer := h.connect("")
	newer.hello(tok)
	<-old.done
	if old.closeCode() != CloseSuperseded {
		t.Fatalf("older connection closed with %d, want %d", old.closeCode(), CloseSuperseded)
	}
	if e := findErr(old.all()); e == nil || e.Code != CodeSuperseded {
		t.Fatalf("older connection's error %+v", e)
	}
	// The older one had shown a colour: its challenge is spent.
	if r := h.result(tok); r.Attempts != 1 {
		t.Errorf("attempts %d after superseding a flashing connection, want 1", r.Attempts)
	}
	if newer.closeCode() != 0 {
		t.Fatalf("newer connection closed (%d)", newer.closeCode())
	}
	if cfg, ok := newer.next()[0].m.(*ConfigMessage); !ok || cfg.Attempt != 2 {
		t.Fatalf("newer connection's config %+v", cfg)
	}
}

func TestTokenRefusals(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	expired := h.token(3)
	h.advance(61 * time.Minute)
	finished := h.token(3)
	if _, err := h.db.BeginCapture(ctx, finished, h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := h.db.FinishVerification(ctx, finished, &store.Outcome{Status: store.StatusOK}); err != nil {
		t.Fatal(err)
	}
	spent := h.token(2)
	if _, err := h.db.BeginCapture(ctx, spent, h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.db.CountAttempt(ctx, spent, h.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	fresh := h.token(3)

	for _, tc := range []struct {
		name, token, code string
		close             int
	}{
		{"unknown", "no-such-token", CodeTokenInvalid, CloseTokenInvalid},
		{"expired", expired, CodeTokenExpired, CloseTokenInvalid},
		{"finished", finished, CodeTokenFinished, CloseTokenFinished},
		{"spent", spent, CodeMoreRetryTimes, CloseNoAttemptsLeft},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.connect("")
			c.hello(tc.token)
			<-c.done
			if e := findErr(c.all()); e == nil || e.Code != tc.code || e.Message == "" {
				t.Errorf("error %+v, want %s", e, tc.code)
			}
			if c.closeCode() != tc.close {
				t.Errorf("close %d, want %d", c.closeCode(), tc.close)
			}
		})
	}
	if r := h.result(expired); r.Status != store.StatusFailed {
		t.Errorf("expired token left in %s", r.Status)
	}
	if r := h.result(spent); r.Status != store.StatusFailed {
		t.Errorf("spent token left in %s", r.Status)
	}

	t.Run("no hello", func(t *testing.T) {
		c := h.connect("")
		h.advance(6 * time.Second)
		<-c.done
		if c.closeCode() != CloseBadHello {
			t.Errorf("close %d, want %d", c.closeCode(), CloseBadHello)
		}
	})
	t.Run("frame first", func(t *testing.T) {
		c := h.connect("")
		c.frame(KindPreview, 0, ms(h.clk.Now()), h.blank())
		<-c.done
		if c.closeCode() != CloseBadHello {
			t.Errorf("close %d, want %d", c.closeCode(), CloseBadHello)
		}
	})
	t.Run("fresh", func(t *testing.T) {
		c := h.connect("")
		c.hello(fresh)
		if c.closeCode() != 0 {
			t.Fatalf("a valid token was refused: %d", c.closeCode())
		}
	})
}

func TestOriginChecked(t *testing.T) {
	h := newHarness(t)
	tok := h.token(3, "https://shop.example")
	bad := h.connect("https://evil.example")
	bad.hello(tok)
	<-bad.done
	if bad.closeCode() != CloseTokenInvalid {
		t.Fatalf("foreign origin: close %d", bad.closeCode())
	}
	if v, _ := h.db.Verification(context.Background(), tok); v.Status != store.StatusNotStarted {
		t.Fatalf("a refused origin started the capture (%s)", v.Status)
	}
	good := h.connect("https://SHOP.example:443")
	good.hello(tok)
	if good.closeCode() != 0 {
		t.Fatalf("allowed origin refused: %d", good.closeCode())
	}
}

func TestCancelDuringFlashCounts(t *testing.T) {
	h := newHarness(t)
	tok := h.token(3)
	c := h.connect("")
	c.hello(tok)
	// Cancel in the mirror stage is free.
	c.send(&Cancel{})
	<-c.done
	if r := h.result(tok); r.Attempts != 0 || r.Status != store.StatusProcessing {
		t.Fatalf("after an early cancel: %+v", r)
	}

	c = h.connect("")
	c.hello(tok)
	s := h.render(flashsim.Genuine, h.nextChallenge(6), 8)
	if !c.toGate(s, 5*time.Second) {
		t.Fatal("the gate did not pass")
	}
	pr := c.play(s, 1)
	if len(pr.colors) == 0 {
		t.Fatal("no colour shown")
	}
	c.send(&Cancel{})
	<-c.done
	if r := h.result(tok); r.Attempts != 1 {
		t.Fatalf("attempts %d after cancelling mid-sequence, want 1", r.Attempts)
	}
}

func TestAckChecks(t *testing.T) {
	h := newHarness(t)
	s := &Session{m: h.m, p: &h.m.cfg.Params, log: h.m.cfg.Logger}
	t0 := h.clk.Now()
	s.cm.observe(ms(t0)-20, t0) // the client's clock is 20 ms behind, plus latency
	a := &attempt{
		ch:   liveness.Challenge{Colors: make([]liveness.Color, 3), Holds: make([]time.Duration, 3)},
		sent: []time.Time{t0, t0.Add(400 * time.Millisecond), t0.Add(800 * time.Millisecond)},
		acks: []ack{
			{ms: ms(t0) + 10, arrival: t0.Add(40 * time.Millisecond), ok: true},    // plausible
			{ms: ms(t0) + 100, arrival: t0.Add(450 * time.Millisecond), ok: true},  // before the colour was sent
			{ms: ms(t0) + 1200, arrival: t0.Add(850 * time.Millisecond), ok: true}, // after its ack arrived
		},
	}
	got := s.checkedShown(a)
	if got[0].IsZero() || !got[1].IsZero() || !got[2].IsZero() {
		t.Fatalf("checkedShown = %v, want only the first kept", got)
	}
	if d := got[0].Sub(t0).Round(time.Microsecond); d != 30*time.Millisecond {
		t.Errorf("mapped display time %v after send, want 30ms", d)
	}
}

func TestClockMap(t *testing.T) {
	var c clockMap
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	skew := 3 * time.Second // the client is 3 s behind
	for i, delay := range []time.Duration{80, 35, 120, 40} {
		capture := base.Add(time.Duration(i) * 50 * time.Millisecond)
		c.observe(ms(capture.Add(-skew)), capture.Add(delay*time.Millisecond))
	}
	got := c.server(ms(base.Add(-skew)))
	if want := base.Add(35 * time.Millisecond); got.Sub(want).Abs() > time.Microsecond {
		t.Fatalf("mapped %v, want %v (late by the fastest delay)", got, want)
	}
	for _, bad := range []float64{0, -1, 1e14} {
		if validClientMs(bad) {
			t.Errorf("validClientMs(%v)", bad)
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	list := []string{"https://shop.example", "http://localhost:8080"}
	for origin, want := range map[string]bool{
		"https://shop.example":      true,
		"https://shop.example:443":  true,
		"HTTPS://Shop.Example":      true,
		"http://shop.example":       false,
		"https://shop.example:8443": false,
		"http://localhost:8080":     true,
		"null":                      false,
		"":                          false,
	} {
		if got := OriginAllowed(list, origin); got != want {
			t.Errorf("OriginAllowed(%q) = %v, want %v", origin, got, want)
		}
	}
	if !OriginAllowed(nil, "https://any.example") || !OriginAllowed(nil, "") {
		t.Error("an empty list must allow every origin")
	}
}

func TestStoreErrorsMapped(t *testing.T) {
	// A store outage at hello is an internal error, not a bad token.
	h := newHarness(t)
	tok := h.token(3)
	h.db.Close()
	c := h.connect("")
	c.hello(tok)
	<-c.done
	if e := findErr(c.all()); e == nil || e.Code != CodeInternalError || c.closeCode() != CloseInternal {
		t.Fatalf("error %+v, close %d", e, c.closeCode())
	}
}

// A worker lagging behind the stream is not a lost face; frames processed
// without a face are, and so is a stream that stops for long.
func TestFaceAge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name               string
		lastFace, lastSeen time.Time
		now                time.Time
		want               time.Duration
	}{
		{"lagging worker", sec(1), sec(1), sec(3), 500 * time.Millisecond},
		{"face gone, frames flowing", sec(1), sec(2.5), sec(2.6), 1500 * time.Millisecond},
		{"stream stopped", sec(1), sec(1), sec(7), 1500 * time.Millisecond},
		{"no face yet", time.Time{}, sec(0.5), sec(0.6), 500 * time.Millisecond},
	}
	for _, tt := range tests {
		a := &attempt{start: t0, lastFace: tt.lastFace, lastSeen: tt.lastSeen}
		if got := a.faceAge(tt.now); got != tt.want {
			t.Errorf("%s: faceAge %v, want %v", tt.name, got, tt.want)
		}
	}
}
