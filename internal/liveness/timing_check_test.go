package liveness

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// stepped returns an analysis of red, yellow, blue and white, each held
// 400 ms, fitted as level = 1 + 0.1·screen with frame noise sigma per
// channel, and frames whose face level steps from one colour's to the
// next's at display time + lags[k]: the last frame before each step 5 ms
// before it, the first 5 ms after, so that the onset found is the step
// itself. Where reflects[k] is false the face keeps the previous level.
func stepped(tb testing.TB, sigma float64, lags []time.Duration, reflects []bool) *analysis {
	tb.Helper()
	a := scheduled(tb, 400*time.Millisecond, "red", "yellow", "blue", "white")
	a.alpha, a.beta = [3]float64{1, 1, 1}, [3]float64{0.1, 0.1, 0.1}
	v := sigma * sigma
	a.cov = [3][3]float64{{v, 0, 0}, {0, v, 0}, {0, 0, v}}
	// Segment k runs from step k to step k+1 at level levels[k+1];
	// segment -1 is the baseline.
	steps := make([]time.Time, a.n+1)
	levels := make([][3]float64, a.n+1)
	levels[0] = [3]float64{1, 1, 1}
	for k := range a.n {
		steps[k] = a.disp[k].Add(lags[k])
		levels[k+1] = levels[k]
		if reflects == nil || reflects[k] {
			levels[k+1] = a.predict(a.lin[k])
		}
	}
	steps[a.n] = a.end[a.n-1].Add(200 * time.Millisecond)
	const step = 20 * time.Millisecond
	from := a.disp[0].Add(-600 * time.Millisecond)
	for s := range steps {
		to := steps[s].Add(-5 * time.Millisecond)
		for t := from; t.Before(to); t = t.Add(step) {
			a.frames = append(a.frames, measured{t: t, pooled: levels[s]})
		}
		a.frames = append(a.frames, measured{t: to, pooled: levels[s]})
		from = steps[s].Add(5 * time.Millisecond)
	}
	return a
}

func TestTimingCheck(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	// The colours' changes are 0.1 (red from the baseline, yellow from
	// red) to 0.17 (blue from yellow) in face level: with sigma 0.004 a
	// signal-to-noise ratio of 25 or more.
	const sigma = 0.004
	lags := func(second time.Duration) []time.Duration {
		return []time.Duration{50 * ms, second, 50 * ms, 50 * ms}
	}
	for _, tc := range []struct {
		name     string
		sigma    float64
		lags     []time.Duration
		reflects []bool
		pass     bool
		value    float64 // least margin, ms
		detail   string
		untimed  []int // colours (from 0) without a measured onset
	}{
		{"in the window", sigma, lags(50 * ms), nil, true, 60, "least margin, ms, of an onset inside [-40ms, 110ms] ≥ 0", nil},
		{"at the late edge", sigma, lags(110 * ms), nil, true, 0, "inside [-40ms, 110ms]", nil},
		{"just before the late edge", sigma, lags(109 * ms), nil, true, 1, "inside [-40ms, 110ms]", nil},
		{"just late", sigma, lags(111 * ms), nil, false, -1, "; colour 2: 111ms late", nil},
		{"at the early edge", sigma, lags(-40 * ms), nil, true, 0, "inside [-40ms, 110ms]", nil},
		{"just after the early edge", sigma, lags(-39 * ms), nil, true, 1, "inside [-40ms, 110ms]", nil},
		{"just early", sigma, lags(-41 * ms), nil, false, -1, "; colour 2: 41ms early", nil},
		// A change is timed only when it stands out of the noise by a
		// signal-to-noise ratio of 4: yellow after red is the smallest
		// (0.1).
		// Red's change from the baseline is as small, but the first
		// colour is allowed to be untimed.
		{"change just too small", 0.1 / 3.99, lags(50 * ms), nil, false, -1, "; colour 2: change too small to time", []int{0, 1}},
		{"change just large enough", 0.1 / 4.01, lags(50 * ms), nil, true, 60, "inside [-40ms, 110ms]", nil},
		// A colour the face does not take.
		{"no onset", sigma, lags(50 * ms), []bool{true, false, true, true}, false, -1, "; colour 2: no onset", []int{1}},
		// The first colour may look like the page before it: a faint
		// change (ratio below 8) without a step is not timed, a clear
		// one is.
		{"faint first colour not taken", 0.1 / 7.9, lags(50 * ms), []bool{false, true, true, true}, true, 60, "inside [-40ms, 110ms]", []int{0}},
		{"clear first colour not taken", 0.1 / 8.1, lags(50 * ms), []bool{false, true, true, true}, false, -1, "; colour 1: no onset", []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := stepped(t, tc.sigma, tc.lags, tc.reflects)
			c, onsets := a.timing()
			wantCheck(t, c, CheckTiming, tc.pass, tc.value, 1e-9, tc.detail)
			if len(onsets) != a.n {
				t.Fatalf("%d onsets for %d colours", len(onsets), a.n)
			}
			for k, o := range onsets {
				measured := !slices.Contains(tc.untimed, k)
				if o.Measured != measured {
					t.Errorf("colour %d: measured %v, want %v", k+1, o.Measured, measured)
				}
				// After a colour the face did not take, the level it
				// steps from is not the fitted one, and the half-way
				// point moves.
				mispredicted := k > 0 && tc.reflects != nil && !tc.reflects[k-1]
				if measured && !mispredicted && o.Lag != tc.lags[k] {
					t.Errorf("colour %d: lag %v, want %v", k+1, o.Lag, tc.lags[k])
				}
			}
			if !tc.pass && strings.Count(c.Detail, "; ") != 1 {
				t.Errorf("want one colour blamed: %q", c.Detail)
			}
		})
	}
}

