package liveness

import (
	"fmt"
	"math"
	"strings"
)

// fit measures each interval's settled face level and fits, per camera
// channel, level = alpha + beta·screen, the linear law of reflected light:
// the face shows its pre-flash light plus beta times what the screen adds.
// The intercept absorbs whatever the page showed before the flashes. It
// also estimates the frames' noise covariance from their scatter about
// their interval's level: most of it is common to the three channels
// (motion, landmark jitter and room light change brightness, not colour),
// which the colour and timing checks then discount.
func (a *analysis) fit() {
	a.levels = make([][3]float64, a.n)
	var resid [][3]float64
	for k, idx := range a.steady {
		for ch := 0; ch < 3; ch++ {
			vals := make([]float64, len(idx))
			for j, i := range idx {
				vals[j] = a.frames[i].pooled[ch]
			}
			a.levels[k][ch] = median(vals)
		}
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			var r [3]float64
			for ch := range r {
				r[ch] = a.frames[i].pooled[ch] - a.levels[k][ch]
			}
			resid = append(resid, r)
		}
	}
	var cov [3][3]float64
	for _, r := range resid {
		for p := 0; p < 3; p++ {
			for q := 0; q < 3; q++ {
				cov[p][q] += r[p] * r[q]
			}
		}
	}
	// The floor is what 8-bit pixels averaged over a region allow; it
	// also keeps the matrix invertible when few frames scatter.
	const floor = 0.004
	for p := 0; p < 3; p++ {
		for q := 0; q < 3; q++ {
			if len(resid) > 3 {
				cov[p][q] /= float64(len(resid) - 1)
			} else {
				cov[p][q] = 0
			}
		}
		cov[p][p] += floor * floor
	}
	a.cov = cov
	for ch := 0; ch < 3; ch++ {
		x := make([]float64, a.n)
		y := make([]float64, a.n)
		for k := 0; k < a.n; k++ {
			x[k], y[k] = a.lin[k][ch], a.levels[k][ch]
		}
		a.alpha[ch], a.beta[ch] = lineFit(x, y)
	}
}

// lineFit returns the least-squares intercept and slope of y on x (slope
// 0 when x does not vary).
func lineFit(x, y []float64) (alpha, beta float64) {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	n := float64(len(x))
	mx /= n
	my /= n
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return my, 0
	}
	beta = sxy / sxx
	return my - beta*mx, beta
}

// inv3 inverts a symmetric positive definite 3×3 matrix.
func inv3(m [3][3]float64) [3][3]float64 {
	d := det3(m)
	var o [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			// Cofactor of (j, i) over the determinant.
			a, b := (j+1)%3, (j+2)%3
			c, e := (i+1)%3, (i+2)%3
			o[i][j] = (m[a][c]*m[b][e] - m[a][e]*m[b][c]) / d
		}
	}
	return o
}

// quad returns uᵀ·m·v.
func quad(u [3]float64, m [3][3]float64, v [3]float64) float64 {
	var s float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			s += u[i] * m[i][j] * v[j]
		}
	}
	return s
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// reflection checks that the face brightens with every screen channel:
// the weakest channel's strength must reach MinModulation. A recording
// or a face lit only by the room gives about zero.
func (a *analysis) reflection() Check {
	b := math.Min(a.beta[0], math.Min(a.beta[1], a.beta[2]))
	th := a.opt.MinModulation
	return Check{
		Name: CheckReflection, Pass: b >= th, Score: logistic(b-th, th/2),
		Value: b, Threshold: th,
		Detail: fmt.Sprintf("weakest channel's reflection strength ≥ threshold (r %.3f g %.3f b %.3f)", a.beta[0], a.beta[1], a.beta[2]),
	}
}

// color decodes each interval's level back to screen units with the fit
// and checks that the colour shown is, by a margin, the palette colour the
// reflection is nearest to. Distances are measured against the
// uncertainty of each interval's level (its frames' noise, mapped through
// the fit) plus what the linear model leaves out: modelTolerance in screen
// units (channel crosstalk, tone curves) and levelTolerance in face level
// (compression, which shifts colours by a few per cent whatever the
// reflection's strength, so it weighs most on a weak channel). A noisy
// but clean sequence and a sharp one are thus judged alike. A sequence replayed from another
// verification disagrees in some channel of some interval, and no
// straight line can map one on/off pattern onto a different one.
func (a *analysis) color() (Check, []string) {
	th := a.opt.MinColorMargin
	decoded := make([]string, a.n)
	worst := math.Inf(1)
	worstErr := 0.0
	for k := 0; k < a.n; k++ {
		var z [3]float64
		var cz [3][3]float64
		nk := float64(max(1, len(a.steady[k])))
		for ch := 0; ch < 3; ch++ {
			b := math.Max(a.beta[ch], 1e-3)
			z[ch] = (a.levels[k][ch] - a.alpha[ch]) / b
			for q := 0; q < 3; q++ {
				// A median of nk frames scatters about 1.25/√nk as much
				// as one frame.
				cz[ch][q] = a.cov[ch][q] * 1.5625 / nk / (b * math.Max(a.beta[q], 1e-3))
			}
			cz[ch][ch] += modelTolerance*modelTolerance + levelTolerance*levelTolerance/(b*b)
		}
		ic := inv3(cz)
		distTo := func(l [3]float64) float64 {
			d := [3]float64{z[0] - l[0], z[1] - l[1], z[2] - l[2]}
			return math.Sqrt(math.Max(0, quad(d, ic, d)))
		}
		own := distTo(a.lin[k])
		other := math.Inf(1)
		best, bd := "", math.Inf(1)
		for _, p := range Palette {
			d := distTo(p.Linear())
			if d < bd {
				best, bd = p.Name, d
			}
			if p != a.ch.Colors[k] {
				other = math.Min(other, d)
			}
		}
		decoded[k] = best
		worst = math.Min(worst, other-own)
		worstErr = math.Max(worstErr, linDist(z, a.lin[k]))
	}
	c := Check{
		Name: CheckColor, Pass: worst >= th, Score: logistic(worst-th, 1),
		Value: worst, Threshold: th,
		Detail: fmt.Sprintf("least margin, in uncertainties, by which each reflection is nearer the colour shown than any other ≥ threshold (largest error %.2f screen units)", worstErr),
	}
	if !c.Pass {
		var want []string
		for _, col := range a.ch.Colors {
			want = append(want, col.Name)
		}
		c.Detail += fmt.Sprintf("; shown %s, seen %s", strings.Join(want, ","), strings.Join(decoded, ","))
	}
	return c, decoded
}

// Errors allowed for what the linear reflection model leaves out, per
// channel: in screen units, and in units of the pre-flash face level.
const (
	modelTolerance = 0.12
	levelTolerance = 0.012
)

func linDist(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// predict returns the fitted pooled level for screen colour lin.
func (a *analysis) predict(lin [3]float64) [3]float64 {
	var p [3]float64
	for ch := range p {
		p[ch] = a.alpha[ch] + a.beta[ch]*lin[ch]
	}
	return p
}
