package flashsim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/liveness"
)

// Report holds the ISO/IEC 30107-3 figures of an evaluation at the
// operating point liveness.Options define, as proportions in [0, 1]:
// BPCER, the share of genuine sequences rejected, and APCER per attack
// species, the share of its sequences accepted, each with its exact 95 %
// Clopper–Pearson interval (ClopperPearson).
type Report struct {
	NPerSpecies   int                   `json:"n_per_species"`
	Seed          int64                 `json:"seed"`
	BPCER         float64               `json:"bpcer"`
	BPCERInterval [2]float64            `json:"bpcer_interval"`
	APCER         map[string]float64    `json:"apcer"`
	Intervals     map[string][2]float64 `json:"intervals"`
	// Skipped names the species left out of an evaluation of all of them
	// and why (a single subject, no Comparer).
	Skipped map[string]string `json:"skipped,omitempty"`
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
	// Rate is the species' error rate: BPCER (rejected) for genuine,
	// APCER (accepted) for an attack; Interval its 95 % Clopper–Pearson
	// interval.
	Rate     float64
	Interval [2]float64
	// Checks holds, per check name, how many sequences failed it and the
	// spread of its measured value. With a Comparer, CheckComparison
	// holds the comparison of the best frame with the victim's
	// reference, for the genuine and mask species.
	Checks map[string]CheckStats
	// Reasons counts the deciding (lowest-scoring failed) check of each
	// rejected sequence.
	Reasons map[string]int
}

// CheckComparison names, in SpeciesResult.Checks and Reasons, the
// comparison of a sequence's best frame with the victim's reference: its
// value is the confidence (0–100), its threshold the FAR 1e-3 one.
const CheckComparison = "comparison"

// CheckStats summarises one check over a species' sequences.
type CheckStats struct {
	Failed int
	// Quantiles of the measured value at 0, 1, 5, 50, 95, 99 and 100 %
	// (NaN values, from checks that could not measure, left out).
	Quantiles [7]float64
	values    []float64
}

// Comparer is the face comparison the Mask species needs: a mask passes
// the reflection analysis (it has real relief), and only the comparison
// with the victim's reference can stop it. *face.Engine implements it.
type Comparer interface {
	Embed(img *face.RGB, f face.Face, tm *face.Timings) face.Descriptor
	Compare(a, b face.Descriptor) (face.Match, error)
	Calibration() face.Calibration
}

// compareFAR is the false-accept rate whose threshold a comparison must
// reach: the most lenient one the API publishes, which favours the mask.
const compareFAR = "1e-3"

// EvalOptions select what an evaluation renders.
type EvalOptions struct {
	// Species to evaluate (any order; reported in Species' order); nil
	// means every species that can be rendered: with fewer than two
	// subjects FaceSwap and Mask are left out, without a Comparer Mask
	// is, and Report.Skipped says so. Naming one that cannot be
	// evaluated is an error.
	Species []string
	// Comparer compares the best frame of Mask (and, for reference,
	// Genuine) sequences with the victim's reference: the embedding of
	// the victim's face in its source photo (Subject.Reference).
	Comparer Comparer
	// Progress, if not nil, is called after each sequence with the
	// number done and the total (from one goroutine at a time).
	Progress func(done, total int)
}

// quantileLevels are the levels CheckStats.Quantiles reports.
var quantileLevels = [7]float64{0, 0.01, 0.05, 0.5, 0.95, 0.99, 1}

// SampleSubjects loads the face engine from the models folder dir and
// returns every significant face of its sample photos (face.SamplePhoto),
// prepared for rendering: the subjects of the tests and of the default
// evaluation.
func SampleSubjects(dir string) ([]*Subject, error) {
	eng, err := face.Load(os.DirFS(dir), face.Config{})
	if err != nil {
		return nil, err
	}
	photos := make([]*face.RGB, 0, face.SamplePhotos)
	for n := 1; n <= face.SamplePhotos; n++ {
		data, err := os.ReadFile(face.SamplePhoto(dir, n))
		if err != nil {
			return nil, err
		}
		img, _, err := imaging.Decode(data, 4096)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", face.SamplePhoto(dir, n), err)
		}
		photos = append(photos, face.FromImage(img))
	}
	return Subjects(eng, photos), nil
}

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

// Evaluate renders n sequences of every species eo selects from the faces
// in photos, scores each with liveness.Analyze under opt and returns the
// error rates; eng finds the faces and, unless eo.Comparer is set, is the
// Comparer. Sequence i of a species is drawn from a PCG generator seeded
// with seed and a hash of (species, i), so results do not depend on how
// the work is scheduled or which other species are evaluated; subjects
// are taken in turn, and the colour count cycles through
// liveness.ColorCounts at random.
func Evaluate(ctx context.Context, eng *face.Engine, photos []*face.RGB, n int, seed int64, opt liveness.Options, eo EvalOptions) (Report, error) {
	if eo.Comparer == nil {
		eo.Comparer = eng
	}
	return EvaluateSubjects(ctx, Subjects(eng, photos), n, seed, opt, eo)
}

