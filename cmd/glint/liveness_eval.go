package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
)

// livenessEvalCommand renders flash-liveness sequences from face photos,
// genuine and attacks, and reports the ISO/IEC 30107-3 error rates of the
// reflection analysis.
type livenessEvalCommand struct {
	stdout, stderr io.Writer
	env            func(name, def string) string // Main.env
}

func (c *livenessEvalCommand) Run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("liveness-eval", flag.ContinueOnError)
	fl.SetOutput(c.stderr)
	n := fl.Int("n", 100, "sequences per species")
	seed := fl.Int64("seed", 1, "random `seed`; the same seed renders the same sequences")
	asJSON := fl.Bool("json", false, "print one JSON object: n_per_species, seed, bpcer, bpcer_interval, apcer and intervals per species")
	speciesList := fl.String("species", "", "comma-separated `species` to evaluate (default all)")
	models := fl.String("models", defaultModels(c.env), "models `dir`")
	recordings := fl.String("recordings", "", "replay the labelled attempts exported under this `directory` (glint recordings export) through the current analysis instead of rendering sequences")
	calibration := fl.String("calibration", c.env("GLINT_CALIBRATION", ""), "with --recordings: the calibration `file` serve runs with (env GLINT_CALIBRATION)")
	names := make([]string, 0, len(flashsim.Species))
	for _, s := range flashsim.Species {
		names = append(names, s.Name)
	}
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), `usage: glint liveness-eval [flags] [IMAGE...]

Renders N flash-liveness sequences per species from the faces in the
images (every face found is a subject; default: the sample photos in the
models folder) and scores them with the reflection analysis. Species:
`+strings.Join(names, ", ")+`.
Prints BPCER (genuine sequences rejected) and APCER per attack species
(attack sequences accepted) with their exact 95 % Clopper–Pearson
intervals, in per cent (--json: proportions), at the default operating
point, and whether the physics is expected to catch each attack or which
defence stops it instead. A mask counts as accepted only when its best
frame also matches the victim's reference photo at the FAR 1e-3
threshold. See docs/liveness.md for what the simulator assumes.`)
		fl.PrintDefaults()
	}
	images, err := parseFlags(fl, args)
	if err != nil {
		return err
	}
	if *recordings != "" {
		if len(images) > 0 {
			return usageError(fl, "--recordings takes no images")
		}
		return c.replayRecordings(ctx, *recordings, *models, *calibration, *asJSON)
	}
	if *n <= 0 {
		return usageError(fl, "-n must be positive")
	}
	var species []string
	if *speciesList != "" {
		for _, name := range strings.Split(*speciesList, ",") {
			name = strings.TrimSpace(name)
			if _, ok := flashsim.SpeciesInfoOf(name); !ok {
				return usageError(fl, "unknown species %q", name)
			}
			if !slices.Contains(species, name) {
				species = append(species, name)
			}
		}
	}
	if len(images) == 0 {
		for n := 1; n <= face.SamplePhotos; n++ {
			images = append(images, face.SamplePhoto(*models, n))
		}
	}
	eng, err := loadEngine(*models, face.Options{})
	if err != nil {
		return err
	}
	photos := make([]*face.RGB, 0, len(images))
	for _, path := range images {
		img, err := readRGB(path)
		if err != nil {
			return err
		}
		photos = append(photos, img)
	}
	start := time.Now()
	var bar *progress
	rep, err := flashsim.Evaluate(ctx, eng, photos, *n, *seed, liveness.Options{}, flashsim.EvalOptions{
		Species: species,
		Progress: func(done, total int) {
			if bar == nil {
				bar = newProgress(c.stderr, total)
			}
			bar.step()
		},
	})
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return err
	}
	if *asJSON {
		out, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", out)
		return err
	}
	c.printReport(rep, time.Since(start))
	return nil
}

// printReport writes the per-species table: the error rate with its
// interval and what stops the species, then the checks that rejected
// sequences and the spread of each check's value, for people tuning the
// analysis.
func (c *livenessEvalCommand) printReport(rep flashsim.Report, took time.Duration) {
	w := c.stdout
	fmt.Fprintf(w, "%d sequences per species from %d faces, seed %d, %s\n\n", rep.NPerSpecies, rep.Subjects, rep.Seed, took.Round(time.Second))
	fmt.Fprintf(w, "%-16s %5s %8s %8s  %-18s  %s\n", "species", "n", "accepted", "rate", "95 % CI", "caught by physics")
	pct := func(x float64) string { return strconv.FormatFloat(100*x, 'f', 2, 64) }
	for _, s := range rep.Species {
		info, _ := flashsim.SpeciesInfoOf(s.Species)
		label, caught := "BPCER", "-"
		switch {
		case !info.Attack:
		case info.Caught:
			label, caught = "APCER", "yes ("+strings.Join(info.Checks, ", ")+")"
		default:
			label, caught = "APCER", "no (defence: "+info.Defence+")"
		}
		ci := "[" + pct(s.Interval[0]) + ", " + pct(s.Interval[1]) + "] %"
		fmt.Fprintf(w, "%-16s %5d %8d %7s%%  %-18s  %s %s\n", s.Species, s.N, s.Accepted, pct(s.Rate), ci, label, caught)
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintln(w)
		skipped := make([]string, 0, len(rep.Skipped))
		for name := range rep.Skipped {
			skipped = append(skipped, name)
		}
		slices.Sort(skipped)
		for _, name := range skipped {
			fmt.Fprintf(w, "skipped %s: %s\n", name, rep.Skipped[name])
		}
	}
	fmt.Fprintf(w, "\nrejections by deciding check:\n")
	for _, s := range rep.Species {
		reasons := make([]string, 0, len(s.Reasons))
		for name, k := range s.Reasons {
			reasons = append(reasons, fmt.Sprintf("%s %d", name, k))
		}
		slices.Sort(reasons)
		fmt.Fprintf(w, "  %-16s %s\n", s.Species, strings.Join(reasons, ", "))
	}
	fmt.Fprintf(w, "\ncheck values (quantiles 0, 1, 5, 50, 95, 99, 100 %%) and sequences failing each:\n")
	for _, s := range rep.Species {
		fmt.Fprintf(w, "%s\n", s.Species)
		writeCheckStats(w, s.Checks)
	}
}

// writeCheckStats writes one line per check, in name order: how many
// sequences it failed and its value's quantiles (CheckStats.Quantiles), "-"
// where it measured nothing.
func writeCheckStats(w io.Writer, checks map[string]flashsim.CheckStats) {
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		cs := checks[name]
		q := make([]string, len(cs.Quantiles))
		for i, v := range cs.Quantiles {
			if math.IsNaN(v) {
				q[i] = "-"
			} else {
				q[i] = strconv.FormatFloat(v, 'f', 3, 64)
			}
		}
		fmt.Fprintf(w, "  %-11s fail %5d  %s\n", name, cs.Failed, strings.Join(q, " "))
	}
}
