package liveness

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/glint-id/glint/internal/face"
)

// continuity checks that the frames let every transition be seen: one
// face throughout, a baseline, settled frames in every interval and no
// gap longer than MaxGap around any transition. It reports whether the
// colour checks have what they need.
func (a *analysis) continuity() (Check, bool) {
	c := Check{Name: CheckContinuity, Threshold: ms(a.opt.MaxGap), Detail: "largest gap around a transition, ms ≤ threshold"}
	if a.multi > 0 {
		c.Value = math.NaN()
		c.Detail = fmt.Sprintf("%d frames with more than one face", a.multi)
		return c, false
	}
	if a.exposure {
		c.Value = math.NaN()
		c.Detail = "too little of the face or the background measurable: clipped, black or out of the picture"
		return c, false
	}
	if len(a.base) < a.opt.MinBaselineFrames {
		c.Value = math.NaN()
		c.Detail = fmt.Sprintf("%d face frames before the first colour, need %d", len(a.base), a.opt.MinBaselineFrames)
		return c, false
	}
	for k, s := range a.steady {
		if len(s) == 0 {
			c.Value = math.NaN()
			c.Detail = fmt.Sprintf("no face frame while colour %d was settled", k+1)
			return c, false
		}
	}
	var worst time.Duration
	for k := 0; k < a.n; k++ {
		lo, hi := a.disp[k].Add(a.opt.OnsetWindow[0]), a.disp[k].Add(a.opt.OnsetWindow[1])
		for i := 1; i < len(a.frames); i++ {
			t0, t1 := a.frames[i-1].t, a.frames[i].t
			if t1.After(lo) && t0.Before(hi) {
				worst = max(worst, t1.Sub(t0))
			}
		}
	}
	c.Value = ms(worst)
	c.Pass = worst <= a.opt.MaxGap
	c.Score = logistic(ms(a.opt.MaxGap-worst), 30)
	return c, true
}

// identity checks that one person is present throughout: by descriptor
// distance from the first described frame when descriptors are given,
// else by appearance signature distance from the pre-flash face, where
// three frames in a row must differ before it counts (a single frame can
// be blurred or mis-landmarked; a swapped face stays).
func (a *analysis) identity() Check {
	c := Check{Name: CheckIdentity}
	var ref *face.Descriptor
	th := a.opt.MaxDescDistance
	worst, described := 0.0, 0
	for _, m := range a.ids {
		if m.desc == nil {
			continue
		}
		if th == 0 {
			if th = descThresholds[m.desc.Model]; th == 0 {
				continue
			}
		}
		if ref == nil {
			ref = m.desc
			described++
			continue
		}
		if d := descDistance(ref, m.desc); d >= 0 {
			worst = math.Max(worst, d)
			described++
		}
	}
	if described >= 2 {
		c.Value, c.Threshold = worst, th
		c.Pass = worst <= th
		c.Score = logistic(th-worst, 0.05)
		c.Detail = "largest descriptor distance from the first described frame ≤ threshold"
		return c
	}
	// Reference signature: the mean of the baseline's (or the first
	// frames' when the baseline is missing).
	var refIdx []int
	for i, m := range a.ids {
		if m.t.Before(a.disp[0]) && m.sig != nil {
			refIdx = append(refIdx, i)
		}
	}
	if len(refIdx) == 0 {
		for i := 0; i < min(3, len(a.ids)); i++ {
			refIdx = append(refIdx, i)
		}
	}
	var refSig []float32
	for _, i := range refIdx {
		s := a.ids[i].sig
		if s == nil {
			continue
		}
		if refSig == nil {
			refSig = make([]float32, len(s))
		}
		for j, v := range s {
			refSig[j] += v
		}
	}
	if refSig == nil || len(a.ids) < 2 {
		c.Value, c.Threshold = math.NaN(), a.opt.MaxAppearanceDistance
		c.Detail = "not measured"
		return c
	}
	normalize(refSig)
	var dists []float64
	for _, m := range a.ids {
		if m.sig != nil {
			dists = append(dists, sigDistance(refSig, m.sig))
		}
	}
	// The least of each run of three: a lasting change, not a glitch.
	run := min(3, len(dists))
	for i := 0; i+run <= len(dists); i++ {
		worst = math.Max(worst, slices.Min(dists[i:i+run]))
	}
	th = a.opt.MaxAppearanceDistance
	c.Value, c.Threshold = worst, th
	c.Pass = worst <= th
	c.Score = logistic(th-worst, 0.08)
	c.Detail = "appearance distance from the pre-flash face, lasting 3 frames, ≤ threshold"
	return c
}

func normalize(v []float32) {
	var mean, n float64
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for i := range v {
		v[i] -= float32(mean)
		n += float64(v[i]) * float64(v[i])
	}
	if n > 0 {
		s := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= s
		}
	}
}

// sigDistance is one minus the correlation of two signatures: 0 for the
// same picture, about 1 for unrelated ones.
func sigDistance(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return 1 - s
}

// descDistance is the Euclidean distance of two descriptors of the same
// model, or -1 when they cannot be compared.
func descDistance(a, b *face.Descriptor) float64 {
	if a.Model != b.Model || len(a.Vector) != len(b.Vector) || len(a.Vector) == 0 {
		return -1
	}
	var s float64
	for i, v := range a.Vector {
		d := float64(v - b.Vector[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// descThresholds are the largest descriptor distances accepted between
// frames of one verification, per embedding model: below each model's
// same-person decision distance (face.Calibration), since frames seconds
// apart are far more alike than two photos of a person.
var descThresholds = map[string]float64{
	"face-api-resnet128@1.7.15": 0.5,
	"human-faceres@3.3.6":       0.85,
}
