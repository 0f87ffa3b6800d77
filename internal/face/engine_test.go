package face

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glint-id/glint/internal/imaging"
)

var (
	engineOnce sync.Once
	engine     *Engine
	engineErr  error
)

// testEngine loads the default engine once for all tests.
func testEngine(tb testing.TB) *Engine {
	tb.Helper()
	engineOnce.Do(func() {
		engine, engineErr = Load(os.DirFS(filepath.Join(repoRoot(tb), "models")), Config{})
	})
	if engineErr != nil {
		tb.Fatalf("loading engine (run `make models`): %v", engineErr)
	}
	return engine
}

func TestEngineDetectSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the detector on six photos")
	}
	t.Parallel()
	e := testEngine(t)
	for n := 1; n <= numSamples; n++ {
		img := loadSample(t, n)
		want := len(loadGolden(t, n).Faces)
		faces := e.Detect(img, nil)
		if len(faces) != want {
			t.Errorf("sample%d: %d faces, want %d", n, len(faces), want)
			continue
		}
		for i := 1; i < len(faces); i++ {
			if faces[i].Box.W*faces[i].Box.H > faces[i-1].Box.W*faces[i-1].Box.H {
				t.Errorf("sample%d: faces not sorted largest first", n)
			}
		}
		for _, f := range faces {
			q := f.Quality
			if q.Size < 50 || q.Brightness <= 0 || q.Sharpness <= 0 || math.Abs(q.Yaw) > 60 || math.Abs(q.Roll) > 45 {
				t.Errorf("sample%d: implausible quality %+v", n, q)
			}
		}
	}
}

// A face cut out so tightly that it fills the frame, like an ID-photo chip,
// is still found thanks to the context border.
func TestEngineTightCrop(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Parallel()
	e := testEngine(t)
	img := loadSample(t, 1)
	g := loadGolden(t, 1).Faces[0].Box
	chip := img.Crop(Rect{g.X + 0.1*g.Width, g.Y + 0.1*g.Height, 0.8 * g.Width, 0.8 * g.Height})
	noPad := *e
	noPad.cfg.ContextPad = -1
	if n := len(noPad.Detect(chip, nil)); n != 0 {
		t.Logf("detector finds the tight crop without context (%d faces); test still checks the engine", n)
	}
	if faces := e.Detect(chip, nil); len(faces) != 1 {
		t.Fatalf("tight crop: %d faces, want 1", len(faces))
	}
}

func TestEngineDetectOriented(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Parallel()
	e := testEngine(t)
	img := loadSample(t, 2)
	want := len(loadGolden(t, 2).Faces)
	for _, deg := range []int{90, 180, 270} {
		turned := img.Rotate(deg)
		if n := len(e.Detect(turned, nil)); n == want {
			t.Errorf("turned %d°: all %d faces found without rotation search; test image unsuitable", deg, n)
		}
		faces, rot, upright := e.DetectOriented(turned, nil)
		if len(faces) != want {
			t.Errorf("turned %d°: DetectOriented found %d faces, want %d", deg, len(faces), want)
		}
		if (rot+deg)%360 != 0 {
			t.Errorf("turned %d°: rotation %d does not undo it", deg, rot)
		}
		if upright.W != img.W || upright.H != img.H {
			t.Errorf("turned %d°: upright image %dx%d, want %dx%d", deg, upright.W, upright.H, img.W, img.H)
		}
	}
}

// Descriptors of one face barely move when the photo is shifted and
// rescaled, and stay far from other people's.
func TestEngineCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Parallel()
	e := testEngine(t)
	img := loadSample(t, 3)
	faces := e.Detect(img, nil)
	if len(faces) < 2 {
		t.Fatalf("sample3: %d faces", len(faces))
	}
	a := e.Embed(img, faces[0], nil)
	other := e.Embed(img, faces[1], nil)

	// The same photo cropped by 7 px and shrunk by a quarter.
	moved, _ := img.Crop(Rect{7, 7, float64(img.W - 7), float64(img.H - 7)}).Downscale(img.W * 3 / 4)
	mf := e.Detect(moved, nil)
	if len(mf) == 0 {
		t.Fatal("no face in the moved copy")
	}
	b := e.Embed(moved, mf[0], nil)

	same, err := e.Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	diff, _ := e.Compare(a, other)
	if same.Distance >= diff.Distance || same.Confidence <= 50 || diff.Confidence >= 50 {
		t.Errorf("same face: %+v, different people: %+v", same, diff)
	}
	if _, err := e.Compare(a, Descriptor{Model: "other", Vector: a.Vector}); err != ErrModelMismatch {
		t.Errorf("model mismatch: err = %v", err)
	}
}

