package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/store"
)

// evalInput is one attempt to evaluate, over either transport.
type evalInput struct {
	v     *store.Verification
	ch    liveness.Challenge
	shown []time.Time
	tr    *tracker
	// mapT maps a frame's capture time (client ms) to the clock of shown.
	mapT func(ms float64) time.Time
	// signals are the injection signals the transport raised about the
	// client (liveness.Options.ClientSignals).
	signals []string
}

// evalOutput is an attempt's verdict and what the store keeps of it.
type evalOutput struct {
	verdict     liveness.Verdict
	passive     *float64
	genuineness store.FaceGenuineness
	// verify and images are set when the verdict passed.
	verify *store.VerifyResult
	images [][]byte
	frames int
	// occlusion is face.MeasureOcclusion on the best frame, nil without
	// one.
	occlusion *face.Occlusion
}

// errNoBestFrame means no frame had a face good enough to compare.
var errNoBestFrame = errors.New("session: no frame to compare")

// evaluate decides one attempt. The passive score is taken on the best
// frame (see candidate: untinted, sharp, frontal), the reflection
// analysis on all frames, and they combine by liveness.Verdict's rule:
// every check must pass, so the passive model can veto a reflection that
// passed, never rescue one that failed. On a pass the best frame is
// compared with every reference.
func (m *Manager) evaluate(ctx context.Context, in evalInput) (evalOutput, error) {
	var out evalOutput
	frames := make([]liveness.Frame, 0, len(in.tr.frames))
	for _, c := range in.tr.frames {
		f := c.win
		f.T, f.Faces = in.mapT(c.captureMs), c.faces
		frames = append(frames, f)
	}
	out.frames = len(frames)
	best, second := in.tr.best(200 * time.Millisecond)

	opts := m.cfg.Liveness
	opts.ClientSignals = in.signals
	if best != nil {
		o := face.MeasureOcclusion(best.img, best.f)
		out.occlusion = &o
	}
	if m.cfg.Passive != nil && best != nil {
		p := m.cfg.Passive.Live(best.img, best.f)
		out.passive = &p
		opts.Passive = &p
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	v := liveness.Analyze(in.ch, in.shown, frames, opts)
	out.verdict = v
	out.genuineness = genuineness(v, out.passive, opts)
	if !v.Pass {
		return out, nil
	}
	if best == nil {
		return out, errNoBestFrame
	}
	desc := m.cfg.Analyzer.Embed(best.img, best.f)
	th := m.cfg.Analyzer.Thresholds()
	vr := &store.VerifyResult{}
	for _, ref := range in.v.Refs {
		match, err := m.cfg.Analyzer.Compare(desc, face.Descriptor{Model: ref.Model, Vector: ref.Embedding})
		if err != nil {
			return out, fmt.Errorf("session: compare with reference %d: %w", ref.Index, err)
		}
		vr.Refs = append(vr.Refs, store.RefMatch{Index: ref.Index, Confidence: match.Confidence, Thresholds: th})
	}
	out.verify = vr
	out.images = [][]byte{best.jpeg}
	if second != nil {
		out.images = append(out.images, second.jpeg)
	}
	return out, nil
}

// genuineness turns a verdict into face_genuineness (spec §4.2 extras).
// screen_replay_confidence is one minus the lowest score of the checks
// that see a screen or print — the background taking the colours (tint),
// and a flat reflection pattern (relief, meaningful only when there was a
// reflection) — so it exceeds its threshold, 0.5, exactly when
// Verdict.ScreenReplay is set. synthetic_face_confidence is one minus the
// passive model's live probability, against one minus its threshold.
func genuineness(v liveness.Verdict, passive *float64, opts liveness.Options) store.FaceGenuineness {
	g := store.FaceGenuineness{ScreenReplayThreshold: 0.5, SyntheticFaceThreshold: 0.5}
	low := 1.0
	if c, ok := v.Check(liveness.CheckTint); ok && !math.IsNaN(c.Value) {
		low = math.Min(low, c.Score)
	}
	refl, _ := v.Check(liveness.CheckReflection)
	if c, ok := v.Check(liveness.CheckRelief); ok && refl.Pass && !math.IsNaN(c.Value) {
		low = math.Min(low, c.Score)
	}
	g.ScreenReplayConfidence = round3(1 - low)
	if passive != nil {
		th := opts.PassiveThreshold
		if th == 0 {
			th = liveness.DefaultPassiveThreshold
		}
		g.SyntheticFaceConfidence = round3(1 - *passive)
		g.SyntheticFaceThreshold = round3(1 - th)
	}
	if v.FaceReplaced {
		g.FaceReplaced = 1
	}
	if len(v.Injection) > 0 {
		g.InjectionSuspected = 1
		g.InjectionSignals = v.Injection
	}
	return g
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// checkedShown maps the acknowledged display times to the server's clock
// and keeps those consistent with it: a colour cannot have been painted
// before the server sent it, nor after its acknowledgement arrived. The
// bounds allow AckTolerance for the mapping's own error (see clockMap).
// Colours without a usable acknowledgement get the zero time; Analyze
// then places them from their neighbours and the hold times.
func (s *Session) checkedShown(a *attempt) []time.Time {
	out := make([]time.Time, len(a.ch.Colors))
	tol := s.p.AckTolerance
	for i, k := range a.acks {
		if !k.ok || a.sent[i].IsZero() {
			continue
		}
		t := s.cm.server(k.ms)
		if t.Before(a.sent[i].Add(-tol)) || t.After(k.arrival.Add(tol)) {
			s.log.Info("rtc shown out of bounds", "colour", i+1,
				"after_send_ms", t.Sub(a.sent[i]).Milliseconds(), "before_arrival_ms", k.arrival.Sub(t).Milliseconds())
			continue
		}
		out[i] = t
	}
	return out
}

// evaluate runs once the tail grace is over: the worker is drained, the
// attempt decided and the outcome stored and sent.
func (s *Session) evaluate() {
	if s.state != stTail {
		return
	}
	s.w.barrier()
	s.drainWork()
	if s.state != stTail {
		// The analysis panicked (crashed ended the session).
		return
	}
	a := s.at
	t0 := time.Now()
	shown := s.checkedShown(a)
	out, err := s.m.evaluate(s.ctx, evalInput{v: s.v, ch: a.ch, shown: shown, tr: a.tr, mapT: s.cm.server,
		signals: clientSignals(s.env)})
	if err != nil {
		s.internal(err)
		return
	}
	if a.rec != nil && s.record {
		s.saveRecord(a, shown, out)
	}
	vd := out.verdict
	attrs := []any{"attempt", s.attempts, "pass", vd.Pass, "score", round3(vd.Score), "reason", vd.Reason,
		"frames", out.frames, "dropped", a.tr.dropped, "eval_ms", time.Since(t0).Milliseconds()}
	if c, ok := vd.Check(liveness.CheckInjection); ok && !math.IsNaN(c.Value) {
		attrs = append(attrs, "motion", round3(c.Value))
	}
	if len(vd.Injection) > 0 {
		attrs = append(attrs, "injection", vd.Injection)
	}
	if out.passive != nil {
		attrs = append(attrs, "passive", round3(*out.passive))
	}
	if o := out.occlusion; o != nil {
		v := 0
		if o.Occluded() {
			v = 1
		}
		s.occluded = &v
		attrs = append(attrs, "occluded", v)
		// With face_occlusion_detection on, a covered face fails the
		// attempt (spec §4.2) and counts as the user's mistake; without
		// it, face_occlusion is only reported.
		if v == 1 && s.v.FaceOcclusionDetection {
			vd.Pass = false
			if o.Eyes {
				s.details.EyeOcclusion++
			}
			if o.Mouth {
				s.details.MouthOcclusion++
			}
		}
	}
	s.log.Info("rtc evaluated", attrs...)
	s.evaluated = true
	g := out.genuineness
	s.genuine = &g

	// A newer connection's attempt, not this one's, decides from here.
	if !s.ownsCapture() {
		return
	}
	if vd.Pass {
		o := &store.Outcome{
			Status:   store.StatusOK,
			Liveness: s.livenessResult(store.LivenessPass),
			Verify:   out.verify,
			Images:   out.images,
			At:       s.clk.Now(),
		}
		if !s.stored(s.m.cfg.Store.FinishVerification(s.ctx, s.token, o)) {
			return
		}
		s.result(true, CodeSuccess)
		s.end(CloseNormal, "")
		return
	}
	if s.attempts < s.v.MaxUploadTimes {
		if !s.stored(s.m.cfg.Store.SaveLiveness(s.ctx, s.token, s.livenessResult(store.LivenessFail))) {
			return
		}
		s.result(false, CodeLivenessFailed)
		s.toMirror("")
		return
	}
	s.finish(store.StatusFailed, CodeLivenessFailed)
}

// stored reports whether a write of the attempt's outcome went through; if
// not, it has ended the session: a verification finished meanwhile (by
// another connection or the expiry sweep) closes as finished, anything
// else as an internal error.
func (s *Session) stored(err error) bool {
	switch {
	case errors.Is(err, store.ErrFinished):
		s.fail(CodeTokenFinished, CloseTokenFinished, "verification finished meanwhile")
		return false
	case err != nil:
		s.internal(err)
		return false
	}
	return true
}
