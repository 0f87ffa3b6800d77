package nn

import (
	"math"
	"testing"
)

func TestUnary(t *testing.T) {
	x := tensorOf([]int{4}, -2, -0.5, 1, 7)
	checkTensor(t, "relu", Relu(x), []int{4}, []float32{0, 0, 1, 7})
	checkTensor(t, "relu6", Relu6(x), []int{4}, []float32{0, 0, 1, 6})
	checkTensor(t, "abs", Abs(x), []int{4}, []float32{2, 0.5, 1, 7})
	checkTensor(t, "square", Square(x), []int{4}, []float32{4, 0.25, 1, 49})
	checkTensor(t, "neg", Neg(x), []int{4}, []float32{2, 0.5, -1, -7})
	checkTensor(t, "rsqrt", Rsqrt(tensorOf([]int{2}, 4, 0.25)), []int{2}, []float32{0.5, 2})
	checkTensor(t, "exp", Exp(tensorOf([]int{2}, 0, 1)), []int{2}, []float32{1, float32(math.E)})
	checkTensor(t, "sigmoid", SigmoidTensor(tensorOf([]int{2}, 0, -1000)), []int{2}, []float32{0.5, 0})
	checkTensor(t, "tanh", Tanh(tensorOf([]int{1}, 0)), []int{1}, []float32{0})
	checkTensor(t, "custom", Unary(x, func(v float32) float32 { return v + 1 }), []int{4}, []float32{-1, 0.5, 2, 8})
	y := x.Clone()
	OpRelu.Apply(y.Data, y.Data)
	checkTensor(t, "in place", y, []int{4}, []float32{0, 0, 1, 7})
}
