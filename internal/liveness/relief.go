package liveness

import (
	"fmt"
	"math"

	"github.com/glint-id/glint/internal/face"
)

// The 3-D check looks at the reflection's fine spatial detail. The screen
// is a near light in front of the face and the room light comes from
// elsewhere, so the share of light the screen adds at a point depends on
// which way the skin there faces: it changes sharply across the nose
// ridge and wings, the eye sockets, the lips and the cheekbones. On a
// flat print or a screen every point faces the same way, and the share
// varies only smoothly, with the distance to the light.
//
// Per cell of the registration grid (reliefBin² points) that lies on
// skin, the reflection strength is the slope of the colour's log-chromaticity (red and blue
// against green) on the screen colour's, across the intervals. Working in
// chromaticity makes the measure blind to the skin's own colour and to
// brightness changes, and dividing by the background first removes the
// camera's white balance. A quadratic surface over the face is then
// subtracted (any flat surface's smooth falloff, and the gross curvature
// a lamp may mimic), and what remains is the structure. Its variance is
// estimated free of noise by splitting each interval's frames into two
// halves: the variance of the halves' difference is four times the
// noise's in their mean. The check's value is the structure's standard
// deviation relative to the mean strength.

// skinMask marks the grid points on skin: inside the face outline (jaw
// and a band above the brows), off the eyes and the mouth, which move
// independently of the light.
func skinMask(ref *[68]face.Point, ff faceFrame, g *patchGrid) *[gridPoints]bool {
	var poly []complex128
	up := complex(-ff.ey.X, -ff.ey.Y) / complex(ff.iod, 0)
	for i := 0; i <= 16; i++ {
		poly = append(poly, cpt(ref[i]))
	}
	for i := 26; i >= 17; i-- {
		poly = append(poly, cpt(ref[i])+up*complex(0.3*ff.iod, 0))
	}
	var mouth []complex128
	mc := cpt(face.Centroid(ref[48:60]))
	for i := 48; i < 60; i++ {
		mouth = append(mouth, mc+(cpt(ref[i])-mc)*1.15)
	}
	eyes := []complex128{cpt(face.Centroid(ref[36:42])), cpt(face.Centroid(ref[42:48]))}
	var m [gridPoints]bool
	for i, q := range g.q {
		if !inPolygon(poly, q) || inPolygon(mouth, q) {
			continue
		}
		near := false
		for _, e := range eyes {
			if cmplxAbs(q-e) < 0.3*ff.iod {
				near = true
			}
		}
		m[i] = !near
	}
	return &m
}

// inPolygon reports whether q is inside the polygon (even-odd rule).
func inPolygon(poly []complex128, q complex128) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (imag(a) > imag(q)) != (imag(b) > imag(q)) {
			x := real(a) + (imag(q)-imag(a))*(real(b)-real(a))/(imag(b)-imag(a))
			if real(q) < x {
				in = !in
			}
		}
	}
	return in
}

// minReliefPoints is how many skin points the relief needs.
const minReliefPoints = 40

