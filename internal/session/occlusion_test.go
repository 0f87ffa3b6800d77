package session

import (
	"slices"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store"
)

// occlusionSims renders the same genuine sequence of the uncovered
// subject bare and with each cover, for the harness's next challenge.
func occlusionSims(h *harness) (bare, masked, dark *sim) {
	h.subject = sessiontest.UncoveredSubject(h.t)
	ch := h.nextChallenge(6)
	bare = h.render(flashsim.Genuine, ch, 1)
	h.cover = sessiontest.Mask
	masked = h.render(flashsim.Genuine, ch, 1)
	h.cover = sessiontest.Glasses
	dark = h.render(flashsim.Genuine, ch, 1)
	h.cover = nil
	return bare, masked, dark
}

func (h *harness) occlusionToken(maxUploads int, detect bool) string {
	h.t.Helper()
	ref := store.Reference{Index: 1, Model: sessiontest.Model, Embedding: sessiontest.Identity(0), Crop: []byte{1}}
	return h.tokenWith(maxUploads, ref, func(v *store.Verification) { v.FaceOcclusionDetection = detect })
}

// previews sends n preview frames of s, 5 a second, and returns the
// tips the session sent meanwhile.
func (c *client) previews(s *sim, n int) []string {
	var tips []string
	for k := range n {
		c.frame(KindPreview, 0, ms(c.h.clk.Now().Add(-uplink)), s.jpegs[s.baseline[k%len(s.baseline)]])
		c.sync()
		for _, m := range c.next() {
			if tp, ok := m.m.(*TipMessage); ok {
				tips = append(tips, tp.Code)
			}
			if cm, ok := m.m.(*ConfigMessage); ok && cm.Capture.PreviewFPS == c.h.m.cfg.Params.BaselineCapture.PreviewFPS {
				tips = append(tips, "gate passed")
			}
		}
		c.h.advance(200 * time.Millisecond)
	}
	return tips
}

// TestOcclusionSims checks the fixtures: every bare frame measures
// uncovered, every masked one a covered mouth, every darkened one covered
// eyes.
func TestOcclusionSims(t *testing.T) {
	h := newHarness(t)
	subj := sessiontest.UncoveredSubject(t)
	h.subject = subj
	for _, tc := range []struct {
		name        string
		cover       func(*face.RGB, *face.Face)
		mouth, eyes bool
	}{{"bare", nil, false, false}, {"masked", sessiontest.Mask, true, false}, {"glasses", sessiontest.Glasses, false, true}} {
		h.cover = nil
		seq := h.render(flashsim.Genuine, h.nextChallenge(6), 1).seq
		for i, f := range seq.Frames {
			img, fc := &face.RGB{W: f.Img.W, H: f.Img.H, Pix: append([]uint8(nil), f.Img.Pix...)}, *f.Face
			if tc.cover != nil {
				tc.cover(img, &fc)
			}
			if o := face.MeasureOcclusion(img, fc); o.Mouth != tc.mouth || o.Eyes != tc.eyes {
				t.Fatalf("%s frame %d: %+v", tc.name, i, o)
			}
		}
	}
}

