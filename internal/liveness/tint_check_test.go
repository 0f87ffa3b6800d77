package liveness

import (
	"math"
	"testing"
	"time"
)

// tinted returns an analysis of red, green and blue with one settled
// frame per colour, whose face level is 1 + f·screen and background level
// 1 + g·screen. Red, green and blue each add the same total light, so each
// channel's share is linear in the screen colour: the face's share of a
// channel rises by f/(3 + f) when that channel lights, and the
// responses over the three channels sum to 3f/(3 + f) (likewise for g).
func tinted(tb testing.TB, f, g float64) *analysis {
	tb.Helper()
	a := scheduled(tb, 400*time.Millisecond, "red", "green", "blue")
	a.steady = make([][]int, a.n)
	for k, l := range a.lin {
		var m measured
		for ch := range l {
			m.pooled[ch] = 1 + f*l[ch]
			m.bg[ch] = 1 + g*l[ch]
		}
		a.steady[k] = []int{len(a.frames)}
		a.frames = append(a.frames, m)
	}
	return a
}

// tintFor returns the background strength g that makes the background's
// share of the response exactly share next to a face of strength f:
// share = B/(B + F + 0.003) with F = 3f/(3 + f) and B = 3g/(3 + g).
func tintFor(f, share float64) float64 {
	face := 3 * f / (3 + f)
	b := share * (face + 0.003) / (1 - share)
	return 3 * b / (3 - b)
}

func TestTintCheck(t *testing.T) {
	t.Parallel()
	const f = 0.1
	for _, tc := range []struct {
		name  string
		f, g  float64
		pass  bool
		value float64
	}{
		{"background still", f, 0, true, 0},
		// White balance pulls the background against the colour: no
		// share at all.
		{"background against the colour", f, -0.05, true, 0},
		// At the threshold, to rounding: a share of exactly 0.3 passes.
		{"at threshold", f, tintFor(f, 0.3-1e-12), true, 0.3},
		{"just below", f, tintFor(f, 0.299), true, 0.299},
		{"just above", f, tintFor(f, 0.301), false, 0.301},
		// A replay screen tinted whole: face and background alike.
		{"tinted screen", f, f, false, 0.0967741935483871 / (2*0.0967741935483871 + 0.003)},
		// A rendered tint on a face that does not respond.
		{"background only", 0, f, false, 0.0967741935483871 / (0.0967741935483871 + 0.003)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tinted(t, tc.f, tc.g).tint()
			wantCheck(t, c, CheckTint, tc.pass, tc.value, 1e-9, "background's share of the colour response ≤ threshold")
			if c.Threshold != 0.3 {
				t.Errorf("threshold %v, want the default 0.3", c.Threshold)
			}
		})
	}
	if c := tinted(t, f, tintFor(f, 0.3)).tint(); math.Abs(c.Score-0.5) > 1e-9 {
		t.Errorf("score at the threshold %v, want 0.5", c.Score)
	}
}
