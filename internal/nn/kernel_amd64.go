//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// kernelAVX2 is the AVX2/FMA micro-kernel. It equals
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
// with fused multiply-adds. It does not check bounds: the caller
// guarantees every index above is in range.
//
//go:noescape
func kernelAVX2(k int, a []float32, rsa, csa int, b, c []float32, ldc int, bias, alpha []float32, flags int)

// kernelIndirectAVX2 is the AVX2/FMA indirect micro-kernel. It equals
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
// with fused multiply-adds. It does not check bounds.
//
//go:noescape
func kernelIndirectAVX2(k int, x []float32, rows *[mr]int, offs []int, b, c []float32, ldc int, bias, alpha []float32, flags int)

// avx2Kernels is the assembly set, for CPUs with AVX2 and FMA.
var avx2Kernels = kernelImpl{"avx2", kernelAVX2, kernelIndirectAVX2, dwRowAsm}

// kernels is the set of kernels the layers use.
var kernels = &goKernels

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernels = &avx2Kernels
	}
}

// kernelImpls lists the kernel sets this build can run on this CPU, the
// portable one first.
func kernelImpls() []*kernelImpl {
	if kernels == &avx2Kernels {
		return []*kernelImpl{&goKernels, &avx2Kernels}
	}
	return []*kernelImpl{&goKernels}
}
