package flashsim

import (
	"math"
	"slices"

	"github.com/glint-id/glint/internal/liveness"
)

// Tally sums up verdicts decided elsewhere — recorded field attempts
// replayed through the analysis (glint liveness-eval --recordings) — into
// the SpeciesResult that Evaluate gives a simulated species, so that field
// and simulated figures are read the same way.
type Tally struct {
	r SpeciesResult
}

// NewTally starts the tally of one group of attempts of species (Genuine
// or an attack's name): Result reports BPCER for Genuine, APCER else.
func NewTally(species string) *Tally {
	return &Tally{r: SpeciesResult{Species: species, Checks: map[string]CheckStats{}, Reasons: map[string]int{}}}
}

// Add counts one attempt's verdict.
func (t *Tally) Add(v liveness.Verdict) { t.add(v.Pass, v.Reason, v.Checks) }

// add counts one attempt accepted or refused for reason, with the values
// of its checks (Evaluate's include the comparison with the reference).
func (t *Tally) add(accept bool, reason string, checks []liveness.Check) {
	s := &t.r
	s.N++
	if accept {
		s.Accepted++
	} else {
		s.Reasons[reason]++
	}
	for _, c := range checks {
		cs := s.Checks[c.Name]
		if !c.Pass {
			cs.Failed++
		}
		if !math.IsNaN(c.Value) {
			cs.values = append(cs.values, c.Value)
		}
		s.Checks[c.Name] = cs
	}
}

// Result returns the tally's figures: the error rate with its 95 %
// Clopper–Pearson interval, the deciding checks of the rejections and
// each check's quantiles.
func (t *Tally) Result() SpeciesResult {
	s := t.r
	s.Checks = make(map[string]CheckStats, len(t.r.Checks))
	for name, cs := range t.r.Checks {
		vals := slices.Clone(cs.values)
		slices.Sort(vals)
		for q, lv := range quantileLevels {
			cs.Quantiles[q] = quantile(vals, lv)
		}
		cs.values = nil
		s.Checks[name] = cs
	}
	k := s.Accepted
	if s.Species == Genuine {
		k = s.N - s.Accepted
	}
	if s.N > 0 {
		s.Rate = float64(k) / float64(s.N)
	}
	lo, hi := ClopperPearson(k, s.N, 0.95)
	s.Interval = [2]float64{lo, hi}
	return s
}
