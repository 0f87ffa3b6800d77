package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convCase is one convolution geometry; why says which path or edge it
// exercises.
type convCase struct {
	n, h, w int
	p       ConvParams
	why     string
}

var convCases = []convCase{
	{1, 9, 7, ConvParams{KH: 1, KW: 1, InC: 5, OutC: 7}, "1×1 stride 1: A read in place, partial tiles"},
	{2, 5, 5, ConvParams{KH: 1, KW: 1, InC: 64, OutC: 33, Mode: PadSame}, "1×1 batch 2, N = 2 panels + 1"},
	{1, 9, 9, ConvParams{KH: 1, KW: 1, InC: 16, OutC: 16, StrideH: 2, StrideW: 2}, "1×1 stride 2 through im2col"},
	{1, 11, 13, ConvParams{KH: 3, KW: 3, InC: 8, OutC: 16, Mode: PadSame}, "3×3 SAME"},
	{1, 12, 12, ConvParams{KH: 3, KW: 3, InC: 7, OutC: 17, StrideH: 2, StrideW: 2, Mode: PadSame}, "3×3 s2 SAME, odd pad at bottom/right"},
	{1, 12, 11, ConvParams{KH: 3, KW: 3, InC: 9, OutC: 20, StrideH: 2, StrideW: 2}, "3×3 s2 VALID"},
	{2, 10, 9, ConvParams{KH: 3, KW: 3, InC: 4, OutC: 6, StrideH: 2, StrideW: 1, Mode: PadExplicit, Pad: Padding{Top: 2, Bottom: 0, Left: 1, Right: 3}}, "explicit asymmetric padding, mixed strides"},
	{1, 13, 13, ConvParams{KH: 3, KW: 3, InC: 6, OutC: 8, DilationH: 2, DilationW: 2, Mode: PadSame}, "dilation 2"},
	{1, 15, 14, ConvParams{KH: 3, KW: 2, InC: 5, OutC: 9, DilationH: 1, DilationW: 3, Mode: PadSame}, "mixed dilation, non-square kernel"},
	{1, 21, 19, ConvParams{KH: 7, KW: 7, InC: 3, OutC: 32, StrideH: 2, StrideW: 2, Mode: PadSame}, "7×7 s2, InC = 3 stem"},
	{1, 6, 6, ConvParams{KH: 3, KW: 3, InC: 40, OutC: 24, Mode: PadSame}, "K = 360: two K blocks"},
	{1, 4, 4, ConvParams{KH: 3, KW: 3, InC: 128, OutC: 20, Mode: PadSame}, "K = 1152: four K blocks over im2col"},
	{1, 3, 3, ConvParams{KH: 1, KW: 1, InC: 700, OutC: 5}, "K = 700 in place: three K blocks"},
	{1, 1, 1, ConvParams{KH: 1, KW: 1, InC: 3, OutC: 2}, "one output pixel"},
	{1, 2, 3, ConvParams{KH: 3, KW: 3, InC: 2, OutC: 3, Mode: PadSame}, "tiny output, window mostly padding"},
	{1, 3, 3, ConvParams{KH: 3, KW: 3, InC: 2, OutC: 3}, "VALID to 1×1"},
	{1, 24, 24, ConvParams{KH: 3, KW: 3, InC: 16, OutC: 32, Mode: PadSame}, "parallel over M"},
	{1, 5, 5, ConvParams{KH: 5, KW: 5, InC: 3, OutC: 4, Mode: PadSame}, "window wider than half the image"},
	{1, 9, 10, ConvParams{KH: 3, KW: 3, InC: 5, OutC: 18, Mode: PadExplicit, Pad: Padding{Top: -1, Bottom: 1, Left: -2, Right: 0}}, "negative padding crops"},
	{1, 2, 2, ConvParams{KH: 3, KW: 3, InC: 4, OutC: 5}, "VALID larger than the input: empty output"},
	{0, 4, 4, ConvParams{KH: 3, KW: 3, InC: 4, OutC: 5, Mode: PadSame}, "empty batch"},
}

