package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var dwCases = []struct {
	n, h, w int
	p       ConvParams
	mult    int
	why     string
}{
	{1, 9, 11, ConvParams{KH: 3, KW: 3, InC: 32, Mode: PadSame}, 1, "3×3 SAME, channels in blocks of 8"},
	{2, 8, 7, ConvParams{KH: 3, KW: 3, InC: 13, Mode: PadSame}, 1, "batch 2, 13 channels: 8 + 5 leftover"},
	{1, 10, 10, ConvParams{KH: 3, KW: 3, InC: 3, Mode: PadSame}, 1, "fewer channels than a block"},
	{1, 12, 12, ConvParams{KH: 3, KW: 3, InC: 24, StrideH: 2, StrideW: 2, Mode: PadSame}, 1, "3×3 s2 SAME"},
	{1, 13, 12, ConvParams{KH: 3, KW: 3, InC: 16, StrideH: 2, StrideW: 2}, 1, "3×3 s2 VALID"},
	{1, 9, 10, ConvParams{KH: 3, KW: 3, InC: 8, Mode: PadExplicit, Pad: Padding{Top: 0, Bottom: 2, Left: 3, Right: 1}}, 1, "explicit asymmetric padding"},
	{1, 7, 7, ConvParams{KH: 3, KW: 3, InC: 8, Mode: PadExplicit, Pad: Padding{Top: 3, Bottom: 3, Left: 3, Right: 3}}, 1, "rows and columns whose window is all padding"},
	{1, 8, 9, ConvParams{KH: 3, KW: 3, InC: 8, Mode: PadExplicit, Pad: Padding{Top: -1, Bottom: 1, Left: -2, Right: 0}}, 1, "negative padding crops"},
	{1, 11, 11, ConvParams{KH: 3, KW: 3, InC: 16, DilationH: 2, DilationW: 2, Mode: PadSame}, 1, "dilation 2"},
	{1, 9, 20, ConvParams{KH: 5, KW: 5, InC: 40, Mode: PadSame}, 1, "5×5"},
	{1, 1, 1, ConvParams{KH: 3, KW: 3, InC: 16, Mode: PadSame}, 1, "one pixel, one tap inside"},
	{1, 2, 2, ConvParams{KH: 5, KW: 5, InC: 9, Mode: PadSame}, 1, "window wider than the image"},
	{1, 6, 17, ConvParams{KH: 1, KW: 3, InC: 64, StrideW: 3, Mode: PadSame}, 1, "1×3, stride 3, pixel tails"},
	{1, 6, 6, ConvParams{KH: 3, KW: 3, InC: 5, Mode: PadSame}, 3, "multiplier 3"},
	{1, 48, 48, ConvParams{KH: 3, KW: 3, InC: 32, Mode: PadSame}, 1, "parallel over rows"},
}

// dwRef64 is the depthwise convolution in float64, with each output's sum
// of term magnitudes.
func dwRef64(p ConvParams, mult int, filter, bias []float32, act Activation, x *Tensor) (want, abs []float64) {
	p = p.norm()
	n, h, w, ic := x.NHWC()
	oh, ow, pad := p.Geometry(h, w)
	oc := ic * mult
	want, abs = make([]float64, n*oh*ow*oc), make([]float64, n*oh*ow*oc)
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				o := ((b*oh+oy)*ow + ox) * oc
				for co := range oc {
					s, t := float64(bias[co]), math.Abs(float64(bias[co]))
					for ky := range p.KH {
						for kx := range p.KW {
							iy := oy*p.StrideH - pad.Top + ky*p.DilationH
							ix := ox*p.StrideW - pad.Left + kx*p.DilationW
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							v := float64(x.Data[((b*h+iy)*w+ix)*ic+co/mult]) * float64(filter[(ky*p.KW+kx)*oc+co])
							s += v
							t += math.Abs(v)
						}
					}
					want[o+co], abs[o+co] = act64(act, s, co), t
				}
			}
		}
	}
	return want, abs
}

