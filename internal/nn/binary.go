package nn

import (
	"fmt"
	"slices"
)

// BinOp names an element-wise binary operation.
type BinOp uint8

// The binary operations of Binary and BinaryInto.
const (
	OpAdd BinOp = iota
	OpSub
	OpMul
	OpDiv
	OpMax
	OpMin
)

// BroadcastShape returns the shape numpy broadcasting gives a and b: shapes
// are aligned at their last dimension and each pair of dimensions must be
// equal or contain a 1. ok is false when they cannot be broadcast.
func BroadcastShape(a, b []int) (shape []int, ok bool) {
	if len(a) < len(b) {
		a, b = b, a
	}
	shape = slices.Clone(a)
	off := len(a) - len(b)
	for i, d := range b {
		switch s := shape[off+i]; {
		case s == d || d == 1:
		case s == 1:
			shape[off+i] = d
		default:
			return nil, false
		}
	}
	return shape, true
}

// Binary applies op element by element with numpy broadcasting.
func Binary(op BinOp, a, b *Tensor) *Tensor {
	shape, ok := BroadcastShape(a.Shape, b.Shape)
	if !ok {
		panic(fmt.Sprintf("nn: cannot broadcast %v and %v", a.Shape, b.Shape))
	}
	y := New(shape...)
	BinaryInto(op, y, a, b)
	return y
}

// BinaryInto writes a op b, broadcast, into dst, which must already have
// the broadcast shape. dst may be a or b itself: each element is read
// before it is written, which makes this the in-place path for an
// intermediate that nobody else reads.
func BinaryInto(op BinOp, dst, a, b *Tensor) {
	shape, ok := BroadcastShape(a.Shape, b.Shape)
	if !ok || !slices.Equal(shape, dst.Shape) {
		panic(fmt.Sprintf("nn: %v op %v into %v", a.Shape, b.Shape, dst.Shape))
	}
	if dst.Size() == 0 {
		return
	}
	dims, sa, sb := broadcastPlan(shape, a.Shape, b.Shape)
	k := len(dims)
	if k == 0 {
		binScalar(op, dst.Data[:1], a.Data[0], b.Data[0])
		return
	}
	inner := dims[k-1]
	ia, ib := sa[k-1], sb[k-1]
	rows := dst.Size() / inner
	Parallel(rows, rowGrain(inner), func(lo, hi int) {
		idx := make([]int, k-1)
		rem := lo
		for d := k - 2; d >= 0; d-- {
			idx[d] = rem % dims[d]
			rem /= dims[d]
		}
		for row := lo; row < hi; row++ {
			oa, ob := 0, 0
			for d := 0; d < k-1; d++ {
				oa += idx[d] * sa[d]
				ob += idx[d] * sb[d]
			}
			out := dst.Data[row*inner:][:inner]
			switch {
			case ia != 0 && ib != 0:
				binVV(op, out, a.Data[oa:oa+inner], b.Data[ob:ob+inner])
			case ia != 0:
				binVS(op, out, a.Data[oa:oa+inner], b.Data[ob])
			case ib != 0:
				binSV(op, out, a.Data[oa], b.Data[ob:ob+inner])
			default:
				binScalar(op, out, a.Data[oa], b.Data[ob])
			}
			for d := k - 2; d >= 0; d-- {
				if idx[d]++; idx[d] < dims[d] {
					break
				}
				idx[d] = 0
			}
		}
	})
}

// InPlace computes a = a op b when b broadcasts to a's shape, reporting
// false (and leaving a alone) when the result would be larger than a.
// It covers the common cases of equal shapes and a per-channel b.
func (op BinOp) InPlace(a, b *Tensor) bool {
	shape, ok := BroadcastShape(a.Shape, b.Shape)
	if !ok || !slices.Equal(shape, a.Shape) {
		return false
	}
	BinaryInto(op, a, a, b)
	return true
}

