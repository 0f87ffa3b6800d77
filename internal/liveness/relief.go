package liveness

import (
	"fmt"
	"math"
	"slices"

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
// a lamp may mimic), together with what a bent or glossy print can add
// (see "What paper can fake" below), and what remains is the structure.
// Its variance is estimated free of noise by splitting each interval's
// frames into two halves: the variance of the halves' difference is four
// times the noise's in their mean. The check's value is the structure's
// standard deviation relative to the mean strength.

// skinMask marks the grid points on skin: inside the face outline (jaw
// and a band above the brows), off the eyes and the mouth, which move
// independently of the light.
func skinMask(ref *[68]face.Point, ff FaceFrame, g *patchGrid) *[gridPoints]bool {
	var poly []complex128
	up := complex(-ff.ey.X, -ff.ey.Y) / complex(ff.iod, 0)
	for _, p := range face.Jaw.Points(ref) {
		poly = append(poly, cpt(p))
	}
	for _, p := range slices.Backward(face.Brows.Points(ref)) {
		poly = append(poly, cpt(p)+up*complex(0.3*ff.iod, 0))
	}
	var mouth []complex128
	mc := cpt(face.OuterLips.Centroid(ref))
	for _, p := range face.OuterLips.Points(ref) {
		mouth = append(mouth, mc+(cpt(p)-mc)*1.15)
	}
	eyes := []complex128{cpt(face.LeftEye.Centroid(ref)), cpt(face.RightEye.Centroid(ref))}
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
		Detail: "fine structure of the reflection strength across the skin that no print explains, relative to its mean, ≥ threshold"}
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
	pts, over := a.reliefCells()
	if len(pts) < minReliefPoints {
		c.Value = math.NaN()
		c.Detail = fmt.Sprintf("not measured: %d skin points", len(pts))
		return c
	}
	st, ok := reliefBeyondPaper(pts, over, a.lin)
	if !ok {
		c.Value = math.NaN()
		c.Detail = "not measured: degenerate fit, or too little skin outside a mirror image"
		return c
	}
	c.Value = st.value
	c.Pass = c.Value >= c.Threshold
	c.Score = logistic(c.Value-c.Threshold, c.Threshold/3)
	c.Detail += fmt.Sprintf(" (%d points, noise %.3f of the mean)", len(pts), st.noise)
	return c
}

// reliefCell is one skin cell's reflection strength: its place (face
// coordinates), the strength s (the mean of the two halves' slopes), the
// halves' difference d, whose spread measures the noise, and the cell's
// light before the flashes (the sum of its channels, relative to the
// background), lum.
type reliefCell struct {
	u, v, s, d, lum float64
	// col is the cell's colour before the flashes (relative to the
	// background), lum its sum.
	col [3]float64
	// ma and mb are the halves' reflection strength per camera channel
	// (see channelStrengths), whose direction is the reflection's colour.
	ma, mb [3]float64
}

// reliefCells measures the reflection strength of every skin cell where
// the screen's chromaticity varied enough across the intervals; over
// lists the skin cells (column, row) the flashes clipped instead.
func (a *analysis) reliefCells() (pts []reliefCell, over [][2]int) {
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
	const cells = gridSide / reliefBin
	var x1, x2, y1a, y2a, y1b, y2b []float64
	var xs [][3]float64
	var ya, yb [][2]float64
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
		col, ok := cellLevel(a.frames, a.base, pts4)
		if !ok {
			continue
		}
		// The intervals where both halves saw the cell unclipped; the
		// screen's chromatic coordinates must vary across them.
		x1, x2, y1a, y2a, y1b, y2b = x1[:0], x2[:0], y1a[:0], y2a[:0], y1b[:0], y2b[:0]
		xs, ya, yb = xs[:0], ya[:0], yb[:0]
		lost := false
		for k, h := range halves {
			ra, okA := chromaMean(a.frames, h.a, pts4)
			rb, okB := chromaMean(a.frames, h.b, pts4)
			if !okA || !okB {
				lost = lost || len(h.a) > 0 && len(h.b) > 0
				continue
			}
			l := a.lin[k]
			x1, x2 = append(x1, l[0]-l[1]), append(x2, l[2]-l[1])
			y1a, y2a = append(y1a, ra[0]), append(y2a, ra[1])
			y1b, y2b = append(y1b, rb[0]), append(y2b, rb[1])
			xs, ya, yb = append(xs, l), append(ya, ra), append(yb, rb)
		}
		sxx := sumSqDev(x1) + sumSqDev(x2)
		if len(x1) < 3 || sxx < 0.5 {
			if lost {
				over = append(over, [2]int{cell % cells, cell / cells})
			}
			continue
		}
		mx1, mx2 := mean(x1), mean(x2)
		sa := (cov(x1, mx1, y1a) + cov(x2, mx2, y2a)) / sxx
		sb := (cov(x1, mx1, y1b) + cov(x2, mx2, y2b)) / sxx
		c := reliefCell{u: u, v: v, s: (sa + sb) / 2, d: sa - sb, lum: col[0] + col[1] + col[2], col: col}
		c.ma, _ = channelStrengths(xs, ya)
		c.mb, _ = channelStrengths(xs, yb)
		pts = append(pts, c)
	}
	return pts, over
}

