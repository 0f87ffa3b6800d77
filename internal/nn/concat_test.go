package nn

import "testing"

func TestConcat(t *testing.T) {
	a, b := seq(2, 2), tensorOf([]int{2, 1}, 7, 8)
	checkTensor(t, "axis 1", Concat(1, a, b), []int{2, 3}, []float32{1, 2, 7, 3, 4, 8})
	checkTensor(t, "axis -1", Concat(-1, b, a), []int{2, 3}, []float32{7, 1, 2, 8, 3, 4})
	checkTensor(t, "axis 0", Concat(0, a, tensorOf([]int{1, 2}, 5, 6)), []int{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	checkTensor(t, "empty part", Concat(1, a, New(2, 0)), []int{2, 2}, []float32{1, 2, 3, 4})
}
