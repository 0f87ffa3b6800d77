package face

import (
	"image"
	"image/draw"
	"math"

	"github.com/glint-id/glint/internal/nn"
)

// NewRGB returns a black w×h image.
func NewRGB(w, h int) *RGB {
	return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
}

// FromImage converts a decoded image to 8-bit RGB the way the reference
// outputs were produced: as draw.Draw into an image.RGBA would, dropping
// alpha. For the YCbCr images image/jpeg returns this is color.YCbCrToRGB
// per pixel with each pixel's chroma taken from the one sample covering it
// (no chroma interpolation), done here without the intermediate RGBA.
func FromImage(img image.Image) *RGB {
	b := img.Bounds()
	m := NewRGB(b.Dx(), b.Dy())
	switch src := img.(type) {
	case *image.YCbCr:
		fromYCbCr(m, src)
	default:
		rgba, ok := img.(*image.RGBA)
		if !ok {
			rgba = image.NewRGBA(image.Rect(0, 0, m.W, m.H))
			draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
		} else {
			rgba = rgba.SubImage(b).(*image.RGBA)
		}
		for y := 0; y < m.H; y++ {
			src := rgba.Pix[y*rgba.Stride:][:4*m.W]
			dst := m.Pix[3*y*m.W:][:3*m.W]
			for x := 0; x < m.W; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
		}
	}
	return m
}

// region is an integer rectangle of an image, the part a network sees.
type region struct{ x, y, w, h int }

// rect converts r to a Rect.
func (r region) rect() Rect {
	return Rect{float64(r.x), float64(r.y), float64(r.w), float64(r.h)}
}

// regionOf converts a Rect with integer coordinates to a region,
// truncating any fraction.
func regionOf(r Rect) region {
	return region{int(r.X), int(r.Y), int(r.W), int(r.H)}
}

// clipFloor is face-api's Box.clipAtImageBorders: the box is cut at the
// top and left image borders, its width and height limited to what is left
// of the image, and all four numbers floored independently (so the floored
// width is not right−left of the floored edges).
func clipFloor(b Rect, imgW, imgH int) region {
	x := math.Max(b.X, 0)
	y := math.Max(b.Y, 0)
	w := math.Min(b.X+b.W-x, float64(imgW)-x)
	h := math.Min(b.Y+b.H-y, float64(imgH)-y)
	return region{int(math.Floor(x)), int(math.Floor(y)), int(math.Floor(w)), int(math.Floor(h))}
}

// squarePad returns how many zero rows or columns face-api's padToSquare
// puts before the shorter side of a w×h region. Centred, round(d/2) go
// after it and the rest before; otherwise all d go after.
func squarePad(w, h int, centre bool) (before int) {
	if !centre {
		return 0
	}
	d := w - h
	if d < 0 {
		d = -d
	}
	return d - (d+1)/2 // JavaScript's Math.round(d/2) rounds halves up
}

// pixelNorm maps an interpolated 8-bit value v of channel c to a network
// input: (v − mean[c]) / div − off, each step rounded to float32 as the
// TF.js ops were.
type pixelNorm struct {
	mean [3]float32
	div  float32
	off  float32
}

var (
	// normSSD is x/127.5 − 1.
	normSSD = pixelNorm{div: 127.5, off: 1}
	// normFace is face-api's (x − mean RGB)/255 for the landmark and
	// recognition networks.
	normFace = pixelNorm{mean: [3]float32{122.782, 117.001, 104.298}, div: 255}
	// normTiny is the tiny detector's (x − mean RGB)/255.
	normTiny = pixelNorm{mean: [3]float32{117.001, 114.697, 97.404}, div: 255}
)

// bilinearTap is one output coordinate's two source indices (−1 for a
// padding pixel) and the weight of the second.
type bilinearTap struct {
	i0, i1 int
	a      float32
}

// bilinearTaps maps n output coordinates onto a padded source axis of
// length s whose real pixels are [pad, pad+real), with TF.js's rule for
// alignCorners = halfPixelCenters = false: src = dst·s/n, the upper
// neighbour clamped to the last index. Indices are returned relative to the
// real pixels.
func bilinearTaps(n, s, pad, real int) []bilinearTap {
	taps := make([]bilinearTap, n)
	scale := float32(s) / float32(n)
	inReal := func(i int) int {
		if i -= pad; i < 0 || i >= real {
			return -1
		}
		return i
	}
	for o := range taps {
		src := float32(o) * scale
		i0 := int(src)
		i1 := min(i0+1, s-1)
		taps[o] = bilinearTap{inReal(i0), inReal(i1), src - float32(i0)}
	}
	return taps
}

