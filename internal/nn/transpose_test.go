package nn

import "testing"

func TestTranspose(t *testing.T) {
	checkTensor(t, "2d", Transpose(seq(2, 3), []int{1, 0}), []int{3, 2}, []float32{1, 4, 2, 5, 3, 6})
	// NHWC → NCHW.
	checkTensor(t, "nchw", Transpose(seq(1, 2, 2, 2), []int{0, 3, 1, 2}), []int{1, 2, 2, 2},
		[]float32{1, 3, 5, 7, 2, 4, 6, 8})
	checkTensor(t, "identity", Transpose(seq(2, 2), []int{0, 1}), []int{2, 2}, []float32{1, 2, 3, 4})
}
