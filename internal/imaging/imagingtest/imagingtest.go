// Package imagingtest builds test images in code: gradients, noise, every
// supported container format, oversized headers and EXIF-tagged JPEGs
// written byte by byte. It is for tests only.
package imagingtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/bmp"
)

// Gradient returns a w×h image whose colour changes smoothly with position.
func Gradient(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), 128, 255})
		}
	}
	return m
}

// Noise returns a w×h image of seeded random pixels.
func Noise(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.Uint32())
	}
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	return m
}

// Quadrants returns a w×h image with a distinct colour in each quadrant,
// large enough blocks to survive JPEG compression.
func Quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, quadrantColor(x >= w/2, y >= h/2))
		}
	}
	return m
}

func quadrantColor(right, bottom bool) color.RGBA {
	switch {
	case !right && !bottom:
		return color.RGBA{255, 0, 0, 255} // top-left red
	case right && !bottom:
		return color.RGBA{0, 255, 0, 255} // top-right green
	case !right && bottom:
		return color.RGBA{0, 0, 255, 255} // bottom-left blue
	}
	return color.RGBA{255, 255, 255, 255} // bottom-right white
}

// PNG encodes m losslessly.
func PNG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// JPEG encodes m at quality 95.
func JPEG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// GIF encodes m with the standard palette.
func GIF(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, m, nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// BMP encodes m as a 24/32-bit bitmap.
func BMP(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := bmp.Encode(&b, m); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// PNGWithSize returns a PNG whose IHDR declares w×h but which carries no
// image data: enough for any header reader, and tiny.
func PNGWithSize(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8 // bit depth
	ihdr[9] = 2 // colour type RGB
	writePNGChunk(&b, "IHDR", ihdr)
	writePNGChunk(&b, "IEND", nil)
	return b.Bytes()
}

func writePNGChunk(b *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	b.Write(n[:])
}

// WithExifOrientation inserts, right after SOI, an APP1 segment holding a
// TIFF structure written byte by byte whose IFD0 has one entry:
// Orientation = o. bigEndian picks "MM" over "II" byte order.
func WithExifOrientation(jpg []byte, o uint16, bigEndian bool) []byte {
	var order interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	tiff := []byte("II*\x00")
	if bigEndian {
		order = binary.BigEndian
		tiff = []byte("MM\x00*")
	}
	tiff = order.AppendUint32(tiff, 8)      // IFD0 right after the header
	tiff = order.AppendUint16(tiff, 2)      // two entries
	tiff = order.AppendUint16(tiff, 0x010f) // Make
	tiff = order.AppendUint16(tiff, 2)      // ASCII
	tiff = order.AppendUint32(tiff, 4)      // count
	tiff = append(tiff, 'G', 'l', 't', 0)   // inline value
	tiff = order.AppendUint16(tiff, 0x0112) // Orientation
	tiff = order.AppendUint16(tiff, 3)      // SHORT
	tiff = order.AppendUint32(tiff, 1)      // count
	tiff = order.AppendUint16(tiff, o)      // value, left-justified
	tiff = order.AppendUint16(tiff, 0)      // padding
	tiff = order.AppendUint32(tiff, 0)      // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	return SpliceAPP1(jpg, seg)
}

// SpliceAPP1 inserts an APP1 segment with the given payload after SOI.
func SpliceAPP1(jpg, payload []byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xff, 0xe1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// bitWriter writes the LSB-first bit stream of WebP lossless (RFC 9649).
type bitWriter struct {
	b     []byte
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := uint(0); i < n; i++ {
		if w.nbits%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte((v>>i)&1) << (w.nbits % 8)
		w.nbits++
	}
}

// WebPLossless returns a RIFF WEBP file holding a solid-colour w×h VP8L
// image: every prefix code is a "simple" code with one symbol, so pixels
// take zero bits. If extended, a VP8X chunk declaring the canvas precedes
// it.
func WebPLossless(w, h int, c color.RGBA, extended bool) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha unused
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint32(sym), 8)
	}
	var body []byte
	if extended {
		vp8x := make([]byte, 10)
		vp8x[4], vp8x[5], vp8x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
		vp8x[7], vp8x[8], vp8x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
		body = riffChunk(body, "VP8X", vp8x)
	}
	body = riffChunk(body, "VP8L", bw.b)
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(body)))
	out = append(out, "WEBP"...)
	return append(out, body...)
}

func riffChunk(dst []byte, id string, data []byte) []byte {
	dst = append(dst, id...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(data)))
	dst = append(dst, data...)
	if len(data)%2 == 1 {
		dst = append(dst, 0)
	}
	return dst
}

// WebPLossyHeader returns the start of a lossy WebP file declaring w×h:
// enough to sniff, not to decode.
func WebPLossyHeader(w, h int) []byte {
	frame := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}
	frame = binary.LittleEndian.AppendUint16(frame, uint16(w))
	frame = binary.LittleEndian.AppendUint16(frame, uint16(h))
	frame = append(frame, make([]byte, 8)...)
	body := riffChunk(nil, "VP8 ", frame)
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(body)))
	out = append(out, "WEBP"...)
	return append(out, body...)
}

// Near reports whether two colours are within tol per channel, for
// comparisons after lossy compression.
func Near(a, b color.Color, tol int) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) bool {
		v := int(x>>8) - int(y>>8)
		return v <= tol && v >= -tol
	}
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}
