package nn

import (
	"fmt"
	"math"
	"slices"
)

// grainElems is roughly how many elements of simple element-wise work make
// a goroutine worth starting; below it the scheduling costs more than it
// saves.
const grainElems = 1 << 14

// rowGrain converts grainElems into a number of rows of rowLen elements.
func rowGrain(rowLen int) int {
	if rowLen < 1 {
		return grainElems
	}
	return max(1, grainElems/rowLen)
}

// normAxis maps a possibly negative axis onto [0, rank).
func normAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		panic(fmt.Sprintf("nn: axis %d out of range for rank %d", axis, rank))
	}
	return axis
}

// MaxPool2D takes the maximum over each KH×KW window of an NHWC tensor,
// per channel. Padded positions never win: as in TensorFlow they are
// excluded rather than read as zeros, so a window lying wholly in the
// padding yields -Inf. InC and OutC of p are ignored.
func MaxPool2D(x *Tensor, p ConvParams) *Tensor {
	return pool2D(x, p, true)
}

// AvgPool2D averages each KH×KW window of an NHWC tensor, per channel. As
// in TensorFlow the divisor counts only the pixels inside the input, so
// SAME padding does not darken the borders. InC and OutC of p are ignored.
func AvgPool2D(x *Tensor, p ConvParams) *Tensor {
	return pool2D(x, p, false)
}

func pool2D(x *Tensor, p ConvParams, isMax bool) *Tensor {
	p = p.norm()
	if p.KH < 1 || p.KW < 1 {
		panic(fmt.Sprintf("nn: pool window %dx%d", p.KH, p.KW))
	}
	n, h, w, c := x.NHWC()
	oh, ow, pad := p.Geometry(h, w)
	y := New(n, oh, ow, c)
	if len(x.Shape) == 3 {
		y.Shape = y.Shape[1:]
	}
	Parallel(n*oh, rowGrain(ow*c*p.KH*p.KW), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			y0 := oy*p.StrideH - pad.Top
			for ox := 0; ox < ow; ox++ {
				out := y.Data[((b*oh+oy)*ow+ox)*c:][:c]
				x0 := ox*p.StrideW - pad.Left
				init := float32(0)
				if isMax {
					init = float32(math.Inf(-1))
				}
				for i := range out {
					out[i] = init
				}
				count := 0
				for ky := 0; ky < p.KH; ky++ {
					iy := y0 + ky*p.DilationH
					if iy < 0 || iy >= h {
						continue
					}
					for kx := 0; kx < p.KW; kx++ {
						ix := x0 + kx*p.DilationW
						if ix < 0 || ix >= w {
							continue
						}
						count++
						in := x.Data[((b*h+iy)*w+ix)*c:][:c]
						if isMax {
							for i, v := range in {
								if v > out[i] {
									out[i] = v
								}
							}
						} else {
							for i, v := range in {
								out[i] += v
							}
						}
					}
				}
				if !isMax {
					// TensorFlow.js divides 0/0 here too, giving NaN for a
					// window with no input pixel.
					inv := 1 / float32(count)
					for i := range out {
						out[i] *= inv
					}
				}
			}
		}
	})
	return y
}

// GlobalAvgPool averages an NHWC tensor over its height and width, giving
// shape [N, C] (Keras' GlobalAveragePooling2D without keepdims).
func GlobalAvgPool(x *Tensor) *Tensor {
	n, h, w, c := x.NHWC()
	y := New(n, c)
	hw := h * w
	inv := 1 / float32(hw)
	for b := 0; b < n; b++ {
		out := y.Data[b*c:][:c]
		for i := 0; i < hw; i++ {
			for j, v := range x.Data[(b*hw+i)*c:][:c] {
				out[j] += v
			}
		}
		for j := range out {
			out[j] *= inv
		}
	}
	return y
}

