package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/liveness"
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

	fs, err := h.m.StartFlash(ctx, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	ch := h.nextChallenge(6)
	if fs.SeqID != ch.SeqID || len(fs.Colors) != 6 || fs.Colors[0] != ch.Colors[0].Hex() || fs.Attempt != 1 || fs.MaxUploadTimes != 3 {
		t.Fatalf("start %+v", fs)
	}
	if r := h.result(tok); r.Attempts != 0 || r.Status != store.StatusProcessing {
		t.Fatalf("start_flash must not count an attempt: %+v", r)
	}

	// An attack first: counted, stored as a failed upload.
	s := h.render(liveness.ScreenTint, ch, 41)
	out, err := h.m.ValidateFlash(ctx, s.upload(tok, fs.SeqID))
	if err != nil {
		t.Fatal(err)
	}
	if out.Success || out.Attempt != 1 || out.Remaining != 2 || out.Status != store.StatusProcessing {
		t.Fatalf("attack outcome %+v", out)
	}
	if r := h.result(tok); r.Liveness == nil || r.Liveness.Transport != store.TransportUpload || r.Liveness.FaceGenuineness.ScreenReplayConfidence <= 0.5 {
		t.Fatalf("stored %+v", r.Liveness)
	}
	// Used.
	if _, err := h.m.ValidateFlash(ctx, s.upload(tok, fs.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("reused sequence: %v", err)
	}

	// A sequence goes stale after SeqTTL.
	fs, _ = h.m.StartFlash(ctx, tok, "")
	h.nextChallenge(6)
	h.advance(121 * time.Second)
	if _, err := h.m.ValidateFlash(ctx, s.upload(tok, fs.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("stale sequence: %v", err)
	}
	// A newer start_flash replaces the token's older sequence.
	old, _ := h.m.StartFlash(ctx, tok, "")
	h.nextChallenge(6)
	if _, err := h.m.StartFlash(ctx, tok, ""); err != nil {
		t.Fatal(err)
	}
	h.nextChallenge(6)
	if _, err := h.m.ValidateFlash(ctx, s.upload(tok, old.SeqID)); !errors.Is(err, ErrSeqID) {
		t.Fatalf("replaced sequence: %v", err)
	}

	// A bad timeline is refused before counting.
	fs, _ = h.m.StartFlash(ctx, tok, "")
	ch = h.nextChallenge(6)
	g := h.render(liveness.Genuine, ch, 42)
	up := g.upload(tok, fs.SeqID)
	up.Timeline = up.Timeline[1:]
	if _, err := h.m.ValidateFlash(ctx, up); !errors.Is(err, ErrTimeline) {
		t.Fatalf("short timeline: %v", err)
	}
	if r := h.result(tok); r.Attempts != 1 {
		t.Fatalf("attempts %d", r.Attempts)
	}

	// The genuine upload passes.
	fs, _ = h.m.StartFlash(ctx, tok, "")
	ch = h.nextChallenge(6)
	g = h.render(liveness.Genuine, ch, 43)
	out, err = h.m.ValidateFlash(ctx, g.upload(tok, fs.SeqID))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Success || out.Attempt != 2 || out.Remaining != 1 || out.Status != store.StatusOK {
		t.Fatalf("genuine outcome %+v", out)
	}
	if _, err := h.m.StartFlash(ctx, tok, ""); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("start_flash after OK: %v", err)
	}
}

func TestFallbackOrigin(t *testing.T) {
	h := newHarness(t)
	tok := h.token(3, "https://shop.example")
	if _, err := h.m.StartFlash(context.Background(), tok, "https://evil.example"); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("foreign origin: %v", err)
	}
	if _, err := h.m.StartFlash(context.Background(), tok, "https://shop.example"); err != nil {
		t.Fatal(err)
	}
}
