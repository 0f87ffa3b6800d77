package imaging

import (
	"encoding/binary"
	"errors"
)

// Orientation is the value of the EXIF/TIFF Orientation tag (0x0112): how
// the stored pixels must be transformed to be shown upright.
//
//	1 upright               5 transposed (mirror + 270° cw)
//	2 mirrored horizontally 6 rotated 90° clockwise to show
//	3 rotated 180°          7 transversed (mirror + 90° cw)
//	4 mirrored vertically   8 rotated 270° clockwise to show
type Orientation int

// swapsAxes reports whether displaying with o exchanges width and height.
func (o Orientation) swapsAxes() bool { return o >= 5 && o <= 8 }

const tagOrientation = 0x0112

// TIFF field types used here (TIFF 6.0 §2).
const (
	tiffShort = 3
	tiffLong  = 4
)

var errTIFF = errors.New("imaging: malformed TIFF structure")

// tiffReader reads a TIFF byte stream as embedded in an EXIF APP1 segment.
// Every offset comes from the file and is checked before use.
type tiffReader struct {
	b     []byte
	order binary.ByteOrder
}

func newTIFFReader(b []byte) (*tiffReader, error) {
	if len(b) < 8 {
		return nil, errTIFF
	}
	var order binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return nil, errTIFF
	}
	if order.Uint16(b[2:]) != 42 {
		return nil, errTIFF
	}
	return &tiffReader{b: b, order: order}, nil
}

// ifdEntry is one 12-byte directory entry (TIFF 6.0 §2 "IFD Entry").
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    [4]byte // the value itself when it fits, else an offset
}

// firstIFD returns the entries of IFD0, the directory that describes the
// main image and holds its Orientation.
func (r *tiffReader) firstIFD() ([]ifdEntry, error) {
	return r.ifd(r.order.Uint32(r.b[4:]))
}

func (r *tiffReader) ifd(off uint32) ([]ifdEntry, error) {
	if uint64(off)+2 > uint64(len(r.b)) {
		return nil, errTIFF
	}
	n := int(r.order.Uint16(r.b[off:]))
	start := uint64(off) + 2
	if start+uint64(n)*12 > uint64(len(r.b)) {
		return nil, errTIFF
	}
	entries := make([]ifdEntry, n)
	for i := range entries {
		e := r.b[start+uint64(i)*12:]
		entries[i].tag = r.order.Uint16(e)
		entries[i].typ = r.order.Uint16(e[2:])
		entries[i].count = r.order.Uint32(e[4:])
		copy(entries[i].value[:], e[8:12])
	}
	return entries, nil
}

// uint returns a single SHORT or LONG value stored inline in the entry.
func (r *tiffReader) uint(e ifdEntry) (uint32, bool) {
	if e.count != 1 {
		return 0, false
	}
	switch e.typ {
	case tiffShort:
		return uint32(r.order.Uint16(e.value[:])), true
	case tiffLong:
		// The standard says SHORT; some writers use LONG. Accept both, as
		// common viewers do.
		return r.order.Uint32(e.value[:]), true
	}
	return 0, false
}

// exifOrientation returns the Orientation recorded in IFD0 of an EXIF TIFF
// stream. Anything missing, malformed or out of range yields 1 (upright):
// a broken tag must not make an otherwise good photo unusable.
func exifOrientation(tiff []byte) Orientation {
	r, err := newTIFFReader(tiff)
	if err != nil {
		return 1
	}
	entries, err := r.firstIFD()
	if err != nil {
		return 1
	}
	for _, e := range entries {
		if e.tag != tagOrientation {
			continue
		}
		v, ok := r.uint(e)
		if !ok || v < 1 || v > 8 {
			return 1
		}
		return Orientation(v)
	}
	return 1
}
