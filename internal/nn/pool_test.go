package nn

import (
	"math"
	"testing"
)

func TestPool2D(t *testing.T) {
	neg := seq(1, 3, 3, 1)
	for i := range neg.Data {
		neg.Data[i] = -neg.Data[i]
	}
	inf := float32(math.Inf(-1))
	cases := []struct {
		name  string
		max   bool
		x     *Tensor
		p     ConvParams
		shape []int
		want  []float32
	}{
		// SAME 2×2/2 on 3×3 pads one row and column at the bottom/right.
		{"max same", true, seq(1, 3, 3, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadSame},
			[]int{1, 2, 2, 1}, []float32{5, 6, 8, 9}},
		{"avg same", false, seq(1, 3, 3, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadSame},
			[]int{1, 2, 2, 1}, []float32{3, 4.5, 7.5, 9}},
		// Padding must not act as a zero that beats negative inputs.
		{"max same negative", true, neg, ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadSame},
			[]int{1, 2, 2, 1}, []float32{-1, -3, -7, -9}},
		{"avg same 3x3", false, seq(1, 3, 3, 1), ConvParams{KH: 3, KW: 3, Mode: PadSame},
			[]int{1, 3, 3, 1}, []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}},
		{"max valid", true, seq(1, 4, 4, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2},
			[]int{1, 2, 2, 1}, []float32{6, 8, 14, 16}},
		{"max valid channels", true, seq(1, 2, 2, 2), ConvParams{KH: 2, KW: 2},
			[]int{1, 1, 1, 2}, []float32{7, 8}},
		{"avg explicit", false, seq(1, 2, 2, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadExplicit, Pad: Padding{Top: 1, Left: 1}},
			[]int{1, 1, 1, 1}, []float32{1}},
		// A window wholly in explicit padding has nothing to take the
		// maximum of.
		{"max empty window", true, seq(1, 1, 1, 1), ConvParams{KH: 1, KW: 1, Mode: PadExplicit, Pad: Padding{Top: 1}},
			[]int{1, 2, 1, 1}, []float32{inf, 1}},
		{"max rank 3", true, seq(2, 2, 1), ConvParams{KH: 2, KW: 2}, []int{1, 1, 1}, []float32{4}},
	}
	for _, c := range cases {
		var got *Tensor
		if c.max {
			got = MaxPool2D(c.x, c.p)
		} else {
			got = AvgPool2D(c.x, c.p)
		}
		checkTensor(t, c.name, got, c.shape, c.want)
	}
}

func TestGlobalAvgPool(t *testing.T) {
	checkTensor(t, "gap", GlobalAvgPool(seq(1, 2, 2, 2)), []int{1, 2}, []float32{4, 5})
}
