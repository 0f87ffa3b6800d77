package liveness

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Helpers of the per-check tests (*_check_test.go): they build an analysis
// by hand, with the measurements each check reads, instead of rendering
// and measuring frames.

// checkT0 is the first colour's display time of the crafted sequences.
var checkT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// paletteColors returns the palette colours of the given names.
func paletteColors(tb testing.TB, names ...string) []Color {
	tb.Helper()
	out := make([]Color, len(names))
	for i, n := range names {
		found := false
		for _, c := range Palette {
			if c.Name == n {
				out[i], found = c, true
			}
		}
		if !found {
			tb.Fatalf("no palette colour %q", n)
		}
	}
	return out
}

// scheduled returns an analysis of a challenge of the named colours, each
// held hold, the first shown at checkT0, with the default options: what
// Analyze knows before it measures anything.
func scheduled(tb testing.TB, hold time.Duration, names ...string) *analysis {
	tb.Helper()
	ch := Challenge{Colors: paletteColors(tb, names...)}
	for range names {
		ch.Holds = append(ch.Holds, hold)
	}
	a := &analysis{ch: ch, opt: Options{}.withDefaults(), n: len(names), motion: math.NaN()}
	shown := make([]time.Time, len(names))
	for i := range shown {
		shown[i] = checkT0.Add(time.Duration(i) * hold)
	}
	if err := a.resolveTimes(shown); err != "" {
		tb.Fatal(err)
	}
	return a
}

// wantCheck compares a check with what a case expects: its verdict, its
// value within tol (NaN for "not measured"), and a fragment of its detail.
func wantCheck(tb testing.TB, c Check, name string, pass bool, value, tol float64, detail string) {
	tb.Helper()
	if c.Name != name {
		tb.Errorf("check %q, want %q", c.Name, name)
	}
	if c.Pass != pass {
		tb.Errorf("%s: pass %v, want %v (%+v)", name, c.Pass, pass, c)
	}
	switch {
	case math.IsNaN(value):
		if !math.IsNaN(c.Value) {
			tb.Errorf("%s: value %v, want NaN (not measured)", name, c.Value)
		}
	case !(math.Abs(c.Value-value) <= tol):
		tb.Errorf("%s: value %v, want %v ± %v", name, c.Value, value, tol)
	}
	if !strings.Contains(c.Detail, detail) {
		tb.Errorf("%s: detail %q, want it to contain %q", name, c.Detail, detail)
	}
	// A check's score is on the passing side of 0.5 exactly when it
	// passes (a measured value exactly at the threshold scores 0.5).
	if c.Pass && c.Score < 0.5 || !c.Pass && c.Score > 0.5 {
		tb.Errorf("%s: score %v with pass %v", name, c.Score, c.Pass)
	}
}
