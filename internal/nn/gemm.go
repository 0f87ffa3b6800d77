package nn

import (
	"fmt"
	"runtime"
	"sync"
)

// The GEMM computes C[M×N] = act(A[M×K]·B[K×N] + bias) the BLIS way, with
// a 6×16 micro-kernel. B (the weights) is packed once, at layer
// construction, into K blocks of at most gemmKC rows, each cut into panels
// of nr columns stored k-major, so the micro-kernel reads a panel as one
// stream. A (the image side) is never copied into panels: a row-major A
// (1×1 stride-1 convolutions, dense layers) is read in place through row
// and column strides, and a convolution's im2col matrix is read in place
// from the (padded) NHWC input through a table of offsets, see im2col.
// Loop order per block of gemmMC rows:
//
//	for each K block:
//	  for each B panel:     kc×nr floats, L1 resident across the sweep
//	    for each A panel:   one mr×nr tile of C (A rows from L1/L2)
//
// Tiles of C take bias and activation in the write-back of their last K
// block, while still in registers.
const (
	// gemmKC bounds a K block: the B panel (kc×16 floats, 20 KiB) plus
	// the A lines of a micro-panel stay within Zen 3's 32 KiB L1d. K is
	// split into equal blocks (K=576 runs as 2×288, not 320+256), since a
	// short last block pays the C round trip for little work.
	gemmKC = 320
	// gemmMC is the number of A rows swept per B panel: the input windows
	// of 120 pixels (under two image rows at 75² and up) stay in the
	// 512 KiB L2 across all panels of a K block.
	gemmMC = 120
	// gemmMinParallel is the work (in FLOP) below which a GEMM runs on the
	// calling goroutine: under ~40 µs of work, goroutine start-up and the
	// shared caches' warm-up eat what a second core could save.
	gemmMinParallel = 4 << 20
)

// packedB is a weight matrix B[K×N] laid out for the micro-kernel, with its
// bias. K block b covers rows kb[b]..kb[b+1]; within it panel j holds
// columns j·nr..j·nr+nr-1 (zero beyond N) at data[kb[b]·panels·nr+j·kc·nr:],
// row p of the panel at +p·nr.
type packedB struct {
	k, n   int
	panels int
	kb     []int
	data   []float32
	bias   []float32 // panels·nr, zero beyond N
}

// kBlocks splits k into ⌈k/gemmKC⌉ near-equal blocks, returned as their
// boundaries.
func kBlocks(k int) []int {
	nb := max(1, (k+gemmKC-1)/gemmKC)
	kb := make([]int, nb+1)
	for i := range kb {
		kb[i] = i * k / nb
	}
	return kb
}

// packB packs w, a row-major K×N matrix, and bias (N values, nil for zero).
func packB(w []float32, k, n int, bias []float32) *packedB {
	panels := (n + nr - 1) / nr
	p := &packedB{
		k: k, n: n, panels: panels,
		kb:   kBlocks(k),
		data: make([]float32, k*panels*nr),
		bias: make([]float32, panels*nr),
	}
	copy(p.bias, bias)
	for b := 0; b+1 < len(p.kb); b++ {
		k0, k1 := p.kb[b], p.kb[b+1]
		kc := k1 - k0
		blk := p.data[k0*panels*nr:]
		for j := 0; j < panels; j++ {
			j0 := j * nr
			cols := min(nr, n-j0)
			pan := blk[j*kc*nr:][:kc*nr]
			for r := 0; r < kc; r++ {
				copy(pan[r*nr:r*nr+cols], w[(k0+r)*n+j0:])
			}
		}
	}
	return p
}

// aSource describes the A side of a GEMM: either a row-major matrix read in
// place (x, lda), or an NHWC image read through im2col.
type aSource struct {
	m   int
	x   []float32
	lda int
	im  *im2col // if set, A is im's windows; else A[i][p] = x[i*lda+p]
}

// pack writes rows m0..m0+mc-1, columns k0..k1-1 of a row-major A into
// dst as micro-panels of mr rows: row i, column p of panel q at
// dst[q·mr·kc+(p-k0)·mr+i]. Rows past m0+mc are zero.
func (s *aSource) pack(dst []float32, m0, mc, k0, k1 int) {
	kc := k1 - k0
	for q := 0; q*mr < mc; q++ {
		var rows [mr][]float32
		for i := range rows {
			if r := q*mr + i; r < mc {
				rows[i] = s.x[(m0+r)*s.lda+k0:][:kc]
			} else {
				rows[i] = zeroRow[:kc]
			}
		}
		interleave6(dst[q*mr*kc:][:mr*kc], &rows, kc)
	}
}

// zeroRow is read-only: the rows of a partial micro-panel past the end of A.
var zeroRow [gemmKC]float32

