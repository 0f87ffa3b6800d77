package face

import (
	"math"
	"testing"
)

func TestROC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pairs    []Pair
		acc, auc float64
		eer      float64
	}{
		{"separated", []Pair{{0.1, true}, {0.2, true}, {0.8, false}, {0.9, false}}, 1, 1, 0},
		{"inverted", []Pair{{0.9, true}, {0.8, true}, {0.1, false}, {0.2, false}}, 0.5, 0, 1},
		{"one overlap", []Pair{{0.1, true}, {0.5, true}, {0.4, false}, {0.9, false}}, 0.75, 0.75, 0.5},
		{"ties", []Pair{{0.5, true}, {0.5, false}}, 0.5, 0.5, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewROC(tt.pairs)
			if r.Accuracy != tt.acc || r.AUC != tt.auc || r.EER != tt.eer {
				t.Errorf("got acc %v auc %v eer %v, want %v %v %v", r.Accuracy, r.AUC, r.EER, tt.acc, tt.auc, tt.eer)
			}
		})
	}
}

func TestROCEmpty(t *testing.T) {
	t.Parallel()
	r := NewROC([]Pair{{0.1, true}})
	if !math.IsNaN(r.Accuracy) || !math.IsNaN(r.AUC) {
		t.Errorf("one class only: got %+v, want NaN rates", r)
	}
}

func TestTARAtFAR(t *testing.T) {
	t.Parallel()
	var pairs []Pair
	// 10 impostors at 0.50..0.59, genuines at 0.40..0.64.
	for i := range 10 {
		pairs = append(pairs, Pair{0.50 + float64(i)/100, false})
	}
	for i := range 25 {
		pairs = append(pairs, Pair{0.40 + float64(i)/100, true})
	}
	tests := []struct {
		far       float64
		tar, thre float64
	}{
		{0.01, 10.0 / 25, 0.50}, // no impostor may pass: accept < 0.50
		{0.1, 11.0 / 25, 0.51},  // one impostor passes
		{0.35, 13.0 / 25, 0.53},
		{1, 1, math.Inf(1)},
	}
	for _, tt := range tests {
		tar, th := TARAtFAR(pairs, tt.far)
		if math.Abs(tar-tt.tar) > 1e-12 || math.Abs(th-tt.thre) > 1e-9 && !math.IsInf(tt.thre, 1) {
			t.Errorf("FAR %v: got TAR %v at %v, want %v at %v", tt.far, tar, th, tt.tar, tt.thre)
		}
	}
}

// TestROCEERThreshold: the EER is reported with the threshold it is
// reached at, the first where the error rates are closest.
func TestROCEERThreshold(t *testing.T) {
	t.Parallel()
	r := NewROC([]Pair{{0.1, true}, {0.2, true}, {0.5, true}, {0.4, false}, {0.8, false}, {0.9, false}})
	// Accepting below just above 0.2: FRR 1/3, FAR 0; just above 0.4:
	// FRR 1/3, FAR 1/3.
	if want := math.Nextafter(0.4, 1); r.EERThreshold != want || math.Abs(r.EER-1.0/3) > 1e-12 {
		t.Errorf("EER %v at %v, want 1/3 at %v", r.EER, r.EERThreshold, want)
	}
	if !math.IsNaN(NewROC(nil).EERThreshold) {
		t.Error("no pairs: EER threshold is not NaN")
	}
}
