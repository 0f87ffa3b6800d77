package nn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The benchmarks run on one thread: they set GOMAXPROCS to 1 themselves,
// so the -N suffix of their names (the -cpu value) does not apply. They
// report GFLOPS = 2·M·N·K / ns, M output pixels, N output channels, K the
// window size KH·KW·InC; depthwise counts 2·pixels·channels·KH·KW. Each
// shape runs every kernel set this CPU has ("go", "avx2"). Run with
// -count 5 and take medians: the machine is shared and noisy.
//
//	go test -run '^$' -bench 'Conv2D|Depthwise|Dense|MicroKernel' -count 5 -benchtime 0.3s ./internal/nn/

var benchConvs = []struct {
	name string
	h, w int
	p    ConvParams
}{
	{"3x3_32-64_75", 75, 75, ConvParams{KH: 3, KW: 3, InC: 32, OutC: 64, Mode: PadSame}},
	{"3x3_64-64_38", 38, 38, ConvParams{KH: 3, KW: 3, InC: 64, OutC: 64, Mode: PadSame}},
	{"3x3_128-128_19", 19, 19, ConvParams{KH: 3, KW: 3, InC: 128, OutC: 128, Mode: PadSame}},
	{"3x3_256-256_10", 10, 10, ConvParams{KH: 3, KW: 3, InC: 256, OutC: 256, Mode: PadSame}},
	{"1x1_64-128_56", 56, 56, ConvParams{KH: 1, KW: 1, InC: 64, OutC: 128}},
	{"1x1_256-256_19", 19, 19, ConvParams{KH: 1, KW: 1, InC: 256, OutC: 256}},
	{"7x7s2_3-32_150", 150, 150, ConvParams{KH: 7, KW: 7, InC: 3, OutC: 32, StrideH: 2, StrideW: 2, Mode: PadSame}},
}

// oneThread runs the calling benchmark on one thread. It must be called in
// the leaf benchmark: the framework resets GOMAXPROCS to the -cpu value
// before each sub-benchmark.
func oneThread(b *testing.B) {
	prev := runtime.GOMAXPROCS(1)
	b.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

func BenchmarkConv2D(b *testing.B) {
	for _, bc := range benchConvs {
		r := rand.New(rand.NewPCG(1, 2))
		p := bc.p.norm()
		k := p.KH * p.KW * p.InC
		c := NewConv2D(bc.p, randSlice(r, k*p.OutC), randSlice(r, p.OutC), Activation{Kind: ActRelu})
		x := FromData(randSlice(r, bc.h*bc.w*p.InC), 1, bc.h, bc.w, p.InC)
		oh, ow, _ := p.Geometry(bc.h, bc.w)
		flop := 2 * float64(oh*ow) * float64(p.OutC) * float64(k)
		for _, impl := range kernelImpls() {
			b.Run(fmt.Sprintf("%s/%s", bc.name, impl.name), func(b *testing.B) {
				oneThread(b)
				for b.Loop() {
					c.forward(x, impl)
				}
				b.ReportMetric(flop*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOPS")
			})
		}
	}
}

// BenchmarkMicroKernel measures the kernel alone on panels that stay in L1:
// the ceiling the layers can approach.
func BenchmarkMicroKernel(b *testing.B) {
	oneThread(b)
	const k = 256
	r := rand.New(rand.NewPCG(1, 2))
	a, pb := randSlice(r, k*mr), randSlice(r, k*nr)
	c, bias := make([]float32, mr*nr), make([]float32, nr)
	for _, impl := range kernelImpls() {
		b.Run(impl.name, func(b *testing.B) {
			oneThread(b)
			for b.Loop() {
				impl.gemm(k, a, 1, mr, pb, c, nr, bias, bias, kActRelu)
			}
			b.ReportMetric(2*mr*nr*k*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOPS")
		})
	}
}

func BenchmarkDense(b *testing.B) {
	for _, bc := range []struct{ rows, in, out int }{{1, 1024, 1000}, {64, 512, 512}} {
		r := rand.New(rand.NewPCG(1, 2))
		d := NewDense(bc.in, bc.out, randSlice(r, bc.in*bc.out), randSlice(r, bc.out), Activation{})
		x := FromData(randSlice(r, bc.rows*bc.in), bc.rows, bc.in)
		flop := 2 * float64(bc.rows*bc.in*bc.out)
		for _, impl := range kernelImpls() {
			b.Run(fmt.Sprintf("%dx%d-%d/%s", bc.rows, bc.in, bc.out, impl.name), func(b *testing.B) {
				oneThread(b)
				for b.Loop() {
					d.forward(x, impl)
				}
				b.ReportMetric(flop*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOPS")
			})
		}
	}
}

func BenchmarkDepthwise(b *testing.B) {
	for _, bc := range []struct {
		name    string
		h, c, s int
	}{
		{"3x3_64_75", 75, 64, 1},
		{"3x3_128_38", 38, 128, 1},
		{"3x3_256_19", 19, 256, 1},
		{"3x3_512_10", 10, 512, 1},
		{"3x3s2_128_38", 38, 128, 2},
	} {
		r := rand.New(rand.NewPCG(1, 2))
		p := ConvParams{KH: 3, KW: 3, InC: bc.c, StrideH: bc.s, StrideW: bc.s, Mode: PadSame}
		d := NewDepthwiseConv2D(p, 1, randSlice(r, 9*bc.c), randSlice(r, bc.c), Activation{Kind: ActRelu})
		x := FromData(randSlice(r, bc.h*bc.h*bc.c), 1, bc.h, bc.h, bc.c)
		oh, ow, _ := d.P.Geometry(bc.h, bc.h)
		flop := 2 * float64(oh*ow*bc.c*9)
		for _, impl := range kernelImpls() {
			b.Run(fmt.Sprintf("%s/%s", bc.name, impl.name), func(b *testing.B) {
				oneThread(b)
				for b.Loop() {
					d.forward(x, impl)
				}
				b.ReportMetric(flop*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOPS")
			})
		}
		b.Run(bc.name+"/ref", func(b *testing.B) {
			oneThread(b)
			for b.Loop() {
				depthwiseRef(d.P, 1, d.filter, d.bias, d.Act, x)
			}
			b.ReportMetric(flop*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOPS")
		})
	}
}
