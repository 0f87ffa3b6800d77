package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// eps32 is float32's unit roundoff.
const eps32 = 1.0 / (1 << 24)

// guardValue fills the bands around buffers the kernels write through raw
// pointers; a NaN with a payload no computation produces.
var guardValue = math.Float32frombits(0x7fc0dead)

const guardLen = 37

// guarded returns a slice of n values inside a buffer padded on both sides
// with guardValue. Its capacity reaches into the back band, so a store past
// the end by assembly is caught by checkGuard rather than by the runtime.
func guarded(n int) (s, buf []float32) {
	buf = make([]float32, n+2*guardLen)
	for i := range buf {
		buf[i] = guardValue
	}
	s = buf[guardLen : guardLen+n]
	for i := range s {
		s[i] = 0
	}
	return s, buf
}

func checkGuard(t *testing.T, buf []float32, n int) {
	t.Helper()
	for i := range guardLen {
		if math.Float32bits(buf[i]) != 0x7fc0dead || math.Float32bits(buf[guardLen+n+i]) != 0x7fc0dead {
			t.Fatalf("guard band overwritten at offset %d", i)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// act64 is the float64 twin of Activation.Apply for one value of channel c.
func act64(a Activation, v float64, c int) float64 {
	switch a.Kind {
	case ActRelu:
		return math.Max(v, 0)
	case ActRelu6:
		return math.Min(math.Max(v, 0), 6)
	case ActLeaky:
		if v < 0 {
			return v * float64(a.Alpha)
		}
	case ActPrelu:
		if v < 0 {
			return v * float64(a.Alphas[c])
		}
	case ActSigmoid:
		return 1 / (1 + math.Exp(-v))
	case ActTanh:
		return math.Tanh(v)
	}
	return v
}

// closeTo reports whether got is within the float32 rounding bound of a sum
// whose exact value is want and whose terms' magnitudes add up to abs,
// accumulated over k terms: each of the two float32 computations compared
// may be off by k·eps·abs. The activations used are 1-Lipschitz (slopes in
// [-1, 1]), so the bound carries through them.
func closeTo(got float32, want, abs float64, k int) bool {
	tol := 2*float64(k+2)*eps32*abs + 1e-7
	return math.Abs(float64(got)-want) <= tol
}

func allActs(r *rand.Rand, n int) []Activation {
	alphas := make([]float32, n)
	for i := range alphas {
		alphas[i] = r.Float32()*1.6 - 0.8
	}
	return []Activation{
		{Kind: ActNone},
		{Kind: ActRelu},
		{Kind: ActRelu6},
		{Kind: ActLeaky, Alpha: 0.1},
		{Kind: ActPrelu, Alphas: alphas},
		{Kind: ActSigmoid},
		{Kind: ActTanh},
	}
}

func actName(a Activation) string {
	return [...]string{"none", "relu", "relu6", "leaky", "prelu", "sigmoid", "tanh"}[a.Kind]
}

// kernelRef64 is the doc-comment loop of the micro-kernel in float64,
// returning each output and the sum of its terms' magnitudes.
func kernelRef64(k int, a []float32, rsa, csa int, b, c []float32, ldc int, bias, alpha []float32, flags int) (want, abs [mr * nr]float64) {
	for i := range mr {
		for j := range nr {
			var s, m float64
			for p := range k {
				v := float64(a[i*rsa+p*csa]) * float64(b[p*nr+j])
				s += v
				m += math.Abs(v)
			}
			base := float64(bias[j])
			if flags&kAccumulate != 0 {
				base = float64(c[i*ldc+j])
			}
			s += base
			m += math.Abs(base)
			switch flags & kActMask {
			case kActRelu:
				s = math.Max(s, 0)
			case kActRelu6:
				s = math.Min(math.Max(s, 0), 6)
			case kActAlpha:
				if s < 0 {
					s *= float64(alpha[j])
				}
			}
			want[i*nr+j], abs[i*nr+j] = s, m
		}
	}
	return want, abs
}

func TestMicroKernel(t *testing.T) {
	t.Parallel()
	flagSets := []int{0, kAccumulate, kActRelu, kAccumulate | kActRelu6, kActRelu6, kActAlpha, kAccumulate | kActAlpha}
	for _, impl := range kernelImpls() {
		for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 255, 320} {
			for _, strided := range []bool{false, true} {
				for _, flags := range flagSets {
					name := fmt.Sprintf("%s/k=%d/strided=%v/flags=%d", impl.name, k, strided, flags)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						r := rand.New(rand.NewPCG(uint64(k), uint64(flags)))
						rsa, csa := 1, mr
						na := max(k, 1) * mr
						if strided {
							// Rows of an NHWC tensor: row stride wider than k.
							rsa, csa = k+3, 1
							na = mr * (k + 3)
						}
						a := randSlice(r, na)
						b := randSlice(r, max(k, 1)*nr)
						bias := randSlice(r, nr)
						alpha := randSlice(r, nr)
						ldc := nr + 5 // gaps between rows must survive too
						c, buf := guarded(mr * ldc)
						for i := range c {
							c[i] = guardValue
						}
						for i := range mr {
							for j := range nr {
								c[i*ldc+j] = r.Float32()*8 - 4
							}
						}
						c0 := append([]float32(nil), c...)
						want, abs := kernelRef64(k, a, rsa, csa, b, c0, ldc, bias, alpha, flags)
						impl.gemm(k, a, rsa, csa, b, c, ldc, bias, alpha, flags)
						checkGuard(t, buf, len(c))
						for i := range mr {
							for j := range nr {
								if got := c[i*ldc+j]; !closeTo(got, want[i*nr+j], abs[i*nr+j], k) {
									t.Fatalf("c[%d][%d] = %v, want %v", i, j, got, want[i*nr+j])
								}
							}
							for j := nr; j < ldc && i < mr-1; j++ {
								if math.Float32bits(c[i*ldc+j]) != 0x7fc0dead {
									t.Fatalf("gap c[%d][%d] overwritten", i, j)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestMicroKernelTwins runs every kernel against the portable one on the
// same random panels: the assembly against its Go twin.
func TestMicroKernelTwins(t *testing.T) {
	t.Parallel()
	impls := kernelImpls()
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 200 {
		k := 1 + r.IntN(600)
		if trial < 4 {
			k = trial + 1
		}
		flags := r.IntN(8)
		a := randSlice(r, k*mr)
		b := randSlice(r, k*nr)
		bias, alpha := randSlice(r, nr), randSlice(r, nr)
		c0 := randSlice(r, mr*nr)
		ref := append([]float32(nil), c0...)
		kernelGo(k, a, 1, mr, b, ref, nr, bias, alpha, flags)
		for _, impl := range impls[1:] {
			got := append([]float32(nil), c0...)
			impl.gemm(k, a, 1, mr, b, got, nr, bias, alpha, flags)
			for i := range got {
				// |a|, |b|, |c|, |bias| <= 1: the terms add up to at most k+2.
				if d := math.Abs(float64(got[i] - ref[i])); d > 2*float64(k+2)*eps32*float64(k+2) {
					t.Fatalf("%s k=%d flags=%d: c[%d] = %v, go twin %v", impl.name, k, flags, i, got[i], ref[i])
				}
			}
		}
	}
}

// TestIndirectKernel checks the indirect micro-kernels, which read A
// through row origins and a column offset table, against the float64 loop
// and the strided kernel on the same A gathered by hand.
func TestIndirectKernel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 9))
	for trial := range 200 {
		k := r.IntN(gemmKC + 1)
		if trial < 5 {
			k = trial
		}
		flags := r.IntN(8)
		x := randSlice(r, 4000)
		var rows [mr]int
		for i := range rows {
			rows[i] = r.IntN(1000)
		}
		offs := make([]int, k)
		for p := range offs {
			offs[p] = r.IntN(3000)
		}
		a := make([]float32, max(k, 1)*mr) // the same A, packed
		for p, o := range offs {
			for i := range mr {
				a[p*mr+i] = x[rows[i]+o]
			}
		}
		b := randSlice(r, max(k, 1)*nr)
		bias, alpha := randSlice(r, nr), randSlice(r, nr)
		ldc := nr + 3
		c0 := randSlice(r, mr*ldc)
		want, abs := kernelRef64(k, a, 1, mr, b, c0, ldc, bias, alpha, flags)
		for _, impl := range kernelImpls() {
			c, buf := guarded(mr * ldc)
			copy(c, c0)
			impl.indirect(k, x, &rows, offs, b, c, ldc, bias, alpha, flags)
			checkGuard(t, buf, len(c))
			strided := append([]float32(nil), c0...)
			impl.gemm(k, a, 1, mr, b, strided, ldc, bias, alpha, flags)
			for i := range mr {
				for j := range ldc {
					got := c[i*ldc+j]
					if j >= nr {
						if got != c0[i*ldc+j] {
							t.Fatalf("%s: gap c[%d][%d] overwritten", impl.name, i, j)
						}
						continue
					}
					if !closeTo(got, want[i*nr+j], abs[i*nr+j], k) {
						t.Fatalf("%s k=%d flags=%d: c[%d][%d] = %v, want %v", impl.name, k, flags, i, j, got, want[i*nr+j])
					}
					if got != strided[i*ldc+j] {
						t.Fatalf("%s k=%d: indirect %v, strided kernel %v on the same A", impl.name, k, got, strided[i*ldc+j])
					}
				}
			}
		}
	}
}

// gemmRef64 returns act(A·B + bias) in float64 and each output's sum of
// term magnitudes.
func gemmRef64(a []float32, m, k int, w []float32, n int, bias []float32, act Activation) (want, abs []float64) {
	want, abs = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			s, t := float64(bias[j]), math.Abs(float64(bias[j]))
			for p := range k {
				v := float64(a[i*k+p]) * float64(w[p*n+j])
				s += v
				t += math.Abs(v)
			}
			want[i*n+j], abs[i*n+j] = act64(act, s, j), t
		}
	}
	return want, abs
}

func TestGEMM(t *testing.T) {
	t.Parallel()
	shapes := []struct {
		m, n, k int
		why     string
	}{
		{1, 1, 1, "single element"},
		{6, 16, 1, "one full tile, k=1"},
		{5, 15, 3, "one partial tile"},
		{7, 17, 5, "full tile plus row and column edges"},
		{13, 33, 300, "one K block, partial edges"},
		{12, 32, 321, "two K blocks (161+160)"},
		{37, 40, 700, "three K blocks, N not a multiple of 16"},
		{gemmMC + 7, 24, 64, "two M blocks, partial second"},
		{600, 48, 90, "parallel over M"},
		{3, 300, 200, "few rows, little work: serial"},
		{5, 400, 2100, "few rows, much work: parallel over N"},
		{9, 8, 0, "K = 0: bias only"},
	}
	for _, impl := range kernelImpls() {
		for _, sh := range shapes {
			t.Run(fmt.Sprintf("%s/%dx%dx%d", impl.name, sh.m, sh.n, sh.k), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(uint64(sh.m), uint64(sh.n*1000+sh.k)))
				a := randSlice(r, sh.m*sh.k)
				w := randSlice(r, sh.k*sh.n)
				bias := randSlice(r, sh.n)
				pb := packB(w, sh.k, sh.n, bias)
				for _, act := range allActs(r, sh.n) {
					c, buf := guarded(sh.m * sh.n)
					gemm(impl, pb, &aSource{m: sh.m, x: a, lda: sh.k}, c, act)
					checkGuard(t, buf, len(c))
					want, abs := gemmRef64(a, sh.m, sh.k, w, sh.n, bias, act)
					for i, got := range c {
						if !closeTo(got, want[i], abs[i], sh.k) {
							t.Fatalf("%s (%s): c[%d][%d] = %v, want %v", sh.why, actName(act), i/sh.n, i%sh.n, got, want[i])
						}
					}
				}
			})
		}
	}
}

func TestKBlocksBalanced(t *testing.T) {
	t.Parallel()
	for _, k := range []int{0, 1, 100, gemmKC, gemmKC + 1, 576, 1152, 2304, 4608} {
		kb := kBlocks(k)
		if kb[0] != 0 || kb[len(kb)-1] != k {
			t.Fatalf("k=%d: blocks %v do not cover [0, k)", k, kb)
		}
		lo, hi := k, 0
		for i := 1; i < len(kb); i++ {
			lo, hi = min(lo, kb[i]-kb[i-1]), max(hi, kb[i]-kb[i-1])
		}
		if hi > gemmKC || hi-lo > 1 {
			t.Fatalf("k=%d: blocks %v unbalanced or longer than %d", k, kb, gemmKC)
		}
	}
}
