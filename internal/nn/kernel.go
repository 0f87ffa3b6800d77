package nn

// The GEMM micro-kernels compute one mr×nr tile of C from mr rows of A and
// a packed panel of B (nr columns, contiguous per k). The strided kernel
// reads A through row and column strides, so that a packed panel and the
// rows of a row-major matrix both feed it; the indirect kernel reads A
// through a table of offsets, so that a convolution's windows feed it in
// place. 6×16 keeps twelve 8-wide accumulators, two B vectors and one A
// broadcast in the sixteen AVX2 registers.
const (
	mr = 6
	nr = 16
)

// Flags of the micro-kernel's write-back. The activation codes are those
// the assembly can apply to a whole register; sigmoid and tanh are applied
// by the driver afterwards.
const (
	kAccumulate = 1 << 0 // C += A·B (a later K block); otherwise C = bias + A·B
	kActShift   = 1
	kActNone    = 0 << kActShift
	kActRelu    = 1 << kActShift // max(x, 0)
	kActRelu6   = 2 << kActShift // min(max(x, 0), 6)
	kActAlpha   = 3 << kActShift // max(x, 0) + alpha[j]·min(x, 0): leaky and PReLU
	kActMask    = 3 << kActShift
)

// kernelGo is the portable micro-kernel. It equals
//
//	for i := 0; i < mr; i++ {
//		for j := 0; j < nr; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*rsa+p*csa] * b[p*nr+j]
//			}
//			if flags&kAccumulate != 0 {
//				s += c[i*ldc+j]
//			} else {
//				s += bias[j]
//			}
//			c[i*ldc+j] = act(s, alpha[j]) // by flags&kActMask
//		}
//	}
//
// alpha is read only for kActAlpha.
func kernelGo(k int, a []float32, rsa, csa int, b, c []float32, ldc int, bias, alpha []float32, flags int) {
	if k > 0 {
		// Bounds checks up front keep them out of the loops below and
		// mirror what the assembly trusts.
		_ = a[(mr-1)*rsa+(k-1)*csa]
		_ = b[k*nr-1]
	}
	_ = c[(mr-1)*ldc+nr-1]
	_ = bias[nr-1]
	var acc [mr][nr]float32
	// 2×4 sub-tiles keep eight sums in registers on both amd64 and arm64
	// without spilling; the compiler does not keep a whole [6][16] array in
	// registers.
	for i := 0; i < mr && k > 0; i += 2 {
		a0 := a[i*rsa:]
		a1 := a[(i+1)*rsa:]
		for j := 0; j < nr; j += 4 {
			var s00, s01, s02, s03, s10, s11, s12, s13 float32
			bj := b[j:]
			for p := 0; p < k; p++ {
				x0, x1 := a0[p*csa], a1[p*csa]
				bp := bj[p*nr : p*nr+4 : p*nr+4]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				s00 += x0 * b0
				s01 += x0 * b1
				s02 += x0 * b2
				s03 += x0 * b3
				s10 += x1 * b0
				s11 += x1 * b1
				s12 += x1 * b2
				s13 += x1 * b3
			}
			acc[i][j], acc[i][j+1], acc[i][j+2], acc[i][j+3] = s00, s01, s02, s03
			acc[i+1][j], acc[i+1][j+1], acc[i+1][j+2], acc[i+1][j+3] = s10, s11, s12, s13
		}
	}
	act := flags & kActMask
	if act == kActAlpha {
		_ = alpha[nr-1]
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr : i*ldc+nr]
		for j := range row {
			s := acc[i][j]
			if flags&kAccumulate != 0 {
				s += row[j]
			} else {
				s += bias[j]
			}
			switch act {
			case kActRelu:
				if s < 0 {
					s = 0
				}
			case kActRelu6:
				s = min(max(s, 0), 6)
			case kActAlpha:
				if s < 0 {
					s *= alpha[j]
				}
			}
			row[j] = s
		}
	}
}

