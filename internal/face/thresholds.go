package face

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// FARs are the false-accept rates verify_result publishes a threshold for
// (spec §4.3), as their wire keys, most lenient first.
var FARs = []string{"1e-3", "1e-4", "1e-5", "1e-6"}

// Methods of a FARThreshold.
const (
	// MethodEmpirical: the threshold is read off the sorted impostor
	// distances, with at least MinEmpiricalImpostors of them accepted.
	MethodEmpirical = "empirical"
	// MethodExtrapolated: too few impostor pairs for that; the threshold
	// comes from the tail fit (TailFit) of the lowest impostor distances.
	MethodExtrapolated = "extrapolated"
)

// MinEmpiricalImpostors is how many impostor pairs must be expected below
// a threshold (impostor pairs × FAR) for it to be read off the data. With
// fewer, the count of accepted impostors is so noisy (a Poisson count of
// 10 is ±30 % at one standard deviation; of 1 it is anything from 0 to 3)
// that a fitted tail says more than the order statistics.
const MinEmpiricalImpostors = 10

// MinCalibrationImpostors is the fewest impostor pairs Calibrate works
// from: the tail fit needs its MinTailPairs lowest distances to be a small
// part of the data.
const MinCalibrationImpostors = 100

// MinTailPairs is the fewest lowest impostor distances the tail is fitted
// to.
const MinTailPairs = 20

// confidenceAnchors are the confidences the mapping puts the FAR 1e-3 and
// 1e-6 thresholds at (Calibrate); the two others fall in between.
var confidenceAnchors = map[string]float64{"1e-3": 60, "1e-6": 90}

// FARThreshold is a calibration's figure for one false-accept rate.
type FARThreshold struct {
	// Distance is the largest distance accepted; Confidence, the published
	// threshold, is the mapping's value there, rounded up to 0.01.
	Distance   float64 `json:"distance"`
	Confidence float64 `json:"confidence"`
	// ImpostorPairs is how many impostor pairs the calibration saw, and
	// ImpostorsAccepted how many of them reach Confidence.
	ImpostorPairs     int `json:"impostor_pairs"`
	ImpostorsAccepted int `json:"impostors_accepted"`
	// Method is MethodEmpirical or MethodExtrapolated.
	Method string `json:"method"`
	// DistanceInterval, for an extrapolated threshold, is the range of
	// distances the tail fit's 95 % confidence interval allows. It counts
	// only the sampling error of the fit, not whether the tail model is
	// right.
	DistanceInterval *[2]float64 `json:"distance_interval,omitempty"`
	// TAR is the share of genuine pairs accepted; nil without genuine
	// pairs.
	TAR *float64 `json:"tar,omitempty"`
}

// TailFit is the model of the lower tail of the impostor distances that
// extrapolated thresholds come from: an exponential tail (a generalised
// Pareto tail with shape 0) fitted to the Pairs smallest of ImpostorPairs
// impostor distances,
//
//	P(distance ≤ Start − y) = Pairs/ImpostorPairs · exp(−y/Scale), y ≥ 0,
//
// where Start is the next smallest distance. docs/calibration.md says why
// this model and what it does not promise.
type TailFit struct {
	Model         string  `json:"model"`
	Pairs         int     `json:"pairs"`
	ImpostorPairs int     `json:"impostor_pairs"`
	Start         float64 `json:"start"`
	Scale         float64 `json:"scale"`
}

// Distance is the distance below which a share far of impostor pairs lies
// according to the fit, for far up to Pairs/ImpostorPairs.
func (t TailFit) Distance(far float64) float64 {
	return t.distance(far, t.Scale)
}

func (t TailFit) distance(far, scale float64) float64 {
	return t.Start - scale*math.Log(float64(t.Pairs)/(float64(t.ImpostorPairs)*far))
}

// Thresholds returns, for each of FARs, the confidence at or above which
// that share of impostor pairs is accepted, as verify_result publishes
// them. A FAR the calibration has no figure for gets 100.
func (c Calibration) Thresholds() map[string]float64 {
	out := make(map[string]float64, len(FARs))
	for _, k := range FARs {
		out[k] = 100
		if t, ok := c.FAR[k]; ok {
			out[k] = t.Confidence
		}
	}
	return out
}

