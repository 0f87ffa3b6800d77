package liveness

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/glint-id/glint/internal/face"
)

// Frame is one camera frame of a verification.
type Frame struct {
	// T is when the frame was captured, on the server's clock.
	T time.Time
	// Img is the frame. Analyze reads only the face's regions and a ring
	// of background around it.
	Img *face.RGB
	// Face is the face found in Img, nil if none.
	Face *face.Face
	// Faces is how many significant faces (face.Engine.Significant) the
	// frame holds; 0 means not counted, taken as 1 when Face is set.
	Faces int
	// Desc, when set, is the face's descriptor; the identity check then
	// compares descriptors instead of appearance signatures.
	Desc *face.Descriptor
	// Source identifies the camera picture the frame was cut from (a
	// digest of its bytes); zero when unknown. Two frames with the same
	// non-zero Source are the same picture, which a camera sensor, whose
	// every exposure carries fresh noise, never delivers twice.
	Source uint64
	// Origin and Scale place Img in the camera picture: a point p of Img
	// lies at Origin + p/Scale there (a zero Scale means 1). The injection
	// check measures how the face moved across the camera picture, which
	// a window cut around the face each frame would hide.
	Origin face.Point
	Scale  float64
}

// Options tune Analyze. The zero value selects the defaults, which were
// tuned on the simulator (docs/liveness.md).
type Options struct {
	// OnsetWindow is the range of lags, after a colour's display time, in
	// which its reflection must start (default DefaultOnsetWindow). It
	// absorbs screen and camera latency and the error of mapping the
	// client's clock; it must stay below what a relay or a renderer needs.
	OnsetWindow [2]time.Duration
	// MaxGap is the longest stretch without a usable frame allowed around
	// a transition (default 150 ms: one dropped frame at 15 fps, two at
	// 20). An onset is only known to within the frames around it, so
	// longer gaps would let a late reflection pass for a timely one.
	MaxGap time.Duration
	// MinBaselineFrames is how many face frames must precede the first
	// colour (default 2).
	MinBaselineFrames int
	// MinModulation is the weakest reflection accepted, per camera
	// channel: how much the face brightens, relative to the background
	// and as a fraction of its pre-flash level, when that screen channel
	// goes from off to full (default 0.03).
	MinModulation float64
	// MinColorMargin is how much nearer, in units of its uncertainty,
	// each interval's reflection must be to the colour shown than to any
	// other palette colour (default 1).
	MinColorMargin float64
	// MinRelief is the least fine structure the reflection strength must
	// show across the skin, relative to its mean, once a smooth surface
	// is taken out (default 0.1; see relief.go).
	MinRelief float64
	// MaxTint is the largest share of the colour response that may come
	// from the background (default 0.3).
	MaxTint float64
	// MaxAppearanceDistance is the largest appearance-signature distance
	// from the pre-flash face accepted for three frames in a row (default
	// DefaultMaxAppearanceDistance).
	MaxAppearanceDistance float64
	// MaxDescDistance is the largest descriptor distance from the first
	// described frame; zero selects a default per embedding model, and
	// descriptors of other models are then ignored.
	MaxDescDistance float64
	// MaxHoldSkew is how far the reported display times may stray from
	// the hold times the challenge asked for (default 100 ms).
	MaxHoldSkew time.Duration
	// Passive, when set, is a passive anti-spoof model's probability, in
	// [0, 1], that the face is live; it becomes the "passive" check.
	Passive *float64
	// PassiveThreshold is the probability the passive check needs
	// (default 0.5).
	PassiveThreshold float64
	// MinMotion is the least movement of the face across the camera
	// picture, in inter-ocular distances (the RMS distance of its centre
	// from its mean position), below which the frames are taken for a
	// still picture rendered in software (default DefaultMinMotion; see
	// injection.go).
	MinMotion float64
	// ClientSignals are the injection signals the transport raised about
	// the client that sent the frames (the capture SDK's report on its
	// camera and browser, see package session). Each one fails the
	// injection check.
	ClientSignals []string
}

// Defaults of Options.
const (
	DefaultMaxGap                = 150 * time.Millisecond
	DefaultMinModulation         = 0.03
	DefaultMinColorMargin        = 1
	DefaultMinRelief             = 0.1
	DefaultMaxTint               = 0.3
	DefaultMaxAppearanceDistance = 0.25
	DefaultMaxHoldSkew           = 100 * time.Millisecond
	DefaultPassiveThreshold      = 0.5
	DefaultMinMotion             = 0.004
)

// DefaultOnsetWindow is Options.OnsetWindow's default.
var DefaultOnsetWindow = [2]time.Duration{-40 * time.Millisecond, 110 * time.Millisecond}

