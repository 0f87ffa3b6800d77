package face

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/nn"
)

// The tests in this file measure detectors and embedders on the development
// set (shared/testdata/faces): the same figures `glint eval` prints, for
// model combinations the command cannot select. They run only when
// GLINT_DEVSET names the set's folder, e.g.
//
//	GLINT_DEVSET=/work/shared/testdata/faces go test ./internal/face -run Devset -v
//
// GLINT_DEVSET_DETECTORS (e.g. "ssd,blazeface-nopad") and
// GLINT_DEVSET_EMBEDDERS (e.g. "resnet,faceres-deep") narrow the
// comparisons. Decoded images are kept in memory for the whole run.

// devsetDir returns the development set's folder, skipping the test when
// GLINT_DEVSET is unset.
func devsetDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("GLINT_DEVSET")
	if dir == "" {
		tb.Skip("GLINT_DEVSET is not set")
	}
	if testing.Short() {
		tb.Skip("slow: runs over the development set")
	}
	return dir
}

// readDevTSV returns the rows of a tab-separated file after its header.
func readDevTSV(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first || strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		rows = append(rows, strings.Split(sc.Text(), "\t"))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// devImages caches decoded development images; decoding them once keeps
// the timings about the networks.
var devImages sync.Map // path → *RGB

func devImage(tb testing.TB, path string) *RGB {
	tb.Helper()
	if m, ok := devImages.Load(path); ok {
		return m.(*RGB)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	img, _, err := imaging.Decode(data, 16384)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	m := FromImage(img)
	devImages.Store(path, m)
	return m
}

// devEngine loads an engine for a detector and embedder, which may also
// be the variants Load does not offer ("blazeface-front", "faceres-deep").
// noPad turns off the context-border retry.
func devEngine(tb testing.TB, det, emb string, noPad bool) *Engine {
	tb.Helper()
	models := os.DirFS(filepath.Join(repoRoot(tb), "models"))
	cfg := Config{Detector: det, Embedder: emb}
	if det == "blazeface-front" {
		cfg.Detector = DetectorBlazeFace
	}
	if emb == "faceres-deep" {
		cfg.Embedder = EmbedderFaceRes
	}
	if noPad {
		cfg.ContextPad = -1
	}
	e, err := Load(models, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if det == "blazeface-front" {
		if e.det, err = loadHumanBlazeFace(models, BlazeFaceFrontModel); err != nil {
			tb.Fatal(err)
		}
	}
	if emb == "faceres-deep" {
		if e.emb, err = loadHumanFaceRes(models, FaceResDeepModel); err != nil {
			tb.Fatal(err)
		}
		e.calib.Model = "human-faceres-deep"
	}
	return e
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

// TestDevsetDetection prints, per detector, what `glint eval MANIFEST.tsv`
// prints: images whose significant-face count matches the label, faces
// found, single-face images with no face, no-face images with a face, and
// the median detection time (including the context-border retry).
func TestDevsetDetection(t *testing.T) {
	dir := devsetDir(t)
	rows := readDevTSV(t, filepath.Join(dir, "MANIFEST.tsv"))
	type config struct {
		det   string
		noPad bool
	}
	configs := []config{
		{DetectorSSD, false}, {DetectorSSD, true},
		{DetectorTiny, false}, {DetectorTiny, true},
		{DetectorBlazeFace, false}, {DetectorBlazeFace, true},
		{"blazeface-front", false}, {"blazeface-front", true},
	}
	if s := os.Getenv("GLINT_DEVSET_DETECTORS"); s != "" {
		configs = configs[:0]
		for _, d := range strings.Split(s, ",") {
			name, nopad := strings.CutSuffix(d, "-nopad")
			configs = append(configs, config{name, nopad})
		}
	}
	var labelled int
	for _, r := range rows {
		n, _ := strconv.Atoi(r[2])
		labelled += n
	}
	var report strings.Builder
	fmt.Fprintf(&report, "%d images, %d labelled faces\n", len(rows), labelled)
	fmt.Fprintf(&report, "| detector | context pad | images with labelled count | faces found | single-face missed | no-face with detections | median detect ms |\n|---|---|---|---|---|---|---|\n")
	for _, c := range configs {
		e := devEngine(t, c.det, "", c.noPad)
		var exact, found, missed, falsePos int
		var times []float64
		var mismatches []string
		for _, r := range rows {
			img := devImage(t, filepath.Join(dir, r[0]))
			want, _ := strconv.Atoi(r[2])
			var tm Timings
			n := len(e.Significant(e.Detect(img, &tm)))
			times = append(times, msOf(tm.Detect))
			found += n
			if n == want {
				exact++
			} else {
				mismatches = append(mismatches, fmt.Sprintf("%s %d/%d", r[0], n, want))
			}
			if want == 1 && n == 0 {
				missed++
			}
			if want == 0 && n > 0 {
				falsePos++
			}
		}
		pad := "on"
		if c.noPad {
			pad = "off"
		}
		fmt.Fprintf(&report, "| %s | %s | %d | %d | %d | %d | %.1f |\n", c.det, pad, exact, found, missed, falsePos, medianOf(times))
		t.Logf("%s pad %s mismatches: %s", c.det, pad, strings.Join(mismatches, ", "))
	}
	t.Log("\n" + report.String())
}

// devPairs reads pairs.tsv.
func devPairs(tb testing.TB, dir string) (pairs [][3]string, paths []string) {
	tb.Helper()
	seen := map[string]bool{}
	for _, r := range readDevTSV(tb, filepath.Join(dir, "pairs.tsv")) {
		pairs = append(pairs, [3]string{r[0], r[1], strings.TrimSpace(r[2])})
		for _, p := range r[:2] {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	return pairs, paths
}

// verification holds one embedder's results on the development pairs.
type verification struct {
	roc            ROC
	tar2, tar3     float64
	missing        int
	embedMs        float64
	genMed, impMed float64
}

// verify embeds the largest face of every image with e (faces holds each
// image's faces, largest first) and scores the pairs; a pair with a
// missing face counts as a rejection, as in `glint eval`.
func verify(tb testing.TB, dir string, e *Engine, faces map[string][]Face) verification {
	tb.Helper()
	pairs, paths := devPairs(tb, dir)
	desc := map[string]*Descriptor{}
	var v verification
	var times []float64
	for _, p := range paths {
		found := faces[p]
		if len(found) == 0 {
			v.missing++
			continue
		}
		img := devImage(tb, filepath.Join(dir, p))
		var tm Timings
		d := e.Embed(img, found[0], &tm)
		times = append(times, msOf(tm.Embed))
		desc[p] = &d
	}
	var scored []Pair
	var gen, imp []float64
	for _, p := range pairs {
		d := math.Inf(1)
		if a, b := desc[p[0]], desc[p[1]]; a != nil && b != nil {
			m, err := e.Compare(*a, *b)
			if err != nil {
				tb.Fatal(err)
			}
			d = m.Distance
		}
		same := p[2] == "1"
		scored = append(scored, Pair{Distance: d, Same: same})
		if same {
			gen = append(gen, d)
		} else {
			imp = append(imp, d)
		}
	}
	v.roc = NewROC(scored)
	v.tar2, _ = TARAtFAR(scored, 1e-2)
	v.tar3, _ = TARAtFAR(scored, 1e-3)
	v.embedMs = medianOf(times)
	v.genMed, v.impMed = medianOf(gen), medianOf(imp)
	return v
}

// devFaces runs detection (with landmarks) on every pairs image.
func devFaces(tb testing.TB, dir string, e *Engine) map[string][]Face {
	tb.Helper()
	_, paths := devPairs(tb, dir)
	out := map[string][]Face{}
	for _, p := range paths {
		out[p] = e.Detect(devImage(tb, filepath.Join(dir, p)), nil)
	}
	return out
}

func verificationRow(name, det string, v verification) string {
	return fmt.Sprintf("| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.3f / %.3f | %d | %.1f |\n",
		name, det, v.roc.Accuracy, v.roc.AccuracyThreshold, v.roc.AUC, v.roc.EER, v.tar2, v.tar3, v.genMed, v.impMed, v.missing, v.embedMs)
}

const verificationHeader = "| embedder | detector | accuracy | threshold | AUC | EER | TAR@FAR1e-2 | TAR@FAR1e-3 | median genuine / impostor distance | images without face | median embed ms |\n|---|---|---|---|---|---|---|---|---|---|---|\n"

// TestDevsetVerification prints, per embedder and detector, what `glint
// eval pairs.tsv` prints.
func TestDevsetVerification(t *testing.T) {
	dir := devsetDir(t)
	dets := []string{DetectorSSD, DetectorBlazeFace}
	embs := []string{EmbedderResNet, EmbedderFaceRes, "faceres-deep"}
	if s := os.Getenv("GLINT_DEVSET_EMBEDDERS"); s != "" {
		embs = strings.Split(s, ",")
	}
	if s := os.Getenv("GLINT_DEVSET_DETECTORS"); s != "" {
		dets = strings.Split(s, ",")
	}
	var report strings.Builder
	report.WriteString(verificationHeader)
	for _, det := range dets {
		faces := devFaces(t, dir, devEngine(t, det, "", false))
		for _, emb := range embs {
			v := verify(t, dir, devEngine(t, det, emb, false), faces)
			report.WriteString(verificationRow(emb, det, v))
		}
	}
	t.Log("\n" + report.String())
}

// landmarkError is the mean distance between two sets of 68 landmarks over
// the eye distance of ref.
func landmarkError(got, ref [68]Point) float64 {
	l, r := LeftEye.Centroid(&ref), RightEye.Centroid(&ref)
	eyes := math.Hypot(l.X-r.X, l.Y-r.Y)
	var s float64
	for i := range got {
		s += math.Hypot(got[i].X-ref[i].X, got[i].Y-ref[i].Y)
	}
	return s / 68 / eyes
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// TestDevsetBlazeLandmarkBox measures how well the 68 landmarks found from
// a converted BlazeFace box agree with those found from the SSD box, over
// a grid of conversions (see landmarkBoxFit): on the sample photos against
// face-api's reference landmarks, on the development photos with one face
// well inside the frame against landmarks from this package's SSD.
func TestDevsetBlazeLandmarkBox(t *testing.T) {
	dir := devsetDir(t)
	bf, err := loadHumanBlazeFace(os.DirFS(filepath.Join(repoRoot(t), "models")), BlazeFaceModel)
	if err != nil {
		t.Fatal(err)
	}
	ssd, marks := testSSD(t), testLandmarks(t)
	type sample struct {
		img    *RGB
		blaze  Rect
		ssd    Rect
		ref    [68]Point
		golden bool
	}
	var faces []sample
	match := func(img *RGB, s Rect, ref [68]Point, golden bool) {
		for _, d := range bf.DetectKeypoints(img, 0.5) {
			if math.Hypot(d.Box.X+d.Box.W/2-s.X-s.W/2, d.Box.Y+d.Box.H/2-s.Y-s.H/2) < s.W/3 {
				faces = append(faces, sample{img, d.Box, s, ref, golden})
				return
			}
		}
	}
	for n := 1; n <= numSamples; n++ {
		img := loadSample(t, n)
		for _, f := range loadGolden(t, n).Faces {
			match(img, f.Box.rect(), goldenPoints(f.Landmarks68), true)
		}
	}
	for _, r := range readDevTSV(t, filepath.Join(dir, "MANIFEST.tsv")) {
		if r[1] == "-" {
			continue
		}
		img := devImage(t, filepath.Join(dir, r[0]))
		dets := ssd.Detect(img, 0.5)
		// SSD boxes are clipped to the image, so faces touching the border
		// would skew the comparison.
		if len(dets) != 1 {
			continue
		}
		s := dets[0].Box
		if s.W < 40 || s.X < 2 || s.Y < 2 || s.X+s.W > float64(img.W)-2 || s.Y+s.H > float64(img.H)-2 {
			continue
		}
		match(img, s, marks.Predict(img, s), false)
	}
	var ratios [3][]float64
	var shifted []float64
	for _, f := range faces {
		ratios[0] = append(ratios[0], f.ssd.W/f.blaze.W)
		ratios[1] = append(ratios[1], f.ssd.H/f.blaze.H)
		ratios[2] = append(ratios[2], (f.ssd.Y+f.ssd.H/2-f.blaze.Y-f.blaze.H/2)/f.blaze.H)
		moved := f.ssd
		moved.X += 0.05 * moved.W
		shifted = append(shifted, landmarkError(marks.Predict(f.img, moved), f.ref))
	}
	t.Logf("%d faces; SSD/BlazeFace median width %.3f, height %.3f, centre shift %.3f of the height",
		len(faces), medianOf(ratios[0]), medianOf(ratios[1]), medianOf(ratios[2]))
	t.Logf("reference: SSD box moved right by 5%%: mean error %.4f", meanOf(shifted))
	var b strings.Builder
	b.WriteString("| w | h | dy | mean error | median | samples | development |\n|---|---|---|---|---|---|---|\n")
	fits := []landmarkBoxFit{{1, 1, 0}}
	for _, w := range []float64{0.85, 0.9, 0.95, 1} {
		for _, h := range []float64{1.1, 1.17, 1.24} {
			for _, dy := range []float64{-0.06, -0.1, -0.14} {
				fits = append(fits, landmarkBoxFit{w, h, dy})
			}
		}
	}
	for _, fit := range fits {
		bf.lmBox = fit
		var all, gold, dev []float64
		for _, f := range faces {
			e := landmarkError(marks.Predict(f.img, bf.landmarkBox(f.blaze)), f.ref)
			all = append(all, e)
			if f.golden {
				gold = append(gold, e)
			} else {
				dev = append(dev, e)
			}
		}
		fmt.Fprintf(&b, "| %.2f | %.2f | %.2f | %.4f | %.4f | %.4f | %.4f |\n", fit.w, fit.h, fit.dy, meanOf(all), medianOf(all), meanOf(gold), meanOf(dev))
	}
	t.Log("\n" + b.String())
}

// TestDevsetFaceResCrop scores the development pairs with FaceRes over a
// grid of crop geometries (see faceresGeometry), on BlazeFace's faces.
func TestDevsetFaceResCrop(t *testing.T) {
	dir := devsetDir(t)
	e := devEngine(t, DetectorBlazeFace, EmbedderFaceRes, false)
	m := e.emb.(*FaceRes)
	faces := devFaces(t, dir, e)
	var b strings.Builder
	b.WriteString(verificationHeader)
	for _, level := range []bool{false, true} {
		for _, side := range []float64{2.2, 2.5, 2.8, 3.1, 3.4} {
			for _, dy := range []float64{0, 0.18, 0.35} {
				m.geom = faceresGeometry{side: side, dy: dy, level: level}
				v := verify(t, dir, e, faces)
				b.WriteString(verificationRow(fmt.Sprintf("side %.1f, dy %.2f, level %v", side, dy, level), DetectorBlazeFace, v))
			}
		}
	}
	t.Log("\n" + b.String())
}

// TestDevsetFaceResNorm compares FaceRes distances on the raw descriptors
// (human's Euclidean distance) with distances on L2-normalised ones (what
// Embed returns), on BlazeFace's faces.
func TestDevsetFaceResNorm(t *testing.T) {
	dir := devsetDir(t)
	e := devEngine(t, DetectorBlazeFace, EmbedderFaceRes, false)
	m := e.emb.(*FaceRes)
	faces := devFaces(t, dir, e)
	pairs, paths := devPairs(t, dir)
	raw := map[string][]float32{}
	var norms []float64
	for _, p := range paths {
		if len(faces[p]) == 0 {
			continue
		}
		c, side, angle := m.Region(faces[p][0].Landmarks)
		out, err := m.g.Run(map[string]*nn.Tensor{m.input: warpSquare(devImage(t, filepath.Join(dir, p)), c, side, angle, m.size)})
		if err != nil {
			t.Fatal(err)
		}
		v := out[m.desc].Data
		raw[p] = v
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		norms = append(norms, math.Sqrt(n))
	}
	normed := func(v []float32) []float32 {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(float64(x) / math.Sqrt(n))
		}
		return out
	}
	var b strings.Builder
	b.WriteString("| distance | accuracy | AUC | EER | TAR@FAR1e-2 | TAR@FAR1e-3 |\n|---|---|---|---|---|---|\n")
	for _, mode := range []string{"Euclidean, raw", "Euclidean, L2-normalised"} {
		var scored []Pair
		for _, p := range pairs {
			a, c := raw[p[0]], raw[p[1]]
			d := math.Inf(1)
			if a != nil && c != nil {
				if mode != "Euclidean, raw" {
					a, c = normed(a), normed(c)
				}
				d = euclid(a, c)
			}
			scored = append(scored, Pair{Distance: d, Same: p[2] == "1"})
		}
		roc := NewROC(scored)
		t2, _ := TARAtFAR(scored, 1e-2)
		t3, _ := TARAtFAR(scored, 1e-3)
		fmt.Fprintf(&b, "| %s | %.4f | %.4f | %.4f | %.4f | %.4f |\n", mode, roc.Accuracy, roc.AUC, roc.EER, t2, t3)
	}
	slices.Sort(norms)
	t.Logf("descriptor norms: min %.2f, median %.2f, max %.2f", norms[0], norms[len(norms)/2], norms[len(norms)-1])
	t.Log("\n" + b.String())
}