// ErrTooFewPairs is returned by Calibrate when the pairs cannot support a
// calibration.
var ErrTooFewPairs = errors.New("face: too few pairs to calibrate")

// Calibrate measures a calibration for model from scored pairs (genuine
// pairs are optional: they only add the TAR and separation figures). src
// describes the data (name, date, detector, images); Calibrate adds the
// pair counts and separation figures to it. Pairs with a NaN or infinite
// distance (an image without a face) are skipped and counted.
//
// For each of FARs, with n impostor pairs: when n·FAR ≥
// MinEmpiricalImpostors, the threshold lies halfway between the
// ⌊n·FAR⌋-th and the next smallest impostor distance; otherwise it is
// extrapolated from an exponential fit of the lowest max(MinTailPairs, √n)
// impostor distances. The confidence mapping is then fitted through the
// 1e-3 and 1e-6 thresholds (confidenceAnchors), and each threshold's
// confidence rounded up to 0.01.
func Calibrate(model string, pairs []Pair, src CalibrationSource) (Calibration, error) {
	var gen, imp []float64
	skipped := 0
	for _, p := range pairs {
		switch {
		case !isFinite(p.Distance):
			skipped++
		case p.Same:
			gen = append(gen, p.Distance)
		default:
			imp = append(imp, p.Distance)
		}
	}
	sort.Float64s(gen)
	sort.Float64s(imp)
	n := len(imp)
	if n < MinCalibrationImpostors {
		return Calibration{}, fmt.Errorf("%w: %d impostor pairs, need at least %d", ErrTooFewPairs, n, MinCalibrationImpostors)
	}
	tail, err := fitTail(imp)
	if err != nil {
		return Calibration{}, err
	}
	lo, hi := exponentialScaleInterval(tail.Scale, tail.Pairs)

	// Raw thresholds, most lenient first; a later (smaller) FAR never gets
	// a larger distance, even where the method changes between them.
	raw := make(map[string]float64, len(FARs))
	method := make(map[string]string, len(FARs))
	intervals := make(map[string]*[2]float64, len(FARs))
	prev := math.Inf(1)
	for _, k := range FARs {
		far, _ := farValue(k)
		var t float64
		if expect := far * float64(n); expect >= MinEmpiricalImpostors {
			a := int(math.Floor(expect))
			t = (imp[a-1] + imp[a]) / 2
			method[k] = MethodEmpirical
		} else {
			t = tail.Distance(far)
			method[k] = MethodExtrapolated
			// A larger scale stretches the tail further down.
			intervals[k] = &[2]float64{round6(max(tail.distance(far, hi), 0)), round6(max(tail.distance(far, lo), 0))}
		}
		t = max(min(t, prev), 0)
		raw[k], prev = t, t
	}

	c := Calibration{Model: model, FAR: make(map[string]FARThreshold, len(FARs))}
	if err := c.fitMapping(raw["1e-3"], raw["1e-6"]); err != nil {
		return Calibration{}, err
	}
	usesTail := false
	for _, k := range FARs {
		conf := ceilConfidence(c.logistic(raw[k]))
		t := FARThreshold{
			Distance:          round6(c.Distance(conf)),
			Confidence:        conf,
			ImpostorPairs:     n,
			ImpostorsAccepted: c.accepted(imp, conf),
			Method:            method[k],
			DistanceInterval:  intervals[k],
		}
		if conf >= 100 {
			// Distance(100) is −∞: nothing but identical descriptors can
			// pass.
			t.Distance = 0
		}
		if len(gen) > 0 {
			tar := round4(float64(c.accepted(gen, conf)) / float64(len(gen)))
			t.TAR = &tar
		}
		usesTail = usesTail || t.Method == MethodExtrapolated
		c.FAR[k] = t
	}
	if usesTail {
		tail.Start, tail.Scale = round6(tail.Start), round6(tail.Scale)
		c.Tail = &tail
	}
	src.GenuinePairs, src.ImpostorPairs, src.SkippedPairs, src.ClosestImpostor = len(gen), n, skipped, round6(imp[0])
	src.Genuine = nil
	if len(gen) > 0 {
		var scored []Pair
		for _, d := range gen {
			scored = append(scored, Pair{Distance: d, Same: true})
		}
		for _, d := range imp {
			scored = append(scored, Pair{Distance: d})
		}
		roc := NewROC(scored)
		src.Genuine = &GenuineStats{
			EER: round4(roc.EER), EERDistance: finiteOr0(round6(roc.EERThreshold)),
			Accuracy: round4(roc.Accuracy), AccuracyDistance: finiteOr0(round6(roc.AccuracyThreshold)),
			AUC: round4(roc.AUC), MedianDistance: round6(gen[len(gen)/2]),
		}
	}
	c.Source = &src
	return c, nil
}