// TestOcclusionGate: with face_occlusion_detection on, the mirror gate
// tips a covered mouth or eyes and counts each episode once; with it off,
// a covered face passes the gate untold and uncounted.
func TestOcclusionGate(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		h := newHarness(t)
		bare, masked, dark := occlusionSims(h)
		tok := h.occlusionToken(3, true)
		c := h.connect("")
		c.hello(tok)
		c.next()
		var tips []string
		// Mouth covered, one good frame (not enough for the gate), the
		// mouth again, then dark glasses: three episodes.
		tips = append(tips, c.previews(masked, 6)...)
		tips = append(tips, c.previews(bare, 1)...)
		tips = append(tips, c.previews(masked, 6)...)
		tips = append(tips, c.previews(dark, 6)...)
		want := []string{TipMouth, TipKeepStill, TipMouth, TipEyeOcclusion}
		if !slices.Equal(tips, want) {
			t.Fatalf("tips %q, want %q", tips, want)
		}
		if !c.toGate(bare, 5*time.Second) {
			t.Fatal("the gate did not pass on the uncovered face")
		}
		pr := c.play(bare, 0)
		if pr.result == nil || !pr.result.Success {
			t.Fatalf("result %+v", pr.result)
		}
		<-c.done
		r := h.result(tok)
		l := r.Liveness
		if r.Status != store.StatusOK || l == nil || l.Result != store.LivenessPass {
			t.Fatalf("stored %+v, liveness %+v", r, l)
		}
		if l.Details.MouthOcclusion != 2 || l.Details.EyeOcclusion != 1 || l.FaceOcclusion == nil || *l.FaceOcclusion != 0 {
			t.Fatalf("details %+v, face_occlusion %v: want 2 mouth and 1 eye episodes, best frame uncovered", l.Details, l.FaceOcclusion)
		}
	})
	t.Run("off", func(t *testing.T) {
		h := newHarness(t)
		_, masked, _ := occlusionSims(h)
		tok := h.occlusionToken(3, false)
		c := h.connect("")
		c.hello(tok)
		c.next()
		tips := c.previews(masked, 3)
		if want := []string{TipKeepStill, "gate passed"}; !slices.Equal(tips, want) {
			t.Fatalf("tips %q, want %q: a covered face passes the gate when detection is off", tips, want)
		}
	})
}

// TestOcclusionEvaluated: an attempt whose best frame is covered fails
// its liveness and counts when face_occlusion_detection is on; with it
// off it passes, and face_occlusion says the truth either way.
func TestOcclusionEvaluated(t *testing.T) {
	for _, detect := range []bool{true, false} {
		name := map[bool]string{true: "on", false: "off"}[detect]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			bare, masked, _ := occlusionSims(h)
			tok := h.occlusionToken(1, detect)
			c := h.connect("")
			c.hello(tok)
			// The face is bare at the gate, covered during the flashes.
			if !c.toGate(bare, 5*time.Second) {
				t.Fatal("the gate did not pass")
			}
			pr := c.play(masked, 0)
			if pr.result == nil {
				t.Fatalf("no result; colours %+v", pr.colors)
			}
			<-c.done
			r := h.result(tok)
			l := r.Liveness
			if l == nil || l.FaceOcclusion == nil || *l.FaceOcclusion != 1 {
				t.Fatalf("stored %+v, liveness %+v: want face_occlusion 1", r, l)
			}
			if detect {
				if pr.result.Success || pr.result.Code != CodeLivenessFailed || r.Status != store.StatusFailed ||
					l.Result != store.LivenessFail || l.Details.MouthOcclusion != 1 || l.Details.EyeOcclusion != 0 {
					t.Fatalf("result %+v, stored %s, liveness %+v: want a failure counting MOUTH_OCCLUSION", pr.result, r.Status, l)
				}
				return
			}
			if !pr.result.Success || r.Status != store.StatusOK || l.Result != store.LivenessPass || l.Details.MouthOcclusion != 0 {
				t.Fatalf("result %+v, stored %s, liveness %+v: want a pass, uncounted", pr.result, r.Status, l)
			}
		})
	}
}

// TestOcclusionMirrorTimeout: a face still covered when the mirror stage
// times out ends FAILED without a liveness result, as any mirror
// time-out before an evaluated attempt (spec §4.1).
func TestOcclusionMirrorTimeout(t *testing.T) {
	h := newHarness(t)
	_, masked, _ := occlusionSims(h)
	tok := h.occlusionToken(3, true)
	c := h.connect("")
	c.hello(tok)
	c.next()
	if tips := c.previews(masked, 5); !slices.Equal(tips, []string{TipMouth}) {
		t.Fatalf("tips %q", tips)
	}
	h.advance(30 * time.Second)
	<-c.done
	var res *ResultMessage
	for _, m := range c.next() {
		if r, ok := m.m.(*ResultMessage); ok {
			res = r
		}
	}
	if res == nil || res.Success || res.Code != CodeMirrorTimeout {
		t.Fatalf("result %+v", res)
	}
	if r := h.result(tok); r.Status != store.StatusFailed || r.Attempts != 0 || r.Liveness != nil {
		t.Fatalf("stored %+v, liveness %+v: want FAILED without liveness_result", r, r.Liveness)
	}
}
