package liveness

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
)

// framesAt returns an analysis of four colours held 400 ms with a face
// frame at each of times (ms from the first colour's display), sorted
// into the baseline and each colour's settled part as measure does.
func framesAt(tb testing.TB, times []int) *analysis {
	tb.Helper()
	a := scheduled(tb, 400*time.Millisecond, "red", "green", "blue", "white")
	times = slices.Clone(times)
	slices.Sort(times)
	for _, ms := range slices.Compact(times) {
		a.frames = append(a.frames, measured{t: checkT0.Add(time.Duration(ms) * time.Millisecond)})
	}
	a.measureFrames()
	return a
}

// every returns the times from lo to hi (exclusive) step ms apart,
// leaving out those in the open interval (gapFrom, gapTo) and adding
// gapTo.
func every(lo, hi, step, gapFrom, gapTo int) []int {
	var out []int
	for t := lo; t < hi; t += step {
		if t > gapFrom && t < gapTo {
			continue
		}
		out = append(out, t)
	}
	if gapTo > gapFrom {
		out = append(out, gapTo)
	}
	return out
}

func TestContinuityCheck(t *testing.T) {
	t.Parallel()
	// Frames every 25 ms from 300 ms before the first colour to the end
	// of the last (1600 ms); the colours change at 0, 400, 800 and 1200.
	const lo, hi = -300, 1600
	for _, tc := range []struct {
		name   string
		times  []int
		multi  int
		expose bool
		pass   bool
		value  float64 // NaN: not measured
		detail string
	}{
		{"steady frames", every(lo, hi, 25, 0, 0), 0, false, true, 25, "largest gap around a transition, ms ≤ threshold"},
		// A gap across the third colour's change (window 760–910 ms).
		{"gap at threshold", every(lo, hi, 25, 800, 950), 0, false, true, 150, "largest gap around a transition"},
		{"gap just below", every(lo, hi, 25, 800, 949), 0, false, true, 149, "largest gap around a transition"},
		{"gap just above", every(lo, hi, 25, 800, 951), 0, false, false, 151, "largest gap around a transition"},
		// The same gap in the middle of a hold, where no change is
		// timed, does not matter.
		{"gap inside a hold", every(lo, hi, 25, 525, 725), 0, false, true, 25, "largest gap around a transition"},
		// A gap that ends when the change's window begins does not
		// reach into it.
		{"gap before a window", every(lo, hi, 25, 550, 760), 0, false, true, 25, "largest gap around a transition"},
		{"gap into a window", every(lo, hi, 25, 550, 761), 0, false, false, 211, "largest gap around a transition"},
		// The baseline is what precedes the first colour by more than
		// the onset window's early side (40 ms).
		{"two baseline frames", append([]int{-100, -41}, every(0, hi, 25, 0, 0)...), 0, false, true, 41, "largest gap around a transition"},
		{"one baseline frame", append([]int{-100, -40}, every(0, hi, 25, 0, 0)...), 0, false, false, math.NaN(), "1 face frames before the first colour, need 2"},
		{"no baseline", every(0, hi, 25, 0, 0), 0, false, false, math.NaN(), "0 face frames before the first colour, need 2"},
		// Colour 3 is settled from 110 ms after its display to 40 ms
		// before the next colour: 910–1160 ms.
		{"colour never settled", every(lo, hi, 25, 900, 1160), 0, false, false, math.NaN(), "no face frame while colour 3 was settled"},
		{"colour settled in one frame", append(every(lo, hi, 25, 900, 1160), 910), 0, false, true, 25, "largest gap around a transition"},
		// Measurable, but the frames are missing around a change.
		{"colour settled after a gap", append(every(lo, hi, 25, 900, 1160), 1159), 0, false, false, 259, "largest gap around a transition"},
		{"several faces", every(lo, hi, 25, 0, 0), 2, false, false, math.NaN(), "2 frames with more than one face"},
		{"exposure", every(lo, hi, 25, 0, 0), 0, true, false, math.NaN(), "too little of the face or the background measurable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := framesAt(t, tc.times)
			a.multi, a.exposure = tc.multi, tc.expose
			c, ok := a.continuity()
			wantCheck(t, c, CheckContinuity, tc.pass, tc.value, 1e-9, tc.detail)
			// Whether the colour checks can run: every settled part has a
			// frame and there is a baseline, whatever the gaps.
			if want := !math.IsNaN(tc.value); ok != want {
				t.Errorf("measurable %v, want %v", ok, want)
			}
			if c.Threshold != 150 {
				t.Errorf("threshold %v, want the default 150 ms", c.Threshold)
			}
		})
	}
}

