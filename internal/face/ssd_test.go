package face

import (
	"math"
	"testing"
)

// TestSSDGolden compares the detector end to end with face-api's
// detections: same count and order, boxes within 2 px, scores within 1e-3.
func TestSSDGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	m := testSSD(t)
	var worstBox, worstScore float64
	for n := 1; n <= numSamples; n++ {
		g := loadGolden(t, n)
		dets := m.Detect(loadSample(t, n), 0.5)
		if len(dets) != len(g.Faces) {
			t.Errorf("sample%d: %d faces, want %d: %+v", n, len(dets), len(g.Faces), dets)
			continue
		}
		for i, d := range dets {
			want := g.Faces[i]
			ds := math.Abs(float64(d.Score) - want.Score)
			db := rectDist(d.Box, want.Box.rect())
			worstBox, worstScore = math.Max(worstBox, db), math.Max(worstScore, ds)
			if db > 2 || ds > 1e-3 {
				t.Errorf("sample%d face %d: %+v score %v, want %+v score %v", n, i, d.Box, d.Score, want.Box, want.Score)
			}
		}
	}
	t.Logf("max deviation: box %.3g px, score %.3g", worstBox, worstScore)
}

// rectDist is the largest difference between corresponding edges.
func rectDist(a, b Rect) float64 {
	return max(math.Abs(a.X-b.X), math.Abs(a.Y-b.Y),
		math.Abs(a.X+a.W-b.X-b.W), math.Abs(a.Y+a.H-b.Y-b.H))
}

// TestEndToEndGolden chains detector, landmarks and descriptor on the
// decoded samples: boxes within 2 px, landmarks within 2 px, descriptors
// within 0.01, and (reported) the same integer crops.
func TestEndToEndGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	det, lmNet, rec := testSSD(t), testLandmarks(t), testResNet(t)
	var worstBox, worstScore, worstLM, worstDesc float64
	for n := 1; n <= numSamples; n++ {
		g := loadGolden(t, n)
		img := loadSample(t, n)
		dets := det.Detect(img, 0.5)
		if len(dets) != len(g.Faces) {
			t.Errorf("sample%d: %d faces, want %d", n, len(dets), len(g.Faces))
			continue
		}
		for i, d := range dets {
			want := g.Faces[i]
			worstBox = math.Max(worstBox, rectDist(d.Box, want.Box.rect()))
			worstScore = math.Max(worstScore, math.Abs(float64(d.Score)-want.Score))
			if c := LandmarkCrop(img.W, img.H, d.Box); c != want.LandmarkCrop.rect() {
				t.Errorf("sample%d face %d: landmark crop %+v, want %+v", n, i, c, want.LandmarkCrop.rect())
			}
			lm := lmNet.Predict(img, d.Box)
			dl := pointsDist(lm, want.Landmarks68)
			worstLM = math.Max(worstLM, dl)
			if dl > 2 {
				t.Errorf("sample%d face %d: landmarks off by %.3g px", n, i, dl)
			}
			desc, crop := rec.Embed(img, lm)
			if crop != want.DescriptorCrop.rect() {
				t.Errorf("sample%d face %d: descriptor crop %+v, want %+v", n, i, crop, want.DescriptorCrop.rect())
			}
			dd, _ := descDist(desc, want.Descriptor)
			worstDesc = math.Max(worstDesc, dd)
			if dd > 0.01 {
				t.Errorf("sample%d face %d: descriptor %.3g away", n, i, dd)
			}
		}
	}
	t.Logf("max deviation: box %.3g px, score %.3g, landmarks %.3g px, descriptor %.3g", worstBox, worstScore, worstLM, worstDesc)
}

// BenchmarkSSD times the detector: the network alone on a ready 512×512
// input, and Detect on a 1920×1280 photo including preprocessing and NMS.
func BenchmarkSSD(b *testing.B) {
	m := testSSD(b)
	img := loadSample(b, 1)
	b.Run("forward", func(b *testing.B) {
		x := squareInput(img, region{0, 0, img.W, img.H}, false, ssdSize, normSSD)
		for b.Loop() {
			m.forward(x)
		}
		reportMs(b)
	})
	b.Run("detect", func(b *testing.B) {
		for b.Loop() {
			m.Detect(img, 0.5)
		}
		reportMs(b)
	})
}
