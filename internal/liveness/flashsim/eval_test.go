package flashsim

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/glint-id/glint/internal/liveness"
)

func TestBetaInc(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b, x, want float64
	}{
		{1, 1, 0.3, 0.3},
		{3, 1, 0.5, 0.125},         // x^a
		{1, 4, 0.2, 1 - 0.4096},    // 1 − (1−x)^b
		{2, 3, 0.5, 11.0 / 16},     // a binomial tail: Σ_{j≥2} C(4,j)/16
		{0.5, 0.5, 0.5, 0.5},       // symmetric
		{10, 10, 0.5, 0.5},         // symmetric
		{5, 2, 0, 0}, {5, 2, 1, 1}, // ends
	} {
		if got := betaInc(tc.a, tc.b, tc.x); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("I_%v(%v, %v) = %.15f, want %.15f", tc.x, tc.a, tc.b, got, tc.want)
		}
	}
	// I_x(a, b) = 1 − I_{1−x}(b, a), on both sides of the switch point.
	for _, a := range []float64{0.7, 1, 3, 12.5, 400} {
		for _, b := range []float64{0.9, 2, 7, 250} {
			for _, x := range []float64{0.001, 0.1, 0.37, 0.5, 0.8, 0.999} {
				if d := betaInc(a, b, x) + betaInc(b, a, 1-x) - 1; math.Abs(d) > 1e-10 {
					t.Errorf("a %v b %v x %v: symmetry off by %g", a, b, x, d)
				}
			}
		}
	}
}

// Reference bounds from summing the binomial distribution directly.
func TestClopperPearson(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 500, 0, 0.007351},
		{3, 500, 0.001239, 0.017434},
		{5, 10, 0.187086, 0.812914},
		{1, 100, 0.000253, 0.054459},
		{10, 10, 0.691503, 1},
		{0, 1, 0, 0.975},
		{250, 500, 0.455286, 0.544714},
	} {
		lo, hi := ClopperPearson(tc.k, tc.n, 0.95)
		if math.Abs(lo-tc.lo) > 1e-6 || math.Abs(hi-tc.hi) > 1e-6 {
			t.Errorf("%d of %d: [%.6f, %.6f], want [%.6f, %.6f]", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
		}
		// The bounds are where the tails hold 2.5 % each.
		if tc.k > 0 {
			if p := betaInc(float64(tc.k), float64(tc.n-tc.k+1), lo); math.Abs(p-0.025) > 1e-9 {
				t.Errorf("%d of %d: P(X ≥ k | lo) = %v", tc.k, tc.n, p)
			}
		}
	}
	if lo, hi := ClopperPearson(0, 0, 0.95); lo != 0 || hi != 1 {
		t.Errorf("no trials: [%v, %v]", lo, hi)
	}
}

// An evaluation of a subset reports exactly that subset, with the rates'
// intervals, and the JSON keeps its keys.
func TestEvaluateSpecies(t *testing.T) {
	t.Parallel()
	subs := testSubjects(t)[:4]
	rep, err := EvaluateSubjects(context.Background(), subs, 2, 3, liveness.Options{}, EvalOptions{Species: []string{FlatPrint, Genuine}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Species) != 2 || rep.Species[0].Species != Genuine || rep.Species[1].Species != FlatPrint {
		t.Fatalf("species %+v", rep.Species)
	}
	fp := rep.Species[1]
	if fp.N != 2 || fp.Rate != float64(fp.Accepted)/2 || fp.Interval[1] <= fp.Rate || fp.Interval[0] > fp.Rate {
		t.Fatalf("flat print %+v", fp)
	}
	if iv := rep.Intervals[FlatPrint]; iv != fp.Interval {
		t.Fatalf("intervals %v, species %v", iv, fp.Interval)
	}
	if rep.BPCERInterval[1] < rep.BPCER || len(rep.APCER) != 1 {
		t.Fatalf("report %+v", rep)
	}
	out, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"n_per_species":2`, `"seed":3`, `"bpcer":`, `"bpcer_interval":[`, `"apcer":{"flat_print":`, `"intervals":{"flat_print":[`} {
		if !strings.Contains(string(out), key) {
			t.Errorf("%s lacks %s", out, key)
		}
	}
	for _, sp := range [][]string{{"hologram"}, {Mask}} {
		if _, err := EvaluateSubjects(context.Background(), subs, 1, 3, liveness.Options{}, EvalOptions{Species: sp}); err == nil {
			t.Errorf("%v evaluated (no comparer for a mask; unknown species)", sp)
		}
	}
	if _, err := EvaluateSubjects(context.Background(), subs[:1], 1, 3, liveness.Options{}, EvalOptions{Species: []string{FaceSwap}}); err == nil {
		t.Error("face swap evaluated with one subject")
	}
}

// With a comparer, the mask is counted accepted only when its best frame
// also matches the victim; genuine sequences are compared for reference.
func TestEvaluateMask(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	subs := testSubjects(t)[:4]
	rep, err := EvaluateSubjects(context.Background(), subs, 2, 4, liveness.Options{}, EvalOptions{Species: []string{Genuine, Mask}, Comparer: eng})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Species {
		c, ok := s.Checks[CheckComparison]
		if !ok || c.Quantiles[0] < 0 || c.Quantiles[6] > 100 {
			t.Fatalf("%s: comparison %+v", s.Species, s.Checks)
		}
		if s.Species == Mask && s.Accepted > s.N-c.Failed {
			t.Errorf("mask accepted %d of %d with %d failed comparisons", s.Accepted, s.N, c.Failed)
		}
	}
}
