package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glint-id/glint/internal/face"
)

// writeDump writes a glint eval --dump file with n impostor distances
// spread over a lower tail like the development set's (exponential below
// 0.7) and a few genuine ones, plus one pair whose image had no face.
func writeDump(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("path_a\tpath_b\tsame\tdistance\n")
	for i := range n {
		q := (float64(i) + 0.5) / float64(n)
		d := 0.7 + 0.5*(q-0.05)
		if q < 0.05 {
			d = 0.7 + 0.03*math.Log(q/0.05)
		}
		fmt.Fprintf(&b, "a%d.jpg\tb%d.jpg\t0\t%g\n", i, i, d)
	}
	for i := range 40 {
		fmt.Fprintf(&b, "a%d.jpg\tc%d.jpg\t1\t%g\n", i, i, 0.2+0.01*float64(i))
	}
	b.WriteString("x.jpg\ty.jpg\t1\t+Inf\n")
	path := filepath.Join(t.TempDir(), "dump.tsv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCalibrateDump runs glint calibrate on distances from a dump file: no
// model is loaded.
func TestCalibrateDump(t *testing.T) {
	t.Parallel()
	dump := writeDump(t, 3000)
	out := filepath.Join(t.TempDir(), "cal.json")
	stdout := mustRun(t, nil, "calibrate", "--json", "--out", out, dump)
	c, err := face.ParseCalibration([]byte(stdout))
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	s := c.Source
	if c.Model != "face-api-resnet128@1.7.15" || s.Data != "dump.tsv" || s.ImpostorPairs != 3000 || s.GenuinePairs != 40 ||
		s.SkippedPairs != 1 || s.Date == "" || !strings.HasPrefix(s.Command, "glint calibrate --json") {
		t.Errorf("model %q, source %+v", c.Model, s)
	}
	for _, k := range face.FARs {
		if th := c.FAR[k]; th.Method != face.MethodExtrapolated || th.ImpostorPairs != 3000 {
			t.Errorf("%s: %+v, want extrapolated from 3000 pairs", k, th)
		}
	}
	if written, err := os.ReadFile(out); err != nil || string(written) != stdout {
		t.Errorf("--out file differs from --json output (%v)", err)
	}
	if _, err := face.LoadCalibration(out); err != nil {
		t.Error(err)
	}

	table := mustRun(t, nil, "calibrate", "--embedder", "faceres", dump)
	for _, want := range []string{
		"model human-faceres@3.3.6; data dump.tsv",
		"pairs: 40 genuine, 3000 impostor, 1 skipped",
		"FAR   distance  confidence  impostor pairs  impostors accepted  method",
		"1e-3  ", "1e-6  ", " 90.00 ", "extrapolated",
		"exponential fit of the 55 lowest impostor distances",
		"1e-6: 10000000",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestCalibrateErrors(t *testing.T) {
	t.Parallel()
	if _, _, err := run(t, nil, "calibrate"); !errors.Is(err, errUsage) {
		t.Errorf("no data: %v, want a usage error", err)
	}
	if _, _, err := run(t, nil, "calibrate", "--identities", t.TempDir(), "pairs.tsv"); !errors.Is(err, errUsage) {
		t.Errorf("pairs and identities: %v, want a usage error", err)
	}
	if _, _, err := run(t, nil, "calibrate", writeDump(t, 50)); !errors.Is(err, face.ErrTooFewPairs) {
		t.Errorf("50 impostor pairs: %v, want ErrTooFewPairs", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.tsv")
	if err := os.WriteFile(bad, []byte("path_a\tpath_b\tsame\tdistance\na\tb\t0\tfar\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, nil, "calibrate", bad); err == nil || !strings.Contains(err.Error(), "line 2: distance") {
		t.Errorf("bad distance: %v", err)
	}
	if _, _, err := run(t, nil, "calibrate", "--identities", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("empty identities folder: %v", err)
	}
}

// TestCalibrateImages runs glint calibrate on images with the real
// engine: faces cut from the models' sample photos, each face a "person"
// with two pictures (the crop and its mirror image). The identities folder
// and a pairs file listing the same pairs must give the same calibration,
// and the result installs with --calibration only on its own model.
func TestCalibrateImages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	models, err := filepath.Abs(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(face.SamplePhoto(models, 1)); err != nil {
		t.Skip("models missing (run `make models`)")
	}
	eng, err := loadEngine(models, face.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for n := 1; n <= 3; n++ {
		src := face.SamplePhoto(models, n)
		img, err := readRGB(src)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range eng.Detect(img, nil) {
			// Three times the box, so the detector sees some context.
			b := f.Box
			r := image.Rect(int(b.X-b.W), int(b.Y-b.H), int(b.X+2*b.W), int(b.Y+2*b.H)).Intersect(image.Rect(0, 0, img.W, img.H))
			crop := img.Crop(face.Rect{X: float64(r.Min.X), Y: float64(r.Min.Y), W: float64(r.Dx()), H: float64(r.Dy())}).RGBA()
			person := fmt.Sprintf("p%d_%d", n, i)
			mirror := image.NewRGBA(crop.Rect)
			for y := crop.Rect.Min.Y; y < crop.Rect.Max.Y; y++ {
				for x := crop.Rect.Min.X; x < crop.Rect.Max.X; x++ {
					mirror.Set(crop.Rect.Max.X-1-(x-crop.Rect.Min.X), y, crop.At(x, y))
				}
			}
			for j, m := range []image.Image{crop, mirror} {
				rel := fmt.Sprintf("%s/%d.png", person, j)
				writeImage(t, filepath.Join(dir, rel), m)
				paths = append(paths, rel)
			}
		}
	}
	// Not people: a group folder, and an image the manifest marks.
	writeImage(t, filepath.Join(dir, "group", "g.png"), image.NewRGBA(image.Rect(0, 0, 8, 8)))
	writeImage(t, filepath.Join(dir, "p1_0", "poster.png"), image.NewRGBA(image.Rect(0, 0, 8, 8)))
	manifest := "path\tidentity\tface_count\np1_0/poster.png\t-\t0\n"
	var pairs strings.Builder
	pairs.WriteString("path_a\tpath_b\tsame\n")
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			same := 0
			if filepath.Dir(a) == filepath.Dir(b) {
				same = 1
			}
			fmt.Fprintf(&pairs, "%s\t%s\t%d\n", a, b, same)
		}
	}
	for name, text := range map[string]string{"MANIFEST.tsv": manifest, "pairs.tsv": pairs.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	byIdentity := mustRun(t, nil, "calibrate", "--models", models, "--json", "--identities", dir)
	c, err := face.ParseCalibration([]byte(byIdentity))
	if err != nil {
		t.Fatalf("%v\n%s", err, byIdentity)
	}
	s := c.Source
	n := len(paths)
	if s.Images != n || s.Identities != n/2 || s.Detector != "ssd" || s.GenuinePairs+s.ImpostorPairs+s.SkippedPairs != n*(n-1)/2 {
		t.Errorf("%d images: source %+v", n, s)
	}
	byPairs := mustRun(t, nil, "calibrate", "--models", models, "--json", filepath.Join(dir, "pairs.tsv"))
	p, err := face.ParseCalibration([]byte(byPairs))
	if err != nil {
		t.Fatal(err)
	}
	if p.Threshold != c.Threshold || p.Scale != c.Scale || p.FAR["1e-4"].Distance != c.FAR["1e-4"].Distance || p.Source.ImpostorPairs != s.ImpostorPairs {
		t.Errorf("pairs file and identities disagree:\n%s\n%s", byPairs, byIdentity)
	}

	// The calibration installs on its own model only.
	cal := filepath.Join(t.TempDir(), "cal.json")
	if err := os.WriteFile(cal, []byte(byIdentity), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, paths[0]), filepath.Join(dir, paths[1])
	var res compareResult
	if err := json.Unmarshal([]byte(mustRun(t, nil, "compare", "--models", models, "--calibration", cal, a, b)), &res); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Thresholds) != fmt.Sprint(c.Thresholds()) {
		t.Errorf("compare with --calibration: thresholds %v, want the file's %v", res.Thresholds, c.Thresholds())
	}
	if _, _, err := run(t, nil, "compare", "--models", models, "--embedder", "faceres", "--calibration", cal, a, b); !errors.Is(err, face.ErrCalibrationModel) {
		t.Errorf("FaceRes engine with a ResNet calibration: %v, want ErrCalibrationModel", err)
	}
}

func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
