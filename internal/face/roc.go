package face

import (
	"math"
	"sort"
)

// Pair is one scored verification pair: the distance between two
// descriptors (smaller is more alike) and whether they show one person.
type Pair struct {
	Distance float64
	Same     bool
}

// ROC summarises how well distances separate genuine pairs from impostor
// pairs. A pair is accepted as "same person" when its distance is strictly
// below a threshold.
type ROC struct {
	Genuine, Impostor int

	// Accuracy is the best fraction of correctly classified pairs over all
	// thresholds, reached at AccuracyThreshold.
	Accuracy          float64
	AccuracyThreshold float64

	// AUC is the probability that a random genuine pair is closer than a
	// random impostor pair (ties count one half).
	AUC float64

	// EER is the equal error rate: where the false accept and false reject
	// rates cross, at EERThreshold.
	EER          float64
	EERThreshold float64
}

// NewROC computes the summary of pairs. It needs at least one genuine and
// one impostor pair to say anything; otherwise the rates are NaN.
func NewROC(pairs []Pair) ROC {
	gen, imp := split(pairs)
	r := ROC{Genuine: len(gen), Impostor: len(imp)}
	if len(gen) == 0 || len(imp) == 0 {
		nan := math.NaN()
		r.Accuracy, r.AccuracyThreshold, r.AUC, r.EER, r.EERThreshold = nan, nan, nan, nan, nan
		return r
	}
	r.AUC = auc(gen, imp)
	// Candidate thresholds: just above every observed distance, plus one
	// below all of them, so each distinct accept set is tried once.
	cands := thresholds(gen, imp)
	best := -1.0
	r.EER = 1
	bestGap := math.Inf(1)
	for _, t := range cands {
		ta := countBelow(gen, t)
		fa := countBelow(imp, t)
		acc := float64(ta+len(imp)-fa) / float64(len(gen)+len(imp))
		if acc > best {
			best, r.AccuracyThreshold = acc, t
		}
		far := float64(fa) / float64(len(imp))
		frr := 1 - float64(ta)/float64(len(gen))
		if gap := math.Abs(far - frr); gap < bestGap {
			bestGap, r.EER, r.EERThreshold = gap, (far+frr)/2, t
		}
	}
	r.Accuracy = best
	return r
}

// TARAtFAR returns the true accept rate at the largest threshold whose
// false accept rate does not exceed far, and that threshold. With n
// impostor pairs, FARs below 1/n can only be met by accepting no impostor
// at all, which is what the result then reflects.
func TARAtFAR(pairs []Pair, far float64) (tar, threshold float64) {
	gen, imp := split(pairs)
	if len(gen) == 0 || len(imp) == 0 {
		return math.NaN(), math.NaN()
	}
	allowed := int(math.Floor(far * float64(len(imp))))
	// imp is sorted: accepting exactly the `allowed` closest impostors means
	// a threshold at the next impostor's distance (strict comparison).
	if allowed >= len(imp) {
		threshold = math.Inf(1)
	} else {
		threshold = imp[allowed]
		// Ties: impostors equal to imp[allowed] below it would be accepted.
		for allowed > 0 && imp[allowed-1] == threshold {
			allowed--
		}
	}
	return float64(countBelow(gen, threshold)) / float64(len(gen)), threshold
}

func split(pairs []Pair) (gen, imp []float64) {
	for _, p := range pairs {
		if math.IsNaN(p.Distance) {
			continue
		}
		if p.Same {
			gen = append(gen, p.Distance)
		} else {
			imp = append(imp, p.Distance)
		}
	}
	sort.Float64s(gen)
	sort.Float64s(imp)
	return gen, imp
}

// countBelow counts sorted values strictly below t.
func countBelow(sorted []float64, t float64) int {
	return sort.SearchFloat64s(sorted, t)
}

func thresholds(gen, imp []float64) []float64 {
	all := append(append([]float64(nil), gen...), imp...)
	sort.Float64s(all)
	out := []float64{math.Inf(-1)}
	for i, v := range all {
		if i > 0 && v == all[i-1] {
			continue
		}
		out = append(out, math.Nextafter(v, math.Inf(1)))
	}
	return out
}

// auc is the Mann-Whitney statistic on sorted genuine and impostor
// distances.
func auc(gen, imp []float64) float64 {
	var wins float64
	for _, g := range gen {
		lo := sort.SearchFloat64s(imp, g)                              // impostors < g
		hi := sort.SearchFloat64s(imp, math.Nextafter(g, math.Inf(1))) // impostors <= g
		wins += float64(len(imp)-hi) + 0.5*float64(hi-lo)
	}
	return wins / float64(len(gen)*len(imp))
}