// strides returns the row-major element strides of shape.
func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// Pad surrounds x with pads[d][0] elements before and pads[d][1] after
// along each dimension d, filled with value. pads has one entry per
// dimension of x.
func Pad(x *Tensor, pads [][2]int, value float32) *Tensor {
	r := len(x.Shape)
	if len(pads) != r {
		panic(fmt.Sprintf("nn: %d pads for rank %d", len(pads), r))
	}
	shape := make([]int, r)
	for d, p := range pads {
		if p[0] < 0 || p[1] < 0 {
			panic(fmt.Sprintf("nn: negative padding %v", pads))
		}
		shape[d] = x.Shape[d] + p[0] + p[1]
	}
	y := New(shape...)
	if value != 0 {
		for i := range y.Data {
			y.Data[i] = value
		}
	}
	if x.Size() == 0 {
		return y
	}
	if r == 0 {
		y.Data[0] = x.Data[0]
		return y
	}
	ys := strides(shape)
	inner := x.Shape[r-1]
	rows := x.Size() / inner
	// Each input row (all but the last dimension fixed) lands contiguously
	// in y; find its offset from the row's multi-index.
	Parallel(rows, rowGrain(inner), func(lo, hi int) {
		idx := make([]int, r-1)
		rem := lo
		for d := r - 2; d >= 0; d-- {
			idx[d] = rem % x.Shape[d]
			rem /= x.Shape[d]
		}
		for row := lo; row < hi; row++ {
			off := pads[r-1][0]
			for d := 0; d < r-1; d++ {
				off += (idx[d] + pads[d][0]) * ys[d]
			}
			copy(y.Data[off:off+inner], x.Data[row*inner:(row+1)*inner])
			for d := r - 2; d >= 0; d-- {
				if idx[d]++; idx[d] < x.Shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	})
	return y
}

// Concat joins tensors along axis (negative counts from the end). All
// other dimensions must agree.
func Concat(axis int, xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("nn: concat of nothing")
	}
	r := len(xs[0].Shape)
	axis = normAxis(axis, r)
	shape := slices.Clone(xs[0].Shape)
	shape[axis] = 0
	for _, x := range xs {
		if len(x.Shape) != r {
			panic(fmt.Sprintf("nn: concat of ranks %d and %d", r, len(x.Shape)))
		}
		for d := range r {
			if d != axis && x.Shape[d] != shape[d] {
				panic(fmt.Sprintf("nn: concat of shapes %v and %v on axis %d", xs[0].Shape, x.Shape, axis))
			}
		}
		shape[axis] += x.Shape[axis]
	}
	y := New(shape...)
	outer := 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	rowLen := y.Size()
	if outer > 0 {
		rowLen /= outer
	}
	off := 0
	for _, x := range xs {
		chunk := 0
		if outer > 0 {
			chunk = x.Size() / outer
		}
		for o := 0; o < outer; o++ {
			copy(y.Data[o*rowLen+off:][:chunk], x.Data[o*chunk:][:chunk])
		}
		off += chunk
	}
	return y
}

// Slice copies the block of x starting at begin with the given size; a
// size of -1 takes the rest of that dimension.
func Slice(x *Tensor, begin, size []int) *Tensor {
	r := len(x.Shape)
	if len(begin) != r || len(size) != r {
		panic(fmt.Sprintf("nn: slice begin %v size %v for shape %v", begin, size, x.Shape))
	}
	shape := make([]int, r)
	for d := range r {
		s := size[d]
		if s == -1 {
			s = x.Shape[d] - begin[d]
		}
		if begin[d] < 0 || s < 0 || begin[d]+s > x.Shape[d] {
			panic(fmt.Sprintf("nn: slice begin %v size %v out of shape %v", begin, size, x.Shape))
		}
		shape[d] = s
	}
	y := New(shape...)
	if y.Size() == 0 {
		return y
	}
	if r == 0 {
		y.Data[0] = x.Data[0]
		return y
	}
	xs := strides(x.Shape)
	inner := shape[r-1]
	idx := make([]int, r-1)
	for row := 0; row < y.Size()/inner; row++ {
		off := begin[r-1]
		for d := 0; d < r-1; d++ {
			off += (idx[d] + begin[d]) * xs[d]
		}
		copy(y.Data[row*inner:][:inner], x.Data[off:off+inner])
		for d := r - 2; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return y
}

// Transpose permutes the dimensions of x: output dimension i is input
// dimension perm[i].
func Transpose(x *Tensor, perm []int) *Tensor {
	r := len(x.Shape)
	if len(perm) != r {
		panic(fmt.Sprintf("nn: transpose perm %v for shape %v", perm, x.Shape))
	}
	seen := make([]bool, r)
	shape := make([]int, r)
	xs := strides(x.Shape)
	ps := make([]int, r) // input stride of each output dimension
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			panic(fmt.Sprintf("nn: transpose perm %v is not a permutation", perm))
		}
		seen[p] = true
		shape[i] = x.Shape[p]
		ps[i] = xs[p]
	}
	y := New(shape...)
	if y.Size() == 0 || r == 0 {
		copy(y.Data, x.Data)
		return y
	}
	inner, is := shape[r-1], ps[r-1]
	rows := y.Size() / inner
	Parallel(rows, rowGrain(inner), func(lo, hi int) {
		idx := make([]int, r-1)
		rem := lo
		for d := r - 2; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		for row := lo; row < hi; row++ {
			off := 0
			for d := 0; d < r-1; d++ {
				off += idx[d] * ps[d]
			}
			out := y.Data[row*inner:][:inner]
			for i := range out {
				out[i] = x.Data[off+i*is]
			}
			for d := r - 2; d >= 0; d-- {
				if idx[d]++; idx[d] < shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	})
	return y
}

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

// UnaryOp names an element-wise function of one tensor.
type UnaryOp uint8

// The unary operations of UnaryOp.Apply.
const (
	OpRelu UnaryOp = iota
	OpRelu6
	OpSigmoid
	OpTanh
	OpAbs
	OpSquare
	OpRsqrt
	OpExp
	OpNeg
)

// Apply writes op(src) into dst, which may be src itself; the lengths must
// match. Large slices are split across goroutines.
func (op UnaryOp) Apply(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("nn: unary op of %d values into %d", len(src), len(dst)))
	}
	Parallel(len(dst), grainElems, func(lo, hi int) {
		op.apply(dst[lo:hi], src[lo:hi])
	})
}

