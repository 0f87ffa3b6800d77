package liveness

import (
	"math"
	"strings"
	"testing"
	"time"
)

// fitted returns an analysis of the named colours whose fit is already
// made: level = alpha + beta·screen per channel, the frame noise cov, and
// nk settled frames per interval. seen names the colour each interval's
// level reflects (nil: the colours shown), and shift moves interval k's
// level by shift[k] screen units.
func fitted(tb testing.TB, names, seen []string, beta [3]float64, cov [3][3]float64, nk int, shift map[int][3]float64) *analysis {
	tb.Helper()
	a := scheduled(tb, 400*time.Millisecond, names...)
	if seen == nil {
		seen = names
	}
	lit := paletteColors(tb, seen...)
	a.alpha, a.beta, a.cov = [3]float64{1, 1, 1}, beta, cov
	a.levels = make([][3]float64, a.n)
	a.steady = make([][]int, a.n)
	for k := range a.levels {
		l := lit[k].Linear()
		for ch := range l {
			a.levels[k][ch] = a.alpha[ch] + beta[ch]*(l[ch]+shift[k][ch])
		}
		for i := range nk {
			a.steady[k] = append(a.steady[k], k*nk+i)
		}
	}
	return a
}

// floorCov is the noise covariance of frames that do not scatter at all:
// fit's floor on the diagonal.
var floorCov = [3][3]float64{{0.004 * 0.004, 0, 0}, {0, 0.004 * 0.004, 0}, {0, 0, 0.004 * 0.004}}

func TestReflectionCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		beta   [3]float64
		pass   bool
		value  float64
		detail string
	}{
		{"at threshold", [3]float64{0.2, 0.03, 0.1}, true, 0.03, "(r 0.200 g 0.030 b 0.100)"},
		{"just below", [3]float64{0.2, 0.0299, 0.1}, false, 0.0299, "weakest channel's reflection strength ≥ threshold"},
		{"just above", [3]float64{0.2, 0.0301, 0.1}, true, 0.0301, "weakest channel's reflection strength ≥ threshold"},
		// Strong reflection in two channels does not make up for a
		// third that does not respond.
		{"one channel dead", [3]float64{0.5, 0.5, 0.002}, false, 0.002, "(r 0.500 g 0.500 b 0.002)"},
		// A face that darkens when the screen brightens.
		{"inverted", [3]float64{-0.1, 0.2, 0.2}, false, -0.1, "(r -0.100 g 0.200 b 0.200)"},
		// A recording: no response at all.
		{"replay", [3]float64{0, 0, 0}, false, 0, "(r 0.000 g 0.000 b 0.000)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := fitted(t, []string{"red", "green", "blue", "white"}, nil, tc.beta, floorCov, 4, nil)
			c := a.reflection()
			wantCheck(t, c, CheckReflection, tc.pass, tc.value, 1e-12, tc.detail)
			if c.Threshold != 0.03 {
				t.Errorf("threshold %v, want the default 0.03", c.Threshold)
			}
		})
	}
	// At the threshold the score is 0.5 exactly.
	a := fitted(t, []string{"red", "green"}, nil, [3]float64{0.03, 0.03, 0.03}, floorCov, 4, nil)
	if c := a.reflection(); c.Score != 0.5 {
		t.Errorf("score at the threshold %v, want 0.5", c.Score)
	}
}

// colorSigma is the uncertainty, in screen units, of an interval's decoded
// colour when every channel reflects with strength beta and nk frames
// with noise variance v settle: the frames' noise (a median of nk frames
// scatters 1.25/√nk as much as one) plus the linear model's tolerance
// (0.12 screen units) and compression's (0.012 of the face level).
func colorSigma(beta, v float64, nk int) float64 {
	return math.Sqrt(v*1.5625/float64(nk)/(beta*beta) + 0.12*0.12 + 0.012*0.012/(beta*beta))
}

