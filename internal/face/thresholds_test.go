package face

import (
	"errors"
	"math"
	"testing"
)

// gridImpostors returns n impostor distances at the quantiles (i+0.5)/n of
// a distribution given by its quantile function, so that the k-th smallest
// is known exactly.
func gridImpostors(n int, quantile func(q float64) float64) []Pair {
	pairs := make([]Pair, n)
	for i := range pairs {
		pairs[i] = Pair{Distance: quantile((float64(i) + 0.5) / float64(n))}
	}
	return pairs
}

// expTail is the quantile function of distances whose lower tail is
// exactly exponential below 0.7 (scale 0.03, 5 % of the mass) and uniform
// from 0.7 to 1.2 above it.
func expTail(q float64) float64 {
	const q0, u, beta = 0.05, 0.7, 0.03
	if q < q0 {
		return u + beta*math.Log(q/q0)
	}
	return u + 0.5*(q-q0)/(1-q0)
}

func TestCalibrate(t *testing.T) {
	t.Parallel()
	genuine := []Pair{{0.1, true}, {0.3, true}, {0.45, true}, {0.6, true}}
	tests := []struct {
		name      string
		impostors int
		genuine   []Pair
		methods   [4]string // for FARs
	}{
		{"few impostors: all extrapolated", 5000, genuine, [4]string{MethodExtrapolated, MethodExtrapolated, MethodExtrapolated, MethodExtrapolated}},
		{"1e-3 one short of empirical", 9999, nil, [4]string{MethodExtrapolated, MethodExtrapolated, MethodExtrapolated, MethodExtrapolated}},
		{"1e-3 just empirical", 10000, genuine, [4]string{MethodEmpirical, MethodExtrapolated, MethodExtrapolated, MethodExtrapolated}},
		{"1e-3 and 1e-4 empirical", 200000, genuine, [4]string{MethodEmpirical, MethodEmpirical, MethodExtrapolated, MethodExtrapolated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pairs := append(gridImpostors(tt.impostors, expTail), tt.genuine...)
			c, err := Calibrate("m@1", pairs, CalibrationSource{Data: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if c.Model != "m@1" || c.Source.Data != "test" || c.Source.ImpostorPairs != tt.impostors || c.Source.GenuinePairs != len(tt.genuine) {
				t.Errorf("model %q, source %+v", c.Model, c.Source)
			}
			if (c.Source.Genuine != nil) != (len(tt.genuine) > 0) {
				t.Errorf("genuine figures %+v with %d genuine pairs", c.Source.Genuine, len(tt.genuine))
			}
			prev := FARThreshold{Distance: math.Inf(1)}
			for i, k := range FARs {
				th := c.FAR[k]
				far, _ := farValue(k)
				if th.Method != tt.methods[i] {
					t.Errorf("%s: method %s, want %s", k, th.Method, tt.methods[i])
				}
				if th.ImpostorPairs != tt.impostors {
					t.Errorf("%s: %d impostor pairs, want %d", k, th.ImpostorPairs, tt.impostors)
				}
				if th.Distance > prev.Distance || th.Confidence < prev.Confidence {
					t.Errorf("%s: %+v is more lenient than %+v", k, th, prev)
				}
				// The published confidence is what the mapping gives at
				// the published distance.
				if d := math.Abs(c.Confidence(th.Distance) - th.Confidence); d > 0.002 {
					t.Errorf("%s: confidence %v, mapping gives %v", k, th.Confidence, c.Confidence(th.Distance))
				}
				if th.Method == MethodEmpirical {
					// Halfway between the ⌊n·FAR⌋-th impostor and the next.
					if want := int(far * float64(tt.impostors)); th.ImpostorsAccepted != want {
						t.Errorf("%s: %d impostors accepted, want %d", k, th.ImpostorsAccepted, want)
					}
					if th.DistanceInterval != nil {
						t.Errorf("%s: empirical threshold with an interval", k)
					}
				} else if iv := th.DistanceInterval; iv == nil || !(iv[0] < iv[1]) {
					t.Errorf("%s: extrapolated threshold with interval %v", k, iv)
				}
				if (th.TAR != nil) != (len(tt.genuine) > 0) {
					t.Errorf("%s: TAR %v with %d genuine pairs", k, th.TAR, len(tt.genuine))
				}
				prev = th
			}
			if c.FAR["1e-3"].Confidence != 60 || c.FAR["1e-6"].Confidence != 90 {
				t.Errorf("anchors: 1e-3 at %v, 1e-6 at %v, want 60 and 90", c.FAR["1e-3"].Confidence, c.FAR["1e-6"].Confidence)
			}
			if c.Tail == nil || c.Tail.ImpostorPairs != tt.impostors || c.Tail.Pairs < MinTailPairs {
				t.Errorf("tail %+v", c.Tail)
			}
			// The document Calibrate makes passes the loader's checks.
			data, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseCalibration(data)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			if back.Threshold != c.Threshold || back.Scale != c.Scale || back.Thresholds()["1e-5"] != c.Thresholds()["1e-5"] {
				t.Errorf("round trip: %+v, want %+v", back, c)
			}
		})
	}
}

// TestCalibrateExtrapolation checks the tail fit on distances whose lower
// tail is exactly exponential: the extrapolated thresholds land on the
// true quantiles.
func TestCalibrateExtrapolation(t *testing.T) {
	t.Parallel()
	c, err := Calibrate("m", gridImpostors(40000, expTail), CalibrationSource{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.Tail.Scale-0.03) > 0.002 {
		t.Errorf("tail scale %v, want 0.03", c.Tail.Scale)
	}
	for _, k := range FARs {
		far, _ := farValue(k)
		th := c.FAR[k]
		if th.Method != MethodExtrapolated && k != "1e-3" {
			t.Errorf("%s: %s", k, th.Method)
		}
		// The published distance is rounded to a confidence step of 0.01,
		// about 0.001 in distance here.
		if want := expTail(far); math.Abs(th.Distance-want) > 0.004 {
			t.Errorf("%s: distance %.4f, true quantile %.4f", k, th.Distance, want)
		}
		if iv := th.DistanceInterval; iv != nil && (expTail(far) < iv[0] || expTail(far) > iv[1]) {
			t.Errorf("%s: true quantile %.4f outside the interval %v", k, expTail(far), *iv)
		}
	}
}

func TestCalibrateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pairs []Pair
	}{
		{"too few impostors", gridImpostors(MinCalibrationImpostors-1, expTail)},
		{"no impostors", []Pair{{0.2, true}, {0.3, true}}},
		{"tied tail", gridImpostors(500, func(float64) float64 { return 0.8 })},
		{"infinite distances do not count", append(gridImpostors(50, expTail), gridImpostors(100, func(float64) float64 { return math.Inf(1) })...)},
	}
	for _, tt := range tests {
		if _, err := Calibrate("m", tt.pairs, CalibrationSource{}); !errors.Is(err, ErrTooFewPairs) {
			t.Errorf("%s: error %v, want ErrTooFewPairs", tt.name, err)
		}
	}
}

func TestCalibrateSkipped(t *testing.T) {
	t.Parallel()
	pairs := append(gridImpostors(300, expTail), Pair{Distance: math.Inf(1)}, Pair{Distance: math.NaN(), Same: true})
	c, err := Calibrate("m", pairs, CalibrationSource{})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Source; s.SkippedPairs != 2 || s.ImpostorPairs != 300 || s.GenuinePairs != 0 || s.Genuine != nil {
		t.Errorf("source %+v", s)
	}
}

// TestThresholdsUncalibrated: a Calibration without a table (a test
// double) promises no FAR.
func TestThresholdsUncalibrated(t *testing.T) {
	t.Parallel()
	th := Calibration{Model: "fake", Threshold: 0.6, Scale: 0.05}.Thresholds()
	if len(th) != len(FARs) {
		t.Fatalf("%d thresholds", len(th))
	}
	for k, v := range th {
		if v != 100 {
			t.Errorf("%s: %v, want 100", k, v)
		}
	}
}

func TestThresholds(t *testing.T) {
	t.Parallel()
	for _, c := range []Calibration{resnetCalibration, faceresCalibration} {
		th := c.Thresholds()
		if len(th) != len(FARs) {
			t.Fatalf("%d thresholds, want %d", len(th), len(FARs))
		}
		prev := 50.0 // every FAR threshold is stricter than confidence 50
		for _, k := range FARs {
			if th[k] <= prev || th[k] >= 100 || th[k] != c.FAR[k].Confidence {
				t.Errorf("%s %s: %v does not rise between 50 and 100", c.Model, k, th[k])
			}
			prev = th[k]
		}
	}
}

func TestExponentialScaleInterval(t *testing.T) {
	t.Parallel()
	// Exact chi-squared quantiles for 2k = 40: 24.433 and 59.342.
	lo, hi := exponentialScaleInterval(1, 20)
	if math.Abs(lo-40/59.342) > 0.005 || math.Abs(hi-40/24.433) > 0.01 {
		t.Errorf("interval (%v, %v), want (%v, %v)", lo, hi, 40/59.342, 40/24.433)
	}
}