// descriptorFrame is a frame of the identity check with a descriptor d
// from the reference (1, 0, …) of model.
func descriptorFrame(ms int, model string, d float32) identityFrame {
	v := make([]float32, 8)
	v[0] = 1 + d
	return identityFrame{t: checkT0.Add(time.Duration(ms) * time.Millisecond), desc: &face.Descriptor{Model: model, Vector: v}}
}

// signatureFrame is a frame of the identity check whose appearance
// signature is at distance d (one minus the correlation) from u.
func signatureFrame(ms int, d float64) identityFrame {
	c, s := 1-d, math.Sqrt(1-(1-d)*(1-d))
	sig := make([]float32, 8)
	for i := range sig {
		// u alternates, w alternates in pairs: both zero-mean, unit
		// and orthogonal.
		u := float64(1 - 2*(i%2))
		w := float64(1 - 2*(i/2%2))
		sig[i] = float32((c*u + s*w) / math.Sqrt(8))
	}
	return identityFrame{t: checkT0.Add(time.Duration(ms) * time.Millisecond), sig: sig}
}

func TestIdentityCheck(t *testing.T) {
	t.Parallel()
	const resnet = "face-api-resnet128@1.7.15" // 0.5 apart at most
	const faceres = "human-faceres@3.3.6"      // 0.85
	described := func(model string, d ...float32) []identityFrame {
		out := []identityFrame{descriptorFrame(-100, model, 0)}
		for i, x := range d {
			out = append(out, descriptorFrame(100*i, model, x))
		}
		return out
	}
	// Two baseline frames, then the distances given, 100 ms apart.
	signed := func(d ...float64) []identityFrame {
		out := []identityFrame{signatureFrame(-200, 0), signatureFrame(-100, 0)}
		for i, x := range d {
			out = append(out, signatureFrame(100*i, x))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		ids       []identityFrame
		threshold float64 // Options.MaxDescDistance
		pass      bool
		value     float64
		detail    string
	}{
		{"descriptor at threshold", described(resnet, 0.1, 0.5, 0.2), 0, true, 0.5, "largest descriptor distance from the first described frame ≤ threshold"},
		{"descriptor just below", described(resnet, 0.1, 0.499, 0.2), 0, true, 0.499, "largest descriptor distance"},
		{"descriptor just above", described(resnet, 0.1, 0.501, 0.2), 0, false, 0.501, "largest descriptor distance"},
		{"descriptor, other model's threshold", described(faceres, 0.1, 0.84, 0.2), 0, true, 0.84, "largest descriptor distance"},
		{"descriptor, other model's threshold exceeded", described(faceres, 0.1, 0.86, 0.2), 0, false, 0.86, "largest descriptor distance"},
		{"descriptor, threshold given", described(resnet, 0.1, 0.31, 0.2), 0.3, false, 0.31, "largest descriptor distance"},
		// A model without a threshold of its own: its descriptors are
		// ignored, and with no signatures nothing is measured.
		{"unknown model", described("mystery@1", 0.1, 0.9), 0, false, math.NaN(), "not measured"},
		{"one descriptor", described(resnet), 0, false, math.NaN(), "not measured"},
		// Appearance: the change must last three frames.
		{"appearance steady", signed(0.01, 0.02, 0.01, 0.02), 0, true, 0.01, "appearance distance from the pre-flash face, lasting 3 frames, ≤ threshold"},
		{"appearance glitch", signed(0.01, 0.9, 0.9, 0.01, 0.02), 0, true, 0.01, "lasting 3 frames"},
		{"appearance at threshold", signed(0.01, 0.25, 0.25, 0.25, 0.01), 0, true, 0.25, "lasting 3 frames"},
		{"appearance just below", signed(0.01, 0.249, 0.249, 0.249, 0.01), 0, true, 0.249, "lasting 3 frames"},
		{"appearance just above", signed(0.01, 0.251, 0.251, 0.251, 0.01), 0, false, 0.251, "lasting 3 frames"},
		{"face replaced", signed(0.01, 0.6, 0.7, 0.8, 0.9), 0, false, 0.7, "lasting 3 frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := scheduled(t, 400*time.Millisecond, "red", "green", "blue", "white")
			a.opt.MaxDescDistance = tc.threshold
			a.ids = tc.ids
			c := a.identity()
			wantCheck(t, c, CheckIdentity, tc.pass, tc.value, 1e-6, tc.detail)
		})
	}
}