func TestDepthwise(t *testing.T) {
	t.Parallel()
	for ci, tc := range dwCases {
		for _, impl := range kernelImpls() {
			t.Run(fmt.Sprintf("%s/%d", impl.name, ci), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(ci), 5))
				p := tc.p.norm()
				oc := p.InC * tc.mult
				x := FromData(randSlice(r, tc.n*tc.h*tc.w*p.InC), tc.n, tc.h, tc.w, p.InC)
				filter := randSlice(r, p.KH*p.KW*oc)
				bias := randSlice(r, oc)
				for _, act := range allActs(r, oc) {
					d := NewDepthwiseConv2D(tc.p, tc.mult, filter, bias, act)
					got := d.forward(x, impl)
					ref := depthwiseRef(d.P, d.Multiplier, d.filter, d.bias, d.Act, x)
					if fmt.Sprint(got.Shape) != fmt.Sprint(ref.Shape) {
						t.Fatalf("%s: shape %v, reference %v", tc.why, got.Shape, ref.Shape)
					}
					want, abs := dwRef64(tc.p, tc.mult, filter, bias, act, x)
					k := p.KH * p.KW
					for i, v := range got.Data {
						if !closeTo(v, want[i], abs[i], k) || !closeTo(ref.Data[i], want[i], abs[i], k) {
							t.Fatalf("%s (%s): y[%d] = %v, reference %v, float64 %v", tc.why, actName(act), i, v, ref.Data[i], want[i])
						}
					}
				}
			})
		}
	}
}

// TestDwRowKernel runs each row kernel on random taps with outputs inside
// guard bands and with gaps between pixels (ostep > nc) that must survive.
func TestDwRowKernel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 11))
	for trial := range 300 {
		n := 1 + r.IntN(14)
		nc := 1 + r.IntN(41)
		if trial < 8 {
			n, nc = trial+1, 8*(trial%3+1)
		}
		taps := r.IntN(10) // 0: bias only
		istep := nc + r.IntN(9)
		ostep := nc + r.IntN(5)
		flags := r.IntN(4) << kActShift
		offs, foffs := make([]int, taps), make([]int, taps)
		for i := range offs {
			offs[i] = r.IntN(3*istep + 1)
			foffs[i] = r.IntN(5 * nc)
		}
		in := randSlice(r, (n-1)*istep+4*istep+nc)
		f := randSlice(r, 6*nc)
		bias, alpha := randSlice(r, nc), randSlice(r, nc)
		outLen := (n-1)*ostep + nc
		for _, impl := range kernelImpls() {
			out, buf := guarded(outLen)
			for i := range out {
				out[i] = guardValue
			}
			impl.dw(n, nc, in, istep, offs, foffs, f, out, ostep, bias, alpha, flags)
			checkGuard(t, buf, outLen)
			for q := range n {
				for ch := range ostep {
					i := q*ostep + ch
					if i >= outLen {
						break
					}
					gap := ch >= nc
					if gap != (math.Float32bits(out[i]) == 0x7fc0dead) {
						t.Fatalf("%s n=%d nc=%d: out[%d][%d] = %v (gap %v)", impl.name, n, nc, q, ch, out[i], gap)
					}
					if gap {
						continue
					}
					s, m := float64(bias[ch]), math.Abs(float64(bias[ch]))
					for tp := range offs {
						v := float64(in[q*istep+offs[tp]+ch]) * float64(f[foffs[tp]+ch])
						s += v
						m += math.Abs(v)
					}
					switch flags {
					case kActRelu:
						s = math.Max(s, 0)
					case kActRelu6:
						s = math.Min(math.Max(s, 0), 6)
					case kActAlpha:
						if s < 0 {
							s *= float64(alpha[ch])
						}
					}
					if !closeTo(out[i], s, m, taps) {
						t.Fatalf("%s n=%d nc=%d taps=%d flags=%d: out[%d][%d] = %v, want %v", impl.name, n, nc, taps, flags, q, ch, out[i], s)
					}
				}
			}
		}
	}
}
