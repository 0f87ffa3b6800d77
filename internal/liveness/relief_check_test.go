package liveness

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
)

// reliefScene returns an analysis of red, green, blue and white whose
// registration grid shows, on the relief cells (ci, cj) where skin says
// so, a surface of colour base(ci, cj) before the flashes (two frames)
// that reflects each screen colour l with strength s(ci, cj): each grid
// point's colour is base·exp(s·l) per channel, two frames per colour, so
// that every cell's log-chromaticity moves by exactly s per unit of the
// screen's. noise, when set, adds ±noise(ci, cj) to s in the first and
// second frame of each colour.
func reliefScene(tb testing.TB, skin func(ci, cj int) bool, s func(ci, cj int) float64, base func(ci, cj int) [3]float64, noise func(ci, cj int) float64) *analysis {
	tb.Helper()
	a := scheduled(tb, 400*time.Millisecond, "red", "green", "blue", "white")
	a.grid = newPatchGrid(FaceFrame{origin: face.Point{X: 60, Y: 50}, ex: face.Point{X: 28}, ey: face.Point{Y: 28}, iod: 28})
	a.mask = new([gridPoints]bool)
	cellOf := func(p int) (int, int) { return p % gridSide / reliefBin, p / gridSide / reliefBin }
	for p := range a.mask {
		a.mask[p] = skin(cellOf(p))
	}
	frame := func(l [3]float64, sign float64) measured {
		g := new([gridPoints][3]float32)
		for p := range g {
			ci, cj := cellOf(p)
			strength := s(ci, cj)
			if noise != nil {
				strength += sign * noise(ci, cj)
			}
			b := base(ci, cj)
			for ch := range b {
				g[p][ch] = float32(b[ch] * math.Exp(strength*l[ch]))
			}
		}
		return measured{grid: g}
	}
	a.frames = []measured{frame([3]float64{}, 0), frame([3]float64{}, 0)}
	a.base = []int{0, 1}
	a.steady = make([][]int, a.n)
	for k, l := range a.lin {
		a.steady[k] = []int{len(a.frames), len(a.frames) + 1}
		a.frames = append(a.frames, frame(l, 1), frame(l, -1))
	}
	return a
}

// block is skin on the cells of a w×h block from (2, 2), and not at the
// cells listed in holes.
func block(w, h int, holes ...[2]int) func(ci, cj int) bool {
	return func(ci, cj int) bool {
		for _, c := range holes {
			if c == [2]int{ci, cj} {
				return false
			}
		}
		return ci >= 2 && ci < 2+w && cj >= 2 && cj < 2+h
	}
}

func plainSkin(ci, cj int) [3]float64 { return [3]float64{0.2, 0.15, 0.1} }

// checker is a strength of mean m varying by ±amp from cell to cell: the
// finest structure the cells resolve, which neither a smooth surface nor
// a bent or glossy sheet can make.
func checker(m, amp float64) func(ci, cj int) float64 {
	return func(ci, cj int) float64 { return m * (1 + amp*float64(1-2*((ci+cj)%2))) }
}

// hash01 is a fixed pseudo-random number in [0, 1) per cell.
func hash01(ci, cj int) float64 {
	x := uint32(ci*7919+cj*104729) * 2654435761
	return float64(x>>8) / (1 << 24)
}

