package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/glint-id/glint/internal/face"
)

// calibrateCommand measures the embedding model's calibration (the
// confidence mapping and the FAR thresholds) on labelled data; see
// docs/calibration.md.
type calibrateCommand struct {
	stdout, stderr io.Writer
	env            func(name, def string) string // Main.env
}

// imageExts are the file name extensions --identities reads as images.
var imageExts = []string{".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}

func (c *calibrateCommand) Run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	fl.SetOutput(c.stderr)
	models := fl.String("models", defaultModels(c.env), "models `dir`")
	cfg := engineFlags(fl, c.env)
	identities := fl.String("identities", "", "form every pair among the images of `dir`, one sub-folder per person")
	exclude := fl.String("exclude", "group,noface", "with --identities: comma-separated sub-folders that are not people")
	asJSON := fl.Bool("json", false, "print the calibration document instead of the table")
	out := fl.String("out", "", "write the calibration document to `file` (for --calibration or GLINT_CALIBRATION)")
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), `usage: glint calibrate [flags] PAIRS.tsv
       glint calibrate [flags] --identities DIR

Measures the confidence mapping and the distance and confidence thresholds
at FAR 1e-3 to 1e-6 of the embedding model on labelled data, and prints
them with the number of impostor pairs behind each figure.

PAIRS.tsv is the format glint eval reads (path_a, path_b, same; paths
relative to the file), or a file written by glint eval --dump, whose
distance column is used as it is (no image is read). --identities DIR
pairs every image of DIR/<person>/ with every other: all genuine and all
impostor pairs; images a DIR/MANIFEST.tsv labels with identity "-" are
left out too. Pairs with an image without a face are skipped.

A threshold is "empirical" when impostor pairs × FAR reaches 10, and
otherwise "extrapolated" from a fit of the lowest impostor distances.`)
		fl.PrintDefaults()
	}
	pos, err := parseFlags(fl, args)
	if err != nil {
		return err
	}
	want := 1 // PAIRS.tsv
	if *identities != "" {
		want = 0
	}
	if len(pos) != want {
		return usageError(fl, "give either PAIRS.tsv or --identities DIR")
	}

	var (
		pairs []face.Pair
		src   face.CalibrationSource
		model string
	)
	switch {
	case *identities != "":
		paths, person, err := listIdentities(*identities, strings.Split(*exclude, ","))
		if err != nil {
			return err
		}
		eng, err := loadEngine(*models, *cfg)
		if err != nil {
			return err
		}
		model = eng.Calibration().Model
		src.Data, src.Detector = filepath.Base(filepath.Clean(*identities))+"/", eng.Config().Detector
		pairs, err = c.identityPairs(ctx, eng, *identities, paths, person, &src)
		if err != nil {
			return err
		}
	default:
		rows, header, err := readTSV(pos[0])
		if err != nil {
			return err
		}
		src.Data = filepath.Base(pos[0])
		if col := slices.Index(header, "distance"); col >= 0 {
			// Distances from glint eval --dump. The dump does not name
			// its model: it is the one --embedder selects, which must be
			// the one the dump was made with.
			def, err := face.DefaultCalibration(cfg.Embedder)
			if err != nil {
				return err
			}
			model = def.Model
			if pairs, err = dumpPairs(rows, col); err != nil {
				return fmt.Errorf("%s: %w", pos[0], err)
			}
			break
		}
		eng, err := loadEngine(*models, *cfg)
		if err != nil {
			return err
		}
		model, src.Detector = eng.Calibration().Model, eng.Config().Detector
		lp, paths, err := parsePairs(rows)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		results, err := embedImages(ctx, eng, filepath.Dir(pos[0]), paths, c.stderr, "calibrate")
		if err != nil {
			return err
		}
		if pairs, err = scorePairs(eng, lp, results); err != nil {
			return err
		}
		src.Images = countEmbedded(results)
	}

	src.Date = time.Now().UTC().Format(time.DateOnly)
	src.Command = "glint calibrate " + strings.Join(args, " ")
	cal, err := face.Calibrate(model, pairs, src)
	if err != nil {
		return err
	}

	doc, err := json.MarshalIndent(cal, "", "  ")
	if err != nil {
		return err
	}
	doc = append(doc, '\n')
	if *out != "" {
		if err := os.WriteFile(*out, doc, 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		_, err := c.stdout.Write(doc)
		return err
	}
	return writeCalibrationTable(c.stdout, cal)
}

// identityPairs embeds the images (paths relative to dir, person[path]
// showing whom) and scores every pair of them, filling the image and
// people counts of src.
func (c *calibrateCommand) identityPairs(ctx context.Context, eng *face.Engine, dir string, paths []string, person map[string]string, src *face.CalibrationSource) ([]face.Pair, error) {
	results, err := embedImages(ctx, eng, dir, paths, c.stderr, "calibrate")
	if err != nil {
		return nil, err
	}
	src.Images = countEmbedded(results)
	people := map[string]bool{}
	for _, p := range paths {
		if results[p].desc != nil {
			people[person[p]] = true
		}
	}
	src.Identities = len(people)
	pairs := make([]face.Pair, 0, len(paths)*(len(paths)-1)/2)
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			d := math.Inf(1) // skipped by Calibrate: an image without a face
			if da, db := results[a].desc, results[b].desc; da != nil && db != nil {
				m, err := eng.Compare(*da, *db)
				if err != nil {
					return nil, err
				}
				d = m.Distance
			}
			pairs = append(pairs, face.Pair{Distance: d, Same: person[a] == person[b]})
		}
	}
	return pairs, nil
}

