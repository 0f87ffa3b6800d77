package liveness

import (
	"math"

	"github.com/glint-id/glint/internal/face"
)

// Registration. A detector's landmarks jitter by a few per cent of the eye
// distance from frame to frame, and the skin regions would slide with them
// over the face's shading, which reads as a change of light many times
// larger than the camera's noise. So each frame's placement is refined by
// aligning its face, as an image, with a reference face: inverse
// compositional Lucas–Kanade over a similarity (shift, scale, roll), on
// the high-passed logarithm of the luma. In the log, the light falling on
// the face (room and screen, smooth across the skin) adds a smooth term,
// which the high-pass removes; the alignment sees the face's own texture
// and features and is indifferent to the flashes.
const (
	gridSide = 32
	// Grid extent in face coordinates (inter-ocular units): brows to
	// chin, cheek to cheek.
	gridU0, gridU1 = -1.05, 1.05
	gridV0, gridV1 = -0.6, 1.6
	// gridBlur is the box radius, in grid cells, of the low-pass that
	// the high-pass subtracts.
	gridBlur   = 3
	lkIters    = 4
	gridPoints = gridSide * gridSide
)

// patchGrid samples a face on a grid fixed to the reference shape.
type patchGrid struct {
	q     [gridPoints]complex128 // sample points in reference pixels
	uv    [gridPoints][2]float64 // and in face coordinates
	ref   [gridPoints]float64    // reference patch, high-passed
	gx    [gridPoints]float64    // its gradient per reference pixel
	gy    [gridPoints]float64
	valid [gridPoints]bool
	hinv  [4][4]float64 // inverse Gauss–Newton matrix of the reference
	ready bool
}

func newPatchGrid(ref FaceFrame) *patchGrid {
	g := &patchGrid{}
	for j := 0; j < gridSide; j++ {
		v := gridV0 + (gridV1-gridV0)*(float64(j)+0.5)/gridSide
		for i := 0; i < gridSide; i++ {
			u := gridU0 + (gridU1-gridU0)*(float64(i)+0.5)/gridSide
			g.q[j*gridSide+i] = cpt(ref.ToImage(u, v))
			g.uv[j*gridSide+i] = [2]float64{u, v}
		}
	}
	return g
}

// sample returns the high-passed log luma of img at sim(q) for every grid
// point and which points fell inside the image (false for all when too
// few did).
func (g *patchGrid) sample(img *face.RGB, sim similarity) (patch [gridPoints]float64, ok [gridPoints]bool, enough bool) {
	var raw [gridPoints]float64
	n := 0
	for i, q := range g.q {
		p := sim.a*q + sim.b
		c, in := linearAt(img, real(p), imag(p))
		if !in {
			continue
		}
		raw[i] = fastLog(0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2] + 2e-3)
		ok[i] = true
		n++
	}
	if n < gridPoints*3/4 {
		return patch, ok, false
	}
	low := boxBlur(&raw, &ok)
	for i := range patch {
		if ok[i] {
			patch[i] = raw[i] - low[i]
		}
	}
	return patch, ok, true
}

// boxBlur averages each valid grid point's neighbours within gridBlur
// cells, separably, skipping invalid ones.
func boxBlur(v *[gridPoints]float64, ok *[gridPoints]bool) [gridPoints]float64 {
	var tmp, cnt, out [gridPoints]float64
	for j := 0; j < gridSide; j++ {
		for i := 0; i < gridSide; i++ {
			var s, c float64
			for d := -gridBlur; d <= gridBlur; d++ {
				if x := i + d; x >= 0 && x < gridSide && ok[j*gridSide+x] {
					s += v[j*gridSide+x]
					c++
				}
			}
			tmp[j*gridSide+i], cnt[j*gridSide+i] = s, c
		}
	}
	for j := 0; j < gridSide; j++ {
		for i := 0; i < gridSide; i++ {
			var s, c float64
			for d := -gridBlur; d <= gridBlur; d++ {
				if y := j + d; y >= 0 && y < gridSide {
					s += tmp[y*gridSide+i]
					c += cnt[y*gridSide+i]
				}
			}
			if c > 0 {
				out[j*gridSide+i] = s / c
			}
		}
	}
	return out
}