func TestColorCheck(t *testing.T) {
	t.Parallel()
	shown := []string{"red", "green", "blue", "white"}
	const beta = 0.1
	sigma := colorSigma(beta, floorCov[0][0], 4)
	// towardCyan shifts green's reflection by s towards cyan (0, 1, 1):
	// its distance from green is s, from cyan 1 − s, and every other
	// palette colour stays further, so the margin is (1 − 2s)/sigma.
	towardCyan := func(margin float64) map[int][3]float64 {
		return map[int][3]float64{1: {0, 0, (1 - margin*sigma) / 2}}
	}
	for _, tc := range []struct {
		name    string
		seen    []string
		shift   map[int][3]float64
		pass    bool
		value   float64 // NaN: only the sign matters
		decoded string
		detail  string
	}{
		{"exact colours", nil, nil, true, math.NaN(), "red,green,blue,white", "least margin"},
		// At the threshold, to rounding: a margin of exactly 1 passes.
		{"at threshold", nil, towardCyan(1 + 1e-9), true, 1, "red,green,blue,white", "least margin"},
		{"just below", nil, towardCyan(0.995), false, 0.995, "red,green,blue,white", "; shown red,green,blue,white, seen red,green,blue,white"},
		{"just above", nil, towardCyan(1.005), true, 1.005, "red,green,blue,white", "least margin"},
		// Past half-way the reflection decodes to the neighbour.
		{"nearer the neighbour", nil, map[int][3]float64{1: {0, 0, 0.7}}, false, -0.4 / sigma, "red,cyan,blue,white", "seen red,cyan,blue,white"},
		// A recorded session replayed for another challenge: right
		// physics, other colours.
		{"other sequence", []string{"red", "blue", "green", "white"}, nil, false, math.NaN(), "red,blue,green,white", "; shown red,green,blue,white, seen red,blue,green,white"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := fitted(t, shown, tc.seen, [3]float64{beta, beta, beta}, floorCov, 4, tc.shift)
			c, decoded := a.color()
			value, tol := tc.value, 1e-8
			if math.IsNaN(value) {
				// Exact colours: every margin is the distance to the
				// nearest other palette colour, at least 0.96 screen
				// units; another sequence: far on the wrong side.
				value, tol = 0, math.Inf(1)
				if tc.pass && c.Value < 0.96/sigma || !tc.pass && c.Value > -0.96/sigma {
					t.Errorf("value %v, want beyond ±%v", c.Value, 0.96/sigma)
				}
			}
			wantCheck(t, c, CheckColor, tc.pass, value, tol, tc.detail)
			if got := strings.Join(decoded, ","); got != tc.decoded {
				t.Errorf("decoded %s, want %s", got, tc.decoded)
			}
			if c.Threshold != 1 {
				t.Errorf("threshold %v, want the default 1", c.Threshold)
			}
			if tc.pass && strings.Contains(c.Detail, "; shown") {
				t.Errorf("a pass lists the colours: %q", c.Detail)
			}
		})
	}
}

// The frames' noise widens the uncertainty, and so narrows the margin, by
// the median's 1.25/√nk: a noisy interval with few frames is judged more
// leniently than a sharp one, never more strictly.
func TestColorCheckNoise(t *testing.T) {
	t.Parallel()
	const beta, v = 0.1, 0.01 * 0.01
	noisy := [3][3]float64{{v, 0, 0}, {0, v, 0}, {0, 0, v}}
	shift := map[int][3]float64{1: {0, 0, 0.3}}
	for _, nk := range []int{1, 4, 16} {
		a := fitted(t, []string{"red", "green", "blue", "white"}, nil, [3]float64{beta, beta, beta}, noisy, nk, shift)
		c, _ := a.color()
		want := (1 - 2*0.3) / colorSigma(beta, v, nk)
		if math.Abs(c.Value-want) > 1e-9 {
			t.Errorf("%d frames: margin %v, want %v", nk, c.Value, want)
		}
	}
}

func TestFit(t *testing.T) {
	t.Parallel()
	alpha, beta := [3]float64{1.02, 0.98, 1.01}, [3]float64{0.12, 0.08, 0.05}
	a := scheduled(t, 400*time.Millisecond, "red", "green", "blue", "white")
	// Three frames per interval, the first and last e off the level in
	// the red channel: the median is the level, and the scatter is the
	// noise.
	const e = 0.02
	a.steady = make([][]int, a.n)
	for k := range a.n {
		var level [3]float64
		for ch := range level {
			level[ch] = alpha[ch] + beta[ch]*a.lin[k][ch]
		}
		for _, off := range []float64{-e, 0, e} {
			m := measured{pooled: level}
			m.pooled[0] += off
			a.steady[k] = append(a.steady[k], len(a.frames))
			a.frames = append(a.frames, m)
		}
	}
	a.fit()
	for ch := range 3 {
		if math.Abs(a.alpha[ch]-alpha[ch]) > 1e-12 || math.Abs(a.beta[ch]-beta[ch]) > 1e-12 {
			t.Errorf("channel %d: fitted %v + %v·screen, want %v + %v·screen", ch, a.alpha[ch], a.beta[ch], alpha[ch], beta[ch])
		}
	}
	// 8 of the 12 residuals are ±e in red: 8e²/11, plus the floor.
	const floor = 0.004 * 0.004
	want := [3][3]float64{{8 * e * e / 11, 0, 0}, {0, 0, 0}, {0, 0, 0}}
	for p := range want {
		want[p][p] += floor
		for q := range want[p] {
			if math.Abs(a.cov[p][q]-want[p][q]) > 1e-15 {
				t.Errorf("cov[%d][%d] = %v, want %v", p, q, a.cov[p][q], want[p][q])
			}
		}
	}
	// With three residuals or fewer the scatter says nothing: the floor
	// alone.
	a.steady = [][]int{{0}, {3}, {6}, {9, 10}}
	a.fit()
	if a.cov != floorCov {
		t.Errorf("cov from 2 residuals %v, want the floor %v", a.cov, floorCov)
	}
	// The level of two frames is their mean.
	if got, want := a.levels[3][0], (a.frames[9].pooled[0]+a.frames[10].pooled[0])/2; got != want {
		t.Errorf("level of two frames %v, want %v", got, want)
	}
}