// cellLevel returns the mean over frames idx of the summed linear colour
// of grid points pts, skipping frames where a point was clipped, and
// false if none is left.
func cellLevel(frames []measured, idx []int, pts []int) ([3]float64, bool) {
	var s [3]float64
	n := 0
frame:
	for _, i := range idx {
		if frames[i].grid == nil {
			continue
		}
		var c [3]float64
		for _, p := range pts {
			q := frames[i].grid[p]
			if q[0] <= 0 || q[1] <= 0 || q[2] <= 0 {
				continue frame
			}
			for k := range c {
				c[k] += float64(q[k])
			}
		}
		s = add3(s, c)
		n++
	}
	if n == 0 {
		return s, false
	}
	return [3]float64{s[0] / float64(n), s[1] / float64(n), s[2] / float64(n)}, true
}

// reliefStats is what reliefBeyondPaper finds: the value of the check, the
// structure's standard deviation relative to the mean strength, and the
// noise's.
type reliefStats struct {
	value, noise float64
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

// What paper can fake. A print is not a face, but paper can be bent and
// glossy, and each gives the reflection strength a structure a flat,
// matte sheet does not have. The relief counts only the structure none of
// them explains: each explanation is fitted in turn besides the quadratic
// and the one leaving the least structure is kept, so that the check
// credits a face with no more than a print could also show.
//
//   - A mirror image. A glossy print mirrors the screen: where the mirror
//     image falls, the coating returns a few per cent of the screen's own
//     radiance, several times what a diffuse surface sends back. Cells
//     reflecting more than mirrorRatio times the median strength, and
//     their neighbours, are left out (a face's brightest cells, the side
//     the room leaves in shadow or a highlight, are a minority it can
//     spare). When the colour of their reflection also says mirror (see
//     withoutMirror), the image's blurred edge goes too, and so do the
//     cells the flashes clipped in it.
//   - A bend. Paper bends without stretching into a developable surface,
//     a cylinder or a fold: along its rulings, straight lines, the normal
//     does not change, so the strength varies only across them. Any
//     function of the coordinate across the rulings, in steps of
//     rulingStep, is fitted, for rulings near the face's vertical and
//     horizontal (rulingAngles), the bends that imitate a face: a nose
//     line, a forehead or a chin.
//   - A veil. The coating also mirrors the room, a sheen added to the
//     print's diffuse light that the flashes do not modulate: where the
//     print is dark the sheen weighs more and the relative reflection is
//     weaker, by L/(L + η) in a channel of level L for a sheen η. The
//     strengths this predicts (veilSlope), for η at veilLevels times the
//     median level, are fitted with a positive weight: on a face, the
//     darker, shadowed skin reflects relatively more, not less.
const (
	mirrorRatio = 1.8
	mirrorEdge  = 1.3
	mirrorAngle = 10 * math.Pi / 180
	rulingStep  = 0.15
)

// rulingAngles are the directions, degrees from the face's eye line, of
// the coordinate a bent sheet's strength is fitted along (0: vertical
// rulings, a function of the coordinate along the eye line).
var rulingAngles = []float64{-15, 0, 15, 75, 90, 105}

// veilLevels are the sheen levels tried, in multiples of the median
// cell's level per channel; the last stands for a sheen far above the
// print's own light, where the weakening is proportional to the level.
var veilLevels = []float64{0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 100}

// reliefBeyondPaper returns the relief structure, relative to the mean
// strength, that neither the quadratic nor any of the paper explanations
// above accounts for.
func reliefBeyondPaper(pts []reliefCell, over [][2]int, lin [][3]float64) (reliefStats, bool) {
	keep := withoutMirror(pts, over)
	n := len(keep)
	if n < minReliefPoints {
		return reliefStats{}, false
	}
	var meanS, noise float64
	lums := make([]float64, n)
	for i, q := range keep {
		meanS += q.s
		noise += q.d * q.d
		lums[i] = q.lum
	}
	meanS /= float64(n)
	noise /= 4 * float64(n)
	if meanS <= 0 {
		return reliefStats{}, false
	}
	best := math.Inf(1)
	// try fits the model with the extra columns and returns its residual
	// variance.
	try := func(extra [][]float64, positiveLast bool) float64 {
		rss, p, ok := fitRSS(keep, extra, positiveLast)
		if !ok || n <= p {
			return math.Inf(1)
		}
		v := rss / float64(n-p)
		best = math.Min(best, v)
		return v
	}
	try(nil, false)
	for _, deg := range rulingAngles {
		try(rulingColumns(keep, deg*math.Pi/180), false)
	}
	medLum := median(lums)
	var veil []float64
	veilBest := math.Inf(1)
	for _, f := range veilLevels {
		// The sheen is the room's light, which white balance makes
		// grey: the same level in every channel.
		eta := f * medLum / 3
		col := make([]float64, n)
		for i, q := range keep {
			var g [3]float64
			for k := range g {
				g[k] = q.col[k] / (q.col[k] + eta)
			}
			col[i] = veilSlope(g, lin)
		}
		if v := try([][]float64{col}, true); v < veilBest {
			veilBest, veil = v, col
		}
	}
	if veil != nil {
		// A glossy print may be bent too: the best sheen with each bend.
		for _, deg := range rulingAngles {
			try(append(rulingColumns(keep, deg*math.Pi/180), veil), true)
		}
	}
	if math.IsInf(best, 1) {
		return reliefStats{}, false
	}
	return reliefStats{value: math.Sqrt(math.Max(0, best-noise)) / meanS, noise: math.Sqrt(noise) / meanS}, true
}

// veilSlope is the strength reliefCells would measure on a cell whose
// channels reflect the screen in proportions g under the screen colours
// lin: the slope of the log-chromaticities, to first order, on the
// screen's chromatic coordinates.
func veilSlope(g [3]float64, lin [][3]float64) float64 {
	var x1, x2, y1, y2 []float64
	for _, l := range lin {
		x1, x2 = append(x1, l[0]-l[1]), append(x2, l[2]-l[1])
		y1, y2 = append(y1, g[0]*l[0]-g[1]*l[1]), append(y2, g[2]*l[2]-g[1]*l[1])
	}
	sxx := sumSqDev(x1) + sumSqDev(x2)
	if sxx == 0 {
		return 0
	}
	return (cov(x1, mean(x1), y1) + cov(x2, mean(x2), y2)) / sxx
}

// withoutMirror returns the cells outside any mirror image. Cells that
// reflect more than mirrorRatio times the median strength may be one, and
// are left out with their neighbours. They are taken for a mirror's image
// when the colour of their reflection differs from the rest's by more
// than mirrorAngle (and by more than the noise allows): diffuse reflection
// passes the screen's light through the skin's colour, a mirror returns
// the screen's own, so relative to the skin's light before the flashes its
// reflection leans towards the colours the skin reflects least. Then the
// image's blurred edge goes too, the cells connected to it that reflect
// more than mirrorEdge times the median of the others, and the cells the
// flashes clipped (over), which reflect more than any measured one.
func withoutMirror(pts []reliefCell, over [][2]int) []reliefCell {
	ss := make([]float64, len(pts))
	for i, q := range pts {
		ss[i] = q.s
	}
	limit := mirrorRatio * median(ss)
	var brightA, brightB, restA, restB [3]float64
	var rest []float64
	for _, q := range pts {
		if q.s > limit {
			brightA, brightB = add3(brightA, q.ma), add3(brightB, q.mb)
		} else {
			restA, restB = add3(restA, q.ma), add3(restB, q.mb)
			rest = append(rest, q.s)
		}
	}
	if len(rest) == len(pts) || len(rest) == 0 {
		return pts
	}
	// The angle between the groups' colours, and what the halves'
	// disagreement makes of each group's.
	angle := angle3(add3(brightA, brightB), add3(restA, restB))
	noise := (angle3(brightA, brightB) + angle3(restA, restB)) / 2
	edge := limit
	mirror := angle >= mirrorAngle && angle >= 3*noise
	if mirror {
		edge = mirrorEdge * median(rest)
	}
	at := make(map[[2]int]int, len(pts))
	for i, q := range pts {
		at[cellAt(q)] = i
	}
	image := map[[2]int]bool{}
	var stack [][2]int
	for _, q := range pts {
		if q.s > limit {
			c := cellAt(q)
			image[c] = true
			stack = append(stack, c)
		}
	}
	if mirror {
		// The cells the flashes clipped inside a mirror's image are
		// part of it.
		for _, c := range over {
			image[c] = true
			stack = append(stack, c)
		}
	}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			n := [2]int{c[0] + d[0], c[1] + d[1]}
			if i, ok := at[n]; ok && !image[n] && pts[i].s > edge {
				image[n] = true
				stack = append(stack, n)
			}
		}
	}
	out := make([]reliefCell, 0, len(pts))
