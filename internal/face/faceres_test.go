package face

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/glint-id/glint/internal/nn"
)

var faceresModel *FaceRes

func testFaceRes(tb testing.TB) *FaceRes {
	tb.Helper()
	return loadModel(tb, &faceresModel, "faceres", func(fs.FS) (*FaceRes, error) {
		return LoadFaceRes(os.DirFS(filepath.Join(repoRoot(tb), "models", humanDir)), FaceResModel)
	})
}

// TestFaceResRegion checks the crop geometry on made-up landmarks.
func TestFaceResRegion(t *testing.T) {
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
	// Eye to mouth √(40²+90²) = 98.49, centre of eyes and mouth (80, 130).
	s := math.Sqrt(40*40 + 90*90)
	g := defaultFaceResGeometry
	m := &FaceRes{geom: g}
	c, side, angle := m.Region(lm)
	want := Point{80, 130 + g.dy*s}
	if math.Abs(c.X-want.X) > 1e-9 || math.Abs(c.Y-want.Y) > 1e-9 || math.Abs(side-g.side*s) > 1e-9 || angle != 0 {
		t.Errorf("region %v side %v angle %v, want %v side %v angle 0", c, side, angle, want, g.side*s)
	}
	// Levelled, for a face tilted by 90° (eyes one above the other), the
	// shift goes along the face's own vertical, to the image's left.
	m.geom.level = true
	var turned [68]Point
	for i, p := range lm {
		turned[i] = Point{200 - p.Y, p.X} // 90° clockwise about the origin, moved right
	}
	c, side, angle = m.Region(turned)
	want = Point{200 - 130 - g.dy*s, 80}
	if math.Abs(c.X-want.X) > 1e-9 || math.Abs(c.Y-want.Y) > 1e-9 || math.Abs(side-g.side*s) > 1e-9 || math.Abs(angle-math.Pi/2) > 1e-9 {
		t.Errorf("levelled: region %v side %v angle %v, want %v side %v angle π/2", c, side, angle, want, g.side*s)
	}
}

// TestWarpSquare checks the sampler: an unrotated square the size of the
// output copies pixels, and parts outside the image are black.
func TestWarpSquare(t *testing.T) {
	img := NewRGB(4, 4)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	x := warpSquare(img, Point{2, 2}, 4, 0, 4)
	for i, v := range x.Data {
		if v != float32(img.Pix[i]) {
			t.Fatalf("value %d = %v, want %v", i, v, img.Pix[i])
		}
	}
	// Twice the image: a 2-pixel black border around a 2×2 average.
	x = warpSquare(img, Point{2, 2}, 8, 0, 4)
	if x.Data[0] != 0 || x.Data[3*(4*1+1)] != (0+3+12+15)/4.0 {
		t.Errorf("corner %v, first image pixel %v", x.Data[0], x.Data[3*(4*1+1)])
	}
	// An angle of 90° means the eyes' line points down the image: the
	// output undoes that, turning the image a quarter counter-clockwise,
	// so its first pixel is the image's top-right one (3, 0).
	x = warpSquare(img, Point{2, 2}, 4, math.Pi/2, 4)
	if got, want := x.Data[0], float32(img.Pix[3*3]); got != want {
		t.Errorf("turned: first value %v, want %v", got, want)
	}
}

// TestFaceResSeparates embeds one face from a photo and from a shifted and
// shrunk copy of it, and a different person's face from another photo: the
// copies must be much closer than the two people, on either side of the
// calibrated threshold.
func TestFaceResSeparates(t *testing.T) {
	m := testFaceRes(t)
	marks := testLandmarks(t)
	img1, g1 := loadSample(t, 1), loadGolden(t, 1)
	img6, g6 := loadSample(t, 6), loadGolden(t, 6)

	a, _ := m.Embed(img1, goldenPoints(g1.Faces[0].Landmarks68))
	// face-api's ResNet puts these two faces 0.88 apart: different people.
	other, _ := m.Embed(img6, goldenPoints(g6.Faces[0].Landmarks68))

	// The same photo cropped by 7 px and shrunk by a quarter; its landmarks
	// found afresh from the moved SSD box.
	moved, k := img1.Crop(Rect{7, 7, float64(img1.W - 7), float64(img1.H - 7)}).Downscale(img1.W * 3 / 4)
	b0 := g1.Faces[0].Box.rect()
	box := Rect{(b0.X - 7) * k, (b0.Y - 7) * k, b0.W * k, b0.H * k}
	b, region := m.Embed(moved, marks.Predict(moved, box))
	if region.W <= 0 || region.X < 0 || region.X+region.W > float64(moved.W) {
		t.Errorf("region %+v outside the %d×%d image", region, moved.W, moved.H)
	}

	for _, v := range [][]float32{a, b, other} {
		if len(v) != FaceResLen {
			t.Fatalf("descriptor of %d values, want %d", len(v), FaceResLen)
		}
		var n float64
		for _, e := range v {
			n += float64(e) * float64(e)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Errorf("descriptor norm² %v, want 1", n)
		}
	}
	same, diff := euclid(a, b), euclid(a, other)
	t.Logf("same face moved: %.3f, different people: %.3f (threshold %.3f)", same, diff, faceresCalibration.Threshold)
	if same >= faceresCalibration.Threshold || diff <= faceresCalibration.Threshold || same > diff/2 {
		t.Errorf("same face %.3f apart, different people %.3f", same, diff)
	}
}

// TestFaceResNoFace checks the descriptor of an empty landmark set.
func TestFaceResNoFace(t *testing.T) {
	m := testFaceRes(t)
	v, r := m.Embed(loadSample(t, 1), [68]Point{})
	if len(v) != FaceResLen || r != (Rect{}) {
		t.Fatalf("%d values, region %+v", len(v), r)
	}
	for _, x := range v {
		if x != 0 {
			t.Fatal("non-zero descriptor without a face")
		}
	}
}

func euclid(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// BenchmarkFaceRes times the network alone on a ready 224×224 input, and
// Embed on one face including the crop.
func BenchmarkFaceRes(b *testing.B) {
	m := testFaceRes(b)
	img := loadSample(b, 1)
	lm := goldenPoints(loadGolden(b, 1).Faces[0].Landmarks68)
	b.Run("forward", func(b *testing.B) {
		c, side, angle := m.Region(lm)
		x := warpSquare(img, c, side, angle, m.size)
		in := map[string]*nn.Tensor{m.input: x}
		for b.Loop() {
			if _, err := m.g.Run(in); err != nil {
				b.Fatal(err)
			}
		}
		reportMs(b)
	})
	b.Run("embed", func(b *testing.B) {
		for b.Loop() {
			m.Embed(img, lm)
		}
		reportMs(b)
	})
}
