package liveness

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// timing finds when each colour's reflection starts and checks the lag
// against OnsetWindow. Each frame is projected on the transition from the
// fitted level of the previous colour (the baseline for the first) to
// that of the new one, in units of frame noise, and a step is fitted to
// the projections; the onset is where the step crosses half-way,
// interpolated between the frames around it (a frame whose exposure
// straddles the onset sits part-way). Onsets before display mean the
// response was predicted or replayed; late ones, that it was relayed or
// rendered.
func (a *analysis) timing() (Check, []Onset) {
	lo, hi := a.opt.OnsetWindow[0], a.opt.OnsetWindow[1]
	c := Check{Name: CheckTiming}
	onsets := make([]Onset, a.n)
	icov := inv3(a.cov)
	worstMargin := math.Inf(1)
	var bad []string
	for k := 0; k < a.n; k++ {
		next := a.predict(a.lin[k])
		var prev [3]float64
		if k == 0 {
			prev = [3]float64{1, 1, 1} // the baseline, by normalisation
		} else {
			prev = a.predict(a.lin[k-1])
		}
		delta := [3]float64{next[0] - prev[0], next[1] - prev[1], next[2] - prev[2]}
		den := quad(delta, icov, delta)
		snr := math.Sqrt(math.Max(0, den))
		from := a.disp[k].Add(-300 * time.Millisecond)
		if k > 0 {
			from = later(from, a.disp[k-1].Add(hi))
		} else {
			from = a.disp[k].Add(-400 * time.Millisecond)
		}
		to := a.end[k].Add(min(0, lo))
		if to.Sub(a.disp[k]) > 450*time.Millisecond {
			to = a.disp[k].Add(450 * time.Millisecond)
		}
		var ts []time.Time
		var ss []float64
		for _, m := range a.frames {
			if m.t.Before(from) || !m.t.Before(to) {
				continue
			}
			y := [3]float64{m.pooled[0] - prev[0], m.pooled[1] - prev[1], m.pooled[2] - prev[2]}
			ts = append(ts, m.t)
			ss = append(ss, quad(y, icov, delta)/den)
		}
		const minSNR = 4
		if snr < minSNR {
			if k == 0 {
				continue // the page may have shown much the same colour
			}
			bad = append(bad, fmt.Sprintf("colour %d: change too small to time", k+1))
			worstMargin = math.Min(worstMargin, -1)
			continue
		}
		t, ok := stepOnset(ts, ss)
		if !ok {
			if k == 0 && snr < 2*minSNR {
				// A faint change from whatever the page showed; the
				// transitions between colours are the ones that count.
				continue
			}
			bad = append(bad, fmt.Sprintf("colour %d: no onset", k+1))
			worstMargin = math.Min(worstMargin, -1)
			continue
		}
		lag := t.Sub(a.disp[k])
		onsets[k] = Onset{Lag: lag, Measured: true}
		m := math.Min(ms(lag-lo), ms(hi-lag))
		worstMargin = math.Min(worstMargin, m)
		switch {
		case lag < lo:
			bad = append(bad, fmt.Sprintf("colour %d: %v early", k+1, (-lag).Round(time.Millisecond)))
		case lag > hi:
			bad = append(bad, fmt.Sprintf("colour %d: %v late", k+1, lag.Round(time.Millisecond)))
		}
	}
	if math.IsInf(worstMargin, 1) {
		worstMargin = -1
		bad = append(bad, "no transition timed")
	}
	c.Value = worstMargin
	c.Pass = len(bad) == 0
	c.Score = logistic(worstMargin, 25)
	c.Detail = fmt.Sprintf("least margin, ms, of an onset inside [%v, %v] ≥ 0", lo, hi)
	if len(bad) > 0 {
		c.Detail += "; " + strings.Join(bad, "; ")
	}
	return c, onsets
}

// stepOnset fits a 0→1 step to the projections s at times ts and returns
// where it crosses 0.5, or false when there is no clear step.
func stepOnset(ts []time.Time, s []float64) (time.Time, bool) {
	n := len(s)
	if n < 2 {
		return time.Time{}, false
	}
	c := make([]float64, n)
	for i, v := range s {
		c[i] = math.Max(-0.5, math.Min(1.5, v))
	}
	bestQ, bestCost := -1, math.Inf(1)
	for q := 1; q < n; q++ {
		var cost float64
		for i := 0; i < q; i++ {
			cost += c[i] * c[i]
		}
		for i := q; i < n; i++ {
			cost += (c[i] - 1) * (c[i] - 1)
		}
		if cost < bestCost {
			bestQ, bestCost = q, cost
		}
	}
	var before, after float64
	for i := 0; i < bestQ; i++ {
		before += c[i]
	}
	for i := bestQ; i < n; i++ {
		after += c[i]
	}
	before /= float64(bestQ)
	after /= float64(n - bestQ)
	if after-before < 0.5 || after < 0.6 || before > 0.4 {
		return time.Time{}, false
	}
	s0 := math.Max(0, math.Min(1, c[bestQ-1]))
	s1 := math.Max(0, math.Min(1, c[bestQ]))
	t0, t1 := ts[bestQ-1], ts[bestQ]
	f := 0.5
	if s1 > s0 {
		f = math.Max(0, math.Min(1, (0.5-s0)/(s1-s0)))
	}
	return t0.Add(time.Duration(f * float64(t1.Sub(t0)))), true
}