// fitTail fits the exponential tail to the lowest impostor distances
// (sorted): k = max(MinTailPairs, ⌈√n⌉) of them, a common compromise
// between a fit that reaches into the bulk (k large) and one too noisy to
// use (k small); the scale's maximum-likelihood estimate is the mean gap
// between them and the next distance.
func fitTail(imp []float64) (TailFit, error) {
	n := len(imp)
	k := min(max(MinTailPairs, int(math.Ceil(math.Sqrt(float64(n))))), n/2)
	t := TailFit{Model: "exponential", Pairs: k, ImpostorPairs: n, Start: imp[k]}
	var s float64
	for _, d := range imp[:k] {
		s += t.Start - d
	}
	t.Scale = s / float64(k)
	if !(t.Scale > 0) {
		return TailFit{}, fmt.Errorf("%w: the %d lowest impostor distances are all %v", ErrTooFewPairs, k+1, t.Start)
	}
	return t, nil
}

// exponentialScaleInterval is the 95 % confidence interval of an
// exponential scale estimated as the mean of k values: 2k·est/scale is
// chi-squared with 2k degrees of freedom, whose quantiles the
// Wilson–Hilferty approximation gives to better than 1 % from k = 10 on.
func exponentialScaleInterval(est float64, k int) (lo, hi float64) {
	nu := 2 * float64(k)
	q := func(z float64) float64 {
		a := 2 / (9 * nu)
		return nu * math.Pow(1-a+z*math.Sqrt(a), 3)
	}
	const z975 = 1.959964
	return nu * est / q(z975), nu * est / q(-z975)
}

// fitMapping sets Threshold and Scale so that the logistic passes through
// the confidence anchors at distances d3 (FAR 1e-3) and d6 (FAR 1e-6).
// Both are rounded to 1e-6 so the document shows the mapping exactly.
func (c *Calibration) fitMapping(d3, d6 float64) error {
	l3, l6 := logit(confidenceAnchors["1e-3"]), logit(confidenceAnchors["1e-6"])
	if !(d3 > d6) {
		return fmt.Errorf("%w: the FAR 1e-3 and 1e-6 thresholds coincide at distance %v", ErrTooFewPairs, d3)
	}
	c.Scale = round6((d3 - d6) / (l6 - l3))
	c.Threshold = round6(d3 + c.Scale*l3)
	return nil
}

// logistic is Confidence before rounding.
func (c Calibration) logistic(d float64) float64 {
	return 100 / (1 + math.Exp((d-c.Threshold)/c.Scale))
}

// accepted counts the sorted distances whose confidence reaches conf,
// with Confidence's own rounding, as the API compares them.
func (c Calibration) accepted(sorted []float64, conf float64) int {
	return sort.Search(len(sorted), func(i int) bool { return c.Confidence(sorted[i]) < conf })
}

// ceilConfidence rounds a threshold confidence up to 0.01 so the published
// threshold is not more lenient than the measured one (by more than 0.001,
// which lets the anchors read 60 and 90 rather than 60.01).
func ceilConfidence(v float64) float64 {
	return min(math.Ceil((v-0.001)*100)/100, 100)
}

// logit is the inverse of the logistic on the 0–100 scale: ln(p/(1−p))
// for p = conf/100.
func logit(conf float64) float64 { return math.Log(conf / (100 - conf)) }

// finiteOr0 replaces the −∞ threshold NewROC reports when accepting no
// pair is best (JSON has no infinities).
func finiteOr0(v float64) float64 {
	if !isFinite(v) {
		return 0
	}
	return v
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