func (o Options) withDefaults() Options {
	o.OnsetWindow = cmp.Or(o.OnsetWindow, DefaultOnsetWindow)
	o.MaxGap = cmp.Or(o.MaxGap, DefaultMaxGap)
	o.MinBaselineFrames = cmp.Or(o.MinBaselineFrames, 2)
	o.MinModulation = cmp.Or(o.MinModulation, DefaultMinModulation)
	o.MinColorMargin = cmp.Or(o.MinColorMargin, DefaultMinColorMargin)
	o.MinRelief = cmp.Or(o.MinRelief, DefaultMinRelief)
	o.MaxTint = cmp.Or(o.MaxTint, DefaultMaxTint)
	o.MaxAppearanceDistance = cmp.Or(o.MaxAppearanceDistance, DefaultMaxAppearanceDistance)
	o.MaxHoldSkew = cmp.Or(o.MaxHoldSkew, DefaultMaxHoldSkew)
	o.PassiveThreshold = cmp.Or(o.PassiveThreshold, DefaultPassiveThreshold)
	o.MinMotion = cmp.Or(o.MinMotion, DefaultMinMotion)
	return o
}

// Check names, in the order Verdict.Checks lists them.
const (
	CheckContinuity = "continuity" // frames cover every transition, one face throughout
	CheckIdentity   = "identity"   // the same person in every frame
	CheckReflection = "reflection" // the face reflects the screen at all
	CheckColor      = "color"      // each interval's reflection is the colour shown, in order
	CheckTiming     = "timing"     // each reflection starts inside the onset window
	CheckRelief     = "relief"     // the reflection's spatial pattern is a curved face's
	CheckTint       = "tint"       // the background does not take the colours too
	CheckInjection  = "injection"  // the pictures came from a camera, not software
	CheckPassive    = "passive"    // the passive model's score, when given
)

// Check is one named test of a verdict.
type Check struct {
	Name string `json:"name"`
	Pass bool   `json:"pass"`
	// Score is in [0, 1], 0.5 at the threshold, higher for more live.
	Score float64 `json:"score"`
	// Value is the measured statistic and Threshold its limit, in the
	// check's own units (Detail says which side passes).
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Detail    string  `json:"detail,omitempty"`
}

// Onset is when one colour's reflection was seen to start.
type Onset struct {
	// Lag is the onset minus the colour's display time.
	Lag time.Duration `json:"lag"`
	// Measured is false when the change was too small to time (the first
	// colour may look like the pre-flash screen) or no step was found.
	Measured bool `json:"measured"`
}

// Verdict is the outcome of Analyze.
//
// Decision rule: every check must pass. Score is the smallest check score,
// so it is at least 0.5 exactly when the verdict passes and it shows how
// near the weakest check came to its threshold. The passive model, when
// its score is given, is one more check under the same rule: it can veto a
// reflection that passed but never rescue one that failed, because each
// check tests a different physical property an attack must fake, and the
// attack that fakes one still fails another.
type Verdict struct {
	Pass   bool    `json:"pass"`
	Score  float64 `json:"score"`
	Checks []Check `json:"checks"`
	// Reason is the name of the failed check furthest from passing,
	// preferring one that measured something ("" on pass).
	Reason string `json:"reason,omitempty"`
	// ScreenReplay is set when the response looks like a screen or a
	// print rather than a face: the background took the colours too
	// (tint), or the reflection of the right colours had no 3-D structure
	// (relief).
	ScreenReplay bool `json:"screen_replay"`
	// FaceReplaced is set when the person changed during the sequence.
	FaceReplaced bool `json:"face_replaced"`
	// Injection lists the injection signals raised (injection.go): the
	// frames' own and Options.ClientSignals. Any one fails the verdict.
	Injection []string `json:"injection,omitempty"`
	// Modulation is the face's mean reflection strength (see
	// Options.MinModulation).
	Modulation float64 `json:"modulation"`
	// Decoded is, per colour interval, the palette colour nearest to what
	// the face reflected.
	Decoded []string `json:"decoded,omitempty"`
	// Onsets are the measured reflection onsets, per colour.
	Onsets []Onset `json:"onsets,omitempty"`
	// Best is the index, in the frames given to Analyze, of the sharpest
	// face frame, the one to compare with the references; -1 if none.
	Best int `json:"best"`
}