// broadcastPlan drops the size-1 dimensions of the output and merges runs
// of dimensions that are contiguous in both operands, so the inner loop
// runs over the longest stretch that is either contiguous or constant in
// each operand. It returns the merged dimensions and each operand's element
// stride along them, 0 where it is broadcast.
func broadcastPlan(out, a, b []int) (dims, sa, sb []int) {
	r := len(out)
	fullStrides := func(s []int) []int {
		st := make([]int, r)
		acc := 1
		for i := r - 1; i >= 0; i-- {
			j := i - (r - len(s))
			if j >= 0 && s[j] != 1 {
				st[i] = acc
				acc *= s[j]
			}
		}
		return st
	}
	fa, fb := fullStrides(a), fullStrides(b)
	for i := range r {
		if out[i] == 1 {
			continue
		}
		if k := len(dims) - 1; k >= 0 &&
			mergeable(sa[k], fa[i], out[i]) && mergeable(sb[k], fb[i], out[i]) {
			dims[k] *= out[i]
			sa[k], sb[k] = fa[i], fb[i]
			continue
		}
		dims = append(dims, out[i])
		sa = append(sa, fa[i])
		sb = append(sb, fb[i])
	}
	return dims, sa, sb
}

// mergeable reports whether an outer dimension of stride outer can merge
// with the next one, of stride inner and size n, without changing offsets.
func mergeable(outer, inner, n int) bool {
	if outer == 0 || inner == 0 {
		return outer == 0 && inner == 0
	}
	return outer == inner*n
}

func binVV(op BinOp, dst, x, y []float32) {
	y = y[:len(dst)]
	x = x[:len(dst)]
	switch op {
	case OpAdd:
		for i := range dst {
			dst[i] = x[i] + y[i]
		}
	case OpSub:
		for i := range dst {
			dst[i] = x[i] - y[i]
		}
	case OpMul:
		for i := range dst {
			dst[i] = x[i] * y[i]
		}
	case OpDiv:
		for i := range dst {
			dst[i] = x[i] / y[i]
		}
	case OpMax:
		for i := range dst {
			dst[i] = max(x[i], y[i])
		}
	case OpMin:
		for i := range dst {
			dst[i] = min(x[i], y[i])
		}
	default:
		panic(fmt.Sprintf("nn: unknown binary op %d", op))
	}
}

func binVS(op BinOp, dst, x []float32, s float32) {
	x = x[:len(dst)]
	switch op {
	case OpAdd:
		for i := range dst {
			dst[i] = x[i] + s
		}
	case OpSub:
		for i := range dst {
			dst[i] = x[i] - s
		}
	case OpMul:
		for i := range dst {
			dst[i] = x[i] * s
		}
	case OpDiv:
		for i := range dst {
			dst[i] = x[i] / s
		}
	case OpMax:
		for i := range dst {
			dst[i] = max(x[i], s)
		}
	case OpMin:
		for i := range dst {
			dst[i] = min(x[i], s)
		}
	default:
		panic(fmt.Sprintf("nn: unknown binary op %d", op))
	}
}

func binSV(op BinOp, dst []float32, s float32, y []float32) {
	y = y[:len(dst)]
	switch op {
	case OpAdd, OpMul, OpMax, OpMin: // commutative
		binVS(op, dst, y, s)
	case OpSub:
		for i := range dst {
			dst[i] = s - y[i]
		}
	case OpDiv:
		for i := range dst {
			dst[i] = s / y[i]
		}
	default:
		panic(fmt.Sprintf("nn: unknown binary op %d", op))
	}
}

func binScalar(op BinOp, dst []float32, x, y float32) {
	var v float32
	switch op {
	case OpAdd:
		v = x + y
	case OpSub:
		v = x - y
	case OpMul:
		v = x * y
	case OpDiv:
		v = x / y
	case OpMax:
		v = max(x, y)
	case OpMin:
		v = min(x, y)
	default:
		panic(fmt.Sprintf("nn: unknown binary op %d", op))
	}
	for i := range dst {
		dst[i] = v
	}
}

// Add returns a + b with numpy broadcasting.
func Add(a, b *Tensor) *Tensor { return Binary(OpAdd, a, b) }

// Sub returns a - b with numpy broadcasting.
func Sub(a, b *Tensor) *Tensor { return Binary(OpSub, a, b) }

// Mul returns a · b with numpy broadcasting.
func Mul(a, b *Tensor) *Tensor { return Binary(OpMul, a, b) }

// Div returns a / b with numpy broadcasting.
func Div(a, b *Tensor) *Tensor { return Binary(OpDiv, a, b) }

// Maximum returns the element-wise maximum with numpy broadcasting; NaN
// wins, as in TensorFlow.
func Maximum(a, b *Tensor) *Tensor { return Binary(OpMax, a, b) }

// Minimum returns the element-wise minimum with numpy broadcasting; NaN
// wins, as in TensorFlow.
func Minimum(a, b *Tensor) *Tensor { return Binary(OpMin, a, b) }
