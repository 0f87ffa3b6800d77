package nn

import "math"

// Softmax normalises exp(x) to sum to one along axis (negative counts from
// the end). The maximum is subtracted first so large logits do not
// overflow.
func Softmax(x *Tensor, axis int) *Tensor {
	r := len(x.Shape)
	axis = normAxis(axis, r)
	n := x.Shape[axis]
	inner := 1
	for _, d := range x.Shape[axis+1:] {
		inner *= d
	}
	y := New(x.Shape...)
	if y.Size() == 0 {
		return y
	}
	outer := y.Size() / (n * inner)
	Parallel(outer*inner, rowGrain(4*n), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, i := r/inner, r%inner
			base := o*n*inner + i
			m := float32(math.Inf(-1))
			for k := 0; k < n; k++ {
				m = max(m, x.Data[base+k*inner])
			}
			var sum float64
			for k := 0; k < n; k++ {
				e := math.Exp(float64(x.Data[base+k*inner] - m))
				y.Data[base+k*inner] = float32(e)
				sum += e
			}
			inv := 1 / sum
			for k := 0; k < n; k++ {
				y.Data[base+k*inner] = float32(float64(y.Data[base+k*inner]) * inv)
			}
		}
	})
	return y
}