func TestReliefCheck(t *testing.T) {
	t.Parallel()
	const m = 0.1
	skin := block(12, 12)
	// The structure of a ±1 checker, relative to the mean, that no
	// paper explanation takes out: measured once, since every fit is
	// linear the value scales with the checker's amplitude.
	unit := reliefScene(t, skin, checker(m, 0.1), plainSkin, nil).relief(true).Value / 0.1
	// The checker's standard deviation is its amplitude; the quadratic
	// and the sheets can take out only a small part of it.
	if !(unit > 0.8 && unit < 1.05) {
		t.Fatalf("relief of a unit checker %v, want about 1", unit)
	}
	// bins gives each 0.15-wide band across rulings at angle deg its
	// own strength: a sheet bent along those rulings.
	bins := func(deg float64) func(ci, cj int) float64 {
		c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
		return func(ci, cj int) float64 {
			u := gridU0 + (float64(ci)+0.5)*(gridU1-gridU0)/(gridSide/reliefBin)
			v := gridV0 + (float64(cj)+0.5)*(gridV1-gridV0)/(gridSide/reliefBin)
			return m * (1 + 0.6*(hash01(int(math.Floor((u*c+v*s)/rulingStep)), 3)-0.5))
		}
	}
	for _, tc := range []struct {
		name     string
		skin     func(ci, cj int) bool
		strength func(ci, cj int) float64
		pass     bool
		value    float64 // NaN: not measured
		tol      float64
		detail   string
	}{
		{"at threshold", skin, checker(m, (0.1+1e-4)/unit), true, 0.1, 2e-4, "fine structure of the reflection strength across the skin that no print explains, relative to its mean, ≥ threshold (144 points, noise 0.000 of the mean)"},
		{"just below", skin, checker(m, 0.099/unit), false, 0.099, 1e-4, "(144 points, noise 0.000 of the mean)"},
		{"just above", skin, checker(m, 0.101/unit), true, 0.101, 1e-4, "(144 points, noise 0.000 of the mean)"},
		{"face-like", skin, checker(m, 0.3/unit), true, 0.3, 1e-4, "(144 points"},
		// A flat print: the same strength everywhere.
		{"flat", skin, func(ci, cj int) float64 { return m }, false, 0, 1e-4, "(144 points"},
		// A print under a near light: a smooth falloff.
		{"smooth falloff", skin, func(ci, cj int) float64 {
			return m * (1 + 0.05*float64(ci) - 0.002*float64(ci*cj) + 0.003*float64(cj*cj))
		}, false, 0, 1e-4, "(144 points"},
		// Bent prints: any function of the coordinate across the
		// rulings, for rulings near the face's vertical or horizontal.
		{"bent, vertical rulings", skin, bins(0), false, 0, 1e-4, "(144 points"},
		{"bent, tilted rulings", skin, bins(15), false, 0, 1e-4, "(144 points"},
		{"bent, horizontal rulings", skin, bins(90), false, 0, 1e-4, "(144 points"},
		// The cells needed: 40.
		{"40 skin cells", block(8, 5), checker(m, 0.3/unit), true, math.Inf(1), 0, "(40 points"},
		{"39 skin cells", block(8, 5, [2]int{5, 4}), checker(m, 0.3/unit), false, math.NaN(), 0, "not measured: 39 skin points"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := reliefScene(t, tc.skin, tc.strength, plainSkin, nil).relief(true)
			value, tol := tc.value, tc.tol
			if math.IsInf(value, 1) {
				value, tol = 0.3, 0.1 // another shape: about the same
			}
			wantCheck(t, c, CheckRelief, tc.pass, value, tol, tc.detail)
			if c.Threshold != 0.1 {
				t.Errorf("threshold %v, want the default 0.1", c.Threshold)
			}
		})
	}
}

// The structure is what is left after the frames' noise, estimated from
// the difference of the two halves of each colour's frames (four times
// the noise of their mean).
func TestReliefNoise(t *testing.T) {
	t.Parallel()
	const m = 0.1
	skin := block(12, 12)
	clean := reliefScene(t, skin, checker(m, 0.3), plainSkin, nil).relief(true)
	for _, eps := range []float64{0.005, 0.01, 0.02} {
		// ±eps on each half: halves eps·2 apart, so the noise of the
		// mean strength is eps.
		noisy := reliefScene(t, skin, checker(m, 0.3), plainSkin, func(ci, cj int) float64 {
			return eps * float64(1-2*((ci/3+cj)%2))
		}).relief(true)
		want := math.Sqrt(clean.Value*clean.Value - eps*eps/(m*m))
		wantCheck(t, noisy, CheckRelief, want >= 0.1, want, 1e-4, fmt.Sprintf("noise %.3f of the mean", eps/m))
	}
}

// A glossy print's sheen weakens the relative reflection where the print
// is dark, by L/(L + η). That pattern, with a positive weight, is
// explained away; a face's darker skin reflects relatively more, the
// opposite sign, which no sheen explains.
func TestReliefVeil(t *testing.T) {
	t.Parallel()
	const m = 0.1
	skin := block(12, 12)
	// A print whose darkness varies from cell to cell.
	base := func(ci, cj int) [3]float64 {
		f := 0.2 + 1.8*hash01(ci, cj)
		return [3]float64{0.2 * f, 0.15 * f, 0.1 * f}
	}
	// The strength a sheen at 0.4 times the median cell's light
	// predicts, computed from the cells' light as relief does: the cell
	// colour is the sum of its four points' float32 values.
	var lums []float64
	cellCol := func(ci, cj int) [3]float64 {
		var col [3]float64
		b := base(ci, cj)
		for ch := range col {
			col[ch] = 4 * float64(float32(b[ch]))
		}
		return col
	}
	for ci := 2; ci < 14; ci++ {
		for cj := 2; cj < 14; cj++ {
			col := cellCol(ci, cj)
			lums = append(lums, col[0]+col[1]+col[2])
		}
	}
	eta := 0.4 * median(lums) / 3
	lin := scheduled(t, 400*time.Millisecond, "red", "green", "blue", "white").lin
	veil := func(ci, cj int) float64 {
		col := cellCol(ci, cj)
		var g [3]float64
		for ch := range g {
			g[ch] = col[ch] / (col[ch] + eta)
		}
		return veilSlope(g, lin)
	}
	for _, tc := range []struct {
		name   string
		weight float64
		pass   bool
	}{
		{"sheen on a print", 1.5, false},
		{"darker skin reflecting more", -1.5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Strengths within ±40 % of the mean: no cell reflects like
			// a mirror.
			c := reliefScene(t, skin, func(ci, cj int) float64 { return m * (1 + tc.weight*(veil(ci, cj)-0.6)) }, base, nil).relief(true)
			if c.Pass != tc.pass || tc.pass && c.Value < 0.15 || !tc.pass && c.Value > 1e-3 {
				t.Errorf("pass %v value %v, want pass %v", c.Pass, c.Value, tc.pass)
			}
		})
	}
}

