package face

import (
	"math"
	"strconv"
)

// FARs are the false-accept rates verify_result publishes a threshold for
// (spec §4.3), as their wire keys.
var FARs = []string{"1e-3", "1e-4", "1e-5", "1e-6"}

// Thresholds returns, for each of FARs, the confidence at or above which
// that share of impostor pairs is accepted.
//
// PROVISIONAL until the calibration issue measures a large labelled set.
// A FAR of 1e-6 needs millions of impostor pairs to measure; the
// calibration behind these figures has ImpostorPairs (348 on the
// development set), so the thresholds come from a normal fit of the
// impostor distances (ImpostorMean, ImpostorSD): the distance with that
// lower-tail probability, mapped to a confidence. Real impostor tails are
// usually heavier than normal, so the true FARs at these thresholds may be
// higher than their labels; with resnet the development set's closest
// impostor pair (0.547) falls just inside the 1e-3 threshold (0.565).
func (c Calibration) Thresholds() map[string]float64 {
	out := make(map[string]float64, len(FARs))
	for _, k := range FARs {
		far, err := strconv.ParseFloat(k, 64)
		if err != nil {
			panic("face: bad FAR key " + k)
		}
		// Φ⁻¹(far) = −√2·erfc⁻¹(2·far): the normal quantile.
		d := c.ImpostorMean - math.Sqrt2*math.Erfcinv(2*far)*c.ImpostorSD
		out[k] = math.Round(100*c.Confidence(d)) / 100
	}
	return out
}
