package face

import (
	"math"
	"testing"
)

// TestUprightSamples turns each sample photo by every quarter and asks
// UprightTurn how each face found in it stands: a face upright is taken as
// it lies, and a turned one is turned back. A face tilted by about 45° is
// upright in two neighbouring quarters; either will do.
func TestUprightSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: landmarks of 47 faces in four orientations")
	}
	t.Parallel()
	e := testEngine(t)
	var rolls []float64
	for n := 1; n <= numSamples; n++ {
		base := loadSample(t, n)
		for _, rot := range []int{0, 90, 180, 270} {
			img := base.Rotate(rot)
			for i, f := range e.Detect(img, nil) {
				asym, _, _ := e.orientations(img, f.Box)
				turn, roll := e.UprightTurn(img, f, nil)
				want := (360 - rot) % 360
				t.Logf("sample%d turned %3d° face %d: roll %6.1f° as it lies; mirror disagreement %.3f; turn %3d° (want %3d°), roll %6.1f°",
					n, rot, i, f.Quality.Roll, asym, turn, want, roll)
				if rot == 0 {
					rolls = append(rolls, f.Quality.Roll)
				}
				switch {
				case math.Abs(roll) > MaxUprightRoll:
					t.Errorf("sample%d turned %d° face %d: roll %.1f° after turning %d°", n, rot, i, roll, turn)
				case want == 0 && turn != 0:
					t.Errorf("sample%d face %d: upright, but turned %d°", n, i, turn)
				case want != 0 && turn == 0:
					t.Errorf("sample%d turned %d° face %d: taken as it lies", n, rot, i)
				case turn != want && math.Abs(roll) < 35:
					t.Errorf("sample%d turned %d° face %d: turned %d°, want %d°", n, rot, i, turn, want)
				}
			}
		}
	}
	var most float64
	for _, r := range rolls {
		most = math.Max(most, math.Abs(r))
	}
	t.Logf("genuine rolls of the %d sample faces: %.1f (largest %.1f°)", len(rolls), rolls, most)
	if most > MaxUprightRoll {
		t.Errorf("a sample face upright has roll %.1f°, beyond MaxUprightRoll", most)
	}
}

func TestMirrorIndex(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for i, j := range mirrorIndex {
		if mirrorIndex[j] != i {
			t.Errorf("mirrorIndex[%d] = %d, but mirrorIndex[%d] = %d", i, j, j, mirrorIndex[j])
		}
		seen[j] = true
	}
	if len(seen) != 68 {
		t.Errorf("mirrorIndex is not a permutation: %d distinct points", len(seen))
	}
	for _, self := range []int{8, 27, 30, 33, 51, 57, 62, 66} {
		if mirrorIndex[self] != self {
			t.Errorf("point %d, on the face's midline, maps to %d", self, mirrorIndex[self])
		}
	}
}

func TestMirror(t *testing.T) {
	t.Parallel()
	img := NewRGB(3, 2)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	m := img.Mirror()
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			a, b := img.Pix[3*(y*3+x):][:3], m.Pix[3*(y*3+2-x):][:3]
			if string(a) != string(b) {
				t.Errorf("pixel (%d,%d) %v, mirrored %v", x, y, a, b)
			}
		}
	}
	if string(m.Mirror().Pix) != string(img.Pix) {
		t.Error("mirroring twice is not the identity")
	}
}
