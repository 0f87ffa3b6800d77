package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/glint-id/glint/internal/face"
)

// evalCommand measures the engine on labelled data: verification pairs
// (path_a, path_b, same) or a detection manifest (path, identity,
// face_count, ...).
type evalCommand struct {
	stdout, stderr io.Writer
	env            func(name, def string) string // Main.env
}

type stageMs struct {
	Decode    float64 `json:"decode"`
	Detect    float64 `json:"detect"`
	Landmarks float64 `json:"landmarks"`
	Embed     float64 `json:"embed,omitempty"`
}

type pairsReport struct {
	Model             string  `json:"model"`
	Detector          string  `json:"detector"`
	Pairs             int     `json:"pairs"`
	Images            int     `json:"images"`
	DetectionFailures int     `json:"detection_failures"`
	Accuracy          float64 `json:"accuracy"`
	Threshold         float64 `json:"threshold"`
	TARAtFAR1e2       float64 `json:"tar_at_far_1e-2"`
	TARAtFAR1e3       float64 `json:"tar_at_far_1e-3"`
	AUC               float64 `json:"auc"`
	EER               float64 `json:"eer"`
	MedianMs          stageMs `json:"median_ms"`
}

type detectionReport struct {
	Detector       string   `json:"detector"`
	Images         int      `json:"images"`
	ExactCount     int      `json:"images_with_labelled_count"`
	LabelledFaces  int      `json:"labelled_faces"`
	FoundFaces     int      `json:"found_faces"`
	SingleMissed   int      `json:"single_face_images_missed"`
	NoFaceDetected int      `json:"no_face_images_with_detections"`
	ReadFailures   int      `json:"read_failures"`
	MedianMs       stageMs  `json:"median_ms"`
	Mismatches     []string `json:"mismatches,omitempty"`
}

func (c *evalCommand) Run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("eval", flag.ContinueOnError)
	models := fl.String("models", defaultModels(c.env), "models `dir`")
	cfg := engineFlags(fl, c.env)
	dump := fl.String("dump", "", "also write each pair's distance to `file` (TSV: path_a, path_b, same, distance)")
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), `usage: glint eval [flags] PAIRS.tsv|MANIFEST.tsv

PAIRS.tsv lines are path_a<TAB>path_b<TAB>same (1 or 0), paths relative to
the file, header allowed: prints accuracy (best threshold), TAR at FAR 1e-2
and 1e-3, AUC and median ms per stage as one JSON object. A pair whose
image has no face counts as a rejection.

A manifest with a header naming path and face_count columns evaluates
detection instead: images whose significant-face count matches the label.

A manifest with a header naming file (or path) and mouth_occluded (0/1)
columns evaluates mouth occlusion: the share of occluded faces flagged
(mouth_occlusion_recall) and of clear faces flagged
(mouth_occlusion_false_rate); a photo without a face counts as not
flagged.`)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errUsage
	}
	rows, header, err := readTSV(fl.Arg(0))
	if err != nil {
		return err
	}
	eng, err := loadEngine(*models, *cfg)
	if err != nil {
		return err
	}
	dir := filepath.Dir(fl.Arg(0))
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if col := slices.Index(header, "mouth_occluded"); col >= 0 {
		rep, err := c.occlusion(ctx, eng, dir, rows, max(slices.Index(header, "file"), slices.Index(header, "path"), 0), col)
		if err != nil {
			return err
		}
		return enc.Encode(rep)
	}
	if col := slices.Index(header, "face_count"); col >= 0 {
		rep, err := c.detection(ctx, eng, dir, rows, slices.Index(header, "path"), col)
		if err != nil {
			return err
		}
		return enc.Encode(rep)
	}
	rep, err := c.pairs(ctx, eng, dir, rows, *dump)
	if err != nil {
		return err
	}
	return enc.Encode(rep)
}

// readTSV returns the rows of a tab-separated file and its header (nil when
// the first line is data).
func readTSV(path string) (rows [][]string, header []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		// Both formats hold an integer in their third column; a first line
		// without one is a header.
		if _, err := strconv.Atoi(strings.TrimSpace(cols[min(2, len(cols)-1)])); n == 0 && err != nil {
			header = cols
			continue
		}
		rows = append(rows, cols)
	}
	return rows, header, sc.Err()
}

type imageResult struct {
	desc   *face.Descriptor
	faces  int
	err    error
	timing face.Timings
	decode time.Duration
}