cell:
	for _, q := range pts {
		c := cellAt(q)
		for dj := -1; dj <= 1; dj++ {
			for di := -1; di <= 1; di++ {
				if image[[2]int{c[0] + di, c[1] + dj}] {
					continue cell
				}
			}
		}
		out = append(out, q)
	}
	return out
}

func add3(a, b [3]float64) [3]float64 { return [3]float64{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }

func dot3(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// angle3 is the angle between two vectors, radians (0 if either is zero).
func angle3(a, b [3]float64) float64 {
	na, nb := math.Sqrt(dot3(a, a)), math.Sqrt(dot3(b, b))
	if na == 0 || nb == 0 {
		return 0
	}
	return math.Acos(clampF(dot3(a, b)/(na*nb), -1, 1))
}

// channelStrengths returns a cell's reflection strength per camera
// channel from its log-chromaticities ys (log R/G, log B/G) under the
// screen colours xs: the slopes a of log R/G = a_R·x_R − a_G·x_G + c₁ and
// log B/G = a_B·x_B − a_G·x_G + c₂, fitted together. Their direction is
// the colour of the reflection relative to the cell's own light; false
// when the colours shown do not separate the channels.
func channelStrengths(xs [][3]float64, ys [][2]float64) ([3]float64, bool) {
	n := len(xs)
	cols := make([][]float64, 5)
	for k := range cols {
		cols[k] = make([]float64, 2*n)
	}
	y := make([]float64, 2*n)
	for i, x := range xs {
		cols[0][2*i], cols[1][2*i], cols[3][2*i] = x[0], -x[1], 1
		cols[1][2*i+1], cols[2][2*i+1], cols[4][2*i+1] = -x[1], x[2], 1
		y[2*i], y[2*i+1] = ys[i][0], ys[i][1]
	}
	coef, rank, ok := leastSquares(cols, y)
	if !ok || rank < 5 {
		return [3]float64{}, false
	}
	return [3]float64{coef[0], coef[1], coef[2]}, true
}

// cellAt returns the relief cell's column and row on the grid.
func cellAt(q reliefCell) [2]int {
	const cells = gridSide / reliefBin
	return [2]int{
		int(math.Floor((q.u - gridU0) / (gridU1 - gridU0) * cells)),
		int(math.Floor((q.v - gridV0) / (gridV1 - gridV0) * cells)),
	}
}

// rulingColumns returns indicator columns of the steps of rulingStep
// across rulings in direction phi (the coordinate u·cos φ + v·sin φ):
// any function of that coordinate, as a developable sheet's strength is.
func rulingColumns(pts []reliefCell, phi float64) [][]float64 {
	c, s := math.Cos(phi), math.Sin(phi)
	bins := map[int]int{}
	var cols [][]float64
	for i, q := range pts {
		b := int(math.Floor((q.u*c + q.v*s) / rulingStep))
		k, ok := bins[b]
		if !ok {
			k = len(cols)
			bins[b] = k
			cols = append(cols, make([]float64, len(pts)))
		}
		cols[k][i] = 1
	}
	return cols
}

// fitRSS fits the cells' strengths by least squares with the quadratic in
// (u, v) and the extra columns, and returns the residual sum of squares
// and the number of independent parameters. With positiveLast, a
// negative weight of the last column is not allowed: the fit is then the
// one without it.
func fitRSS(pts []reliefCell, extra [][]float64, positiveLast bool) (float64, int, bool) {
	n := len(pts)
	p := 6 + len(extra)
	cols := make([][]float64, p)
	for k := range cols[:6] {
		cols[k] = make([]float64, n)
	}
	y := make([]float64, n)
	for i, q := range pts {
		row := [6]float64{1, q.u, q.v, q.u * q.u, q.u * q.v, q.v * q.v}
		for k := range row {
			cols[k][i] = row[k]
		}
		y[i] = q.s
	}
	copy(cols[6:], extra)
	coef, rank, ok := leastSquares(cols, y)
	if !ok {
		return 0, 0, false
	}
	if positiveLast && len(extra) > 0 && coef[p-1] < 0 {
		return fitRSS(pts, extra[:len(extra)-1], false)
	}
	var rss float64
	for i := range y {
		f := 0.0
		for k := range cols {
			f += coef[k] * cols[k][i]
		}
		e := y[i] - f
		rss += e * e
	}
	return rss, rank, true
}

// leastSquares solves min ‖Σ coef_k·cols_k − y‖ by the normal equations
// and Gaussian elimination with partial pivoting, dropping columns that
// depend on earlier ones (indicator columns sum to the constant); it
// returns the coefficients (zero for dropped columns) and the rank.
func leastSquares(cols [][]float64, y []float64) ([]float64, int, bool) {
	p := len(cols)
	m := make([][]float64, p)
	for a := range m {
		m[a] = make([]float64, p+1)
		for b := 0; b <= a; b++ {
			var s float64
			for i, v := range cols[a] {
				s += v * cols[b][i]
			}
			m[a][b], m[b][a] = s, s
		}
		var s float64
		for i, v := range cols[a] {
			s += v * y[i]
		}
		m[a][p] = s
	}
	scale := 0.0
	for a := range m {
		scale = math.Max(scale, m[a][a])
	}
	if scale == 0 {
		return nil, 0, false
	}
	// Eliminate column by column; a pivot that vanishes relative to the
	// largest diagonal means a dependent column, which is dropped.
	coef := make([]float64, p)
	used := make([]bool, p)
	pivRow := make([]int, p)
	rows := make([]bool, p)
	rank := 0
	for c := 0; c < p; c++ {
		best, bi := 0.0, -1
		for r := 0; r < p; r++ {
			if !rows[r] && math.Abs(m[r][c]) > best {
				best, bi = math.Abs(m[r][c]), r
			}
		}
		if bi < 0 || best < 1e-10*scale {
			continue
		}
		rows[bi], used[c], pivRow[c] = true, true, bi
		rank++
		for r := 0; r < p; r++ {
			if r == bi || m[r][c] == 0 {
				continue
			}
			f := m[r][c] / m[bi][c]
			for k := c; k <= p; k++ {
				m[r][k] -= f * m[bi][k]
			}
		}
	}
	for c := 0; c < p; c++ {
		if used[c] {
			r := pivRow[c]
			coef[c] = m[r][p] / m[r][c]
		}
	}
	return coef, rank, true
}
