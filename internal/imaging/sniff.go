package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Format names an image container format.
type Format string

// Formats that Sniff recognises and Decode decodes.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	BMP  Format = "bmp"
	WebP Format = "webp"
)

// Errors reported by this package. Callers test with errors.Is; the wrapped
// message carries the detail for logs.
var (
	// ErrUnsupported means the bytes are not an image in a supported
	// format, or are corrupt or truncated.
	ErrUnsupported = errors.New("imaging: unsupported or corrupt image")

	// ErrTooLarge means the header declares a side longer than the limit
	// given to Decode. Nothing was decoded.
	ErrTooLarge = errors.New("imaging: image too large")
)

// Header is what Sniff learns from a file's header alone.
type Header struct {
	Format Format

	// Width and Height are the stored dimensions, before Orientation is
	// applied. They are clamped to math.MaxInt32 so that arithmetic on them
	// cannot overflow.
	Width, Height int

	// Orientation is the EXIF orientation (1 when absent or invalid).
	Orientation Orientation
}

// Sniff identifies the format and reads the dimensions of an encoded image
// from its header, without decoding pixels. It returns an error wrapping
// ErrUnsupported when data is not a recognisable image header.
func Sniff(data []byte) (Header, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		return sniffJPEG(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return sniffPNG(data)
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return sniffGIF(data)
	case bytes.HasPrefix(data, []byte("BM")):
		return sniffBMP(data)
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return sniffWebP(data)
	}
	return Header{}, fmt.Errorf("%w: unknown signature", ErrUnsupported)
}

// unsupported wraps ErrUnsupported with a format-specific reason.
func unsupported(f Format, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrUnsupported, f, reason)
}

// header builds a Header after rejecting empty images, which no decoder
// here accepts and no face can be found in.
func header(f Format, w, h uint64, o Orientation) (Header, error) {
	if w == 0 || h == 0 {
		return Header{}, unsupported(f, "zero width or height")
	}
	return Header{Format: f, Width: clamp(w), Height: clamp(h), Orientation: o}, nil
}

func clamp(v uint64) int {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(v)
}

// JPEG markers used by sniffJPEG (ITU-T T.81 Table B.1).
const (
	markerSOF0 = 0xc0 // baseline
	markerSOF1 = 0xc1 // extended sequential, Huffman
	markerSOF2 = 0xc2 // progressive, Huffman
	markerDHT  = 0xc4
	markerJPG  = 0xc8
	markerDAC  = 0xcc
	markerRST0 = 0xd0
	markerRST7 = 0xd7
	markerEOI  = 0xd9
	markerSOS  = 0xda
	markerAPP1 = 0xe1
)

