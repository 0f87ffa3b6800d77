package face

import (
	"math"
	"testing"
)

func TestThresholds(t *testing.T) {
	t.Parallel()
	for _, c := range []Calibration{resnetCalibration, faceresCalibration} {
		th := c.Thresholds()
		if len(th) != len(FARs) {
			t.Fatalf("%d thresholds, want %d", len(th), len(FARs))
		}
		prev := 50.0 // every FAR threshold is stricter than the decision boundary
		for _, k := range FARs {
			if th[k] <= prev || th[k] >= 100 {
				t.Errorf("%s %s: %v does not rise between 50 and 100", c.Model, k, th[k])
			}
			prev = th[k]
		}
	}
	// The 1e-3 threshold sits 3.09 standard deviations below the impostor
	// mean.
	c := resnetCalibration
	d := c.Distance(c.Thresholds()["1e-3"])
	if z := (c.ImpostorMean - d) / c.ImpostorSD; math.Abs(z-3.09) > 0.01 {
		t.Errorf("1e-3 threshold at z = %.3f, want 3.09", z)
	}
}
