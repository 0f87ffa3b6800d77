package nn

import "math"

// Sum adds x's elements over axes (negative counts from the end; empty or
// nil means no reduction, as in TensorFlow). keepDims keeps the reduced
// dimensions with size 1.
func Sum(x *Tensor, axes []int, keepDims bool) *Tensor {
	return reduceSum(x, axes, keepDims, false)
}

// Mean averages x's elements over axes (negative counts from the end;
// empty or nil means no reduction). keepDims keeps the reduced dimensions
// with size 1.
func Mean(x *Tensor, axes []int, keepDims bool) *Tensor {
	return reduceSum(x, axes, keepDims, true)
}

func reduceSum(x *Tensor, axes []int, keepDims, mean bool) *Tensor {
	r := len(x.Shape)
	red := make([]bool, r)
	for _, a := range axes {
		red[normAxis(a, r)] = true
	}
	var outShape []int
	count := 1
	for d, n := range x.Shape {
		switch {
		case !red[d]:
			outShape = append(outShape, n)
		case keepDims:
			outShape = append(outShape, 1)
			count *= n
		default:
			count *= n
		}
	}
	y := New(outShape...)
	if x.Size() == 0 {
		if mean {
			for i := range y.Data {
				y.Data[i] = float32(math.NaN())
			}
		}
		return y
	}
	// Merge neighbouring dimensions that are both kept or both reduced,
	// then walk all but the last group with an odometer; the last group is
	// contiguous and is either summed into one output or added as a run.
	var dims []int
	var isRed []bool
	for d, n := range x.Shape {
		if n == 1 {
			continue
		}
		if k := len(dims) - 1; k >= 0 && isRed[k] == red[d] {
			dims[k] *= n
			continue
		}
		dims = append(dims, n)
		isRed = append(isRed, red[d])
	}
	if len(dims) == 0 {
		y.Data[0] = x.Data[0]
		return y
	}
	k := len(dims)
	// Output strides of the merged kept groups.
	ostr := make([]int, k)
	acc := 1
	for d := k - 1; d >= 0; d-- {
		if !isRed[d] {
			ostr[d] = acc
			acc *= dims[d]
		}
	}
	inner := dims[k-1]
	innerRed := isRed[k-1]
	rows := x.Size() / inner
	idx := make([]int, k-1)
	for row := 0; row < rows; row++ {
		off := 0
		for d := 0; d < k-1; d++ {
			off += idx[d] * ostr[d]
		}
		in := x.Data[row*inner:][:inner]
		if innerRed {
			var s float32
			for _, v := range in {
				s += v
			}
			y.Data[off] += s
		} else {
			out := y.Data[off:][:inner]
			for i, v := range in {
				out[i] += v
			}
		}
		for d := k - 2; d >= 0; d-- {
			if idx[d]++; idx[d] < dims[d] {
				break
			}
			idx[d] = 0
		}
	}
	if mean && count > 1 {
		inv := 1 / float32(count)
		for i := range y.Data {
			y.Data[i] *= inv
		}
	}
	return y
}