func (op UnaryOp) apply(dst, src []float32) {
	src = src[:len(dst)]
	switch op {
	case OpRelu:
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	case OpRelu6:
		for i, v := range src {
			dst[i] = min(max(v, 0), 6)
		}
	case OpSigmoid:
		for i, v := range src {
			dst[i] = Sigmoid(v)
		}
	case OpTanh:
		for i, v := range src {
			dst[i] = float32(math.Tanh(float64(v)))
		}
	case OpAbs:
		for i, v := range src {
			dst[i] = math.Float32frombits(math.Float32bits(v) &^ (1 << 31))
		}
	case OpSquare:
		for i, v := range src {
			dst[i] = v * v
		}
	case OpRsqrt:
		for i, v := range src {
			dst[i] = float32(1 / math.Sqrt(float64(v)))
		}
	case OpExp:
		for i, v := range src {
			dst[i] = float32(math.Exp(float64(v)))
		}
	case OpNeg:
		for i, v := range src {
			dst[i] = -v
		}
	default:
		panic(fmt.Sprintf("nn: unknown unary op %d", op))
	}
}

// Of returns a new tensor holding op applied to every element of x.
func (op UnaryOp) Of(x *Tensor) *Tensor {
	y := New(x.Shape...)
	op.Apply(y.Data, x.Data)
	return y
}

// Unary returns a new tensor holding f applied to every element of x, for
// functions that have no UnaryOp.
func Unary(x *Tensor, f func(float32) float32) *Tensor {
	y := New(x.Shape...)
	Parallel(len(y.Data), grainElems, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y.Data[i] = f(x.Data[i])
		}
	})
	return y
}

// Relu returns max(x, 0).
func Relu(x *Tensor) *Tensor { return OpRelu.Of(x) }

// Relu6 returns min(max(x, 0), 6).
func Relu6(x *Tensor) *Tensor { return OpRelu6.Of(x) }

// SigmoidTensor returns the logistic function of x (the name Sigmoid is
// taken by the scalar form).
func SigmoidTensor(x *Tensor) *Tensor { return OpSigmoid.Of(x) }

// Tanh returns the hyperbolic tangent of x.
func Tanh(x *Tensor) *Tensor { return OpTanh.Of(x) }

// Abs returns |x|.
func Abs(x *Tensor) *Tensor { return OpAbs.Of(x) }

// Square returns x².
func Square(x *Tensor) *Tensor { return OpSquare.Of(x) }

// Rsqrt returns 1/√x.
func Rsqrt(x *Tensor) *Tensor { return OpRsqrt.Of(x) }

// Exp returns eˣ.
func Exp(x *Tensor) *Tensor { return OpExp.Of(x) }

// Neg returns -x.
func Neg(x *Tensor) *Tensor { return OpNeg.Of(x) }