func TestSignificant(t *testing.T) {
	t.Parallel()
	e := &Engine{cfg: Config{}.withDefaults()}
	box := func(s float64) Face { return Face{Box: Rect{W: s, H: s}} }
	tests := []struct {
		sizes []float64
		want  int
	}{
		{nil, 0},
		{[]float64{200}, 1},
		{[]float64{200, 150}, 2},
		{[]float64{200, 60}, 1}, // small background face
		{[]float64{200, 70, 69}, 2},
	}
	for _, tt := range tests {
		var faces []Face
		for _, s := range tt.sizes {
			faces = append(faces, box(s))
		}
		if got := len(e.Significant(faces)); got != tt.want {
			t.Errorf("sizes %v: %d significant, want %d", tt.sizes, got, tt.want)
		}
	}
}

func TestCalibrationInverse(t *testing.T) {
	t.Parallel()
	c := resnetCalibration
	for _, conf := range []float64{1, 25, 50, 75, 99} {
		if got := c.Confidence(c.Distance(conf)); math.Abs(got-conf) > 1e-3 {
			t.Errorf("Confidence(Distance(%v)) = %v", conf, got)
		}
	}
	if c.Confidence(c.Threshold) != 50 {
		t.Errorf("confidence at threshold = %v, want 50", c.Confidence(c.Threshold))
	}
}

func TestRotateRoundTrip(t *testing.T) {
	t.Parallel()
	img := NewRGB(5, 3)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	r := img.Rotate(90)
	if r.W != 3 || r.H != 5 {
		t.Fatalf("rotated size %dx%d", r.W, r.H)
	}
	// Top-left pixel goes to the top-right corner when turned clockwise.
	if got, want := r.Pix[3*(0*r.W+2):][:3], img.Pix[:3]; string(got) != string(want) {
		t.Errorf("top-left moved wrong: %v, want %v", got, want)
	}
	back := r.Rotate(270)
	if string(back.Pix) != string(img.Pix) {
		t.Error("90 then 270 is not the identity")
	}
	if string(img.Rotate(180).Rotate(180).Pix) != string(img.Pix) {
		t.Error("180 twice is not the identity")
	}
}

func TestRectRotateBack(t *testing.T) {
	t.Parallel()
	// A one-pixel box over a marked pixel must land on the same pixel after
	// the image is turned and the box mapped back.
	img := NewRGB(7, 4)
	img.Pix[3*(1*7+5)] = 255 // pixel (5, 1)
	for _, deg := range []int{0, 90, 180, 270} {
		r := img.Rotate(deg)
		var at Rect
		for i := 0; i < r.W*r.H; i++ {
			if r.Pix[3*i] == 255 {
				at = Rect{float64(i % r.W), float64(i / r.W), 1, 1}
			}
		}
		if got := at.RotateBack(deg, img.W, img.H); got != (Rect{5, 1, 1, 1}) {
			t.Errorf("%d°: mapped back to %+v, want {5 1 1 1}", deg, got)
		}
	}
}

// BenchmarkPipeline times what get_token does to a photo: decode the JPEG,
// detect every face with landmarks and quality, embed the largest. Run
// with -cpu 1 for one core's latency.
func BenchmarkPipeline(b *testing.B) {
	e := testEngine(b)
	for n := 1; n <= numSamples; n++ {
		data, err := os.ReadFile(SamplePhoto(filepath.Join(repoRoot(b), "models"), n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("sample%d", n), func(b *testing.B) {
			for range b.N {
				im, _, err := imaging.Decode(data, 0)
				if err != nil {
					b.Fatal(err)
				}
				img := FromImage(im)
				faces := e.Detect(img, nil)
				if len(faces) == 0 {
					b.Fatal("no face")
				}
				e.Embed(img, faces[0], nil)
			}
			reportMs(b)
		})
	}
}

// BenchmarkDetectMaxSide compares detection on a 1920×1280 photo with and
// without shrinking it first (Config.DetectMaxSide).
func BenchmarkDetectMaxSide(b *testing.B) {
	base := testEngine(b)
	img := loadSample(b, 1)
	for _, side := range []int{-1, 1024, 640} {
		e := *base
		e.cfg.DetectMaxSide = side
		b.Run(fmt.Sprintf("side%d", side), func(b *testing.B) {
			for range b.N {
				e.Detect(img, nil)
			}
			reportMs(b)
		})
	}
}

// Align cuts out exactly the region the descriptor was computed from.
func TestEngineAlign(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Parallel()
	e := testEngine(t)
	img := loadSample(t, 4)
	faces := e.Detect(img, nil)
	if len(faces) == 0 {
		t.Fatal("no face")
	}
	d := e.Embed(img, faces[0], nil)
	crop := e.Align(img, faces[0])
	if crop.W != int(d.Region.W) || crop.H != int(d.Region.H) || crop.W < 100 {
		t.Fatalf("crop %dx%d, descriptor region %+v", crop.W, crop.H, d.Region)
	}
	// Re-embedding the crop on its own gives (nearly) the same descriptor.
	v := e.emb.(*ResNet).EmbedCrop(crop, Rect{0, 0, float64(crop.W), float64(crop.H)})
	m, _ := e.Compare(d, Descriptor{Model: d.Model, Vector: v})
	if m.Distance > 1e-4 {
		t.Errorf("descriptor of the aligned crop is %.2g away", m.Distance)
	}
}
