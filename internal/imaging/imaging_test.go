package imaging_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"runtime"
	"testing"

	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
)

func TestSniff(t *testing.T) {
	t.Parallel()
	g := imagingtest.Gradient(37, 23)
	tests := []struct {
		name   string
		data   []byte
		format imaging.Format
		w, h   int
	}{
		{"JPEG", imagingtest.JPEG(t, g), imaging.JPEG, 37, 23},
		{"PNG", imagingtest.PNG(t, g), imaging.PNG, 37, 23},
		{"GIF", imagingtest.GIF(t, g), imaging.GIF, 37, 23},
		{"BMP", imagingtest.BMP(t, g), imaging.BMP, 37, 23},
		{"WebPLossless", imagingtest.WebPLossless(37, 23, color.RGBA{1, 2, 3, 255}, false), imaging.WebP, 37, 23},
		{"WebPExtended", imagingtest.WebPLossless(37, 23, color.RGBA{1, 2, 3, 255}, true), imaging.WebP, 37, 23},
		{"WebPLossy", imagingtest.WebPLossyHeader(640, 480), imaging.WebP, 640, 480},
		{"PNGHugeHeader", imagingtest.PNGWithSize(60000, 60000), imaging.PNG, 60000, 60000},
		{"PNGMaxUint32", imagingtest.PNGWithSize(1<<32-1, 1), imaging.PNG, 1<<31 - 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := imaging.Sniff(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if h.Format != tt.format || h.Width != tt.w || h.Height != tt.h || h.Orientation != 1 {
				t.Fatalf("got %+v, want %s %dx%d orientation 1", h, tt.format, tt.w, tt.h)
			}
		})
	}
}

