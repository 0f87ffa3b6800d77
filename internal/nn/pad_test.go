package nn

import "testing"

func TestPad(t *testing.T) {
	checkTensor(t, "2d", Pad(seq(2, 2), [][2]int{{1, 0}, {0, 2}}, 9), []int{3, 4},
		[]float32{9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9})
	checkTensor(t, "nhwc", Pad(seq(1, 1, 2, 1), [][2]int{{0, 0}, {1, 1}, {0, 1}, {0, 0}}, 0), []int{1, 3, 3, 1},
		[]float32{0, 0, 0, 1, 2, 0, 0, 0, 0})
	checkTensor(t, "channels", Pad(seq(1, 1, 1, 2), [][2]int{{0, 0}, {0, 0}, {0, 0}, {1, 2}}, -1), []int{1, 1, 1, 5},
		[]float32{-1, 1, 2, -1, -1})
	checkTensor(t, "1d", Pad(seq(2), [][2]int{{0, 1}}, 0), []int{3}, []float32{1, 2, 0})
}