// Without a baseline the first three frames are the reference.
func TestIdentityWithoutBaseline(t *testing.T) {
	t.Parallel()
	a := scheduled(t, 400*time.Millisecond, "red", "green", "blue", "white")
	for i, d := range []float64{0, 0, 0, 0.3, 0.3, 0.3} {
		a.ids = append(a.ids, signatureFrame(100*i, d))
	}
	c := a.identity()
	wantCheck(t, c, CheckIdentity, false, 0.3, 1e-6, "lasting 3 frames")
	if c.Threshold != 0.25 {
		t.Errorf("threshold %v, want the default 0.25", c.Threshold)
	}
}

// A set's light is the ratio of its usable points' values to the same
// points' values before the flashes. A channel loses the set when less
// than 30 % of the weight of its points is usable, or, for the
// background ring, fewer than 40 points.
func TestSetLight(t *testing.T) {
	t.Parallel()
	// points returns n points of weight 1, the first usable of them
	// at 0.6 against a baseline of 0.5, the rest clipped (zero).
	points := func(n, usable int) (pointSet, [][3]float32, [][3]float64) {
		ps := pointSet{pos: make([]complex128, n), w: make([]float64, n)}
		vals := make([][3]float32, n)
		ref0 := make([][3]float64, n)
		for i := range n {
			ps.w[i] = 1
			ref0[i] = [3]float64{0.5, 0.5, 0.5}
			if i < usable {
				vals[i] = [3]float32{0.6, 0.6, 0.6}
			}
		}
		return ps, vals, ref0
	}
	const ratio = float64(float32(0.6)) / 0.5
	for _, tc := range []struct {
		name       string
		n, usable  int
		background bool
		want       float64 // NaN: lost
	}{
		{"all usable", 100, 100, false, ratio},
		{"kept share at threshold", 100, 30, false, ratio},
		{"kept share just above", 100, 31, false, ratio},
		{"kept share just below", 100, 29, false, math.NaN()},
		{"a region's point", 1, 1, false, ratio},
		{"background at its point count", 100, 40, true, ratio},
		{"background below its point count", 100, 39, true, math.NaN()},
		{"background, kept share just below", 200, 59, true, math.NaN()},
		{"nothing usable", 10, 0, false, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps, vals, ref0 := points(tc.n, tc.usable)
			got := setLight(ps, vals, ref0, tc.background)
			for c, v := range got {
				if math.IsNaN(tc.want) != math.IsNaN(v) || !math.IsNaN(v) && math.Abs(v-tc.want) > 1e-12 {
					t.Errorf("channel %d: %v, want %v", c, v, tc.want)
				}
			}
		})
	}
	// A clipped point leaves the ratio of the others alone (a plain
	// mean over the usable points would fall from 0.7 to 0.6 and read as
	// a darker face), and points without a baseline do not count
	// against the kept share.
	ps, vals, ref0 := points(4, 1)
	ref0[1] = [3]float64{0.9, 0.9, 0.9}
	ref0[2] = [3]float64{math.NaN(), math.NaN(), math.NaN()}
	ref0[3] = ref0[2]
	if got := setLight(ps, vals, ref0, false); math.Abs(got[0]-ratio) > 1e-12 {
		t.Errorf("with a clipped point: %v, want %v", got[0], ratio)
	}
}