// setReference makes the mean of patches the reference and precomputes
// its gradients and the Gauss–Newton matrix.
func (g *patchGrid) setReference(patches [][gridPoints]float64, oks [][gridPoints]bool) {
	var sum, cnt [gridPoints]float64
	for k := range patches {
		for i := range sum {
			if oks[k][i] {
				sum[i] += patches[k][i]
				cnt[i]++
			}
		}
	}
	var has [gridPoints]bool
	for i := range sum {
		has[i] = cnt[i] > 0
		if has[i] {
			g.ref[i] = sum[i] / cnt[i]
		}
	}
	// Gradients by central differences on the grid, turned into per-pixel
	// units through the grid's axes.
	du := (g.q[1] - g.q[0])
	dv := (g.q[gridSide] - g.q[0])
	// Solve [du dv]·[gu gv]ᵀ for the image-space gradient.
	det := real(du)*imag(dv) - imag(du)*real(dv)
	var h [4][4]float64
	for j := 0; j < gridSide; j++ {
		for i := 0; i < gridSide; i++ {
			k := j*gridSide + i
			g.valid[k] = has[k] && i > 0 && j > 0 && i < gridSide-1 && j < gridSide-1 &&
				has[k-1] && has[k+1] && has[k-gridSide] && has[k+gridSide]
			if !g.valid[k] {
				continue
			}
			gu := (g.ref[k+1] - g.ref[k-1]) / 2
			gv := (g.ref[k+gridSide] - g.ref[k-gridSide]) / 2
			// gu = ∇·du, gv = ∇·dv.
			g.gx[k] = (gu*imag(dv) - gv*imag(du)) / det
			g.gy[k] = (gv*real(du) - gu*real(dv)) / det
			jac := g.jacobian(k)
			for p := 0; p < 4; p++ {
				for q := 0; q < 4; q++ {
					h[p][q] += jac[p] * jac[q]
				}
			}
		}
	}
	inv, ok := invert4(h)
	g.hinv, g.ready = inv, ok
}

// jacobian is the derivative of the reference at grid point k with
// respect to the warp q ↦ q + δa·(q − c) + δb, δa and δb complex (about
// the grid's centre c, which keeps the four parameters decoupled).
func (g *patchGrid) jacobian(k int) [4]float64 {
	c := g.q[gridPoints/2+gridSide/2]
	d := g.q[k] - c
	x, y := real(d), imag(d)
	return [4]float64{
		g.gx[k]*x + g.gy[k]*y,  // δa real: scale
		-g.gx[k]*y + g.gy[k]*x, // δa imaginary: rotation
		g.gx[k],
		g.gy[k],
	}
}

// refine aligns img's face to the reference starting from sim. It
// returns the refined similarity and the patch sampled there, or sim
// unchanged and its patch when the alignment does not converge.
func (g *patchGrid) refine(img *face.RGB, sim similarity) (similarity, [gridPoints]float64, [gridPoints]bool, bool) {
	patch, ok, enough := g.sample(img, sim)
	if !g.ready || !enough {
		return sim, patch, ok, enough
	}
	c := g.q[gridPoints/2+gridSide/2]
	start, startPatch, startOK := sim, patch, ok
	first := g.sse(&patch, &ok)
	for it := 0; it < lkIters; it++ {
		var b [4]float64
		for k := range patch {
			if !ok[k] || !g.valid[k] {
				continue
			}
			e := patch[k] - g.ref[k]
			jac := g.jacobian(k)
			for p := 0; p < 4; p++ {
				b[p] += jac[p] * e
			}
		}
		var d [4]float64
		for p := 0; p < 4; p++ {
			for q := 0; q < 4; q++ {
				d[p] += g.hinv[p][q] * b[q]
			}
		}
		da := complex(d[0], d[1])
		db := complex(d[2], d[3])
		// Inverse composition: the warp found moves the reference onto
		// the frame; the frame's map takes its inverse.
		// q ↦ q + da(q−c) + db has inverse q ↦ c + (q − c − db)/(1 + da).
		inv := similarity{a: 1 / (1 + da), b: c - (c+db)/(1+da)}
		sim = similarity{a: sim.a * inv.a, b: sim.a*inv.b + sim.b}
		if patch, ok, enough = g.sample(img, sim); !enough {
			return start, startPatch, startOK, true
		}
		if cmplxAbs(db) < 0.01 && cmplxAbs(da) < 1e-4 {
			break
		}
	}
	// Keep the landmarks' placement if the alignment made things worse or
	// wandered off (another face, heavy blur).
	moved := cmplxAbs(sim.apply2(c) - start.apply2(c))
	limit := 0.25 * cmplxAbs(start.a) * cmplxAbs(g.q[1]-g.q[0]) * gridSide / 2
	if g.sse(&patch, &ok) > first || moved > limit {
		return start, startPatch, startOK, true
	}
	return sim, patch, ok, true
}

