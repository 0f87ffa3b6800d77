package nn

import "math"

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