// listIdentities returns the images of dir/<person>/ (paths relative to
// dir, sorted) and the person of each. Sub-folders named in exclude, and
// images dir/MANIFEST.tsv (when there is one) labels with identity "-",
// are not people's photos.
func listIdentities(dir string, exclude []string) (paths []string, person map[string]string, err error) {
	notPerson := map[string]bool{}
	if rows, header, err := readTSV(filepath.Join(dir, "MANIFEST.tsv")); err == nil {
		pc, ic := slices.Index(header, "path"), slices.Index(header, "identity")
		for _, r := range rows {
			if pc >= 0 && ic >= 0 && max(pc, ic) < len(r) && r[ic] == "-" {
				notPerson[filepath.ToSlash(r[pc])] = true
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	person = map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || slices.Contains(exclude, name) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			rel := name + "/" + f.Name()
			if f.IsDir() || !slices.Contains(imageExts, strings.ToLower(filepath.Ext(f.Name()))) || notPerson[rel] {
				continue
			}
			paths = append(paths, rel)
			person[rel] = name
		}
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("%s: no images in person sub-folders", dir)
	}
	return paths, person, nil
}

// dumpPairs reads the rows of a glint eval --dump file; col is the
// distance column.
func dumpPairs(rows [][]string, col int) ([]face.Pair, error) {
	pairs := make([]face.Pair, 0, len(rows))
	for i, r := range rows {
		if len(r) <= max(2, col) {
			return nil, fmt.Errorf("line %d: want path_a, path_b, same, distance", i+2)
		}
		same, err := strconv.Atoi(strings.TrimSpace(r[2]))
		if err != nil || same < 0 || same > 1 {
			return nil, fmt.Errorf("line %d: same must be 0 or 1, got %q", i+2, r[2])
		}
		d, err := strconv.ParseFloat(strings.TrimSpace(r[col]), 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: distance: %w", i+2, err)
		}
		pairs = append(pairs, face.Pair{Distance: d, Same: same == 1})
	}
	return pairs, nil
}

func countEmbedded(results map[string]*imageResult) int {
	n := 0
	for _, r := range results {
		if r.desc != nil {
			n++
		}
	}
	return n
}

// writeCalibrationTable prints a calibration for a person: where it comes
// from, the mapping, and one row per FAR.
func writeCalibrationTable(w io.Writer, c face.Calibration) error {
	s := c.Source
	var b strings.Builder
	fmt.Fprintf(&b, "model %s", c.Model)
	if s.Detector != "" {
		fmt.Fprintf(&b, ", detector %s", s.Detector)
	}
	fmt.Fprintf(&b, "; data %s", s.Data)
	if s.Images > 0 {
		fmt.Fprintf(&b, ": %d images", s.Images)
		if s.Identities > 0 {
			fmt.Fprintf(&b, " of %d people", s.Identities)
		}
	}
	fmt.Fprintf(&b, "\npairs: %d genuine, %d impostor, %d skipped (an image without a face)\n", s.GenuinePairs, s.ImpostorPairs, s.SkippedPairs)
	if g := s.Genuine; g != nil {
		fmt.Fprintf(&b, "separation: EER %.4f at distance %.4f, best accuracy %.4f at %.4f, AUC %.4f, median genuine distance %.4f\n",
			g.EER, g.EERDistance, g.Accuracy, g.AccuracyDistance, g.AUC, g.MedianDistance)
	}
	fmt.Fprintf(&b, "closest impostor pair: distance %.4f\n", s.ClosestImpostor)
	fmt.Fprintf(&b, "confidence = 100 / (1 + exp((distance - %g) / %g))\n\n", c.Threshold, c.Scale)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAR\tdistance\tconfidence\timpostor pairs\timpostors accepted\tmethod\tTAR\t95% interval (distance)")
	for _, k := range face.FARs {
		t := c.FAR[k]
		tar, interval := "-", "-"
		if t.TAR != nil {
			tar = fmt.Sprintf("%.4f", *t.TAR)
		}
		if t.DistanceInterval != nil {
			interval = fmt.Sprintf("%.4f-%.4f", t.DistanceInterval[0], t.DistanceInterval[1])
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%.2f\t%d\t%d\t%s\t%s\t%s\n", k, t.Distance, t.Confidence, t.ImpostorPairs, t.ImpostorsAccepted, t.Method, tar, interval)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	b.Reset()
	if tl := c.Tail; tl != nil {
		fmt.Fprintf(&b, "\nextrapolated: fewer than %d impostor pairs expected to be accepted (impostor pairs x FAR), so the\n"+
			"distance comes from an exponential fit of the %d lowest impostor distances (start %.4f, scale %.4f);\n"+
			"the interval counts only the fit's sampling error, not whether the tail is exponential.\n",
			face.MinEmpiricalImpostors, tl.Pairs, tl.Start, tl.Scale)
		var need []string
		for _, k := range face.FARs {
			if c.FAR[k].Method == face.MethodExtrapolated {
				far, _ := strconv.ParseFloat(k, 64)
				need = append(need, fmt.Sprintf("%s: %.0f", k, math.Ceil(face.MinEmpiricalImpostors/far)))
			}
		}
		fmt.Fprintf(&b, "Impostor pairs needed to read the threshold off the data instead: %s.\n", strings.Join(need, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
