package nn

import "fmt"

// Pad surrounds x with pads[d][0] elements before and pads[d][1] after
// along each dimension d, filled with value. pads has one entry per
// dimension of x.
func Pad(x *Tensor, pads [][2]int, value float32) *Tensor {
	r := len(x.Shape)
	if len(pads) != r {
		panic(fmt.Sprintf("nn: %d pads for rank %d", len(pads), r))
	}
	shape := make([]int, r)
	for d, p := range pads {
		if p[0] < 0 || p[1] < 0 {
			panic(fmt.Sprintf("nn: negative padding %v", pads))
		}
		shape[d] = x.Shape[d] + p[0] + p[1]
	}
	y := New(shape...)
	if value != 0 {
		for i := range y.Data {
			y.Data[i] = value
		}
	}
	if x.Size() == 0 {
		return y
	}
	if r == 0 {
		y.Data[0] = x.Data[0]
		return y
	}
	ys := strides(shape)
	inner := x.Shape[r-1]
	rows := x.Size() / inner
	// Each input row (all but the last dimension fixed) lands contiguously
	// in y; find its offset from the row's multi-index.
	Parallel(rows, rowGrain(inner), func(lo, hi int) {
		idx := make([]int, r-1)
		rem := lo
		for d := r - 2; d >= 0; d-- {
			idx[d] = rem % x.Shape[d]
			rem /= x.Shape[d]
		}
		for row := lo; row < hi; row++ {
			off := pads[r-1][0]
			for d := 0; d < r-1; d++ {
				off += (idx[d] + pads[d][0]) * ys[d]
			}
			copy(y.Data[off:off+inner], x.Data[row*inner:(row+1)*inner])
			for d := r - 2; d >= 0; d-- {
				if idx[d]++; idx[d] < x.Shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	})
	return y
}