// interleave6 transposes six rows of n values into dst[p·6+i] = rows[i][p].
func interleave6(dst []float32, rows *[mr][]float32, n int) {
	s0, s1, s2 := rows[0][:n], rows[1][:n], rows[2][:n]
	s3, s4, s5 := rows[3][:n], rows[4][:n], rows[5][:n]
	dst = dst[:n*mr]
	for p := range s0 {
		d := (*[mr]float32)(dst[p*mr:])
		d[0], d[1], d[2] = s0[p], s1[p], s2[p]
		d[3], d[4], d[5] = s3[p], s4[p], s5[p]
	}
}

// im2col reads A for a convolution in place: row m is output pixel m of
// the NHWC output (image, y, x), column p is (ky, kx, ci) in HWIO filter
// order, and A[m][p] = x[origin(m)+offs[p]] where x is the input with its
// padding materialised, so that every window lies inside it. The indirect
// micro-kernel reads A through that offset table, which replaces the
// packing of A: on every benchmark shape this measured faster than packing
// im2col panels (3×3 32→64 at 75²: 99 against 80 GFLOPS; the 7×7 RGB stem,
// whose 3-float runs made packing the bottleneck: 90 against 48).
type im2col struct {
	x      []float32 // padded input
	h, w   int       // padded size
	c      int
	oh, ow int
	sh, sw int
	offs   []int // K entries
}

// newIm2col returns the A side of convolution p on x, whose output is
// oh×ow with padding pad (negative padding crops). The padded copy costs
// one pass over the input, against KH·KW·OutC/(stride²) multiply-adds per
// input value in the convolution.
func newIm2col(p ConvParams, x *Tensor, oh, ow int, pad Padding) *im2col {
	n, h, w, c := x.NHWC()
	s := &im2col{x: x.Data, h: h, w: w, c: c, oh: oh, ow: ow, sh: p.StrideH, sw: p.StrideW}
	if pad != (Padding{}) {
		hp, wp := h+pad.Top+pad.Bottom, w+pad.Left+pad.Right
		xp := make([]float32, n*hp*wp*c)
		// Source columns that land inside the padded row.
		x0, x1 := max(0, -pad.Left), min(w, wp-pad.Left)
		for b := range n {
			for yp := range hp {
				y := yp - pad.Top
				if y < 0 || y >= h || x0 >= x1 {
					continue
				}
				src := x.Data[((b*h+y)*w+x0)*c : ((b*h+y)*w+x1)*c]
				copy(xp[((b*hp+yp)*wp+x0+pad.Left)*c:], src)
			}
		}
		s.x, s.h, s.w = xp, hp, wp
	}
	s.offs = make([]int, p.KH*p.KW*c)
	for k := range s.offs {
		t, ci := k/c, k%c
		ky, kx := t/p.KW, t%p.KW
		s.offs[k] = (ky*p.DilationH*s.w+kx*p.DilationW)*c + ci
	}
	return s
}

// origins sets rows[q][i] to the offset in x of the window of A row
// m0+q·mr+i, for the indirect kernel; rows past m0+mc repeat the first row
// of their panel, whose results the driver drops.
func (s *im2col) origins(rows [][mr]int, m0, mc int) {
	ohw := s.oh * s.ow
	for q := 0; q*mr < mc; q++ {
		for i := range mr {
			m := m0 + q*mr
			if q*mr+i < mc {
				m += i
			}
			b := m / ohw
			r := m - b*ohw
			oy := r / s.ow
			ox := r - oy*s.ow
			rows[q][i] = ((b*s.h+oy*s.sh)*s.w + ox*s.sw) * s.c
		}
	}
}

// checkData panics unless x holds as many values as its shape says: the
// assembly kernels read through addresses derived from the shape.
func checkData(x *Tensor, layer string) {
	if len(x.Data) != numel(x.Shape) {
		panic(fmt.Sprintf("nn: %s input has %d values for shape %v", layer, len(x.Data), x.Shape))
	}
}

// epilogue is how a GEMM finishes its tiles: kernel flags and slopes for
// what the micro-kernel applies, post for what the driver applies after.
type epilogue struct {
	flags int
	alpha []float32 // panels·nr slopes for kActAlpha, else nil
	post  Activation
}

func newEpilogue(act Activation, n, panels int) epilogue {
	switch act.Kind {
	case ActNone:
		return epilogue{flags: kActNone}
	case ActRelu:
		return epilogue{flags: kActRelu}
	case ActRelu6:
		return epilogue{flags: kActRelu6}
	case ActLeaky:
		alpha := make([]float32, panels*nr)
		for i := range alpha {
			alpha[i] = act.Alpha
		}
		return epilogue{flags: kActAlpha, alpha: alpha}
	case ActPrelu:
		if len(act.Alphas) < n {
			panic(fmt.Sprintf("nn: prelu has %d slopes, want %d", len(act.Alphas), n))
		}
		alpha := make([]float32, panels*nr)
		copy(alpha, act.Alphas[:n])
		return epilogue{flags: kActAlpha, alpha: alpha}
	}
	return epilogue{flags: kActNone, post: act}
}