// Softmax normalises exp(x) to sum to one along axis (negative counts from
// the end). The maximum is subtracted first so large logits do not
// overflow.
func Softmax(x *Tensor, axis int) *Tensor {
	r := len(x.Shape)
	axis = normAxis(axis, r)
	n := x.Shape[axis]
	inner := 1
	for _, d := range x.Shape[axis+1:] {
		inner *= d
	}
	y := New(x.Shape...)
	if y.Size() == 0 {
		return y
	}
	outer := y.Size() / (n * inner)
	Parallel(outer*inner, rowGrain(4*n), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, i := r/inner, r%inner
			base := o*n*inner + i
			m := float32(math.Inf(-1))
			for k := 0; k < n; k++ {
				m = max(m, x.Data[base+k*inner])
			}
			var sum float64
			for k := 0; k < n; k++ {
				e := math.Exp(float64(x.Data[base+k*inner] - m))
				y.Data[base+k*inner] = float32(e)
				sum += e
			}
			inv := 1 / sum
			for k := 0; k < n; k++ {
				y.Data[base+k*inner] = float32(float64(y.Data[base+k*inner]) * inv)
			}
		}
	})
	return y
}

// Sum adds x's elements over axes (negative counts from the end; empty or
// nil means no reduction, as in TensorFlow). keepDims keeps the reduced
// dimensions with size 1.
func Sum(x *Tensor, axes []int, keepDims bool) *Tensor {
	return reduceSum(x, axes, keepDims, false)
}

// Mean averages x's elements over axes (negative counts from the end;
// empty or nil means no reduction). keepDims keeps the reduced dimensions
// with size 1.
func Mean(x *Tensor, axes []int, keepDims bool) *Tensor {
	return reduceSum(x, axes, keepDims, true)
}

func reduceSum(x *Tensor, axes []int, keepDims, mean bool) *Tensor {
	r := len(x.Shape)
	red := make([]bool, r)
	for _, a := range axes {
		red[normAxis(a, r)] = true
	}
	var outShape []int
	count := 1
	for d, n := range x.Shape {
		switch {
		case !red[d]:
			outShape = append(outShape, n)
		case keepDims:
			outShape = append(outShape, 1)
			count *= n
		default:
			count *= n
		}
	}
	y := New(outShape...)
	if x.Size() == 0 {
		if mean {
			for i := range y.Data {
				y.Data[i] = float32(math.NaN())
			}
		}
		return y
	}
	// Merge neighbouring dimensions that are both kept or both reduced,
	// then walk all but the last group with an odometer; the last group is
	// contiguous and is either summed into one output or added as a run.
	var dims []int
	var isRed []bool
	for d, n := range x.Shape {
		if n == 1 {
			continue
		}
		if k := len(dims) - 1; k >= 0 && isRed[k] == red[d] {
			dims[k] *= n
			continue
		}
		dims = append(dims, n)
		isRed = append(isRed, red[d])
	}
	if len(dims) == 0 {
		y.Data[0] = x.Data[0]
		return y
	}
	k := len(dims)
	// Output strides of the merged kept groups.
	ostr := make([]int, k)
	acc := 1
	for d := k - 1; d >= 0; d-- {
		if !isRed[d] {
			ostr[d] = acc
			acc *= dims[d]
		}
	}
	inner := dims[k-1]
	innerRed := isRed[k-1]
	rows := x.Size() / inner
	idx := make([]int, k-1)
	for row := 0; row < rows; row++ {
		off := 0
		for d := 0; d < k-1; d++ {
			off += idx[d] * ostr[d]
		}
		in := x.Data[row*inner:][:inner]
		if innerRed {
			var s float32
			for _, v := range in {
				s += v
			}
			y.Data[off] += s
		} else {
			out := y.Data[off:][:inner]
			for i, v := range in {
				out[i] += v
			}
		}
		for d := k - 2; d >= 0; d-- {
			if idx[d]++; idx[d] < dims[d] {
				break
			}
			idx[d] = 0
		}
	}
	if mean && count > 1 {
		inv := 1 / float32(count)
		for i := range y.Data {
			y.Data[i] *= inv
		}
	}
	return y
}