func TestReliefNotMeasured(t *testing.T) {
	t.Parallel()
	a := reliefScene(t, block(12, 12), checker(0.1, 0.3), plainSkin, nil)
	wantCheck(t, a.relief(false), CheckRelief, false, math.NaN(), 0, "not measured: no reflection of the colours shown")
	a.mask = nil
	wantCheck(t, a.relief(true), CheckRelief, false, math.NaN(), 0, "not measured: no face grid")
	// Colours that do not vary the screen's chromaticity (white and
	// dim, only brightness) give no strength to measure.
	b := scheduled(t, 400*time.Millisecond, "white", "dim", "white", "dim")
	a.lin, a.n = b.lin, b.n
	a.mask = reliefScene(t, block(12, 12), checker(0.1, 0.3), plainSkin, nil).mask
	wantCheck(t, a.relief(true), CheckRelief, false, math.NaN(), 0, "not measured: 0 skin points")
}

// A glossy print mirrors the screen: where the image falls the cells
// reflect several times the median, and they are left out with their
// neighbours. When their reflection also has another colour than the
// rest's (a mirror returns the screen's own), the image's blurred edge
// goes too.
func TestWithoutMirror(t *testing.T) {
	t.Parallel()
	// cells returns the 12×12 cells of strength 1, their reflection
	// colour (1, 0, 0), with the strengths in bright at the cells
	// given, of colour (cos θ, sin θ, 0).
	cells := func(bright map[[2]int]float64, theta float64) []reliefCell {
		var pts []reliefCell
		for ci := 2; ci < 14; ci++ {
			for cj := 2; cj < 14; cj++ {
				q := reliefCell{
					u: gridU0 + (float64(ci)+0.5)*(gridU1-gridU0)/(gridSide/reliefBin),
					v: gridV0 + (float64(cj)+0.5)*(gridV1-gridV0)/(gridSide/reliefBin),
					s: 1, ma: [3]float64{1, 0, 0}, mb: [3]float64{1, 0, 0},
				}
				if s, ok := bright[[2]int{ci, cj}]; ok {
					q.s = s
					if s > 1.8 {
						dir := [3]float64{math.Cos(theta), math.Sin(theta), 0}
						q.ma, q.mb = dir, dir
					}
				}
				pts = append(pts, q)
			}
		}
		return pts
	}
	const deg = math.Pi / 180
	for _, tc := range []struct {
		name   string
		bright map[[2]int]float64
		theta  float64
		left   int
	}{
		{"no image", nil, 0, 144},
		{"just below the ratio", map[[2]int]float64{{7, 7}: 1.79}, 0, 144},
		{"just above the ratio", map[[2]int]float64{{7, 7}: 1.81}, 0, 144 - 9},
		// A blurred edge (1.4 times the rest's median) reaching two
		// cells beyond the image is left alone when the image has the
		// rest's colour…
		{"edge, same colour", map[[2]int]float64{{7, 7}: 3, {7, 8}: 1.4, {7, 9}: 1.4}, 0, 144 - 9},
		{"edge, colour just within", map[[2]int]float64{{7, 7}: 3, {7, 8}: 1.4, {7, 9}: 1.4}, 9 * deg, 144 - 9},
		// …and goes with it when its colour is 10° or more off.
		{"edge, colour just beyond", map[[2]int]float64{{7, 7}: 3, {7, 8}: 1.4, {7, 9}: 1.4}, 11 * deg, 144 - 15},
		// An edge weaker than 1.3 times the rest stays either way.
		{"faint edge", map[[2]int]float64{{7, 7}: 3, {7, 8}: 1.29, {7, 9}: 1.29}, 30 * deg, 144 - 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := len(withoutMirror(cells(tc.bright, tc.theta), nil)); got != tc.left {
				t.Errorf("%d cells left, want %d", got, tc.left)
			}
		})
	}
}