// sse is the mean squared difference of a patch from the reference.
func (g *patchGrid) sse(patch *[gridPoints]float64, ok *[gridPoints]bool) float64 {
	var s float64
	n := 0
	for k := range patch {
		if ok[k] && g.valid[k] {
			e := patch[k] - g.ref[k]
			s += e * e
			n++
		}
	}
	return s / float64(max(n, 1))
}

func (s similarity) apply2(q complex128) complex128 { return s.a*q + s.b }

// invert4 inverts a 4×4 matrix by Gauss–Jordan elimination with partial
// pivoting.
func invert4(m [4][4]float64) ([4][4]float64, bool) {
	var a [4][8]float64
	for i := 0; i < 4; i++ {
		copy(a[i][:4], m[i][:])
		a[i][4+i] = 1
	}
	for col := 0; col < 4; col++ {
		piv := col
		for r := col + 1; r < 4; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-12 {
			return [4][4]float64{}, false
		}
		a[col], a[piv] = a[piv], a[col]
		p := a[col][col]
		for j := range a[col] {
			a[col][j] /= p
		}
		for r := 0; r < 4; r++ {
			if r != col {
				f := a[r][col]
				for j := range a[r] {
					a[r][j] -= f * a[col][j]
				}
			}
		}
	}
	var out [4][4]float64
	for i := 0; i < 4; i++ {
		copy(out[i][:], a[i][4:])
	}
	return out, true
}

// sampleRGB returns img's linear colour at sim(q) for every grid point,
// divided channel by channel by bg. Points outside the image, and points
// where a channel is near clipping or near black (where the camera's
// response bends and ratios stop being ratios of light), are left zero.
func (g *patchGrid) sampleRGB(img *face.RGB, sim similarity, bg [3]float64) *[gridPoints][3]float32 {
	var out [gridPoints][3]float32
	for i, q := range g.q {
		p := sim.a*q + sim.b
		c, in := linearAt(img, real(p), imag(p))
		if !in || max(c[0], c[1], c[2]) > linearHigh || min(c[0], c[1], c[2]) < linearLow {
			continue
		}
		for k := range c {
			out[i][k] = float32(c[k] / math.Max(bg[k], 1e-4))
		}
	}
	return &out
}

// Linear levels outside which a pixel's ratios are not trusted: about 247
// and 5 in 8-bit sRGB, where the camera clips or its noise and black
// level dominate.
const (
	linearHigh = 0.93
	linearLow  = 0.0015
)

// fastLog is the natural logarithm of a positive normal x to about 1e-5,
// faster than math.Log: the registration takes it at every grid point of
// every frame several times over.
func fastLog(x float64) float64 {
	bits := math.Float64bits(x)
	e := int((bits>>52)&0x7ff) - 1023
	m := math.Float64frombits(bits&^(0x7ff<<52) | 1023<<52) // in [1, 2)
	if m > math.Sqrt2 {
		m /= 2
		e++
	}
	t := (m - 1) / (m + 1)
	t2 := t * t
	return float64(e)*math.Ln2 + 2*t*(1+t2*(1.0/3+t2*(1.0/5+t2*(1.0/7+t2/9))))
}