// ResizeBilinear resamples an NHWC tensor to outH×outW with
// TensorFlow.js's bilinear rule. With alignCorners the corner pixels of
// input and output coincide (scale (in-1)/(out-1)); with halfPixelCenters
// pixel centres are aligned, src = (dst+0.5)·in/out - 0.5; with neither,
// src = dst·in/out. The neighbour beyond the last row or column is clamped
// to it.
func ResizeBilinear(x *Tensor, outH, outW int, alignCorners, halfPixelCenters bool) *Tensor {
	n, h, w, c := x.NHWC()
	y := New(n, outH, outW, c)
	if len(x.Shape) == 3 {
		y.Shape = y.Shape[1:]
	}
	if y.Size() == 0 || x.Size() == 0 {
		return y
	}
	sy := resizeScale(h, outH, alignCorners)
	sx := resizeScale(w, outW, alignCorners)
	// Source columns and weights are the same for every row.
	x0s := make([]int, outW)
	x1s := make([]int, outW)
	fxs := make([]float64, outW)
	for ox := range outW {
		x0s[ox], x1s[ox], fxs[ox] = bilinearSrc(ox, sx, w, halfPixelCenters)
	}
	Parallel(n*outH, rowGrain(outW*c*4), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/outH, r%outH
			y0, y1, fy := bilinearSrc(oy, sy, h, halfPixelCenters)
			row0 := x.Data[(b*h+y0)*w*c:][:w*c]
			row1 := x.Data[(b*h+y1)*w*c:][:w*c]
			out := y.Data[r*outW*c:][:outW*c]
			for ox := range outW {
				a0, a1, fx := x0s[ox]*c, x1s[ox]*c, fxs[ox]
				o := out[ox*c:][:c]
				for i := range o {
					tl, tr := float64(row0[a0+i]), float64(row0[a1+i])
					bl, br := float64(row1[a0+i]), float64(row1[a1+i])
					top := tl + (tr-tl)*fx
					bot := bl + (br-bl)*fx
					o[i] = float32(top + (bot-top)*fy)
				}
			}
		}
	})
	return y
}

// resizeScale is the source step per output pixel.
func resizeScale(in, out int, alignCorners bool) float64 {
	if alignCorners && out > 1 {
		return float64(in-1) / float64(out-1)
	}
	return float64(in) / float64(out)
}

// bilinearSrc returns the two source indices for output index o and the
// weight of the second, mirroring TensorFlow.js: the fractional part is
// taken against the lower index after it has been clamped at zero.
func bilinearSrc(o int, scale float64, in int, halfPixel bool) (i0, i1 int, f float64) {
	src := scale * float64(o)
	if halfPixel {
		src = scale*(float64(o)+0.5) - 0.5
	}
	i0 = max(0, int(math.Floor(src)))
	f = src - float64(i0)
	i1 = min(in-1, int(math.Ceil(src)))
	i0 = min(i0, in-1)
	return i0, max(i1, 0), f
}

// ResizeNearest resamples an NHWC tensor to outH×outW by nearest neighbour
// with TensorFlow.js's rule: the source index is floor(dst·scale) (rounded
// instead with alignCorners; dst+0.5 with halfPixelCenters), clamped to
// the input.
func ResizeNearest(x *Tensor, outH, outW int, alignCorners, halfPixelCenters bool) *Tensor {
	n, h, w, c := x.NHWC()
	y := New(n, outH, outW, c)
	if len(x.Shape) == 3 {
		y.Shape = y.Shape[1:]
	}
	if y.Size() == 0 || x.Size() == 0 {
		return y
	}
	sy := resizeScale(h, outH, alignCorners)
	sx := resizeScale(w, outW, alignCorners)
	xs := make([]int, outW)
	for ox := range outW {
		xs[ox] = nearestSrc(ox, sx, w, alignCorners, halfPixelCenters)
	}
	Parallel(n*outH, rowGrain(outW*c), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/outH, r%outH
			iy := nearestSrc(oy, sy, h, alignCorners, halfPixelCenters)
			row := x.Data[(b*h+iy)*w*c:][:w*c]
			out := y.Data[r*outW*c:][:outW*c]
			for ox, ix := range xs {
				copy(out[ox*c:][:c], row[ix*c:][:c])
			}
		}
	})
	return y
}

func nearestSrc(o int, scale float64, in int, alignCorners, halfPixel bool) int {
	src := scale * float64(o)
	if halfPixel {
		src = scale * (float64(o) + 0.5)
	}
	var i int
	if alignCorners {
		i = int(math.Floor(src + 0.5)) // JavaScript's Math.round
	} else {
		i = int(math.Floor(src))
	}
	return max(0, min(in-1, i))
}