// convRef64 is the direct convolution in float64, with each output's sum
// of term magnitudes.
func convRef64(p ConvParams, filter, bias []float32, act Activation, x *Tensor) (want, abs []float64) {
	p = p.norm()
	n, h, w, ic := x.NHWC()
	oh, ow, pad := p.Geometry(h, w)
	oc := p.OutC
	want, abs = make([]float64, n*oh*ow*oc), make([]float64, n*oh*ow*oc)
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				o := ((b*oh+oy)*ow + ox) * oc
				for co := range oc {
					s, t := float64(bias[co]), math.Abs(float64(bias[co]))
					for ky := range p.KH {
						iy := oy*p.StrideH - pad.Top + ky*p.DilationH
						for kx := range p.KW {
							ix := ox*p.StrideW - pad.Left + kx*p.DilationW
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							for ci := range ic {
								v := float64(x.Data[((b*h+iy)*w+ix)*ic+ci]) * float64(filter[((ky*p.KW+kx)*ic+ci)*oc+co])
								s += v
								t += math.Abs(v)
							}
						}
					}
					want[o+co], abs[o+co] = act64(act, s, co), t
				}
			}
		}
	}
	return want, abs
}

func TestConv2D(t *testing.T) {
	t.Parallel()
	for ci, tc := range convCases {
		for _, impl := range kernelImpls() {
			t.Run(fmt.Sprintf("%s/%d", impl.name, ci), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(ci), 1))
				p := tc.p.norm()
				k := p.KH * p.KW * p.InC
				x := FromData(randSlice(r, tc.n*tc.h*tc.w*p.InC), tc.n, tc.h, tc.w, p.InC)
				filter := randSlice(r, k*p.OutC)
				bias := randSlice(r, p.OutC)
				for _, act := range allActs(r, p.OutC) {
					c := NewConv2D(tc.p, filter, bias, act)
					got := c.forward(x, impl)
					ref := conv2DRef(c.P, c.filter, c.bias, c.Act, x)
					if fmt.Sprint(got.Shape) != fmt.Sprint(ref.Shape) {
						t.Fatalf("%s: shape %v, reference %v", tc.why, got.Shape, ref.Shape)
					}
					want, abs := convRef64(tc.p, filter, bias, act, x)
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

// TestConv2DForwardDefault checks the exported path (whatever kernel this
// CPU selected) on the same cases, against the reference function.
func TestConv2DForwardDefault(t *testing.T) {
	t.Parallel()
	for ci, tc := range convCases {
		r := rand.New(rand.NewPCG(uint64(ci), 2))
		p := tc.p.norm()
		k := p.KH * p.KW * p.InC
		x := FromData(randSlice(r, tc.n*tc.h*tc.w*p.InC), tc.n, tc.h, tc.w, p.InC)
		c := NewConv2D(tc.p, randSlice(r, k*p.OutC), randSlice(r, p.OutC), Activation{Kind: ActRelu6})
		got, ref := c.Forward(x), conv2DRef(c.P, c.filter, c.bias, c.Act, x)
		_, abs := convRef64(tc.p, c.filter, c.bias, c.Act, x)
		for i, v := range got.Data {
			if !closeTo(v, float64(ref.Data[i]), abs[i], k) {
				t.Fatalf("%s: y[%d] = %v, reference %v", tc.why, i, v, ref.Data[i])
			}
		}
	}
}

// TestConv2DSharedAcrossGoroutines runs one layer from several goroutines:
// Forward must only read the packed weights.
func TestConv2DSharedAcrossGoroutines(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 3))
	p := ConvParams{KH: 3, KW: 3, InC: 16, OutC: 24, Mode: PadSame}
	c := NewConv2D(p, randSlice(r, 9*16*24), randSlice(r, 24), Activation{Kind: ActRelu})
	x := FromData(randSlice(r, 17*19*16), 17, 19, 16)
	want := c.Forward(x)
	done := make(chan *Tensor)
	for range 4 {
		go func() { done <- c.Forward(x) }()
	}
	for range 4 {
		got := <-done
		for i := range got.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("y[%d] = %v on one goroutine, %v on another", i, got.Data[i], want.Data[i])
			}
		}
	}
}

