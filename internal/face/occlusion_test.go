package face

import "testing"

// paintEyeFrame fills the box [u0,u1]×[v0,v1] of the eye frame (see
// occlusionFeatures) with one colour.
func paintEyeFrame(img *RGB, lm *[68]Point, u0, u1, v0, v1 float64, c [3]uint8) {
	fr, ok := newFaceFrame(lm)
	if !ok {
		return
	}
	const n = 400
	for j := 0; j <= n; j++ {
		v := v0 + (v1-v0)*float64(j)/n
		for i := 0; i <= n; i++ {
			u := u0 + (u1-u0)*float64(i)/n
			x := int(fr.o.X + u*fr.ex.X + v*fr.ey.X)
			y := int(fr.o.Y + u*fr.ex.Y + v*fr.ey.Y)
			if x >= 0 && y >= 0 && x < img.W && y < img.H {
				copy(img.Pix[3*(y*img.W+x):], c[:])
			}
		}
	}
}

func TestMeasureOcclusion(t *testing.T) {
	e := testEngine(t)
	for n := 1; n <= 2; n++ {
		img := loadSample(t, n)
		faces := e.Detect(img, nil)
		if len(faces) == 0 {
			t.Fatalf("sample %d: no face", n)
		}
		f := faces[0]
		if o := MeasureOcclusion(img, f); o.Occluded() {
			t.Errorf("sample %d bare: %+v, want neither covered", n, o)
		}

		// A light-blue surgical mask from below the nose bridge to past
		// the chin, cheek to cheek.
		masked := &RGB{W: img.W, H: img.H, Pix: append([]uint8(nil), img.Pix...)}
		paintEyeFrame(masked, &f.Landmarks, -0.9, 0.9, 0.4, 1.9, [3]uint8{150, 190, 215})
		if o := MeasureOcclusion(masked, f); !o.Mouth || o.Eyes {
			t.Errorf("sample %d masked: %+v, want the mouth covered", n, o)
		}

		// Dark glasses over both eyes.
		glasses := &RGB{W: img.W, H: img.H, Pix: append([]uint8(nil), img.Pix...)}
		paintEyeFrame(glasses, &f.Landmarks, -0.85, 0.85, -0.25, 0.25, [3]uint8{20, 20, 25})
		if o := MeasureOcclusion(glasses, f); !o.Eyes {
			t.Errorf("sample %d dark glasses: %+v, want the eyes covered", n, o)
		}
	}
}

// TestMeasureOcclusionBareSamples: no bare face of the sample photos —
// turned heads, smiles showing teeth, a warm lamp above and a blue light
// below (sample 3) — reads as a covered mouth or eyes. With
// face_occlusion_detection on, a flagged face could never pass.
func TestMeasureOcclusionBareSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the detector on six photos")
	}
	e := testEngine(t)
	for n := 1; n <= 6; n++ {
		img := loadSample(t, n)
		faces := e.Detect(img, nil)
		if len(faces) == 0 {
			t.Fatalf("sample %d: no face", n)
		}
		for i, f := range faces {
			if o := MeasureOcclusion(img, f); o.Occluded() {
				t.Errorf("sample %d face %d (bare): %+v, want neither covered", n, i, o)
			}
		}
	}
}
