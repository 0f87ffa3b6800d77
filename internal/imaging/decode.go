package imaging

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// codec is the standard decoder pair for one format.
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecs are called directly rather than through image.Decode so that a
// format registered by some other imported package can never be reached
// with untrusted input.
var codecs = map[Format]codec{
	JPEG: {jpeg.DecodeConfig, jpeg.Decode},
	PNG:  {png.DecodeConfig, png.Decode},
	GIF:  {gif.DecodeConfig, gif.Decode}, // gif.Decode returns the first frame only
	BMP:  {bmp.DecodeConfig, bmp.Decode},
	WebP: {webp.DecodeConfig, webp.Decode},
}

// Decode decodes an uploaded image and returns it upright, with its bounds
// starting at (0, 0), together with its header.
//
// When maxSide > 0 and either stored side exceeds it, Decode returns an
// error wrapping ErrTooLarge after reading only the header. Anything that is
// not a complete image in a supported format yields an error wrapping
// ErrUnsupported. Decode never panics on malformed input.
func Decode(data []byte, maxSide int) (image.Image, Header, error) {
	h, err := Sniff(data)
	if err != nil {
		return nil, h, err
	}
	if maxSide > 0 && (h.Width > maxSide || h.Height > maxSide) {
		return nil, h, fmt.Errorf("%w: %s %dx%d exceeds %d px", ErrTooLarge, h.Format, h.Width, h.Height, maxSide)
	}
	c := codecs[h.Format]

	// Our sniffer and the decoder are two parsers of the same header. If
	// they ever disagree, a crafted file could pass our size check while
	// the decoder allocates for a different size, so refuse it.
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, h, fmt.Errorf("%w: %s: %w", ErrUnsupported, h.Format, err)
	}
	if cfg.Width != h.Width || cfg.Height != h.Height {
		return nil, h, fmt.Errorf("%w: %s: header says %dx%d, decoder says %dx%d",
			ErrUnsupported, h.Format, h.Width, h.Height, cfg.Width, cfg.Height)
	}

	img, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, h, fmt.Errorf("%w: %s: %w", ErrUnsupported, h.Format, err)
	}
	if b := img.Bounds(); b.Dx() > h.Width || b.Dy() > h.Height || b.Empty() {
		return nil, h, fmt.Errorf("%w: %s: decoded bounds %v outside header %dx%d",
			ErrUnsupported, h.Format, b, h.Width, h.Height)
	}
	img = toOrigin(img, h)
	return Orient(img, h.Orientation), h, nil
}

// toOrigin places img on a canvas of the header's size with its origin at
// (0, 0). Only GIF produces other bounds (a first frame offset within the
// logical screen); consumers then need not handle non-zero minimums.
func toOrigin(img image.Image, h Header) image.Image {
	b := img.Bounds()
	if b.Min == (image.Point{}) && b.Dx() == h.Width && b.Dy() == h.Height {
		return img
	}
	dst := image.NewRGBA(image.Rect(0, 0, h.Width, h.Height))
	draw.Draw(dst, b, img, b.Min, draw.Src)
	return dst
}
