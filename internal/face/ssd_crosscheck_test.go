package face

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestCrossCheckFaceAPI compares the whole pipeline with face-api outputs
// for two variants of sample1 that the reference files do not cover: the
// photo rotated to portrait (padding on the right instead of the bottom)
// and cropped so that a face touches the left border (where face-api caps
// the descriptor crop, see FaceAPIDescriptorCrop). The reference JSON is
// produced by running face-api 1.7.15 on the same pixels (rot: sample1
// turned 90° clockwise; crop: sample1 from x = 380), with
// detectAllFaces(…).withFaceLandmarks().withFaceDescriptors(); name its
// path in FACEAPI_CROSSCHECK to run this test.
func TestCrossCheckFaceAPI(t *testing.T) {
	path := os.Getenv("FACEAPI_CROSSCHECK")
	if path == "" {
		t.Skip("FACEAPI_CROSSCHECK not set")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]golden
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	src := loadSample(t, 1)
	variants := map[string]*RGB{"rot": rotate90(src), "crop": cropX(src, 380)}
	det, lmNet, rec := testSSD(t), testLandmarks(t), testResNet(t)
	for name, img := range variants {
		want, ok := ref[name]
		if !ok {
			t.Errorf("%s: no reference", name)
			continue
		}
		dets := det.Detect(img, 0.5)
		if len(dets) != len(want.Faces) {
			t.Errorf("%s: %d faces, want %d", name, len(dets), len(want.Faces))
			continue
		}
		var worstBox, worstLM, worstDesc float64
		capped := 0
		for i, d := range dets {
			f := want.Faces[i]
			worstBox = math.Max(worstBox, rectDist(d.Box, f.Box.rect()))
			lm := lmNet.Predict(img, d.Box)
			worstLM = math.Max(worstLM, pointsDist(lm, f.Landmarks68))
			crop := FaceAPIDescriptorCrop(img.W, img.H, lm, LandmarkCrop(img.W, img.H, d.Box))
			if crop != DescriptorCrop(img.W, img.H, lm) {
				capped++
			}
			dd, _ := descDist(rec.EmbedCrop(img, crop), f.Descriptor)
			worstDesc = math.Max(worstDesc, dd)
		}
		t.Logf("%s: %d faces (%d capped crops), max deviation: box %.3g px, landmarks %.3g px, descriptor %.3g",
			name, len(dets), capped, worstBox, worstLM, worstDesc)
		if worstBox > 1e-2 || worstLM > 1e-2 || worstDesc > 1e-3 {
			t.Errorf("%s: deviations too large", name)
		}
	}
}

// rotate90 turns m a quarter turn clockwise.
func rotate90(m *RGB) *RGB {
	r := NewRGB(m.H, m.W)
	for y := 0; y < r.H; y++ {
		for x := 0; x < r.W; x++ {
			copy(r.Pix[3*(y*r.W+x):][:3], m.Pix[3*((m.H-1-x)*m.W+y):][:3])
		}
	}
	return r
}

// cropX drops the columns left of x0.
func cropX(m *RGB, x0 int) *RGB {
	r := NewRGB(m.W-x0, m.H)
	for y := 0; y < m.H; y++ {
		copy(r.Pix[3*y*r.W:][:3*r.W], m.Pix[3*(y*m.W+x0):][:3*r.W])
	}
	return r
}
