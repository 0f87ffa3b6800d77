package nn

import "testing"

func TestReduce(t *testing.T) {
	x := seq(2, 3)
	checkTensor(t, "sum 0", Sum(x, []int{0}, false), []int{3}, []float32{5, 7, 9})
	checkTensor(t, "sum 1", Sum(x, []int{1}, false), []int{2}, []float32{6, 15})
	checkTensor(t, "sum -1 keep", Sum(x, []int{-1}, true), []int{2, 1}, []float32{6, 15})
	checkTensor(t, "sum all", Sum(x, []int{0, 1}, false), []int{}, []float32{21})
	checkTensor(t, "sum none", Sum(x, nil, false), []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	checkTensor(t, "mean 0 keep", Mean(x, []int{0}, true), []int{1, 3}, []float32{2.5, 3.5, 4.5})
	checkTensor(t, "mean hw", Mean(seq(1, 2, 2, 2), []int{1, 2}, false), []int{1, 2}, []float32{4, 5})
	checkTensor(t, "mean hw keep", Mean(seq(1, 2, 2, 2), []int{1, 2}, true), []int{1, 1, 1, 2}, []float32{4, 5})
	// Reduced and kept dimensions alternating.
	checkTensor(t, "sum 0,2", Sum(seq(2, 2, 2), []int{0, 2}, false), []int{2}, []float32{1 + 2 + 5 + 6, 3 + 4 + 7 + 8})
	checkTensor(t, "sum 1", Sum(seq(2, 2, 2), []int{1}, false), []int{2, 2}, []float32{4, 6, 12, 14})
}
