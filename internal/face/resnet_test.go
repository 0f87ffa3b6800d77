package face

import (
	"math"
	"testing"
)

// TestDescriptorCropGolden checks the alignment rule on the reference
// landmarks.
func TestDescriptorCropGolden(t *testing.T) {
	for n := 1; n <= numSamples; n++ {
		g := loadGolden(t, n)
		for i, f := range g.Faces {
			lm := goldenPoints(f.Landmarks68)
			want := f.DescriptorCrop.rect()
			if got := DescriptorCrop(g.Width, g.Height, lm); got != want {
				t.Errorf("sample%d face %d: crop %+v, want %+v", n, i, got, want)
			}
			if got := FaceAPIDescriptorCrop(g.Width, g.Height, lm, f.LandmarkCrop.rect()); got != want {
				t.Errorf("sample%d face %d: face-api crop %+v, want %+v", n, i, got, want)
			}
		}
	}
}

// TestFaceAPIDescriptorCropCap checks face-api's cap near the left border.
func TestFaceAPIDescriptorCropCap(t *testing.T) {
	var lm [68]Point
	for i := 36; i < 42; i++ {
		lm[i] = Point{40, 100}
	}
	for i := 42; i < 48; i++ {
		lm[i] = Point{120, 100}
	}
	for i := 48; i < 68; i++ {
		lm[i] = Point{80, 190}
	}
	// Eye to mouth √(40²+90²) ≈ 98.49, size floor(98.49/0.45) = 218,
	// centre (80, 130): x = max(0, 80−109) = 0, y = floor(130−93.74) = 36.
	if got, want := DescriptorCrop(1000, 1000, lm), (Rect{0, 36, 218, 218}); got != want {
		t.Errorf("DescriptorCrop = %+v, want %+v", got, want)
	}
	if got, want := FaceAPIDescriptorCrop(1000, 1000, lm, Rect{10, 20, 150, 250}), (Rect{0, 36, 150, 218}); got != want {
		t.Errorf("FaceAPIDescriptorCrop = %+v, want %+v", got, want)
	}
}

// TestResNetGolden runs the recognition network on the reference crops.
func TestResNetGolden(t *testing.T) {
	m := testResNet(t)
	var worst, worstElem float64
	for n := 1; n <= numSamples; n++ {
		g := loadGolden(t, n)
		img := loadSample(t, n)
		for i, f := range g.Faces {
			d := m.EmbedCrop(img, f.DescriptorCrop.rect())
			dist, elem := descDist(d, f.Descriptor)
			worst, worstElem = math.Max(worst, dist), math.Max(worstElem, elem)
			if dist > 1e-3 {
				t.Errorf("sample%d face %d: descriptor %.3g away", n, i, dist)
			}
		}
	}
	t.Logf("max deviation: %.3g Euclidean, %.3g per element", worst, worstElem)
}

func goldenPoints(p [][2]float64) [68]Point {
	var lm [68]Point
	for i := range lm {
		lm[i] = Point{p[i][0], p[i][1]}
	}
	return lm
}

// descDist is the Euclidean distance between d and want, and the largest
// element difference.
func descDist(d []float32, want []float64) (dist, elem float64) {
	var s float64
	for i, v := range d {
		e := float64(v) - want[i]
		s += e * e
		elem = math.Max(elem, math.Abs(e))
	}
	return math.Sqrt(s), elem
}

// BenchmarkResNetEmbed times the recognition network alone on a ready
// 150×150 input, and Embed on one face including alignment and resize.
func BenchmarkResNetEmbed(b *testing.B) {
	m := testResNet(b)
	img := loadSample(b, 1)
	f := loadGolden(b, 1).Faces[0]
	b.Run("forward", func(b *testing.B) {
		x := squareInput(img, regionOf(f.DescriptorCrop.rect()), true, resnetSize, normFace)
		for b.Loop() {
			m.forward(x)
		}
		reportMs(b)
	})
	b.Run("embed", func(b *testing.B) {
		lm := goldenPoints(f.Landmarks68)
		for b.Loop() {
			m.Embed(img, lm)
		}
		reportMs(b)
	})
}
