package face

import (
	"math"
	"testing"
)

// TestLandmarkCropGolden checks the crop rule on the reference boxes.
func TestLandmarkCropGolden(t *testing.T) {
	for n := 1; n <= numSamples; n++ {
		g := loadGolden(t, n)
		for i, f := range g.Faces {
			if got, want := LandmarkCrop(g.Width, g.Height, f.Box.rect()), f.LandmarkCrop.rect(); got != want {
				t.Errorf("sample%d face %d: crop %+v, want %+v", n, i, got, want)
			}
		}
	}
}

// TestLandmarksGolden runs the landmark network on the reference crops.
func TestLandmarksGolden(t *testing.T) {
	m := testLandmarks(t)
	var worst float64
	for n := 1; n <= numSamples; n++ {
		g := loadGolden(t, n)
		img := loadSample(t, n)
		for i, f := range g.Faces {
			pts := m.PredictCrop(img, f.LandmarkCrop.rect(), Point{f.Box.X, f.Box.Y})
			d := pointsDist(pts, f.Landmarks68)
			worst = math.Max(worst, d)
			if d > 1e-2 {
				t.Errorf("sample%d face %d: landmarks off by %.3g px", n, i, d)
			}
		}
	}
	t.Logf("max deviation %.3g px", worst)
}

// pointsDist is the largest coordinate difference between pts and want.
func pointsDist(pts [68]Point, want [][2]float64) float64 {
	var d float64
	for i, p := range pts {
		d = max(d, math.Abs(p.X-want[i][0]), math.Abs(p.Y-want[i][1]))
	}
	return d
}

// BenchmarkLandmarks68 times the landmark network alone on a ready
// 112×112 input, and Predict on one face including the crop and resize.
func BenchmarkLandmarks68(b *testing.B) {
	m := testLandmarks(b)
	img := loadSample(b, 1)
	f := loadGolden(b, 1).Faces[0]
	b.Run("forward", func(b *testing.B) {
		x := squareInput(img, regionOf(f.LandmarkCrop.rect()), true, landmarksSize, normFace)
		for b.Loop() {
			m.forward(x)
		}
		reportMs(b)
	})
	b.Run("predict", func(b *testing.B) {
		for b.Loop() {
			m.Predict(img, f.Box.rect())
		}
		reportMs(b)
	})
}
