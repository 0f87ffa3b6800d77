package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

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

func BenchmarkBinaryPerChannel(b *testing.B) {
	x := New(1, 64, 64, 64)
	s := New(64)
	for b.Loop() {
		OpAdd.InPlace(x, s)
	}
}