func (c *evalCommand) pairs(ctx context.Context, eng *face.Engine, dir string, rows [][]string, dump string) (*pairsReport, error) {
	pairs, paths, err := parsePairs(rows)
	if err != nil {
		return nil, err
	}
	results, err := embedImages(ctx, eng, dir, paths, c.stderr, "eval")
	if err != nil {
		return nil, err
	}
	rep := &pairsReport{Model: eng.Calibration().Model, Detector: eng.Config().Detector, Pairs: len(pairs), Images: len(paths)}
	for _, p := range paths {
		if results[p].desc == nil {
			rep.DetectionFailures++
		}
	}
	scored, err := scorePairs(eng, pairs, results)
	if err != nil {
		return nil, err
	}
	if dump != "" {
		var b strings.Builder
		b.WriteString("path_a\tpath_b\tsame\tdistance\n")
		for i, p := range pairs {
			fmt.Fprintf(&b, "%s\t%s\t%d\t%g\n", p.a, p.b, map[bool]int{false: 0, true: 1}[p.same], scored[i].Distance)
		}
		if err := os.WriteFile(dump, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
	}
	roc := face.NewROC(scored)
	rep.Accuracy, rep.Threshold, rep.AUC, rep.EER = round4(roc.Accuracy), round4(roc.AccuracyThreshold), round4(roc.AUC), round4(roc.EER)
	tar, _ := face.TARAtFAR(scored, 1e-2)
	rep.TARAtFAR1e2 = round4(tar)
	tar, _ = face.TARAtFAR(scored, 1e-3)
	rep.TARAtFAR1e3 = round4(tar)
	rep.MedianMs = medians(results, true)
	return rep, nil
}

// labelledPair is one line of a pairs file: two image paths and whether
// they show one person.
type labelledPair struct {
	a, b string
	same bool
}

// parsePairs reads the rows of a pairs file (path_a, path_b, same) and
// returns the pairs and their distinct images in order of appearance.
func parsePairs(rows [][]string) (pairs []labelledPair, paths []string, err error) {
	seen := map[string]bool{}
	for i, r := range rows {
		if len(r) < 3 {
			return nil, nil, fmt.Errorf("pairs line %d: want path_a, path_b, same", i+1)
		}
		same, err := strconv.Atoi(strings.TrimSpace(r[2]))
		if err != nil || same < 0 || same > 1 {
			return nil, nil, fmt.Errorf("pairs line %d: same must be 0 or 1, got %q", i+1, r[2])
		}
		pairs = append(pairs, labelledPair{r[0], r[1], same == 1})
		for _, p := range r[:2] {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	return pairs, paths, nil
}

// embedImages finds and embeds the largest face of each image (paths
// relative to dir), drawing progress on stderr; an image that cannot be
// read is reported there, prefixed with the command's name, and has no
// descriptor.
func embedImages(ctx context.Context, eng *face.Engine, dir string, paths []string, stderr io.Writer, name string) (map[string]*imageResult, error) {
	results := make(map[string]*imageResult, len(paths))
	bar := newProgress(stderr, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := processImage(eng, filepath.Join(dir, p), true)
		if res.err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, res.err)
		}
		results[p] = res
		bar.step()
	}
	bar.done()
	return results, nil
}

// scorePairs returns each pair's distance; a pair with an image without a
// face gets +Inf, which rejects it.
func scorePairs(eng *face.Engine, pairs []labelledPair, results map[string]*imageResult) ([]face.Pair, error) {
	scored := make([]face.Pair, 0, len(pairs))
	for _, p := range pairs {
		a, b := results[p.a].desc, results[p.b].desc
		d := math.Inf(1)
		if a != nil && b != nil {
			m, err := eng.Compare(*a, *b)
			if err != nil {
				return nil, err
			}
			d = m.Distance
		}
		scored = append(scored, face.Pair{Distance: d, Same: p.same})
	}
	return scored, nil
}

func (c *evalCommand) detection(ctx context.Context, eng *face.Engine, dir string, rows [][]string, pathCol, countCol int) (*detectionReport, error) {
	if pathCol < 0 {
		pathCol = 0
	}
	rep := &detectionReport{Detector: eng.Config().Detector}
	results := map[string]*imageResult{}
	bar := newProgress(c.stderr, len(rows))
	for i, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(r) <= max(pathCol, countCol) {
			return nil, fmt.Errorf("manifest line %d: too few columns", i+1)
		}
		want, err := strconv.Atoi(r[countCol])
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: face_count %q", i+1, r[countCol])
		}
		res := c.process(eng, filepath.Join(dir, r[pathCol]), false)
		results[r[pathCol]] = res
		bar.step()
		rep.Images++
		rep.LabelledFaces += want
		if res.err != nil {
			rep.ReadFailures++
			continue
		}
		rep.FoundFaces += res.faces
		switch {
		case res.faces == want:
			rep.ExactCount++
		default:
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: %d faces, labelled %d", r[pathCol], res.faces, want))
		}
		if want == 1 && res.faces == 0 {
			rep.SingleMissed++
		}
		if want == 0 && res.faces > 0 {
			rep.NoFaceDetected++
		}
	}
	bar.done()
	rep.MedianMs = medians(results, false)
	return rep, nil
}

