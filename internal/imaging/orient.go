package imaging

import (
	"fmt"
	"image"
	"image/draw"
)

// Rotate returns img turned clockwise by degrees, which must be a multiple
// of 90 (negative values turn counter-clockwise). A turn of 0 returns img
// itself; any other returns a new *image.RGBA with bounds at the origin.
func Rotate(img image.Image, degrees int) image.Image {
	switch ((degrees % 360) + 360) % 360 {
	case 0:
		return img
	case 90:
		return Orient(img, 6)
	case 180:
		return Orient(img, 3)
	case 270:
		return Orient(img, 8)
	}
	panic(fmt.Sprintf("imaging: Rotate by %d degrees, not a multiple of 90", degrees))
}

// Orient applies an EXIF orientation to img, returning what a viewer would
// display. Orientation 1 (or any invalid value) returns img unchanged;
// otherwise the result is a new *image.RGBA with bounds at the origin.
func Orient(img image.Image, o Orientation) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	src := toRGBA(img)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o.swapsAxes() {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))

	// For each display pixel (x, y), the stored pixel it comes from.
	var from func(x, y int) (int, int)
	switch o {
	case 2:
		from = func(x, y int) (int, int) { return w - 1 - x, y }
	case 3:
		from = func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }
	case 4:
		from = func(x, y int) (int, int) { return x, h - 1 - y }
	case 5:
		from = func(x, y int) (int, int) { return y, x }
	case 6:
		from = func(x, y int) (int, int) { return y, h - 1 - x }
	case 7:
		from = func(x, y int) (int, int) { return w - 1 - y, h - 1 - x }
	case 8:
		from = func(x, y int) (int, int) { return w - 1 - y, x }
	}
	for y := 0; y < dh; y++ {
		row := dst.Pix[y*dst.Stride : y*dst.Stride+dw*4]
		for x := 0; x < dw; x++ {
			sx, sy := from(x, y)
			si := sy*src.Stride + sx*4
			copy(row[x*4:x*4+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// toRGBA returns img as an *image.RGBA whose bounds start at the origin,
// converting only when needed. image/draw has fast paths from the types
// the decoders produce (YCbCr, paletted, NRGBA).
func toRGBA(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m
}
