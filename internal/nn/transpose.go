package nn

import "fmt"

// Transpose permutes the dimensions of x: output dimension i is input
// dimension perm[i].
func Transpose(x *Tensor, perm []int) *Tensor {
	r := len(x.Shape)
	if len(perm) != r {
		panic(fmt.Sprintf("nn: transpose perm %v for shape %v", perm, x.Shape))
	}
	seen := make([]bool, r)
	shape := make([]int, r)
	xs := strides(x.Shape)
	ps := make([]int, r) // input stride of each output dimension
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			panic(fmt.Sprintf("nn: transpose perm %v is not a permutation", perm))
		}
		seen[p] = true
		shape[i] = x.Shape[p]
		ps[i] = xs[p]
	}
	y := New(shape...)
	if y.Size() == 0 || r == 0 {
		copy(y.Data, x.Data)
		return y
	}
	inner, is := shape[r-1], ps[r-1]
	rows := y.Size() / inner
	Parallel(rows, rowGrain(inner), func(lo, hi int) {
		idx := make([]int, r-1)
		rem := lo
		for d := r - 2; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		for row := lo; row < hi; row++ {
			off := 0
			for d := 0; d < r-1; d++ {
				off += idx[d] * ps[d]
			}
			out := y.Data[row*inner:][:inner]
			for i := range out {
				out[i] = x.Data[off+i*is]
			}
			for d := r - 2; d >= 0; d-- {
				if idx[d]++; idx[d] < shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	})
	return y
}