type occlusionReport struct {
	Detector       string  `json:"detector"`
	Images         int     `json:"images"`
	Occluded       int     `json:"mouth_occluded"`
	Clear          int     `json:"mouth_clear"`
	NoFace         int     `json:"no_face"`
	ReadFailures   int     `json:"read_failures"`
	Recall         float64 `json:"mouth_occlusion_recall"`
	FalseRate      float64 `json:"mouth_occlusion_false_rate"`
	EyesFlagged    int     `json:"eye_occlusion_flagged"`
	EyesFlaggedClr int     `json:"eye_occlusion_flagged_mouth_clear"`
}

// occlusion measures face.MeasureOcclusion's mouth verdict on the largest
// face of each labelled image.
func (c *evalCommand) occlusion(ctx context.Context, eng *face.Engine, dir string, rows [][]string, pathCol, labelCol int) (*occlusionReport, error) {
	rep := &occlusionReport{Detector: eng.Config().Detector}
	var hit, fa int
	bar := newProgress(c.stderr, len(rows))
	for i, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(r) <= max(pathCol, labelCol) {
			return nil, fmt.Errorf("manifest line %d: too few columns", i+1)
		}
		occluded, err := strconv.Atoi(strings.TrimSpace(r[labelCol]))
		if err != nil || occluded < 0 || occluded > 1 {
			return nil, fmt.Errorf("manifest line %d: mouth_occluded must be 0 or 1, got %q", i+1, r[labelCol])
		}
		rep.Images++
		if occluded == 1 {
			rep.Occluded++
		} else {
			rep.Clear++
		}
		img, err := readRGB(filepath.Join(dir, r[pathCol]))
		bar.step()
		if err != nil {
			fmt.Fprintf(c.stderr, "eval: %v\n", err)
			rep.ReadFailures++
			continue
		}
		faces := eng.Detect(img, nil)
		if len(faces) == 0 {
			rep.NoFace++
			continue
		}
		o := face.MeasureOcclusion(img, faces[0])
		switch {
		case o.Mouth && occluded == 1:
			hit++
		case o.Mouth:
			fa++
		}
		if o.Eyes {
			rep.EyesFlagged++
			if occluded == 0 {
				rep.EyesFlaggedClr++
			}
		}
	}
	bar.done()
	rep.Recall = round4(float64(hit) / float64(max(rep.Occluded, 1)))
	rep.FalseRate = round4(float64(fa) / float64(max(rep.Clear, 1)))
	return rep, nil
}

// process is processImage, reporting an unreadable image on stderr.
func (c *evalCommand) process(eng *face.Engine, path string, embed bool) *imageResult {
	res := processImage(eng, path, embed)
	if res.err != nil {
		fmt.Fprintf(c.stderr, "eval: %v\n", res.err)
	}
	return res
}

// processImage decodes one image, finds its faces and, when embed is set,
// computes the largest face's descriptor.
func processImage(eng *face.Engine, path string, embed bool) *imageResult {
	res := &imageResult{}
	t0 := time.Now()
	img, err := readRGB(path)
	res.decode = time.Since(t0)
	if err != nil {
		res.err = err
		return res
	}
	faces := eng.Detect(img, &res.timing)
	res.faces = len(eng.Significant(faces))
	if embed && len(faces) > 0 {
		d := eng.Embed(img, faces[0], &res.timing)
		res.desc = &d
	}
	return res
}

func medians(results map[string]*imageResult, embed bool) stageMs {
	var dec, det, lm, emb []float64
	for _, r := range results {
		if r.err != nil {
			continue
		}
		dec = append(dec, ms(r.decode))
		det = append(det, ms(r.timing.Detect))
		if r.timing.Landmarks > 0 {
			lm = append(lm, ms(r.timing.Landmarks))
		}
		if embed && r.desc != nil {
			emb = append(emb, ms(r.timing.Embed))
		}
	}
	return stageMs{Decode: median(dec), Detect: median(det), Landmarks: median(lm), Embed: median(emb)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return math.Round(m*100) / 100
}

func round4(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return math.Round(v*1e4) / 1e4
}

// progress draws a one-line bar on stderr when stderr is a terminal.
type progress struct {
	w     io.Writer
	n, i  int
	on    bool
	start time.Time
}

func newProgress(w io.Writer, n int) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, n: n, on: ok && term.IsTerminal(int(f.Fd())), start: time.Now()}
}

func (p *progress) step() {
	p.i++
	if !p.on {
		return
	}
	const width = 30
	fill := width * p.i / max(p.n, 1)
	eta := time.Duration(0)
	if p.i > 0 {
		eta = time.Since(p.start) / time.Duration(p.i) * time.Duration(p.n-p.i)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  eta %s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.i, p.n, eta.Round(time.Second))
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