// squareInput cuts region r out of img, pads it with zeros to a square
// (centred or at the bottom/right, see squarePad), resizes that square
// bilinearly to size×size and normalises it: the input pipeline of every
// face-api network, without materialising the padded square. The result is
// a [1, size, size, 3] tensor.
func squareInput(img *RGB, r region, centre bool, size int, norm pixelNorm) *nn.Tensor {
	s := max(r.w, r.h)
	before := squarePad(r.w, r.h, centre)
	padX, padY := 0, 0
	if r.w < r.h {
		padX = before
	} else {
		padY = before
	}
	xs := bilinearTaps(size, s, padX, r.w)
	ys := bilinearTaps(size, s, padY, r.h)
	t := nn.New(1, size, size, 3)
	stride := 3 * img.W
	var zero [3]uint8
	px := func(row []uint8, i int) []uint8 {
		if row == nil || i < 0 {
			return zero[:]
		}
		return row[3*(r.x+i):][:3]
	}
	rowOf := func(i int) []uint8 {
		if i < 0 {
			return nil
		}
		return img.Pix[(r.y+i)*stride:][:stride]
	}
	nn.Parallel(size, 8, func(lo, hi int) {
		for oy := lo; oy < hi; oy++ {
			ty := ys[oy]
			top, bot := rowOf(ty.i0), rowOf(ty.i1)
			out := t.Data[3*size*oy:][:3*size]
			for ox, tx := range xs {
				tl, tr := px(top, tx.i0), px(top, tx.i1)
				bl, br := px(bot, tx.i0), px(bot, tx.i1)
				for c := 0; c < 3; c++ {
					vtl, vtr := float32(tl[c]), float32(tr[c])
					vbl, vbr := float32(bl[c]), float32(br[c])
					// Explicit float32 conversions keep each step rounded,
					// as the float32 kernels did, even where the compiler
					// could fuse a multiply-add.
					vt := vtl + float32((vtr-vtl)*tx.a)
					vb := vbl + float32((vbr-vbl)*tx.a)
					v := vt + float32((vb-vt)*ty.a)
					out[3*ox+c] = float32((v-norm.mean[c])/norm.div) - norm.off
				}
			}
		}
	})
	return t
}

// fromYCbCr converts a decoded JPEG to m row by row. It equals
// color.YCbCrToRGB on every pixel (the tests check the reference outputs'
// pixel hash), but walks the chroma planes directly instead of calling
// YOffset, COffset and the converter per pixel, which took most of the
// conversion's time.
func fromYCbCr(m *RGB, src *image.YCbCr) {
	b := src.Bounds()
	// Horizontal and vertical chroma subsampling shifts.
	var hs, vs int
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hs = 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio440:
		vs = 1
	case image.YCbCrSubsampleRatio411:
		hs = 2
	case image.YCbCrSubsampleRatio410:
		hs, vs = 2, 1
	}
	nn.Parallel(m.H, 16, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			py := b.Min.Y + y
			yrow := src.Y[(py-src.Rect.Min.Y)*src.YStride+(b.Min.X-src.Rect.Min.X):]
			crow := (py>>vs - src.Rect.Min.Y>>vs) * src.CStride
			cx0 := src.Rect.Min.X >> hs
			out := m.Pix[3*y*m.W:][:3*m.W]
			for x, yv := range yrow[:m.W] {
				ci := crow + (b.Min.X+x)>>hs - cx0
				// JFIF Y'CbCr to RGB in 16.16 fixed point, coefficients
				// (1.402, 0.344136, 0.714136, 1.772) scaled by 2^16 and
				// rounded: the arithmetic of color.YCbCrToRGB, so the
				// pixels match the reference outputs exactly. Written out
				// here because a function call per pixel is not inlined
				// and cost half the conversion.
				yy := int32(yv) * 0x10101 // y in 16.16, 255 mapping to just under 256
				b1 := int32(src.Cb[ci]) - 128
				r1 := int32(src.Cr[ci]) - 128
				o := out[3*x : 3*x+3 : 3*x+3]
				o[0] = clamp16(yy + 91881*r1)
				o[1] = clamp16(yy - 22554*b1 - 46802*r1)
				o[2] = clamp16(yy + 116130*b1)
			}
		}
	})
}

// clamp16 takes the integer part of a 16.16 value clamped to 0..255.
func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31)) // negative → 0, too large → 255
}
