package nn

import "fmt"

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