// EvaluateSubjects is Evaluate on prepared subjects.
func EvaluateSubjects(ctx context.Context, subjects []*Subject, n int, seed int64, opt liveness.Options, eo EvalOptions) (Report, error) {
	rep := Report{NPerSpecies: n, Seed: seed, APCER: map[string]float64{}, Intervals: map[string][2]float64{}, Subjects: len(subjects)}
	if len(subjects) == 0 {
		return rep, errors.New("liveness: no faces to render")
	}
	species, skipped, err := selectSpecies(eo, len(subjects))
	if err != nil {
		return rep, err
	}
	if len(skipped) > 0 {
		rep.Skipped = skipped
	}
	ev := &evaluator{subjects: subjects, seed: seed, opt: opt, cmp: eo.Comparer}
	if ev.cmp != nil && (slices.Contains(species, Mask) || slices.Contains(species, Genuine)) {
		if err := ev.references(ctx); err != nil {
			return rep, err
		}
	}
	type job struct{ sp, i int }
	type result struct {
		sp int
		r  outcome
	}
	jobs := make(chan job)
	results := make(chan result)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- result{j.sp, ev.run(species[j.sp], j.i)}
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
	tallies := make([]*Tally, len(species))
	for i := range tallies {
		tallies[i] = NewTally(species[i])
	}
	done, total := 0, n*len(species)
	for r := range results {
		checks := r.r.v.Checks
		if c := r.r.compared; c != nil {
			checks = append(slices.Clone(checks), *c)
		}
		tallies[r.sp].add(r.r.accept, r.r.reason, checks)
		done++
		if eo.Progress != nil {
			eo.Progress(done, total)
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	per := make([]SpeciesResult, len(species))
	for i, t := range tallies {
		s := t.Result()
		if s.Species == Genuine {
			rep.BPCER, rep.BPCERInterval = s.Rate, s.Interval
		} else {
			rep.APCER[s.Species] = s.Rate
			rep.Intervals[s.Species] = s.Interval
		}
		per[i] = s
	}
	rep.Species = per
	return rep, nil
}

// selectSpecies returns the species to evaluate, in report order, and
// those left out of an evaluation of all of them, with the reason.
func selectSpecies(eo EvalOptions, subjects int) ([]string, map[string]string, error) {
	why := func(sp string) string {
		switch {
		case (sp == FaceSwap || sp == Mask) && subjects < 2:
			return "needs a second person: only one face to render"
		case sp == Mask && eo.Comparer == nil:
			return "needs a face comparer for the comparison with the victim's reference"
		}
		return ""
	}
	var out []string
	skipped := map[string]string{}
	if eo.Species == nil {
		for _, info := range Species {
			if w := why(info.Name); w != "" {
				skipped[info.Name] = w
				continue
			}
			out = append(out, info.Name)
		}
		return out, skipped, nil
	}
	for _, sp := range eo.Species {
		if _, ok := SpeciesInfoOf(sp); !ok {
			return nil, nil, fmt.Errorf("liveness: unknown species %q", sp)
		}
		if w := why(sp); w != "" {
			return nil, nil, fmt.Errorf("liveness: %s %s", sp, w)
		}
	}
	for _, info := range Species {
		if slices.Contains(eo.Species, info.Name) {
			out = append(out, info.Name)
		}
	}
	return out, skipped, nil
}

// evaluator renders and scores one sequence at a time; it is shared by
// the workers and read-only once references has run.
type evaluator struct {
	subjects []*Subject
	seed     int64
	opt      liveness.Options
	cmp      Comparer
	refs     []*face.Descriptor // per subject, nil when no face was described
	minConf  float64
}

// references embeds every subject's face in its source photo and reads
// the comparison threshold.
func (ev *evaluator) references(ctx context.Context) error {
	th, ok := ev.cmp.Calibration().Thresholds()[compareFAR]
	if !ok {
		return fmt.Errorf("liveness: the comparer has no FAR %s threshold", compareFAR)
	}
	ev.minConf = th
	ev.refs = make([]*face.Descriptor, len(ev.subjects))
	for i, s := range ev.subjects {
		if err := ctx.Err(); err != nil {
			return err
		}
		img, f := s.Reference()
		if img == nil {
			continue
		}
		d := ev.cmp.Embed(img, f, nil)
		ev.refs[i] = &d
	}
	return nil
}

// outcome is one sequence's result.
type outcome struct {
	v      liveness.Verdict
	accept bool
	reason string
	// compared is the comparison with the victim's reference, as a
	// check, when one was made.
	compared *liveness.Check
}

// run renders sequence i of species and scores it.
func (ev *evaluator) run(species string, i int) outcome {
	h := fnv.New64a()
	h.Write([]byte(species))
	r := rand.New(rand.NewPCG(uint64(ev.seed), h.Sum64()^uint64(i)*0x9E3779B97F4A7C15))
	victim := i % len(ev.subjects)
	s := ev.subjects[victim]
	var other *Subject
	if len(ev.subjects) > 1 {
		other = ev.subjects[(victim+1+r.IntN(len(ev.subjects)-1))%len(ev.subjects)]
	}
	ch := Challenge(r, liveness.ColorCounts[r.IntN(len(liveness.ColorCounts))])
	seq, err := Render(r, species, ch, s, other)
	if err != nil {
		return outcome{v: liveness.Verdict{Reason: err.Error()}, reason: err.Error()}
	}
	v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, ev.opt)
	out := outcome{v: v, accept: v.Pass, reason: v.Reason}
	info, _ := SpeciesInfoOf(species)
	if ev.refs == nil || !(info.Compared || species == Genuine) {
		return out
	}
	c := liveness.Check{Name: CheckComparison, Threshold: ev.minConf, Value: math.NaN(),
		Detail: "confidence of the best frame against the victim's reference ≥ the FAR " + compareFAR + " threshold"}
	if ref := ev.refs[victim]; ref != nil && v.Best >= 0 {
		f := seq.Frames[v.Best]
		m, err := ev.cmp.Compare(ev.cmp.Embed(f.Img, *f.Face, nil), *ref)
		if err == nil {
			c.Value = m.Confidence
			c.Pass = m.Confidence >= ev.minConf
		}
	}
	out.compared = &c
	if info.Compared {
		// The mask is accepted only if it also passes for the victim.
		out.accept = v.Pass && c.Pass
		if v.Pass && !c.Pass {
			out.reason = CheckComparison
		}
	}
	return out
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
