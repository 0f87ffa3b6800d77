package nn

import (
	"math"
	"testing"
)

func TestSoftmax(t *testing.T) {
	e1, e2 := math.Exp(1), math.Exp(2)
	s := 1 + e1 + e2
	checkTensor(t, "last", Softmax(tensorOf([]int{1, 3}, 0, 1, 2), -1), []int{1, 3},
		[]float32{float32(1 / s), float32(e1 / s), float32(e2 / s)})
	// Shifting all logits must not change the result, nor overflow.
	checkTensor(t, "large", Softmax(tensorOf([]int{1, 3}, 1000, 1001, 1002), 1), []int{1, 3},
		[]float32{float32(1 / s), float32(e1 / s), float32(e2 / s)})
	h := float32(1 / (1 + e1))
	checkTensor(t, "axis 0", Softmax(tensorOf([]int{2, 2}, 0, 1, 1, 0), 0), []int{2, 2},
		[]float32{h, 1 - h, 1 - h, h})
}
