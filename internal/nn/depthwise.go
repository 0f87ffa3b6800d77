package nn

import "fmt"

// The fast depthwise convolution works on NHWC rows with the channels
// innermost, so that one tap of one pixel is a contiguous run of channels
// multiplied element-wise by a contiguous run of filter values: the shape
// of a vector FMA. For each output row, the taps whose input rows exist are
// listed once as (input offset, filter offset) pairs; the pixels whose
// window lies wholly inside the row share that list and go to the row
// kernel in one call, and each border pixel gets its own clipped list. No
// padded copy of the input is made: depthwise layers are memory bound.

// dwMinParallel is the work (FLOP) below which a depthwise layer runs on
// the calling goroutine.
const dwMinParallel = 1 << 20

// forward is Forward with the kernel set given, so that tests can run
// every twin through the whole layer.
func (d *DepthwiseConv2D) forward(x *Tensor, kern *kernelImpl) *Tensor {
	p := d.P.norm()
	n, h, w, ic := x.NHWC()
	checkData(x, "depthwise")
	if ic != p.InC {
		panic(fmt.Sprintf("nn: depthwise input has %d channels, want %d", ic, p.InC))
	}
	if d.Multiplier < 1 || p.OutC != ic*d.Multiplier || len(d.filter) != p.KH*p.KW*p.OutC {
		panic("nn: DepthwiseConv2D not built by NewDepthwiseConv2D, or its shape changed since")
	}
	oh, ow, pad := p.Geometry(h, w)
	oc := p.OutC
	y := New(n, oh, ow, oc)
	if len(y.Data) == 0 {
		return y
	}
	if d.Multiplier != 1 {
		depthwiseMult(p, d.Multiplier, d.filter, d.bias, d.Act, x, y, pad)
		return y
	}
	ep := newEpilogue(d.Act, oc, (oc+nr-1)/nr)
	dp := &dwPlan{p: p, pad: pad, x: x, y: y, d: d, kern: kern, alpha: ep.alpha, flags: ep.flags, post: ep.post}
	if dp.alpha == nil {
		dp.alpha = d.bias // any oc floats when the kernel reads no slopes
	}
	rowWork := 2 * ow * oc * p.KH * p.KW
	Parallel(n*oh, max(1, dwMinParallel/max(rowWork, 1)), func(lo, hi int) {
		taps := p.KH * p.KW
		offs, foffs := make([]int, 0, taps), make([]int, 0, taps)
		for r := lo; r < hi; r++ {
			dp.row(r, offs, foffs)
		}
	})
	return y
}

// dwPlan is one depthwise Forward call with multiplier 1.
type dwPlan struct {
	p     ConvParams
	pad   Padding
	x, y  *Tensor
	d     *DepthwiseConv2D
	kern  *kernelImpl
	alpha []float32
	flags int
	post  Activation
}

// row computes output row r (image r/oh, row r%oh); offs and foffs are
// scratch with room for every tap.
func (dp *dwPlan) row(r int, offs, foffs []int) {
	p, pad := dp.p, dp.pad
	_, h, w, c := dp.x.NHWC()
	_, oh, ow, _ := dp.y.NHWC()
	b, oy := r/oh, r%oh
	out := dp.y.Data[r*ow*c : (r+1)*ow*c]
	// Kernel rows that fall inside the image; offsets are taken from the
	// first one's input row.
	iy0 := oy*p.StrideH - pad.Top
	kyLo, kyHi := 0, p.KH
	for kyLo < kyHi && iy0+kyLo*p.DilationH < 0 {
		kyLo++
	}
	for kyHi > kyLo && iy0+(kyHi-1)*p.DilationH >= h {
		kyHi--
	}
	rowBase := (b*h + iy0 + kyLo*p.DilationH) * w * c
	// Output columns ox0..ox1-1 have their whole window inside the row.
	ox0 := 0
	if pad.Left > 0 {
		ox0 = min(ow, (pad.Left+p.StrideW-1)/p.StrideW)
	}
	ox1 := ox0
	if last := w - (p.KW-1)*p.DilationW - 1 + pad.Left; last >= 0 {
		ox1 = max(ox0, min(ow, last/p.StrideW+1))
	}

	// A border pixel gets only its taps inside the image, with offsets
	// from its first such tap.
	border := func(ox int) {
		ix0 := ox*p.StrideW - pad.Left
		offs, foffs = offs[:0], foffs[:0]
		anchor := -1
		for ky := kyLo; ky < kyHi; ky++ {
			for kx := range p.KW {
				ix := ix0 + kx*p.DilationW
				if ix < 0 || ix >= w {
					continue
				}
				at := rowBase + ((ky-kyLo)*p.DilationH*w+ix)*c
				if anchor < 0 {
					anchor = at
				}
				offs = append(offs, at-anchor)
				foffs = append(foffs, (ky*p.KW+kx)*c)
			}
		}
		in := dp.x.Data // unread when no tap is inside
		if anchor >= 0 {
			in = in[anchor:]
		}
		dp.kern.dw(1, c, in, 0, offs, foffs, dp.d.filter, out[ox*c:], c, dp.d.bias, dp.alpha, dp.flags)
	}
	for ox := range ox0 {
		border(ox)
	}
	if ox1 > ox0 {
		offs, foffs = offs[:0], foffs[:0]
		for ky := kyLo; ky < kyHi; ky++ {
			for kx := range p.KW {
				offs = append(offs, ((ky-kyLo)*p.DilationH*w+kx*p.DilationW)*c)
				foffs = append(foffs, (ky*p.KW+kx)*c)
			}
		}
		in := dp.x.Data // unread when the window rows are all padding
		if len(offs) > 0 {
			in = in[rowBase+(ox0*p.StrideW-pad.Left)*c:]
		}
		dp.kern.dw(ox1-ox0, c, in, p.StrideW*c, offs, foffs, dp.d.filter, out[ox0*c:], c, dp.d.bias, dp.alpha, dp.flags)
	}
	for ox := ox1; ox < ow; ox++ {
		border(ox)
	}
	if dp.post.Kind != ActNone {
		dp.post.Apply(out, 0, c)
	}
}

// depthwiseMult is the depthwise convolution for channel multipliers above
// one, which the face models do not use: a direct loop over valid taps.
func depthwiseMult(p ConvParams, mult int, filter, bias []float32, act Activation, x, y *Tensor, pad Padding) {
	n, h, w, ic := x.NHWC()
	_, oh, ow, oc := y.NHWC()
	Parallel(n*oh, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			for ox := range ow {
				out := y.Data[(r*ow+ox)*oc:][:oc]
				copy(out, bias)
				for ky := range p.KH {
					iy := oy*p.StrideH - pad.Top + ky*p.DilationH
					if iy < 0 || iy >= h {
						continue
					}
					for kx := range p.KW {
						ix := ox*p.StrideW - pad.Left + kx*p.DilationW
						if ix < 0 || ix >= w {
							continue
						}
						in := x.Data[((b*h+iy)*w+ix)*ic:][:ic]
						f := filter[(ky*p.KW+kx)*oc:][:oc]
						for ci, v := range in {
							fo, o := f[ci*mult:][:mult], out[ci*mult:][:mult]
							for m, fv := range fo {
								o[m] += v * fv
							}
						}
					}
				}
				act.Apply(out, 0, oc)
			}
		}
	})
}
