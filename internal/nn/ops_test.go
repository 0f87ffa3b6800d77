package nn

import (
	"math"
	"slices"
	"testing"
)

// seq returns a tensor holding 1, 2, 3, … in the given shape.
func seq(shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(i + 1)
	}
	return t
}

func tensorOf(shape []int, vals ...float32) *Tensor { return FromData(vals, shape...) }

func checkTensor(t *testing.T, name string, got *Tensor, shape []int, want []float32) {
	t.Helper()
	if !slices.Equal(got.Shape, shape) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape, shape)
		return
	}
	if len(got.Data) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got.Data), len(want))
		return
	}
	for i := range want {
		g, w := float64(got.Data[i]), float64(want[i])
		if math.IsNaN(w) && math.IsNaN(g) || g == w {
			continue
		}
		if math.Abs(g-w) > 1e-6*max(1, math.Abs(w)) {
			t.Errorf("%s: got %v, want %v", name, got.Data, want)
			return
		}
	}
}
