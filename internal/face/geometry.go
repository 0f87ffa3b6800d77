package face

import (
	"image"
	"math"

	"github.com/glint-id/glint/internal/nn"
)

// Rotate returns img turned clockwise by deg, one of 0, 90, 180 and 270.
func (img *RGB) Rotate(deg int) *RGB {
	deg = ((deg % 360) + 360) % 360
	if deg == 0 {
		return img
	}
	w, h := img.W, img.H
	if deg != 180 {
		w, h = h, w
	}
	out := NewRGB(w, h)
	for y := 0; y < img.H; y++ {
		for x := 0; x < img.W; x++ {
			var nx, ny int
			switch deg {
			case 90:
				nx, ny = img.H-1-y, x
			case 180:
				nx, ny = img.W-1-x, img.H-1-y
			case 270:
				nx, ny = y, img.W-1-x
			}
			copy(out.Pix[3*(ny*w+nx):][:3], img.Pix[3*(y*img.W+x):][:3])
		}
	}
	return out
}

// Mirror returns img flipped left to right.
func (img *RGB) Mirror() *RGB {
	out := NewRGB(img.W, img.H)
	for y := 0; y < img.H; y++ {
		src := img.Pix[3*y*img.W:][:3*img.W]
		dst := out.Pix[3*y*img.W:][:3*img.W]
		for x := 0; x < img.W; x++ {
			copy(dst[3*(img.W-1-x):][:3], src[3*x:][:3])
		}
	}
	return out
}

// Crop returns the pixels of img inside r (clipped to img, corners floored)
// as a new image.
func (img *RGB) Crop(r Rect) *RGB {
	g := clipFloor(r, img.W, img.H)
	if g.w <= 0 || g.h <= 0 {
		return NewRGB(0, 0)
	}
	out := NewRGB(g.w, g.h)
	for y := 0; y < g.h; y++ {
		copy(out.Pix[3*y*g.w:][:3*g.w], img.Pix[3*((g.y+y)*img.W+g.x):][:3*g.w])
	}
	return out
}

// RGBA returns img as a standard library image, for encoding.
func (img *RGB) RGBA() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i := 0; i < img.W*img.H; i++ {
		m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2], m.Pix[4*i+3] = img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2], 255
	}
	return m
}

// padImage returns img inside a black border of pad pixels on every side.
func padImage(img *RGB, pad int) *RGB {
	out := NewRGB(img.W+2*pad, img.H+2*pad)
	for y := 0; y < img.H; y++ {
		copy(out.Pix[3*((y+pad)*out.W+pad):][:3*img.W], img.Pix[3*y*img.W:][:3*img.W])
	}
	return out
}

// Downscale returns img shrunk by area averaging so that its longer side is
// at most maxSide, and the factor applied (1 when img is small enough, and
// then img itself). Averaging, unlike the detectors' bilinear resize, does
// not alias when a large photo shrinks many times.
func (img *RGB) Downscale(maxSide int) (*RGB, float64) {
	long := max(img.W, img.H)
	if maxSide <= 0 || long <= maxSide {
		return img, 1
	}
	s := float64(maxSide) / float64(long)
	w := max(1, int(math.Round(float64(img.W)*s)))
	h := max(1, int(math.Round(float64(img.H)*s)))
	out := NewRGB(w, h)
	sx, sy := float64(img.W)/float64(w), float64(img.H)/float64(h)
	nn.Parallel(h, 32, func(lo, hi int) {
		img.downscaleRows(out, lo, hi, sx, sy)
	})
	return out, s
}

// downscaleRows fills output rows [lo, hi) of out, each pixel the mean of
// the source pixels its footprint touches.
func (img *RGB) downscaleRows(out *RGB, lo, hi int, sx, sy float64) {
	w := out.W
	for oy := lo; oy < hi; oy++ {
		y0, y1 := int(float64(oy)*sy), min(int(math.Ceil(float64(oy+1)*sy)), img.H)
		for ox := 0; ox < w; ox++ {
			x0, x1 := int(float64(ox)*sx), min(int(math.Ceil(float64(ox+1)*sx)), img.W)
			var r, g, b, n int
			for y := y0; y < y1; y++ {
				row := img.Pix[3*(y*img.W+x0) : 3*(y*img.W+x1)]
				for i := 0; i < len(row); i += 3 {
					r += int(row[i])
					g += int(row[i+1])
					b += int(row[i+2])
				}
				n += x1 - x0
			}
			p := out.Pix[3*(oy*w+ox):]
			p[0], p[1], p[2] = uint8((r+n/2)/n), uint8((g+n/2)/n), uint8((b+n/2)/n)
		}
	}
}

// RotateBack maps r, a rectangle in the image that Rotate(deg) made from a
// w×h image, back into that w×h image.
func (r Rect) RotateBack(deg, w, h int) Rect {
	switch ((deg % 360) + 360) % 360 {
	case 90: // Rotate(90) sends (x, y) to (h − y, x)
		return Rect{r.Y, float64(h) - r.X - r.W, r.H, r.W}
	case 180:
		return Rect{float64(w) - r.X - r.W, float64(h) - r.Y - r.H, r.W, r.H}
	case 270: // Rotate(270) sends (x, y) to (y, w − x)
		return Rect{float64(w) - r.Y - r.H, r.X, r.H, r.W}
	}
	return r
}