func TestDense(t *testing.T) {
	t.Parallel()
	cases := []struct {
		shape   []int
		in, out int
	}{
		{[]int{1, 1}, 1, 1},
		{[]int{1, 128}, 128, 10},
		{[]int{1, 700}, 700, 300},   // one row: parallel over N, three K blocks
		{[]int{5, 33}, 33, 17},      // rows < mr
		{[]int{2, 7, 19}, 19, 40},   // rank 3, M = 14
		{[]int{300, 64}, 64, 48},    // parallel over M
		{[]int{4, 3, 2, 10}, 10, 3}, // rank 4
		{[]int{0, 10}, 10, 3},       // no rows
	}
	for ci, tc := range cases {
		for _, impl := range kernelImpls() {
			t.Run(fmt.Sprintf("%s/%v→%d", impl.name, tc.shape, tc.out), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(ci), 4))
				x := FromData(randSlice(r, numel(tc.shape)), tc.shape...)
				w, bias := randSlice(r, tc.in*tc.out), randSlice(r, tc.out)
				for _, act := range allActs(r, tc.out) {
					d := NewDense(tc.in, tc.out, w, bias, act)
					got, ref := d.forward(x, impl), denseRef(d, x)
					if fmt.Sprint(got.Shape) != fmt.Sprint(ref.Shape) {
						t.Fatalf("shape %v, reference %v", got.Shape, ref.Shape)
					}
					want, abs := gemmRef64(x.Data, x.Size()/tc.in, tc.in, w, tc.out, bias, act)
					for i, v := range got.Data {
						if !closeTo(v, want[i], abs[i], tc.in) || !closeTo(ref.Data[i], want[i], abs[i], tc.in) {
							t.Fatalf("%s: y[%d] = %v, reference %v, float64 %v", actName(act), i, v, ref.Data[i], want[i])
						}
					}
				}
			})
		}
	}
}

// TestForwardUsesSelectedKernels checks that the exported Forward methods
// run the kernel set this CPU selected: same bits as calling it directly.
func TestForwardUsesSelectedKernels(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(6, 6))
	x := FromData(randSlice(r, 2*9*11*12), 2, 9, 11, 12)
	act := Activation{Kind: ActLeaky, Alpha: 0.2}
	conv := NewConv2D(ConvParams{KH: 3, KW: 3, InC: 12, OutC: 20, Mode: PadSame}, randSlice(r, 9*12*20), randSlice(r, 20), act)
	dw := NewDepthwiseConv2D(ConvParams{KH: 3, KW: 3, InC: 12, Mode: PadSame}, 1, randSlice(r, 9*12), randSlice(r, 12), act)
	dense := NewDense(12, 7, randSlice(r, 12*7), randSlice(r, 7), act)
	pairs := []struct {
		name      string
		got, want *Tensor
	}{
		{"conv", conv.Forward(x), conv.forward(x, kernels)},
		{"depthwise", dw.Forward(x), dw.forward(x, kernels)},
		{"dense", dense.Forward(x), dense.forward(x, kernels)},
	}
	for _, p := range pairs {
		for i := range p.want.Data {
			if math.Float32bits(p.got.Data[i]) != math.Float32bits(p.want.Data[i]) {
				t.Fatalf("%s: Forward y[%d] = %v, selected kernels %v", p.name, i, p.got.Data[i], p.want.Data[i])
			}
		}
	}
}