// The onset is interpolated between the frames around the step: a frame
// whose exposure straddles the onset sits part-way, and the onset lies
// where the level crosses half-way.
func TestStepOnset(t *testing.T) {
	t.Parallel()
	at := func(ms ...int) []time.Time {
		out := make([]time.Time, len(ms))
		for i, m := range ms {
			out[i] = checkT0.Add(time.Duration(m) * time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		ts   []time.Time
		s    []float64
		ok   bool
		want int // ms after checkT0
	}{
		{"clean step", at(0, 20, 40, 60), []float64{0, 0, 1, 1}, true, 30},
		{"straddling frames", at(0, 20, 40, 60, 80, 100), []float64{0, 0, 0.25, 0.75, 1, 1}, true, 50},
		{"overshoot clamped", at(0, 20, 40, 60), []float64{-3, 0, 4, 1}, true, 30},
		{"no change", at(0, 20, 40, 60), []float64{0, 0, 0, 0}, false, 0},
		{"half a change", at(0, 20, 40, 60), []float64{0, 0, 0.45, 0.45}, false, 0},
		{"one frame", at(0), []float64{1}, false, 0},
		{"backwards", at(0, 20, 40, 60), []float64{1, 1, 0, 0}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := stepOnset(tc.ts, tc.s)
			if ok != tc.ok {
				t.Fatalf("found %v, want %v", ok, tc.ok)
			}
			if want := checkT0.Add(time.Duration(tc.want) * time.Millisecond); ok && !got.Equal(want) {
				t.Errorf("onset %v after t0, want %v", got.Sub(checkT0), want.Sub(checkT0))
			}
		})
	}
}

// Onsets before display mean the response was predicted or replayed, and
// late ones that it was relayed: the score falls off either way by 25 ms
// per unit of the logistic.
func TestTimingScore(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	a := stepped(t, 0.004, []time.Duration{50 * ms, 135 * ms, 50 * ms, 50 * ms}, nil)
	c, _ := a.timing()
	if want := 1 / (1 + math.E); math.Abs(c.Score-want) > 1e-12 {
		t.Errorf("score 25 ms late %v, want %v", c.Score, want)
	}
}
