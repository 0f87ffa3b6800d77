package face

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func testAntiSpoof(tb testing.TB) *AntiSpoof {
	tb.Helper()
	dir := filepath.Join(repoRoot(tb), "models", humanDir)
	if _, err := os.Stat(filepath.Join(dir, AntiSpoofModel)); err != nil {
		tb.Skipf("human models not available (make models): %v", err)
	}
	m, err := LoadAntiSpoof(os.DirFS(dir), AntiSpoofModel)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestAntiSpoofCrop(t *testing.T) {
	var lm [68]Point
	for i := range lm {
		// A landmark cloud spanning x 150–250, y 240–360.
		lm[i] = Point{150 + 100*float64(i%2), 240 + 120*float64(i%3)/2}
	}
	m := &AntiSpoof{size: 128}
	c, side := m.Crop(lm)
	if c != (Point{200, 300}) || math.Abs(side-1.4*120) > 1e-9 {
		t.Fatalf("crop centre %v side %v, want (200, 300) and 168", c, side)
	}
}

// TestAntiSpoofSamples runs the model on the faces of the sample photos
// (real people, photographed once: live faces to the model) at their
// reference landmarks.
func TestAntiSpoofSamples(t *testing.T) {
	m := testAntiSpoof(t)
	if m.size != 128 {
		t.Errorf("input size %d, want 128", m.size)
	}
	var scores []float64
	for n := 1; n <= numSamples; n++ {
		img := loadSample(t, n)
		for _, g := range loadGolden(t, n).Faces {
			var f Face
			for i, p := range g.Landmarks68 {
				f.Landmarks[i] = Point{p[0], p[1]}
			}
			p := m.Live(img, f)
			if p < 0 || p > 1 || math.IsNaN(p) {
				t.Fatalf("sample %d: probability %v", n, p)
			}
			if again := m.Live(img, f); again != p {
				t.Fatalf("sample %d: %v then %v", n, p, again)
			}
			scores = append(scores, p)
		}
	}
	sort.Float64s(scores)
	med := scores[len(scores)/2]
	t.Logf("live probability over %d sample faces: min %.3f median %.3f max %.3f", len(scores), scores[0], med, scores[len(scores)-1])
	if med < 0.5 {
		t.Errorf("median live probability %.3f on photos of real faces", med)
	}
}

func BenchmarkAntiSpoof(b *testing.B) {
	m := testAntiSpoof(b)
	img := loadSample(b, 1)
	var f Face
	for i, p := range loadGolden(b, 1).Faces[0].Landmarks68 {
		f.Landmarks[i] = Point{p[0], p[1]}
	}
	b.ResetTimer()
	for range b.N {
		m.Live(img, f)
	}
	reportMs(b)
}