// gemm computes c = act(A·B + bias) with c row-major M×N (ldc = N), using
// the micro-kernel kern.
func gemm(kern *kernelImpl, b *packedB, a *aSource, c []float32, act Activation) {
	m, n := a.m, b.n
	if m == 0 || n == 0 {
		return
	}
	ep := newEpilogue(act, n, b.panels)
	mp := (m + mr - 1) / mr
	work := 2 * m * n * max(b.k, 1)
	workers := runtime.GOMAXPROCS(0)
	switch {
	case workers <= 1 || work < gemmMinParallel:
		gemmTiles(kern, b, a, c, &ep, 0, m, 0, b.panels)
	case mp >= 4*workers:
		// Row ranges aligned to mr: only the last worker sees a partial
		// micro-panel, and no two workers write the same rows of c.
		grain := max(1, gemmMinParallel/(2*mr*n*max(b.k, 1)))
		Parallel(mp, grain, func(lo, hi int) {
			gemmTiles(kern, b, a, c, &ep, lo*mr, min(hi*mr, m), 0, b.panels)
		})
	default:
		// Few rows (a dense layer on one input): split the columns
		// instead; each worker packs the small A itself.
		Parallel(b.panels, 1, func(lo, hi int) {
			gemmTiles(kern, b, a, c, &ep, 0, m, lo, hi)
		})
	}
}

// gemmScratch is a worker's scratch space; pooled, since the kernels'
// slice arguments make it escape.
type gemmScratch struct {
	tail [mr * gemmKC]float32 // a row-major A's last, partial micro-panel
	tile [mr * nr]float32     // partial tiles are computed here, then copied
	rows [gemmMC / mr][mr]int // window origins of an M block's micro-panels
}

var scratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}

// gemmTiles computes rows m0..m1-1 and panels j0..j1-1 of c.
func gemmTiles(kern *kernelImpl, b *packedB, a *aSource, c []float32, ep *epilogue, m0, m1, j0, j1 int) {
	sc := scratchPool.Get().(*gemmScratch)
	defer scratchPool.Put(sc)
	buf, tmp, rows := sc.tail[:], sc.tile[:], sc.rows[:]
	n, ldc := b.n, b.n
	last := len(b.kb) - 2
	indirect := a.im != nil
	for mb := m0; mb < m1; mb += gemmMC {
		mc := min(gemmMC, m1-mb)
		if indirect {
			a.im.origins(rows, mb, mc)
		}
		for kbi := 0; kbi <= last; kbi++ {
			k0, k1 := b.kb[kbi], b.kb[kbi+1]
			kc := k1 - k0
			flags := kAccumulate
			if kbi == 0 {
				flags = 0
			}
			if kbi == last {
				flags |= ep.flags
			}
			if tail := mc % mr; !indirect && tail != 0 {
				// The last, partial micro-panel is packed with zero rows
				// so the kernel never reads past A.
				a.pack(buf, mb+mc-tail, tail, k0, k1)
			}
			blk := b.data[k0*b.panels*nr:]
			for j := j0; j < j1; j++ {
				bp := blk[j*kc*nr:][:kc*nr]
				col := j * nr
				cols := min(nr, n-col)
				bias := b.bias[col:][:nr]
				alpha := bias // any 16 floats when the kernel reads no slopes
				if ep.alpha != nil {
					alpha = ep.alpha[col:][:nr]
				}
				for i := 0; i < mc; i += mr {
					nrows := min(mr, mc-i)
					row := mb + i
					ct := c[row*ldc+col:]
					cc, ldcc := ct, ldc
					partial := nrows < mr || cols < nr
					if partial {
						cc, ldcc = tmp, nr
						if flags&kAccumulate != 0 {
							for r := 0; r < nrows; r++ {
								copy(tmp[r*nr:r*nr+cols], ct[r*ldc:])
							}
						}
					}
					switch {
					case indirect:
						kern.indirect(kc, a.im.x, &rows[i/mr], a.im.offs[k0:k1], bp, cc, ldcc, bias, alpha, flags)
					case nrows == mr:
						kern.gemm(kc, a.x[row*a.lda+k0:], a.lda, 1, bp, cc, ldcc, bias, alpha, flags)
					default:
						kern.gemm(kc, buf, 1, mr, bp, cc, ldcc, bias, alpha, flags)
					}
					if partial {
						for r := 0; r < nrows; r++ {
							copy(ct[r*ldc:r*ldc+cols], tmp[r*nr:])
						}
					}
					if kbi == last && ep.post.Kind != ActNone {
						for r := 0; r < nrows; r++ {
							ep.post.Apply(ct[r*ldc:r*ldc+cols], col, n)
						}
					}
				}
			}
		}
	}
}
