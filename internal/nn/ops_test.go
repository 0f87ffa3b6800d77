package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// seq returns a tensor holding 1, 2, 3, … in the given shape.
func seq(shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(i + 1)
	}
	return t
}

func tensorOf(shape []int, vals ...float32) *Tensor { return FromData(vals, shape...) }

func checkTensor(t *testing.T, name string, got *Tensor, shape []int, want []float32) {
	t.Helper()
	if !slices.Equal(got.Shape, shape) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape, shape)
		return
	}
	if len(got.Data) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got.Data), len(want))
		return
	}
	for i := range want {
		g, w := float64(got.Data[i]), float64(want[i])
		if math.IsNaN(w) && math.IsNaN(g) || g == w {
			continue
		}
		if math.Abs(g-w) > 1e-6*max(1, math.Abs(w)) {
			t.Errorf("%s: got %v, want %v", name, got.Data, want)
			return
		}
	}
}

func TestPool2D(t *testing.T) {
	neg := seq(1, 3, 3, 1)
	for i := range neg.Data {
		neg.Data[i] = -neg.Data[i]
	}
	inf := float32(math.Inf(-1))
	cases := []struct {
		name  string
		max   bool
		x     *Tensor
		p     ConvParams
		shape []int
		want  []float32
	}{
		// SAME 2×2/2 on 3×3 pads one row and column at the bottom/right.
		{"max same", true, seq(1, 3, 3, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadSame},
			[]int{1, 2, 2, 1}, []float32{5, 6, 8, 9}},
		{"avg same", false, seq(1, 3, 3, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadSame},
			[]int{1, 2, 2, 1}, []float32{3, 4.5, 7.5, 9}},
		// Padding must not act as a zero that beats negative inputs.
		{"max same negative", true, neg, ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadSame},
			[]int{1, 2, 2, 1}, []float32{-1, -3, -7, -9}},
		{"avg same 3x3", false, seq(1, 3, 3, 1), ConvParams{KH: 3, KW: 3, Mode: PadSame},
			[]int{1, 3, 3, 1}, []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}},
		{"max valid", true, seq(1, 4, 4, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2},
			[]int{1, 2, 2, 1}, []float32{6, 8, 14, 16}},
		{"max valid channels", true, seq(1, 2, 2, 2), ConvParams{KH: 2, KW: 2},
			[]int{1, 1, 1, 2}, []float32{7, 8}},
		{"avg explicit", false, seq(1, 2, 2, 1), ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: PadExplicit, Pad: Padding{Top: 1, Left: 1}},
			[]int{1, 1, 1, 1}, []float32{1}},
		// A window wholly in explicit padding has nothing to take the
		// maximum of.
		{"max empty window", true, seq(1, 1, 1, 1), ConvParams{KH: 1, KW: 1, Mode: PadExplicit, Pad: Padding{Top: 1}},
			[]int{1, 2, 1, 1}, []float32{inf, 1}},
		{"max rank 3", true, seq(2, 2, 1), ConvParams{KH: 2, KW: 2}, []int{1, 1, 1}, []float32{4}},
	}
	for _, c := range cases {
		var got *Tensor
		if c.max {
			got = MaxPool2D(c.x, c.p)
		} else {
			got = AvgPool2D(c.x, c.p)
		}
		checkTensor(t, c.name, got, c.shape, c.want)
	}
}

func TestGlobalAvgPool(t *testing.T) {
	checkTensor(t, "gap", GlobalAvgPool(seq(1, 2, 2, 2)), []int{1, 2}, []float32{4, 5})
}

func TestPad(t *testing.T) {
	checkTensor(t, "2d", Pad(seq(2, 2), [][2]int{{1, 0}, {0, 2}}, 9), []int{3, 4},
		[]float32{9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9})
	checkTensor(t, "nhwc", Pad(seq(1, 1, 2, 1), [][2]int{{0, 0}, {1, 1}, {0, 1}, {0, 0}}, 0), []int{1, 3, 3, 1},
		[]float32{0, 0, 0, 1, 2, 0, 0, 0, 0})
	checkTensor(t, "channels", Pad(seq(1, 1, 1, 2), [][2]int{{0, 0}, {0, 0}, {0, 0}, {1, 2}}, -1), []int{1, 1, 1, 5},
		[]float32{-1, 1, 2, -1, -1})
	checkTensor(t, "1d", Pad(seq(2), [][2]int{{0, 1}}, 0), []int{3}, []float32{1, 2, 0})
}