func TestSniffRejects(t *testing.T) {
	t.Parallel()
	jpg := imagingtest.JPEG(t, imagingtest.Gradient(16, 16))
	tests := []struct {
		name string
		data []byte
	}{
		{"Empty", nil},
		{"Text", []byte("hello, this is not an image")},
		{"JPEGSOIOnly", []byte{0xff, 0xd8}},
		{"JPEGNoFrame", []byte{0xff, 0xd8, 0xff, 0xd9}},
		{"JPEGTruncatedInHeader", jpg[:20]},
		{"JPEGShortSegment", []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01}},
		{"JPEGLossless", []byte{0xff, 0xd8, 0xff, 0xc3, 0x00, 0x0b, 8, 0, 16, 0, 16, 1, 1, 0x11, 0}},
		{"JPEGZeroHeight", []byte{0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 8, 0, 0, 0, 16, 1, 1, 0x11, 0}},
		{"PNGSignatureOnly", []byte("\x89PNG\r\n\x1a\n")},
		{"PNGZeroWidth", imagingtest.PNGWithSize(0, 10)},
		{"GIFShort", []byte("GIF89a\x01")},
		{"BMPShort", []byte("BM\x00\x00")},
		{"WebPUnknownChunk", append([]byte("RIFF\x10\x00\x00\x00WEBPXXXX"), make([]byte, 12)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if h, err := imaging.Sniff(tt.data); !errors.Is(err, imaging.ErrUnsupported) {
				t.Fatalf("Sniff = %+v, %v; want ErrUnsupported", h, err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	g := imagingtest.Gradient(64, 48)
	gray := color.RGBA{90, 90, 90, 255}
	tests := []struct {
		name string
		data []byte
		tol  int
		want func(x, y int) color.Color
	}{
		{"PNG", imagingtest.PNG(t, g), 0, func(x, y int) color.Color { return g.At(x, y) }},
		{"BMP", imagingtest.BMP(t, g), 0, func(x, y int) color.Color { return g.At(x, y) }},
		{"JPEG", imagingtest.JPEG(t, g), 12, func(x, y int) color.Color { return g.At(x, y) }},
		{"GIF", imagingtest.GIF(t, g), 50, func(x, y int) color.Color { return g.At(x, y) }},
		{"WebP", imagingtest.WebPLossless(64, 48, gray, false), 0, func(x, y int) color.Color { return gray }},
		{"WebPExtended", imagingtest.WebPLossless(64, 48, gray, true), 0, func(x, y int) color.Color { return gray }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img, h, err := imaging.Decode(tt.data, 4096)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := img.Bounds(), image.Rect(0, 0, 64, 48); got != want {
				t.Fatalf("bounds %v, want %v", got, want)
			}
			if h.Width != 64 || h.Height != 48 {
				t.Fatalf("header %+v", h)
			}
			for _, p := range []image.Point{{0, 0}, {63, 0}, {0, 47}, {63, 47}, {31, 20}} {
				if got, want := img.At(p.X, p.Y), tt.want(p.X, p.Y); !imagingtest.Near(got, want, tt.tol) {
					t.Errorf("pixel %v = %v, want %v", p, got, want)
				}
			}
		})
	}
}

func TestDecodeNoise(t *testing.T) {
	t.Parallel()
	n := imagingtest.Noise(50, 30, 1)
	img, _, err := imaging.Decode(imagingtest.PNG(t, n), 0)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 30; y++ {
		for x := 0; x < 50; x++ {
			if img.At(x, y) != color.Color(n.RGBAAt(x, y)) && !imagingtest.Near(img.At(x, y), n.At(x, y), 0) {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, img.At(x, y), n.At(x, y))
			}
		}
	}
}

// A GIF's first frame may sit anywhere on its logical screen; Decode puts it
// on a screen-sized canvas starting at the origin.
func TestDecodeGIFOffsetFrame(t *testing.T) {
	t.Parallel()
	pal := color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{255, 0, 0, 255}}
	frame := image.NewPaletted(image.Rect(10, 5, 20, 15), pal)
	for i := range frame.Pix {
		frame.Pix[i] = 1
	}
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: pal, Width: 30, Height: 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(b.Bytes(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 30, 20); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	if !imagingtest.Near(img.At(12, 7), color.RGBA{255, 0, 0, 255}, 0) {
		t.Fatalf("frame pixel = %v", img.At(12, 7))
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	jpg := imagingtest.JPEG(t, imagingtest.Noise(200, 150, 2))
	png := imagingtest.PNG(t, imagingtest.Noise(200, 150, 3))
	tests := []struct {
		name    string
		data    []byte
		maxSide int
		want    error
	}{
		{"HugeHeaderPNG", imagingtest.PNGWithSize(60000, 60000), 4096, imaging.ErrTooLarge},
		{"WideHeaderPNG", imagingtest.PNGWithSize(4097, 10), 4096, imaging.ErrTooLarge},
		{"TallHeaderPNG", imagingtest.PNGWithSize(10, 4097), 4096, imaging.ErrTooLarge},
		{"HugeWebP", imagingtest.WebPLossyHeader(5000, 100), 4096, imaging.ErrTooLarge},
		{"OverSmallLimit", imagingtest.PNG(t, imagingtest.Gradient(300, 10)), 256, imaging.ErrTooLarge},
		{"TruncatedJPEG", jpg[:len(jpg)/2], 4096, imaging.ErrUnsupported},
		{"TruncatedPNG", png[:len(png)/2], 4096, imaging.ErrUnsupported},
		{"HeaderOnlyPNG", imagingtest.PNGWithSize(100, 100), 4096, imaging.ErrUnsupported},
		{"LossyWebPHeaderOnly", imagingtest.WebPLossyHeader(64, 64), 4096, imaging.ErrUnsupported},
		{"Garbage", []byte("GIF89a\x01\x00\x01\x00 but not really a gif"), 4096, imaging.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img, _, err := imaging.Decode(tt.data, tt.maxSide)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %v; want %v", img, err, tt.want)
			}
		})
	}
}

// The size check must happen before any pixel buffer exists: a 60000×60000
// RGB header would otherwise cost 10 GB.
func TestDecodeHugeHeaderDoesNotAllocate(t *testing.T) {
	data := imagingtest.PNGWithSize(60000, 60000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, _, err := imaging.Decode(data, 4096); !errors.Is(err, imaging.ErrTooLarge) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Fatalf("10 rejected decodes allocated %d bytes", d)
	}
}

// A header that passes our check but disagrees with the decoder's own must
// be refused, or the decoder could allocate for the size we never checked.
func TestDecodeHeaderDisagreement(t *testing.T) {
	t.Parallel()
	// VP8X canvas that differs from the VP8L frame inside it.
	w := imagingtest.WebPLossless(16, 16, color.RGBA{1, 1, 1, 255}, true)
	w[24+4] = 7 // canvas width-1 low byte: 8 instead of 16
	if _, _, err := imaging.Decode(w, 4096); !errors.Is(err, imaging.ErrUnsupported) {
		t.Fatalf("mismatched VP8X canvas: %v", err)
	}
}

func TestDecodeExifOrientation(t *testing.T) {
	t.Parallel()
	// upright is what a person should see. For each orientation we store
	// the pixels the way a camera would (the inverse transform) and tag
	// the file, then expect Decode to give back upright.
	const w, h = 64, 32
	upright := imagingtest.Quadrants(w, h)
	for o := 1; o <= 8; o++ {
		for _, big := range []bool{false, true} {
			stored := storeAs(upright, imaging.Orientation(o))
			data := imagingtest.WithExifOrientation(imagingtest.JPEG(t, stored), uint16(o), big)
			hdr, err := imaging.Sniff(data)
			if err != nil {
				t.Fatal(err)
			}
			if hdr.Orientation != imaging.Orientation(o) {
				t.Fatalf("orientation %d (big endian %v): sniffed %d", o, big, hdr.Orientation)
			}
			img, _, err := imaging.Decode(data, 4096)
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds(); got != upright.Bounds() {
				t.Fatalf("orientation %d: bounds %v, want %v", o, got, upright.Bounds())
			}
			for _, p := range []image.Point{{4, 4}, {w - 5, 4}, {4, h - 5}, {w - 5, h - 5}} {
				if !imagingtest.Near(img.At(p.X, p.Y), upright.At(p.X, p.Y), 40) {
					t.Errorf("orientation %d big endian %v: pixel %v = %v, want %v", o, big, p, img.At(p.X, p.Y), upright.At(p.X, p.Y))
				}
			}
		}
	}
}

// storeAs returns the stored pixels that orientation o displays as upright.
func storeAs(upright image.Image, o imaging.Orientation) image.Image {
	// Each orientation's inverse is itself, except 6 and 8 (the two
	// quarter turns), which invert each other.
	switch o {
	case 6:
		return imaging.Orient(upright, 8)
	case 8:
		return imaging.Orient(upright, 6)
	}
	return imaging.Orient(upright, o)
}

func TestExifMalformedIsUpright(t *testing.T) {
	t.Parallel()
	jpg := imagingtest.JPEG(t, imagingtest.Gradient(16, 8))
	tests := []struct {
		name    string
		payload []byte
	}{
		{"NoTIFF", []byte("Exif\x00\x00")},
		{"BadByteOrder", []byte("Exif\x00\x00XX*\x00\x08\x00\x00\x00")},
		{"BadMagic", []byte("Exif\x00\x00II+\x00\x08\x00\x00\x00")},
		{"IFDOffsetOutside", []byte("Exif\x00\x00II*\x00\xff\xff\xff\x7f")},
		{"EntriesOutside", []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff")},
		{"ValueOutOfRange", append([]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09\x00\x00\x00"), 0, 0, 0, 0)},
		{"WrongType", append([]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x02\x00\x01\x00\x00\x00\x06\x00\x00\x00"), 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := imagingtest.SpliceAPP1(jpg, tt.payload)
			img, h, err := imaging.Decode(data, 4096)
			if err != nil {
				t.Fatal(err)
			}
			if h.Orientation != 1 || img.Bounds() != image.Rect(0, 0, 16, 8) {
				t.Fatalf("orientation %d bounds %v", h.Orientation, img.Bounds())
			}
		})
	}
	// A LONG-typed tag is accepted: some writers emit it.
	long := append([]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x04\x00\x01\x00\x00\x00\x06\x00\x00\x00"), 0, 0, 0, 0)
	if h, err := imaging.Sniff(imagingtest.SpliceAPP1(jpg, long)); err != nil || h.Orientation != 6 {
		t.Fatalf("LONG orientation: %+v, %v", h, err)
	}
}

func TestOrientCorners(t *testing.T) {
	t.Parallel()
	// A 3×2 stored image with a distinct value per pixel.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[i*4] = uint8(i + 1)
		src.Pix[i*4+3] = 255
	}
	at := func(m image.Image, x, y int) uint8 { return m.(*image.RGBA).RGBAAt(x, y).R }
	// Display rows for each orientation, written out by hand from the
	// EXIF definitions. Stored rows are [1 2 3] [4 5 6].
	tests := []struct {
		o    imaging.Orientation
		rows [][]uint8
	}{
		{2, [][]uint8{{3, 2, 1}, {6, 5, 4}}},
		{3, [][]uint8{{6, 5, 4}, {3, 2, 1}}},
		{4, [][]uint8{{4, 5, 6}, {1, 2, 3}}},
		{5, [][]uint8{{1, 4}, {2, 5}, {3, 6}}},
		{6, [][]uint8{{4, 1}, {5, 2}, {6, 3}}},
		{7, [][]uint8{{6, 3}, {5, 2}, {4, 1}}},
		{8, [][]uint8{{3, 6}, {2, 5}, {1, 4}}},
	}
	for _, tt := range tests {
		got := imaging.Orient(src, tt.o)
		if got.Bounds().Dy() != len(tt.rows) || got.Bounds().Dx() != len(tt.rows[0]) {
			t.Fatalf("orientation %d: bounds %v", tt.o, got.Bounds())
		}
		for y, row := range tt.rows {
			for x, want := range row {
				if v := at(got, x, y); v != want {
					t.Errorf("orientation %d: (%d,%d) = %d, want %d", tt.o, x, y, v, want)
				}
			}
		}
	}
	if imaging.Orient(src, 1) != image.Image(src) {
		t.Error("orientation 1 copied the image")
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	src := imagingtest.Noise(7, 5, 4)
	r90 := imaging.Rotate(src, 90)
	if r90.Bounds() != image.Rect(0, 0, 5, 7) {
		t.Fatalf("bounds %v", r90.Bounds())
	}
	// Clockwise: the stored top-left pixel ends up top-right.
	if r90.At(4, 0) != src.At(0, 0) {
		t.Fatal("90° did not turn clockwise")
	}
	for _, seq := range [][]int{{90, 90, 90, 90}, {90, 270}, {180, 180}, {-90, 90}, {270, 90}, {0}, {360}} {
		var img image.Image = src
		for _, d := range seq {
			img = imaging.Rotate(img, d)
		}
		for y := 0; y < 5; y++ {
			for x := 0; x < 7; x++ {
				if !imagingtest.Near(img.At(x, y), src.At(x, y), 0) {
					t.Fatalf("rotations %v are not the identity at (%d,%d)", seq, x, y)
				}
			}
		}
	}
	// A YCbCr source (what JPEG decodes to) with a non-zero origin.
	y := image.NewYCbCr(image.Rect(3, 3, 11, 7), image.YCbCrSubsampleRatio420)
	if got := imaging.Rotate(y.SubImage(image.Rect(3, 3, 11, 7)), 270).Bounds(); got != image.Rect(0, 0, 4, 8) {
		t.Fatalf("YCbCr rotate bounds %v", got)
	}
}
