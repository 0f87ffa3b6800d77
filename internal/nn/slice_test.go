package nn

import "testing"

func TestSlice(t *testing.T) {
	x := seq(3, 4)
	checkTensor(t, "block", Slice(x, []int{1, 1}, []int{2, 2}), []int{2, 2}, []float32{6, 7, 10, 11})
	checkTensor(t, "rest", Slice(x, []int{2, 1}, []int{-1, -1}), []int{1, 3}, []float32{10, 11, 12})
	checkTensor(t, "rank 3", Slice(seq(2, 2, 2), []int{1, 0, 1}, []int{1, 2, 1}), []int{1, 2, 1}, []float32{6, 8})
}