func TestConcat(t *testing.T) {
	a, b := seq(2, 2), tensorOf([]int{2, 1}, 7, 8)
	checkTensor(t, "axis 1", Concat(1, a, b), []int{2, 3}, []float32{1, 2, 7, 3, 4, 8})
	checkTensor(t, "axis -1", Concat(-1, b, a), []int{2, 3}, []float32{7, 1, 2, 8, 3, 4})
	checkTensor(t, "axis 0", Concat(0, a, tensorOf([]int{1, 2}, 5, 6)), []int{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	checkTensor(t, "empty part", Concat(1, a, New(2, 0)), []int{2, 2}, []float32{1, 2, 3, 4})
}

func TestSlice(t *testing.T) {
	x := seq(3, 4)
	checkTensor(t, "block", Slice(x, []int{1, 1}, []int{2, 2}), []int{2, 2}, []float32{6, 7, 10, 11})
	checkTensor(t, "rest", Slice(x, []int{2, 1}, []int{-1, -1}), []int{1, 3}, []float32{10, 11, 12})
	checkTensor(t, "rank 3", Slice(seq(2, 2, 2), []int{1, 0, 1}, []int{1, 2, 1}), []int{1, 2, 1}, []float32{6, 8})
}

func TestTranspose(t *testing.T) {
	checkTensor(t, "2d", Transpose(seq(2, 3), []int{1, 0}), []int{3, 2}, []float32{1, 4, 2, 5, 3, 6})
	// NHWC → NCHW.
	checkTensor(t, "nchw", Transpose(seq(1, 2, 2, 2), []int{0, 3, 1, 2}), []int{1, 2, 2, 2},
		[]float32{1, 3, 5, 7, 2, 4, 6, 8})
	checkTensor(t, "identity", Transpose(seq(2, 2), []int{0, 1}), []int{2, 2}, []float32{1, 2, 3, 4})
}

func TestBinaryBroadcast(t *testing.T) {
	cases := []struct {
		name  string
		op    BinOp
		a, b  *Tensor
		shape []int
		want  []float32
	}{
		{"same", OpAdd, seq(2, 2), seq(2, 2), []int{2, 2}, []float32{2, 4, 6, 8}},
		{"row", OpAdd, seq(2, 3), tensorOf([]int{3}, 10, 20, 30), []int{2, 3}, []float32{11, 22, 33, 14, 25, 36}},
		{"column", OpMul, seq(2, 3), tensorOf([]int{2, 1}, 2, 3), []int{2, 3}, []float32{2, 4, 6, 12, 15, 18}},
		{"outer", OpSub, tensorOf([]int{2, 1}, 10, 20), seq(1, 3), []int{2, 3}, []float32{9, 8, 7, 19, 18, 17}},
		{"scalar right", OpDiv, seq(2), tensorOf(nil, 2), []int{2}, []float32{0.5, 1}},
		{"scalar left", OpDiv, tensorOf(nil, 2), seq(2), []int{2}, []float32{2, 1}},
		{"scalar left sub", OpSub, tensorOf([]int{1}, 1), seq(3), []int{3}, []float32{0, -1, -2}},
		{"scalars", OpMax, tensorOf(nil, 2), tensorOf(nil, 3), []int{}, []float32{3}},
		{"rank 3", OpAdd, seq(2, 1, 2), tensorOf([]int{3, 1}, 10, 20, 30), []int{2, 3, 2},
			[]float32{11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34}},
		{"per channel", OpMin, seq(1, 2, 1, 2), tensorOf([]int{2}, 2, 3), []int{1, 2, 1, 2}, []float32{1, 2, 2, 3}},
		{"minimum", OpMin, seq(3), tensorOf([]int{1}, 2), []int{3}, []float32{1, 2, 2}},
	}
	for _, c := range cases {
		checkTensor(t, c.name, Binary(c.op, c.a, c.b), c.shape, c.want)
	}
	checkTensor(t, "Maximum", Maximum(seq(3), tensorOf([]int{1}, 2)), []int{3}, []float32{2, 2, 3})
	nan := float32(math.NaN())
	checkTensor(t, "Maximum NaN", Maximum(tensorOf([]int{1}, nan), tensorOf([]int{1}, 1)), []int{1}, []float32{nan})
}

func TestBinaryInPlace(t *testing.T) {
	a := seq(1, 2, 2, 2)
	if !OpMul.InPlace(a, tensorOf([]int{2}, 10, 100)) {
		t.Fatal("per-channel InPlace refused")
	}
	checkTensor(t, "per channel", a, []int{1, 2, 2, 2}, []float32{10, 200, 30, 400, 50, 600, 70, 800})
	b := seq(2)
	if OpAdd.InPlace(b, seq(2, 2)) {
		t.Error("InPlace grew its destination")
	}
	checkTensor(t, "untouched", b, []int{2}, []float32{1, 2})
	// The right operand as destination.
	x, y := tensorOf([]int{1}, 10), seq(3)
	BinaryInto(OpSub, y, x, y)
	checkTensor(t, "into b", y, []int{3}, []float32{9, 8, 7})
}

// TestBinaryRandom checks broadcasting on random shapes against a
// straightforward per-element reference.
func TestBinaryRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		r := rng.IntN(5)
		out := make([]int, r)
		for i := range out {
			out[i] = 1 + rng.IntN(4)
		}
		mk := func() *Tensor {
			k := rng.IntN(r + 1)
			s := slices.Clone(out[r-k:])
			for i := range s {
				if rng.IntN(3) == 0 {
					s[i] = 1
				}
			}
			x := New(s...)
			for i := range x.Data {
				x.Data[i] = float32(rng.IntN(9) + 1)
			}
			return x
		}
		a, b := mk(), mk()
		op := BinOp(rng.IntN(6))
		got := Binary(op, a, b)
		shape, _ := BroadcastShape(a.Shape, b.Shape)
		want := New(shape...)
		st := strides(shape)
		at := func(x *Tensor, flat int) float32 {
			off, acc := 0, 1
			for d := len(x.Shape) - 1; d >= 0; d-- {
				od := d + len(shape) - len(x.Shape)
				i := flat / st[od] % shape[od]
				if x.Shape[d] != 1 {
					off += i * acc
				}
				acc *= x.Shape[d]
			}
			return x.Data[off]
		}
		for i := range want.Data {
			binScalar(op, want.Data[i:i+1], at(a, i), at(b, i))
		}
		if !slices.Equal(got.Shape, want.Shape) || !slices.Equal(got.Data, want.Data) {
			t.Fatalf("iter %d: op %d %v with %v: got %v %v, want %v", iter, op, a.Shape, b.Shape, got.Shape, got.Data, want.Data)
		}
	}
}

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

func BenchmarkBinaryPerChannel(b *testing.B) {
	x := New(1, 64, 64, 64)
	s := New(64)
	for b.Loop() {
		OpAdd.InPlace(x, s)
	}
}