// relief computes the check described above; reflects says whether the
// reflection decoded to the colours shown, without which the strengths
// mean nothing.
func (a *analysis) relief(reflects bool) Check {
	c := Check{Name: CheckRelief, Threshold: a.opt.MinRelief,
		Detail: "fine structure of the reflection strength across the skin, relative to its mean, ≥ threshold"}
	if !reflects {
		c.Value = math.NaN()
		c.Detail = "not measured: no reflection of the colours shown"
		return c
	}
	if a.mask == nil {
		c.Value = math.NaN()
		c.Detail = "not measured: no face grid"
		return c
	}
	// Each interval's settled frames, split in two halves.
	type half struct{ a, b []int }
	halves := make([]half, a.n)
	for k, idx := range a.steady {
		for j, i := range idx {
			if a.frames[i].grid == nil {
				continue
			}
			if j%2 == 0 {
				halves[k].a = append(halves[k].a, i)
			} else {
				halves[k].b = append(halves[k].b, i)
			}
		}
	}
	type pt struct{ u, v, s, d float64 }
	var pts []pt
	const cells = gridSide / reliefBin
	var x1, x2, y1a, y2a, y1b, y2b []float64
	for cell := 0; cell < cells*cells; cell++ {
		pts4 := cellPoints(cell)
		ok := true
		var u, v float64
		for _, p := range pts4 {
			ok = ok && a.mask[p]
			u += a.grid.uv[p][0] / float64(len(pts4))
			v += a.grid.uv[p][1] / float64(len(pts4))
		}
		if !ok {
			continue
		}
		// The intervals where both halves saw the cell unclipped; the
		// screen's chromatic coordinates must vary across them.
		x1, x2, y1a, y2a, y1b, y2b = x1[:0], x2[:0], y1a[:0], y2a[:0], y1b[:0], y2b[:0]
		for k, h := range halves {
			ra, okA := chromaMean(a.frames, h.a, pts4)
			rb, okB := chromaMean(a.frames, h.b, pts4)
			if !okA || !okB {
				continue
			}
			l := a.lin[k]
			x1, x2 = append(x1, l[0]-l[1]), append(x2, l[2]-l[1])
			y1a, y2a = append(y1a, ra[0]), append(y2a, ra[1])
			y1b, y2b = append(y1b, rb[0]), append(y2b, rb[1])
		}
		sxx := sumSqDev(x1) + sumSqDev(x2)
		if len(x1) < 3 || sxx < 0.5 {
			continue
		}
		mx1, mx2 := mean(x1), mean(x2)
		sa := (cov(x1, mx1, y1a) + cov(x2, mx2, y2a)) / sxx
		sb := (cov(x1, mx1, y1b) + cov(x2, mx2, y2b)) / sxx
		pts = append(pts, pt{u, v, (sa + sb) / 2, sa - sb})
	}
	if len(pts) < minReliefPoints {
		c.Value = math.NaN()
		c.Detail = fmt.Sprintf("not measured: %d skin points", len(pts))
		return c
	}
	// Least-squares quadratic in (u, v), by the normal equations.
	var ata [6][6]float64
	var atb [6]float64
	var meanS, noise float64
	for _, q := range pts {
		row := [6]float64{1, q.u, q.v, q.u * q.u, q.u * q.v, q.v * q.v}
		for i := range row {
			for j := range row {
				ata[i][j] += row[i] * row[j]
			}
			atb[i] += row[i] * q.s
		}
		meanS += q.s
		noise += q.d * q.d
	}
	n := float64(len(pts))
	meanS /= n
	noise /= 4 * n
	coef, ok := solve6(ata, atb)
	if !ok || meanS <= 0 {
		c.Value = math.NaN()
		c.Detail = "not measured: degenerate fit"
		return c
	}
	var resid float64
	for _, q := range pts {
		f := coef[0] + coef[1]*q.u + coef[2]*q.v + coef[3]*q.u*q.u + coef[4]*q.u*q.v + coef[5]*q.v*q.v
		e := q.s - f
		resid += e * e
	}
	resid /= n - 6
	structure := math.Sqrt(math.Max(0, resid-noise))
	c.Value = structure / meanS
	c.Pass = c.Value >= c.Threshold
	c.Score = logistic(c.Value-c.Threshold, c.Threshold/3)
	c.Detail += fmt.Sprintf(" (%d points, noise %.3f of the mean)", len(pts), math.Sqrt(noise)/meanS)
	return c
}

// reliefBin is how many grid points a side of a relief cell spans. The
// colour of a cell is the mean over its points, which spans a few pixels:
// JPEG keeps colour at half resolution and rebuilds each pixel's colour
// from its own brightness and its block's colour, so single pixels carry a
// colour error that follows the texture, while a cell's mean does not.
const reliefBin = 2

// cellPoints returns the grid points of relief cell c.
func cellPoints(c int) []int {
	cells := gridSide / reliefBin
	ci, cj := c%cells, c/cells
	out := make([]int, 0, reliefBin*reliefBin)
	for dj := 0; dj < reliefBin; dj++ {
		for di := 0; di < reliefBin; di++ {
			out = append(out, (cj*reliefBin+dj)*gridSide+ci*reliefBin+di)
		}
	}
	return out
}

// chromaMean returns the mean over frames idx of the log-chromaticity
// (log R/G, log B/G) of the summed colour of grid points pts, skipping
// frames where a point was clipped, and false if none is left.
func chromaMean(frames []measured, idx []int, pts []int) ([2]float64, bool) {
	var s [2]float64
	n := 0
frame:
	for _, i := range idx {
		var c [3]float64
		for _, p := range pts {
			q := frames[i].grid[p]
			if q[0] <= 0 || q[1] <= 0 || q[2] <= 0 {
				continue frame
			}
			c[0] += float64(q[0])
			c[1] += float64(q[1])
			c[2] += float64(q[2])
		}
		g := math.Log(c[1])
		s[0] += math.Log(c[0]) - g
		s[1] += math.Log(c[2]) - g
		n++
	}
	if n == 0 {
		return s, false
	}
	return [2]float64{s[0] / float64(n), s[1] / float64(n)}, true
}

func sumSqDev(x []float64) float64 {
	m := mean(x)
	var s float64
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s
}

// cov returns Σ (x − mx)·y.
func cov(x []float64, mx float64, y []float64) float64 {
	var s float64
	for i := range x {
		s += (x[i] - mx) * y[i]
	}
	return s
}

// solve6 solves a 6×6 linear system by Gaussian elimination with partial
// pivoting.
func solve6(m [6][6]float64, b [6]float64) ([6]float64, bool) {
	for col := 0; col < 6; col++ {
		piv := col
		for r := col + 1; r < 6; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		if math.Abs(m[piv][col]) < 1e-12 {
			return b, false
		}
		m[col], m[piv] = m[piv], m[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < 6; r++ {
			f := m[r][col] / m[col][col]
			for j := col; j < 6; j++ {
				m[r][j] -= f * m[col][j]
			}
			b[r] -= f * b[col]
		}
	}
	var x [6]float64
	for r := 5; r >= 0; r-- {
		s := b[r]
		for j := r + 1; j < 6; j++ {
			s -= m[r][j] * x[j]
		}
		x[r] = s / m[r][r]
	}
	return x, true
}
