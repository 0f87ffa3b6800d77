package face

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The occlusion development set (shared/testdata/occlusion: MANIFEST.tsv
// with file, mouth_occluded, source, blob) is split by the blob id's last
// hex digit: 0–7 fit the mouth classifier, 8–f hold it out. Run
//
//	GLINT_DEVSET=/work/shared/testdata/occlusion go test ./internal/face -run DevsetOcclusion -v
//
// to print the features' fit (the constants of occlusion.go) and the
// figures on each half; `glint eval` prints the same recall and false rate
// on any manifest with a mouth_occluded column.

type occlusionSample struct {
	file     string
	occluded bool
	fit      bool
	found    bool
	feat     occlusionFeatures
	occ      Occlusion
}

func occlusionDevset(t *testing.T) []occlusionSample {
	dir := devsetDir(t)
	rows := readDevTSV(t, filepath.Join(dir, "MANIFEST.tsv"))
	det := os.Getenv("GLINT_DEVSET_DETECTOR")
	if det == "" {
		det = DetectorSSD
	}
	// GLINT_DEVSET_CACHE names a folder keeping each detector's faces
	// between runs, which makes refitting the features quick.
	cache := map[string][]Face{}
	cacheFile := ""
	if d := os.Getenv("GLINT_DEVSET_CACHE"); d != "" {
		cacheFile = filepath.Join(d, "occlusion-"+det+".json")
		if data, err := os.ReadFile(cacheFile); err == nil {
			if err := json.Unmarshal(data, &cache); err != nil {
				t.Fatal(err)
			}
		}
	}
	var e *Engine
	var out []occlusionSample
	for _, r := range rows {
		// The blobs were drawn with a leading 0: the last digit splits.
		s := occlusionSample{file: r[0], occluded: r[1] == "1", fit: strings.IndexByte("01234567", r[3][len(r[3])-1]) >= 0}
		img := devImage(t, filepath.Join(dir, r[0]))
		faces, ok := cache[r[0]]
		if !ok {
			if e == nil {
				e = devEngine(t, det, EmbedderResNet, false)
			}
			faces = e.Detect(img, nil)
			cache[r[0]] = faces
		}
		if len(faces) > 0 {
			s.found = true
			fr, ok := newFaceFrame(&faces[0].Landmarks)
			if ok {
				s.feat, _ = fr.mouthFeatures(img)
			}
			s.occ = MeasureOcclusion(img, faces[0])
		}
		out = append(out, s)
	}
	if cacheFile != "" && e != nil {
		data, err := json.Marshal(cache)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cacheFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// fitLogistic fits weights and bias over standardised x by gradient
// descent with a small L2 penalty.
func fitLogistic(x [][]float64, y []bool) (mean, scale, w []float64, b float64) {
	n, d := len(x), len(x[0])
	mean, scale, w = make([]float64, d), make([]float64, d), make([]float64, d)
	for j := 0; j < d; j++ {
		var s, s2 float64
		for i := range x {
			s += x[i][j]
			s2 += x[i][j] * x[i][j]
		}
		mean[j] = s / float64(n)
		scale[j] = math.Max(math.Sqrt(s2/float64(n)-mean[j]*mean[j]), 1e-9)
	}
	z := make([][]float64, n)
	for i := range x {
		z[i] = make([]float64, d)
		for j := range z[i] {
			z[i][j] = (x[i][j] - mean[j]) / scale[j]
		}
	}
	const rate, l2 = 0.1, 0.01
	for it := 0; it < 20000; it++ {
		gw, gb := make([]float64, d), 0.0
		for i := range z {
			s := b
			for j := range z[i] {
				s += w[j] * z[i][j]
			}
			p := 1 / (1 + math.Exp(-s))
			t := 0.0
			if y[i] {
				t = 1
			}
			for j := range z[i] {
				gw[j] += (p - t) * z[i][j]
			}
			gb += p - t
		}
		for j := range w {
			w[j] -= rate * (gw[j]/float64(n) + l2*w[j])
		}
		b -= rate * gb / float64(n)
	}
	return mean, scale, w, b
}

func occlusionFigures(set []occlusionSample, pick func(occlusionSample) bool) string {
	var occ, clear, hit, fa, lost int
	for _, s := range set {
		if !pick(s) {
			continue
		}
		if !s.found {
			lost++
		}
		if s.occluded {
			occ++
			if s.occ.Mouth {
				hit++
			}
		} else {
			clear++
			if s.occ.Mouth {
				fa++
			}
		}
	}
	return fmt.Sprintf("recall %d/%d = %.3f, false %d/%d = %.3f, no face %d",
		hit, occ, float64(hit)/float64(max(occ, 1)), fa, clear, float64(fa)/float64(max(clear, 1)), lost)
}

func TestDevsetOcclusion(t *testing.T) {
	set := occlusionDevset(t)
	var x [][]float64
	var y []bool
	for _, s := range set {
		if s.fit && s.found {
			x = append(x, s.feat.vector())
			y = append(y, s.occluded)
		}
	}
	mean, scale, w, b := fitLogistic(x, y)
	t.Logf("fit on %d faces:\n\tmouthMean    = %#v\n\tmouthScale   = %#v\n\tmouthWeights = %#v\n\tmouthBias    = %#v",
		len(x), mean, scale, w, b)
	for _, s := range set {
		if testing.Verbose() && s.found {
			t.Logf("%s occ=%v fit=%v score=%.2f eyeC=%.2f eyeD=%.2f %+v", s.file, s.occluded, s.fit, s.occ.MouthScore, s.occ.EyeContrast, s.occ.EyeDark, s.feat)
		}
	}
	t.Logf("current constants: fit half %s", occlusionFigures(set, func(s occlusionSample) bool { return s.fit }))
	t.Logf("current constants: held-out half %s", occlusionFigures(set, func(s occlusionSample) bool { return !s.fit }))
	t.Logf("current constants: all %s", occlusionFigures(set, func(occlusionSample) bool { return true }))
	var eyes, clear int
	for _, s := range set {
		if !s.occluded && s.found {
			clear++
			if s.occ.Eyes {
				eyes++
			}
		}
	}
	t.Logf("eyes flagged on faces without a mask: %d/%d", eyes, clear)
}