// Check returns the named check and whether the verdict has it.
func (v Verdict) Check(name string) (Check, bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Analyze decides whether frames show a live face reflecting challenge ch,
// whose colour i appeared on screen at shown[i] (zero when unknown; it is
// then derived from a known neighbour, or ch.Start, and the hold times).
// Frames may come in any order; frames without a face are skipped.
// Each check is described at its Check* name and in docs/liveness.md;
// Verdict documents how they combine.
func Analyze(ch Challenge, shown []time.Time, frames []Frame, opt Options) Verdict {
	a := &analysis{ch: ch, opt: opt.withDefaults(), n: len(ch.Colors), motion: math.NaN()}
	v := Verdict{Best: -1}
	checks := make([]Check, 0, 8)
	if err := a.resolveTimes(shown); err != "" {
		for _, name := range []string{CheckContinuity, CheckIdentity, CheckReflection, CheckColor, CheckTiming, CheckRelief, CheckTint, CheckInjection} {
			checks = append(checks, failed(name, err))
		}
		return a.finish(v, checks)
	}
	a.measure(frames)
	v.Best = a.best(frames)

	cont, ok := a.continuity()
	checks = append(checks, cont)
	id := a.identity()
	checks = append(checks, id)
	v.FaceReplaced = !id.Pass && !math.IsNaN(id.Value)
	inj, signals := a.injection()
	v.Injection = signals
	if !ok {
		for _, name := range []string{CheckReflection, CheckColor, CheckTiming, CheckRelief, CheckTint} {
			checks = append(checks, failed(name, "not measured"))
		}
		return a.finish(v, append(checks, inj))
	}
	a.fit()
	refl := a.reflection()
	checks = append(checks, refl)
	v.Modulation = (a.beta[0] + a.beta[1] + a.beta[2]) / 3
	col, decoded := a.color()
	checks = append(checks, col)
	v.Decoded = decoded
	tm, onsets := a.timing()
	checks = append(checks, tm)
	v.Onsets = onsets
	rel := a.relief(refl.Pass && col.Pass)
	checks = append(checks, rel)
	tint := a.tint()
	checks = append(checks, tint, inj)
	v.ScreenReplay = !tint.Pass || (!rel.Pass && !math.IsNaN(rel.Value))
	return a.finish(v, checks)
}

// finish adds the passive check and applies the decision rule.
func (a *analysis) finish(v Verdict, checks []Check) Verdict {
	if p := a.opt.Passive; p != nil {
		th := a.opt.PassiveThreshold
		checks = append(checks, Check{
			Name: CheckPassive, Pass: *p >= th, Score: logistic(*p-th, 0.1),
			Value: *p, Threshold: th, Detail: "live probability ≥ threshold",
		})
	}
	v.Checks = checks
	v.Pass = len(checks) > 0
	v.Score = 1
	// The reason is the failed check furthest from passing, preferring
	// one that measured something over one that could not.
	worst := 2.0
	for _, c := range checks {
		v.Score = math.Min(v.Score, c.Score)
		if !c.Pass {
			v.Pass = false
			s := c.Score
			if math.IsNaN(c.Value) {
				s += 1
			}
			if s < worst {
				worst, v.Reason = s, c.Name
			}
		}
	}
	if v.Pass {
		// A pass never scores below the threshold point, even when a
		// check's score rounds there.
		v.Score = math.Max(v.Score, 0.5)
	} else {
		v.Score = math.Min(v.Score, 0.4999)
	}
	return v
}

func failed(name, detail string) Check {
	return Check{Name: name, Detail: detail, Value: math.NaN()}
}

// logistic maps a margin (positive = passing side) to a score in (0, 1)
// that is 0.5 at the threshold; scale is the margin worth 0.73.
func logistic(margin, scale float64) float64 {
	if math.IsNaN(margin) {
		return 0
	}
	return 1 / (1 + math.Exp(-margin/scale))
}

// resolveTimes fills disp and end from shown, the hold times and
// ch.Start, and checks that the display times honour the holds: a client
// that stretched or shifted its colours could otherwise line a late
// reflection up with its own reported times.
func (a *analysis) resolveTimes(shown []time.Time) string {
	n := a.n
	if n < 2 || len(a.ch.Holds) != n {
		return "invalid challenge"
	}
	if len(shown) != 0 && len(shown) != n {
		return fmt.Sprintf("%d display times for %d colours", len(shown), n)
	}
	a.lin = make([][3]float64, n)
	for i, c := range a.ch.Colors {
		a.lin[i] = c.Linear()
	}
	// Offsets of each colour from the first, by the schedule.
	off := make([]time.Duration, n)
	for i := 1; i < n; i++ {
		off[i] = off[i-1] + a.ch.Holds[i-1]
	}
	a.disp = make([]time.Time, n)
	known := -1
	for i := 0; i < n && len(shown) == n; i++ {
		if !shown[i].IsZero() {
			a.disp[i] = shown[i]
			if known < 0 {
				known = i
			}
		}
	}
	var origin time.Time
	switch {
	case known >= 0:
		origin = shown[known].Add(-off[known])
	case !a.ch.Start.IsZero():
		origin = a.ch.Start
	default:
		return "no display times"
	}
	for i := range a.disp {
		if a.disp[i].IsZero() {
			// The nearest known neighbour carries the best estimate.
			best := -1
			for j := 0; j < n && len(shown) == n; j++ {
				if !shown[j].IsZero() && (best < 0 || abs(j-i) < abs(best-i)) {
					best = j
				}
			}
			if best >= 0 {
				a.disp[i] = shown[best].Add(off[i] - off[best])
			} else {
				a.disp[i] = origin.Add(off[i])
			}
		}
	}
	a.end = make([]time.Time, n)
	for i := 0; i < n; i++ {
		if i+1 < n {
			a.end[i] = a.disp[i+1]
		} else {
			a.end[i] = a.disp[i].Add(a.ch.Holds[i])
		}
		d := a.end[i].Sub(a.disp[i])
		if i+1 < n {
			if skew := d - a.ch.Holds[i]; skew > a.opt.MaxHoldSkew || skew < -a.opt.MaxHoldSkew {
				return fmt.Sprintf("colour %d held %v, asked %v", i+1, d.Round(time.Millisecond), a.ch.Holds[i])
			}
		}
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
