package nn

import (
	"fmt"
	"slices"
)

// Concat joins tensors along axis (negative counts from the end). All
// other dimensions must agree.
func Concat(axis int, xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("nn: concat of nothing")
	}
	r := len(xs[0].Shape)
	axis = normAxis(axis, r)
	shape := slices.Clone(xs[0].Shape)
	shape[axis] = 0
	for _, x := range xs {
		if len(x.Shape) != r {
			panic(fmt.Sprintf("nn: concat of ranks %d and %d", r, len(x.Shape)))
		}
		for d := range r {
			if d != axis && x.Shape[d] != shape[d] {
				panic(fmt.Sprintf("nn: concat of shapes %v and %v on axis %d", xs[0].Shape, x.Shape, axis))
			}
		}
		shape[axis] += x.Shape[axis]
	}
	y := New(shape...)
	outer := 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	rowLen := y.Size()
	if outer > 0 {
		rowLen /= outer
	}
	off := 0
	for _, x := range xs {
		chunk := 0
		if outer > 0 {
			chunk = x.Size() / outer
		}
		for o := 0; o < outer; o++ {
			copy(y.Data[o*rowLen+off:][:chunk], x.Data[o*chunk:][:chunk])
		}
		off += chunk
	}
	return y
}
