//go:build amd64 && !purego

package nn

// dwRowAVX2 is the AVX2/FMA depthwise row kernel for nc a multiple of 8.
// It equals
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
//
// with fused multiply-adds. It does not check bounds.
//
//go:noescape
func dwRowAVX2(n, nc int, in []float32, istep int, offs, foffs []int, f, out []float32, ostep int, bias, alpha []float32, flags int)

// dwRowAsm is dwRowGo with the channels in blocks of 8 done by
// dwRowAVX2 and the remainder by dwRowGo.
func dwRowAsm(n, nc int, in []float32, istep int, offs, foffs []int, f, out []float32, ostep int, bias, alpha []float32, flags int) {
	if n <= 0 || nc <= 0 {
		return
	}
	if nv := nc &^ 7; nv > 0 {
		dwRowAVX2(n, nv, in, istep, offs, foffs, f, out, ostep, bias, alpha, flags)
	}
	if c0 := nc &^ 7; c0 < nc {
		var al []float32
		if flags&kActMask == kActAlpha {
			al = alpha[c0:]
		}
		if len(offs) > 0 { // with no taps, in may be empty
			in = in[c0:]
		}
		dwRowGo(n, nc-c0, in, istep, offs, foffs, f[c0:], out[c0:], ostep, bias[c0:], al, flags)
	}
}
