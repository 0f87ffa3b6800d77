package imaging_test

import (
	"errors"
	"image/color"
	"testing"

	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
)

func fuzzSeeds(f *testing.F) {
	g := imagingtest.Gradient(24, 16)
	jpg := imagingtest.JPEG(f, g)
	for _, s := range [][]byte{
		jpg,
		jpg[:len(jpg)/3],
		imagingtest.WithExifOrientation(jpg, 6, false),
		imagingtest.WithExifOrientation(jpg, 8, true),
		imagingtest.PNG(f, g),
		imagingtest.GIF(f, g),
		imagingtest.BMP(f, g),
		imagingtest.WebPLossless(24, 16, color.RGBA{9, 8, 7, 255}, false),
		imagingtest.WebPLossless(24, 16, color.RGBA{9, 8, 7, 255}, true),
		imagingtest.WebPLossyHeader(24, 16),
		imagingtest.PNGWithSize(60000, 60000),
		nil,
		[]byte("not an image"),
	} {
		f.Add(s)
	}
}

func FuzzSniff(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := imaging.Sniff(data)
		if err != nil {
			if !errors.Is(err, imaging.ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		if h.Width <= 0 || h.Height <= 0 || h.Orientation < 1 || h.Orientation > 8 {
			t.Fatalf("bad header %+v", h)
		}
	})
}

func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	const maxSide = 256
	f.Fuzz(func(t *testing.T, data []byte) {
		img, h, err := imaging.Decode(data, maxSide)
		if err != nil {
			if !errors.Is(err, imaging.ErrUnsupported) && !errors.Is(err, imaging.ErrTooLarge) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		b := img.Bounds()
		if b.Min.X != 0 || b.Min.Y != 0 || b.Dx() > maxSide || b.Dy() > maxSide || b.Empty() {
			t.Fatalf("bounds %v for header %+v beyond the %d px limit", b, h, maxSide)
		}
	})
}
