package liveness

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/glint-id/glint/internal/face"
)

// Report holds the ISO/IEC 30107-3 figures of an evaluation at the
// operating point Options define, as proportions in [0, 1]: BPCER, the
// share of genuine sequences rejected, and APCER per attack species, the
// share of its sequences accepted.
type Report struct {
	NPerSpecies int                `json:"n_per_species"`
	Seed        int64              `json:"seed"`
	BPCER       float64            `json:"bpcer"`
	APCER       map[string]float64 `json:"apcer"`
	// Subjects is how many faces the sequences were rendered from.
	Subjects int `json:"-"`
	// Species breaks the results down per species, in report order
	// (genuine first).
	Species []SpeciesResult `json:"-"`
}

// SpeciesResult is one species' outcome.
type SpeciesResult struct {
	Species  string
	N        int
	Accepted int
	// Checks holds, per check name, how many sequences failed it and the
	// spread of its measured value.
	Checks map[string]CheckStats
	// Reasons counts the deciding (lowest-scoring failed) check of each
	// rejected sequence.
	Reasons map[string]int
}

// CheckStats summarises one check over a species' sequences.
type CheckStats struct {
	Failed int
	// Quantiles of the measured value at 0, 1, 5, 50, 95, 99 and 100 %
	// (NaN values, from checks that could not measure, left out).
	Quantiles [7]float64
	values    []float64
}

// quantileLevels are the levels CheckStats.Quantiles reports.
var quantileLevels = [7]float64{0, 0.01, 0.05, 0.5, 0.95, 0.99, 1}

// Subjects detects the faces in photos and prepares every significant one
// for rendering.
func Subjects(eng *face.Engine, photos []*face.RGB) []*Subject {
	var out []*Subject
	for _, p := range photos {
		for _, f := range eng.Significant(eng.Detect(p, nil)) {
			if s, err := NewSubject(p, f); err == nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// Evaluate renders n sequences of every species from the faces in photos
// (Genuine first, then AttackSpecies), scores each with Analyze under opt
// and returns the error rates. Sequence i of a species is drawn from a PCG
// generator seeded with seed and a hash of (species, i), so results do
// not depend on how the work is scheduled; subjects are taken in turn,
// and the colour count cycles through ColorCounts at random. progress, if
// not nil, is called after each sequence with the number done and the
// total (from one goroutine at a time).
func Evaluate(ctx context.Context, eng *face.Engine, photos []*face.RGB, n int, seed int64, opt Options, progress func(done, total int)) (Report, error) {
	return EvaluateSubjects(ctx, Subjects(eng, photos), n, seed, opt, progress)
}

// EvaluateSubjects is Evaluate on prepared subjects.
func EvaluateSubjects(ctx context.Context, subjects []*Subject, n int, seed int64, opt Options, progress func(done, total int)) (Report, error) {
	rep := Report{NPerSpecies: n, Seed: seed, APCER: map[string]float64{}, Subjects: len(subjects)}
	if len(subjects) == 0 {
		return rep, errors.New("liveness: no faces to render")
	}
	species := append([]string{Genuine}, AttackSpecies...)
	if len(subjects) < 2 {
		// A swap needs a second person.
		species = slices.DeleteFunc(species, func(s string) bool { return s == FaceSwap })
	}
	type job struct{ sp, i int }
	type result struct {
		sp     int
		accept bool
		v      Verdict
	}
	jobs := make(chan job)
	results := make(chan result)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				v, err := renderAndAnalyze(species[j.sp], j.i, subjects, seed, opt)
				if err != nil {
					v = Verdict{Reason: err.Error()}
				}
				results <- result{j.sp, v.Pass, v}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := 0; i < n; i++ {
			for sp := range species {
				select {
				case jobs <- job{sp, i}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	per := make([]SpeciesResult, len(species))
	for i := range per {
		per[i] = SpeciesResult{Species: species[i], Checks: map[string]CheckStats{}, Reasons: map[string]int{}}
	}
	done, total := 0, n*len(species)
	for r := range results {
		s := &per[r.sp]
		s.N++
		if r.accept {
			s.Accepted++
		} else {
			s.Reasons[r.v.Reason]++
		}
		for _, c := range r.v.Checks {
			cs := s.Checks[c.Name]
			if !c.Pass {
				cs.Failed++
			}
			if !math.IsNaN(c.Value) {
				cs.values = append(cs.values, c.Value)
			}
			s.Checks[c.Name] = cs
		}
		done++
		if progress != nil {
			progress(done, total)
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	for i := range per {
		s := &per[i]
		for name, cs := range s.Checks {
			slices.Sort(cs.values)
			for q, lv := range quantileLevels {
				cs.Quantiles[q] = quantile(cs.values, lv)
			}
			cs.values = nil
			s.Checks[name] = cs
		}
		rate := 0.0
		if s.N > 0 {
			if s.Species == Genuine {
				rate = float64(s.N-s.Accepted) / float64(s.N)
			} else {
				rate = float64(s.Accepted) / float64(s.N)
			}
		}
		if s.Species == Genuine {
			rep.BPCER = rate
		} else {
			rep.APCER[s.Species] = rate
		}
	}
	rep.Species = per
	return rep, nil
}

// renderAndAnalyze renders sequence i of species and scores it.
func renderAndAnalyze(species string, i int, subjects []*Subject, seed int64, opt Options) (Verdict, error) {
	h := fnv.New64a()
	h.Write([]byte(species))
	r := rand.New(rand.NewPCG(uint64(seed), h.Sum64()^uint64(i)*0x9E3779B97F4A7C15))
	s := subjects[i%len(subjects)]
	var other *Subject
	if len(subjects) > 1 {
		other = subjects[(i%len(subjects)+1+r.IntN(len(subjects)-1))%len(subjects)]
	}
	ch := NewChallenge(pcgReader{r}, ColorCounts[r.IntN(len(ColorCounts))])
	seq, err := Render(r, species, ch, s, other)
	if err != nil {
		return Verdict{}, err
	}
	return Analyze(seq.Challenge, seq.Shown, seq.Frames, opt), nil
}

// quantile returns the level-quantile of sorted values (NaN if none), by
// linear interpolation.
func quantile(sorted []float64, level float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	p := level * float64(len(sorted)-1)
	i := int(p)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	f := p - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}