// sniffJPEG walks the marker segments up to the first SOF, picking up the
// EXIF orientation from an APP1 segment on the way (T.81 B.2, Exif 2.32
// §4.5.4). It is as lenient as image/jpeg about stray bytes between
// segments, so both agree on which SOF counts.
func sniffJPEG(data []byte) (Header, error) {
	orient := Orientation(1)
	seenExif := false
	i := 2 // past SOI
	for {
		// Skip anything up to the next 0xff, then any fill bytes (B.1.1.2).
		for i < len(data) && data[i] != 0xff {
			i++
		}
		for i < len(data) && data[i] == 0xff {
			i++
		}
		if i >= len(data) {
			return Header{}, unsupported(JPEG, "no frame header")
		}
		marker := data[i]
		i++
		switch {
		case marker == 0x00: // stuffed 0xff00 outside entropy data: ignore as image/jpeg does
			continue
		case marker == markerEOI, marker == markerSOS:
			return Header{}, unsupported(JPEG, "no frame header before scan")
		case marker >= markerRST0 && marker <= markerRST7:
			continue // standalone markers carry no length (as image/jpeg, no others)
		}
		if i+2 > len(data) {
			return Header{}, unsupported(JPEG, "truncated segment length")
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 {
			return Header{}, unsupported(JPEG, "short segment length")
		}
		if i+n > len(data) {
			return Header{}, unsupported(JPEG, "truncated segment")
		}
		seg := data[i+2 : i+n]
		i += n
		switch {
		case marker == markerSOF0, marker == markerSOF1, marker == markerSOF2:
			// P(1) Y(2) X(2) Nf(1) (T.81 B.2.2).
			if len(seg) < 6 {
				return Header{}, unsupported(JPEG, "short frame header")
			}
			h := binary.BigEndian.Uint16(seg[1:])
			w := binary.BigEndian.Uint16(seg[3:])
			return header(JPEG, uint64(w), uint64(h), orient)
		case marker >= 0xc3 && marker <= 0xcf && marker != markerDHT && marker != markerJPG && marker != markerDAC:
			// Lossless, hierarchical and arithmetic-coded frames: valid
			// JPEG, but image/jpeg cannot decode them.
			return Header{}, unsupported(JPEG, fmt.Sprintf("unsupported frame type 0x%02x", marker))
		case marker == markerAPP1 && !seenExif && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			// Only the first Exif segment counts; later ones (rare, from
			// careless editors) are ignored as most viewers do.
			seenExif = true
			orient = exifOrientation(seg[6:])
		}
	}
}

// sniffPNG reads IHDR, which the PNG specification (§5.6) requires to be the
// first chunk.
func sniffPNG(data []byte) (Header, error) {
	// signature(8) length(4) "IHDR"(4) width(4) height(4)
	if len(data) < 24 {
		return Header{}, unsupported(PNG, "truncated header")
	}
	if binary.BigEndian.Uint32(data[8:]) != 13 || string(data[12:16]) != "IHDR" {
		return Header{}, unsupported(PNG, "first chunk is not IHDR")
	}
	w := binary.BigEndian.Uint32(data[16:])
	h := binary.BigEndian.Uint32(data[20:])
	return header(PNG, uint64(w), uint64(h), 1)
}

// sniffGIF reads the logical screen descriptor. image/gif refuses frames
// extending beyond the logical screen, so these bound every allocation.
func sniffGIF(data []byte) (Header, error) {
	if len(data) < 10 {
		return Header{}, unsupported(GIF, "truncated header")
	}
	w := binary.LittleEndian.Uint16(data[6:])
	h := binary.LittleEndian.Uint16(data[8:])
	return header(GIF, uint64(w), uint64(h), 1)
}

// sniffBMP reads BITMAPINFOHEADER and its V4/V5 extensions, the only DIB
// headers golang.org/x/image/bmp decodes. A negative height marks a
// top-down bitmap.
func sniffBMP(data []byte) (Header, error) {
	if len(data) < 26 {
		return Header{}, unsupported(BMP, "truncated header")
	}
	switch size := binary.LittleEndian.Uint32(data[14:]); size {
	case 40, 108, 124:
	default:
		return Header{}, unsupported(BMP, fmt.Sprintf("DIB header size %d", size))
	}
	w := int64(int32(binary.LittleEndian.Uint32(data[18:])))
	h := int64(int32(binary.LittleEndian.Uint32(data[22:])))
	if w < 0 {
		return Header{}, unsupported(BMP, "negative width")
	}
	if h < 0 {
		h = -h
	}
	return header(BMP, uint64(w), uint64(h), 1)
}

// sniffWebP reads the first chunk of a RIFF WEBP file: a lossy VP8 frame
// header (RFC 6386 §9.1), a lossless VP8L header (RFC 9649 §3.2) or the
// extended VP8X canvas size (RFC 9649 §2.7).
func sniffWebP(data []byte) (Header, error) {
	if len(data) < 20 {
		return Header{}, unsupported(WebP, "truncated header")
	}
	chunk := string(data[12:16])
	body := data[20:]
	switch chunk {
	case "VP8 ":
		// frame tag(3) start code 9d 01 2a, then 14-bit width and height
		// each with a 2-bit scale we ignore, as decoders do.
		if len(body) < 10 {
			return Header{}, unsupported(WebP, "truncated VP8 header")
		}
		if body[0]&1 != 0 {
			return Header{}, unsupported(WebP, "VP8 chunk does not start with a key frame")
		}
		if body[3] != 0x9d || body[4] != 0x01 || body[5] != 0x2a {
			return Header{}, unsupported(WebP, "bad VP8 start code")
		}
		w := binary.LittleEndian.Uint16(body[6:]) & 0x3fff
		h := binary.LittleEndian.Uint16(body[8:]) & 0x3fff
		return header(WebP, uint64(w), uint64(h), 1)
	case "VP8L":
		if len(body) < 5 {
			return Header{}, unsupported(WebP, "truncated VP8L header")
		}
		if body[0] != 0x2f {
			return Header{}, unsupported(WebP, "bad VP8L signature")
		}
		bits := binary.LittleEndian.Uint32(body[1:])
		w := uint64(bits&0x3fff) + 1
		h := uint64((bits>>14)&0x3fff) + 1
		return header(WebP, w, h, 1)
	case "VP8X":
		if len(body) < 10 {
			return Header{}, unsupported(WebP, "truncated VP8X header")
		}
		w := uint64(body[4]) | uint64(body[5])<<8 | uint64(body[6])<<16
		h := uint64(body[7]) | uint64(body[8])<<8 | uint64(body[9])<<16
		return header(WebP, w+1, h+1, 1)
	}
	return Header{}, unsupported(WebP, fmt.Sprintf("unknown first chunk %q", chunk))
}
