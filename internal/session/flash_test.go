package session

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/store"
)

// upload turns a rendered sequence into a fallback upload, times in ms
// from its first frame.
func (s *sim) upload(token, seqID string) *FlashUpload {
	origin := s.seq.Frames[0].T
	rel := func(t time.Time) float64 { return float64(t.Sub(origin)) / float64(time.Millisecond) }
	up := &FlashUpload{Token: token, SeqID: seqID}
	for i, f := range s.seq.Frames {
		up.Frames = append(up.Frames, UploadFrame{TMs: rel(f.T), JPEG: s.jpegs[i]})
	}
	for i, t := range s.seq.Shown {
		up.Timeline = append(up.Timeline, TimelineEntry{Index: i + 1, TMs: rel(t)})
	}
	return up
}

func TestFallback(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	tok := h.token(3)

	// Off unless the key opted in: refused before anything is counted.
	if _, err := h.m.StartFlash(ctx, tok, ConnInfo{}); !errors.Is(err, ErrUploadDisabled) {
		t.Fatalf("start_flash for a key that did not opt in: %v", err)
	}
	if r := h.result(tok); r.Attempts != 0 || r.Status != store.StatusNotStarted {
		t.Fatalf("a refused start_flash changed the record: %+v", r)
	}
	h.allowUpload(true)

	// start_flash reveals the colours, so it spends the attempt.
	fs, err := h.m.StartFlash(ctx, tok, ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	ch := h.nextChallenge(6)
	if fs.SeqID != ch.SeqID || len(fs.Colors) != 6 || fs.Colors[0] != ch.Colors[0].Hex() || fs.Attempt != 1 || fs.MaxUploadTimes != 3 {
		t.Fatalf("start %+v", fs)
	}
	if r := h.result(tok); r.Attempts != 1 || r.Status != store.StatusProcessing {
		t.Fatalf("start_flash must count the attempt: %+v", r)
	}

	// An attack: stored as a failed upload, not counted a second time.
	s := h.render(flashsim.ScreenTint, ch, 41)
	out, err := h.m.ValidateFlash(ctx, s.upload(tok, fs.SeqID))
	if err != nil {
		t.Fatal(err)
	}
	if out.Success || out.Attempt != 1 || out.Remaining != 2 || out.Status != store.StatusProcessing {
		t.Fatalf("attack outcome %+v", out)
	}
	if r := h.result(tok); r.Attempts != 1 || r.Liveness == nil || r.Liveness.Transport != store.TransportUpload ||
		r.Liveness.FaceGenuineness.ScreenReplayConfidence <= 0.5 {
		t.Fatalf("stored %+v", r.Liveness)
	}
	// Used.
	if _, err := h.m.ValidateFlash(ctx, s.upload(tok, fs.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("reused sequence: %v", err)
	}

	// A sequence goes stale after SeqTTL; its attempt stays spent.
	fs, _ = h.m.StartFlash(ctx, tok, ConnInfo{})
	h.nextChallenge(6)
	h.advance(121 * time.Second)
	if _, err := h.m.ValidateFlash(ctx, s.upload(tok, fs.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("stale sequence: %v", err)
	}
	// A bad timeline is refused; the attempt was spent when the colours
	// were handed out.
	fs, _ = h.m.StartFlash(ctx, tok, ConnInfo{})
	ch = h.nextChallenge(6)
	g := h.render(flashsim.Genuine, ch, 42)
	up := g.upload(tok, fs.SeqID)
	up.Timeline = up.Timeline[1:]
	if _, err := h.m.ValidateFlash(ctx, up); !errors.Is(err, ErrTimeline) {
		t.Fatalf("short timeline: %v", err)
	}
	// Three sequences drawn, three attempts: no fourth, and the
	// verification ends.
	if _, err := h.m.StartFlash(ctx, tok, ConnInfo{}); !errors.Is(err, ErrNoAttempts) {
		t.Fatalf("a fourth sequence of three attempts: %v", err)
	}
	if r := h.result(tok); r.Attempts != 3 || r.Status != store.StatusFailed {
		t.Fatalf("after the budget: %+v", r)
	}

	// A newer start_flash replaces the token's older sequence, and costs
	// its own attempt.
	tok = h.token(3)
	old, _ := h.m.StartFlash(ctx, tok, ConnInfo{})
	h.nextChallenge(6)
	fs, err = h.m.StartFlash(ctx, tok, ConnInfo{})
	if err != nil || fs.Attempt != 2 {
		t.Fatalf("second sequence: %+v, %v", fs, err)
	}
	ch = h.nextChallenge(6)
	if _, err := h.m.ValidateFlash(ctx, s.upload(tok, old.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("replaced sequence: %v", err)
	}

	// A genuine upload passes the analysis, and is stored as PASS_UPLOAD:
	// never the channel's PASS.
	g = h.render(flashsim.Genuine, ch, 43)
	out, err = h.m.ValidateFlash(ctx, g.upload(tok, fs.SeqID))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Success || out.Attempt != 2 || out.Remaining != 1 || out.Status != store.StatusOK {
		t.Fatalf("genuine outcome %+v", out)
	}
	if r := h.result(tok); r.Liveness == nil || r.Liveness.Result != store.LivenessPassUpload || r.Liveness.Transport != store.TransportUpload || r.Verify == nil {
		t.Fatalf("stored %+v", r.Liveness)
	}
	if _, err := h.m.StartFlash(ctx, tok, ConnInfo{}); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("start_flash after OK: %v", err)
	}
}

// A key that stops allowing the fallback stops its sequences already
// handed out too.
func TestFallbackTurnedOff(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	tok := h.token(3)
	h.allowUpload(true)
	fs, err := h.m.StartFlash(ctx, tok, ConnInfo{})
	if err != nil {
		t.Fatal(err)
	}
	ch := h.nextChallenge(6)
	h.allowUpload(false)
	g := h.render(flashsim.Genuine, ch, 43)
	if _, err := h.m.ValidateFlash(ctx, g.upload(tok, fs.SeqID)); !errors.Is(err, ErrUploadDisabled) {
		t.Fatalf("upload after the key turned the fallback off: %v", err)
	}
	if r := h.result(tok); r.Status != store.StatusProcessing || r.Liveness != nil {
		t.Fatalf("stored %+v", r)
	}
}

// The address's attempt budget (ConnInfo.Attempts) is spent by
// start_flash, before the store counts anything.
func TestFallbackThrottled(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	tok := h.token(3)
	h.allowUpload(true)
	th := &countThrottle{left: 1}
	if _, err := h.m.StartFlash(ctx, tok, ConnInfo{Attempts: th}); err != nil {
		t.Fatal(err)
	}
	h.nextChallenge(6)
	if _, err := h.m.StartFlash(ctx, tok, ConnInfo{Attempts: th}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("start_flash past the address's budget: %v", err)
	}
	if r := h.result(tok); r.Attempts != 1 {
		t.Fatalf("attempts %d, want 1", r.Attempts)
	}
}

// countThrottle allows left attempts.
type countThrottle struct {
	mu   sync.Mutex
	left int
}

func (c *countThrottle) Allow(take bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		return false
	}
	if take {
		c.left--
	}
	return true
}

func TestFallbackOrigin(t *testing.T) {
	h := newHarness(t)
	tok := h.token(3, "https://shop.example")
	h.allowUpload(true)
	if _, err := h.m.StartFlash(context.Background(), tok, ConnInfo{Origin: "https://evil.example"}); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("foreign origin: %v", err)
	}
	if _, err := h.m.StartFlash(context.Background(), tok, ConnInfo{Origin: "https://shop.example"}); err != nil {
		t.Fatal(err)
	}
}
