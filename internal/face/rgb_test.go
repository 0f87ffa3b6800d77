package face

import (
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glint-id/glint/internal/nn"
)

func TestRGBSha256(t *testing.T) {
	for n := 1; n <= numSamples; n++ {
		g := loadGolden(t, n)
		m := loadSample(t, n)
		if m.W != g.Width || m.H != g.Height {
			t.Errorf("sample%d: size %dx%d, want %dx%d", n, m.W, m.H, g.Width, g.Height)
		}
		sum := sha256.Sum256(m.Pix)
		if got := hex.EncodeToString(sum[:]); got != g.RGBSha256 {
			t.Errorf("sample%d: rgbSha256 %s, want %s", n, got, g.RGBSha256)
		}
	}
}

// TestFromImageMatchesDraw checks the YCbCr fast path against draw.Draw.
func TestFromImageMatchesDraw(t *testing.T) {
	f, err := modelFS(t).Open("sample1.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(101, 37, 701, 437))
	got := FromImage(sub)
	rgba := image.NewRGBA(image.Rect(0, 0, 600, 400))
	draw.Draw(rgba, rgba.Bounds(), sub, sub.Bounds().Min, draw.Src)
	want := FromImage(rgba)
	if got.W != 600 || got.H != 400 {
		t.Fatalf("size %dx%d", got.W, got.H)
	}
	for i := range got.Pix {
		if got.Pix[i] != want.Pix[i] {
			t.Fatalf("byte %d: %d, want %d", i, got.Pix[i], want.Pix[i])
		}
	}
}

func TestClipFloor(t *testing.T) {
	tests := []struct {
		in         Rect
		imgW, imgH int
		want       region
	}{
		{Rect{413.99, 355.17, 177.83, 238.87}, 1920, 1280, region{413, 355, 177, 238}},
		{Rect{-5.5, -2, 20.7, 10}, 100, 50, region{0, 0, 15, 8}},
		{Rect{90.5, 40.2, 30, 30}, 100, 50, region{90, 40, 9, 9}},
	}
	for _, tt := range tests {
		if got := clipFloor(tt.in, tt.imgW, tt.imgH); got != tt.want {
			t.Errorf("clipFloor(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSquarePad(t *testing.T) {
	for _, tt := range []struct {
		w, h   int
		centre bool
		want   int
	}{{10, 10, true, 0}, {10, 7, true, 1}, {7, 10, true, 1}, {10, 6, true, 2}, {10, 7, false, 0}} {
		if got := squarePad(tt.w, tt.h, tt.centre); got != tt.want {
			t.Errorf("squarePad(%d, %d, %v) = %d, want %d", tt.w, tt.h, tt.centre, got, tt.want)
		}
	}
}

// TestSquareInput compares the fused crop/pad/resize/normalise with the same
// steps done one by one on tensors, using nn.ResizeBilinear.
func TestSquareInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	img := NewRGB(57, 41)
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	for _, tc := range []struct {
		r      region
		centre bool
		size   int
	}{
		{region{0, 0, 57, 41}, false, 32},
		{region{3, 5, 20, 33}, true, 112},
		{region{10, 2, 31, 18}, true, 150},
		{region{10, 2, 31, 18}, true, 31},
		{region{0, 0, 57, 41}, true, 13},
	} {
		got := squareInput(img, tc.r, tc.centre, tc.size, normFace)
		s := max(tc.r.w, tc.r.h)
		before := squarePad(tc.r.w, tc.r.h, tc.centre)
		ox, oy := 0, 0
		if tc.r.w < tc.r.h {
			ox = before
		} else {
			oy = before
		}
		sq := nn.New(1, s, s, 3)
		for y := 0; y < tc.r.h; y++ {
			for x := 0; x < tc.r.w; x++ {
				for c := 0; c < 3; c++ {
					sq.Data[((y+oy)*s+x+ox)*3+c] = float32(img.Pix[((tc.r.y+y)*img.W+tc.r.x+x)*3+c])
				}
			}
		}
		want := nn.ResizeBilinear(sq, tc.size, tc.size, false, false)
		var worst float64
		for i, v := range want.Data {
			w := (v - normFace.mean[i%3]) / 255
			worst = math.Max(worst, math.Abs(float64(got.Data[i]-w)))
		}
		if worst > 1e-5 {
			t.Errorf("%+v: max deviation %g", tc, worst)
		}
	}
}

// Every chroma subsampling, and sub-images at odd offsets, convert exactly
// as draw.Draw does.
func TestFromYCbCrSubsampling(t *testing.T) {
	t.Parallel()
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range ratios {
		src := image.NewYCbCr(image.Rect(0, 0, 37, 23), r)
		for _, plane := range [][]uint8{src.Y, src.Cb, src.Cr} {
			for i := range plane {
				plane[i] = uint8(rng.IntN(256))
			}
		}
		for _, rect := range []image.Rectangle{src.Rect, image.Rect(3, 5, 30, 22), image.Rect(1, 1, 2, 2)} {
			sub := src.SubImage(rect)
			got := FromImage(sub)
			rgba := image.NewRGBA(image.Rect(0, 0, rect.Dx(), rect.Dy()))
			draw.Draw(rgba, rgba.Bounds(), sub, rect.Min, draw.Src)
			want := FromImage(rgba)
			if string(got.Pix) != string(want.Pix) {
				t.Errorf("%v %v: pixels differ from draw.Draw", r, rect)
			}
		}
	}
}
