package nn

// The tensor operations live one family to a file, named for the family:
// pool.go (MaxPool2D, AvgPool2D, GlobalAvgPool), pad.go, concat.go,
// slice.go, transpose.go, binary.go (BinOp, numpy broadcasting, Add…),
// unary.go (UnaryOp, Relu…), softmax.go, reduce.go (Sum, Mean) and
// resize.go; the layers with weights are in conv.go. Nothing registers
// itself: the models written in Go (internal/face) call these functions
// directly, and a TensorFlow.js graph reaches them through tfjs's opTable
// (tfjs/graph_ops.go), which maps each GraphDef op name to the function
// that compiles it. This file holds what several families share.

import "fmt"

// grainElems is roughly how many elements of simple element-wise work make
// a goroutine worth starting; below it the scheduling costs more than it
// saves.
const grainElems = 1 << 14

// rowGrain converts grainElems into a number of rows of rowLen elements.
func rowGrain(rowLen int) int {
	if rowLen < 1 {
		return grainElems
	}
	return max(1, grainElems/rowLen)
}

// normAxis maps a possibly negative axis onto [0, rank).
func normAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		panic(fmt.Sprintf("nn: axis %d out of range for rank %d", axis, rank))
	}
	return axis
}

// strides returns the row-major element strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}
