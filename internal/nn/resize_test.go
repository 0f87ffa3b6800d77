package nn

import "testing"

func TestResize(t *testing.T) {
	x := tensorOf([]int{1, 2, 2, 1}, 0, 1, 2, 3)
	cases := []struct {
		name           string
		nearest        bool
		x              *Tensor
		h, w           int
		align, halfPix bool
		want           []float32
	}{
		// src = dst·in/out, the neighbour past the last row clamped.
		{"bilinear up", false, x, 4, 4, false, false, []float32{
			0, 0.5, 1, 1,
			1, 1.5, 2, 2,
			2, 2.5, 3, 3,
			2, 2.5, 3, 3}},
		{"bilinear align", false, x, 3, 3, true, false, []float32{
			0, 0.5, 1,
			1, 1.5, 2,
			2, 2.5, 3}},
		{"bilinear half pixel", false, x, 4, 4, false, true, []float32{
			0, 0.25, 0.75, 1,
			0.5, 0.75, 1.25, 1.5,
			1.5, 1.75, 2.25, 2.5,
			2, 2.25, 2.75, 3}},
		{"bilinear down", false, seq(1, 4, 4, 1), 2, 2, false, false, []float32{1, 3, 9, 11}},
		{"bilinear 3 to 2", false, seq(1, 1, 3, 1), 1, 2, false, false, []float32{1, 2.5}},
		{"nearest up", true, x, 4, 4, false, false, []float32{
			0, 0, 1, 1,
			0, 0, 1, 1,
			2, 2, 3, 3,
			2, 2, 3, 3}},
		{"nearest align", true, seq(1, 1, 3, 1), 1, 2, true, false, []float32{1, 3}},
		{"nearest half pixel", true, seq(1, 1, 2, 1), 1, 3, false, true, []float32{1, 2, 2}},
		{"nearest 3 to 2", true, seq(1, 1, 3, 1), 1, 2, false, false, []float32{1, 2}},
		// Values printed by TensorFlow.js 4.22 (cpu backend).
		{"bilinear half pixel down", false, seq(1, 5, 5, 1), 3, 2, false, true, []float32{
			3.4166667461395264, 5.916666507720947, 11.75, 14.25, 20.08333396911621, 22.58333396911621}},
		{"nearest half pixel down", true, seq(1, 5, 5, 1), 3, 2, false, true, []float32{2, 4, 12, 14, 22, 24}},
		{"nearest align down", true, seq(1, 5, 5, 1), 3, 2, true, false, []float32{1, 5, 11, 15, 21, 25}},
	}
	for _, c := range cases {
		var got *Tensor
		if c.nearest {
			got = ResizeNearest(c.x, c.h, c.w, c.align, c.halfPix)
		} else {
			got = ResizeBilinear(c.x, c.h, c.w, c.align, c.halfPix)
		}
		checkTensor(t, c.name, got, []int{1, c.h, c.w, 1}, c.want)
	}
	// Channels are interpolated independently.
	two := tensorOf([]int{1, 1, 2, 2}, 0, 10, 2, 20)
	checkTensor(t, "channels", ResizeBilinear(two, 1, 4, false, false), []int{1, 1, 4, 2},
		[]float32{0, 10, 1, 15, 2, 20, 2, 20})
}