// A point's baseline is its median over the frames before the flashes
// that saw it usable, if at least half of them did.
func TestBaselineLevels(t *testing.T) {
	t.Parallel()
	// Four baseline views (1–4) and a later one (0) of two points: the
	// first usable in every baseline view, the second in two, then one.
	vals := [][][3]float32{
		{{9, 9, 9}, {9, 9, 9}},
		{{0.2, 0.2, 0.2}, {0.5, 0.5, 0}},
		{{0.4, 0.4, 0.4}, {0.7, 0.7, 0}},
		{{0.3, 0.3, 0.3}, {0, 0, 0.6}},
		{{0.1, 0.1, 0.1}, {0, 0, 0}},
	}
	got := baselineLevels(vals, []int{1, 2, 3, 4})
	f := func(v float32) float64 { return float64(v) }
	want := [][3]float64{
		{(f(0.2) + f(0.3)) / 2, (f(0.2) + f(0.3)) / 2, (f(0.2) + f(0.3)) / 2},
		{(f(0.5) + f(0.7)) / 2, (f(0.5) + f(0.7)) / 2, math.NaN()},
	}
	for i := range want {
		for c := range want[i] {
			if w, g := want[i][c], got[i][c]; math.IsNaN(w) != math.IsNaN(g) || !math.IsNaN(w) && w != g {
				t.Errorf("point %d channel %d: %v, want %v", i, c, g, w)
			}
		}
	}
}

// A region's channel is read only if it was measurable in every frame,
// and the face needs two core regions per channel and the background in
// every frame; otherwise the sequence fails continuity on exposure.
func TestChooseChannels(t *testing.T) {
	t.Parallel()
	// rels returns three views' light with every region and the
	// background measurable, then applies lose to them.
	rels := func(lose func(r *[3][nRegions + 1][3]float64)) [][nRegions + 1][3]float64 {
		var out [3][nRegions + 1][3]float64
		for j := range out {
			for k := range out[j] {
				out[j][k] = [3]float64{1, 1, 1}
			}
		}
		if lose != nil {
			lose(&out)
		}
		return out[:]
	}
	for _, tc := range []struct {
		name string
		lose func(r *[3][nRegions + 1][3]float64)
		ok   bool
		core [3]int // core regions pooled per channel
	}{
		{"everything measurable", nil, true, [3]int{5, 5, 5}},
		{"the nose clipped once in red", func(r *[3][nRegions + 1][3]float64) { r[1][regNose][0] = math.NaN() }, true, [3]int{4, 5, 5}},
		{"an outer cheek lost", func(r *[3][nRegions + 1][3]float64) {
			r[2][regLeftOuter] = [3]float64{math.NaN(), math.NaN(), math.NaN()}
		}, true, [3]int{5, 5, 5}},
		{"two core regions left in blue", func(r *[3][nRegions + 1][3]float64) {
			r[0][regForehead][2], r[1][regNose][2], r[2][regChin][2] = math.NaN(), math.NaN(), math.NaN()
		}, true, [3]int{5, 5, 2}},
		{"one core region left in blue", func(r *[3][nRegions + 1][3]float64) {
			r[0][regForehead][2], r[1][regNose][2], r[2][regChin][2], r[2][regLeftCheek][2] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		}, false, [3]int{}},
		{"background lost once", func(r *[3][nRegions + 1][3]float64) { r[1][nRegions][1] = math.NaN() }, false, [3]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := framesAt(t, every(-300, 1600, 25, 0, 0))
			for r := range a.use {
				a.use[r] = true
			}
			ok := a.chooseChannels(rels(tc.lose))
			if ok != tc.ok {
				t.Fatalf("measurable %v, want %v", ok, tc.ok)
			}
			if !ok {
				// What measure does then, and what the verdict says.
				a.exposure = true
				c, _ := a.continuity()
				wantCheck(t, c, CheckContinuity, false, math.NaN(), 0, "too little of the face or the background measurable")
				return
			}
			for ch, n := range tc.core {
				if len(a.coreCh[ch]) != n {
					t.Errorf("channel %d pools %v, want %d core regions", ch, a.coreCh[ch], n)
				}
			}
		})
	}
}
