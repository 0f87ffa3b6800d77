package liveness

import "math"

// tint checks that the colours live on the face, not on the whole
// picture. The background's own chromaticity (each channel's share of its
// light, so exposure cancels) is fitted against the screen colour like
// the face's; the share of the total response that the background shows
// must stay below MaxTint. A live face's background barely moves, or moves
// against the colour as white balance compensates; a replay screen tinted
// by the flashes, or a rendered tint, moves face and background alike.
func (a *analysis) tint() Check {
	c := Check{Name: CheckTint, Threshold: a.opt.MaxTint, Detail: "background's share of the colour response ≤ threshold"}
	bgShare := func(m *measured) [3]float64 {
		s := m.bg[0] + m.bg[1] + m.bg[2]
		return [3]float64{m.bg[0] / s, m.bg[1] / s, m.bg[2] / s}
	}
	faceShare := func(m *measured) [3]float64 {
		s := m.pooled[0] + m.pooled[1] + m.pooled[2]
		return [3]float64{m.pooled[0] / s, m.pooled[1] / s, m.pooled[2] / s}
	}
	resp := func(share func(*measured) [3]float64) float64 {
		var total float64
		for ch := 0; ch < 3; ch++ {
			x := make([]float64, a.n)
			y := make([]float64, a.n)
			for k, idx := range a.steady {
				vals := make([]float64, len(idx))
				for j, i := range idx {
					vals[j] = share(&a.frames[i])[ch]
				}
				x[k], y[k] = a.lin[k][ch], median(vals)
			}
			_, b := lineFit(x, y)
			total += b
		}
		return total
	}
	bg, fc := math.Max(0, resp(bgShare)), math.Max(0, resp(faceShare))
	share := bg / (bg + fc + 0.003)
	c.Value = share
	c.Pass = share <= c.Threshold
	c.Score = logistic(c.Threshold-share, 0.1)
	return c
}