// kernelFunc is the signature shared by the micro-kernel twins.
type kernelFunc func(k int, a []float32, rsa, csa int, b, c []float32, ldc int, bias, alpha []float32, flags int)

// kernelIndirectGo is the portable indirect micro-kernel, for
// k ≤ gemmKC. It equals
//
//	for i := 0; i < mr; i++ {
//		for j := 0; j < nr; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += x[rows[i]+offs[p]] * b[p*nr+j]
//			}
//			if flags&kAccumulate != 0 {
//				s += c[i*ldc+j]
//			} else {
//				s += bias[j]
//			}
//			c[i*ldc+j] = act(s, alpha[j]) // by flags&kActMask
//		}
//	}
//
// alpha is read only for kActAlpha.
func kernelIndirectGo(k int, x []float32, rows *[mr]int, offs []int, b, c []float32, ldc int, bias, alpha []float32, flags int) {
	var a [gemmKC * mr]float32
	offs = offs[:k]
	x0, x1, x2 := x[rows[0]:], x[rows[1]:], x[rows[2]:]
	x3, x4, x5 := x[rows[3]:], x[rows[4]:], x[rows[5]:]
	for p, o := range offs {
		ap := (*[mr]float32)(a[p*mr:])
		ap[0], ap[1], ap[2] = x0[o], x1[o], x2[o]
		ap[3], ap[4], ap[5] = x3[o], x4[o], x5[o]
	}
	kernelGo(k, a[:], 1, mr, b, c, ldc, bias, alpha, flags)
}

// indirectFunc is the signature shared by the indirect micro-kernel twins.
type indirectFunc func(k int, x []float32, rows *[mr]int, offs []int, b, c []float32, ldc int, bias, alpha []float32, flags int)

// kernelImpl names one set of kernel twins; the layers take one so that
// tests and benchmarks can run each set through the whole layer.
type kernelImpl struct {
	name     string
	gemm     kernelFunc
	indirect indirectFunc
	dw       dwRowFunc
}

// goKernels is the portable set, built everywhere.
var goKernels = kernelImpl{"go", kernelGo, kernelIndirectGo, dwRowGo}

// dwRowGo is the portable depthwise row kernel: n output pixels of nc
// channels, each the sum of taps at input offsets offs (relative to the
// pixel's anchor, istep floats apart) weighted by filter rows at foffs. It
// equals
//
//	for q := 0; q < n; q++ {
//		for ch := 0; ch < nc; ch++ {
//			s := bias[ch]
//			for t := range offs {
//				s += in[q*istep+offs[t]+ch] * f[foffs[t]+ch]
//			}
//			out[q*ostep+ch] = act(s, alpha[ch]) // by flags&kActMask
//		}
//	}
func dwRowGo(n, nc int, in []float32, istep int, offs, foffs []int, f, out []float32, ostep int, bias, alpha []float32, flags int) {
	if n <= 0 || nc <= 0 {
		return
	}
	bias = bias[:nc]
	foffs = foffs[:len(offs)]
	act := flags & kActMask
	if act == kActAlpha {
		alpha = alpha[:nc]
	}
	for q := 0; q < n; q++ {
		o := out[q*ostep:][:nc]
		copy(o, bias)
		base := in[q*istep:]
		for t, off := range offs {
			src := base[off:][:nc]
			ft := f[foffs[t]:][:nc]
			for ch, v := range src {
				o[ch] += v * ft[ch]
			}
		}
		switch act {
		case kActRelu:
			for ch, v := range o {
				if v < 0 {
					o[ch] = 0
				}
			}
		case kActRelu6:
			for ch, v := range o {
				o[ch] = min(max(v, 0), 6)
			}
		case kActAlpha:
			for ch, v := range o {
				if v < 0 {
					o[ch] = v * alpha[ch]
				}
			}
		}
	}
}

// dwRowFunc is the signature shared by the depthwise row kernel twins.
type dwRowFunc func(n, nc int, in []float32, istep int, offs, foffs []int, f, out []float32, ostep int, bias, alpha []float32, flags int)
