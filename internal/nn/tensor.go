package nn

import "fmt"

// Tensor is a dense float32 array in row-major order. Image tensors are NHWC.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// FromData wraps data (not copied) in a tensor of the given shape.
// It panics if the sizes disagree.
func FromData(data []float32, shape ...int) *Tensor {
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("nn: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Size is the number of elements.
func (t *Tensor) Size() int { return len(t.Data) }

// Reshape returns a tensor sharing t's data with another shape; one
// dimension may be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := append([]int(nil), shape...)
	infer, known := -1, 1
	for i, d := range s {
		if d == -1 {
			infer = i
			continue
		}
		known *= d
	}
	if infer >= 0 && known > 0 {
		s[infer] = len(t.Data) / known
	}
	return FromData(t.Data, s...)
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// NHWC returns the four dimensions of an image tensor; a rank-3 tensor is
// read as HWC with N = 1. It panics for other ranks.
func (t *Tensor) NHWC() (n, h, w, c int) {
	switch len(t.Shape) {
	case 4:
		return t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	case 3:
		return 1, t.Shape[0], t.Shape[1], t.Shape[2]
	}
	panic(fmt.Sprintf("nn: shape %v is not an image tensor", t.Shape))
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("nn: negative dimension in %v", shape))
		}
		n *= d
	}
	return n
}
