package nn

import (
	"fmt"
	"math"
)

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
