package nn

import (
	"fmt"
	"math"
)

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
