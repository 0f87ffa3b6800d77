package face

import (
	"fmt"
	"io/fs"

	"github.com/glint-id/glint/internal/nn/tfjs"
)

// RGB is an 8-bit RGB image: W×H pixels stored row by row, three bytes
// (R, G, B) per pixel, no padding between rows. It is the one pixel format
// the networks read, so every decoded image is converted to it once.
type RGB struct {
	W, H int
	Pix  []uint8 // len 3·W·H
}

// Point is a position in image pixels, x to the right and y down; pixel
// (i, j) covers [i, i+1) × [j, j+1).
type Point struct{ X, Y float64 }

// Rect is an axis-aligned rectangle in image pixels: its top-left corner
// and its size. Detector boxes have fractional coordinates; the regions cut
// out for the landmark and recognition networks have integer ones.
type Rect struct{ X, Y, W, H float64 }

// Detection is one face found by a detector: its box in pixels of the
// original image and the detector's confidence in [0, 1].
type Detection struct {
	Box   Rect
	Score float32
}

// weightLoader fetches tensors from a TF.js manifest, keeping the first
// error so that a model's constructor can read every weight in sequence
// and check once at the end.
type weightLoader struct {
	w     tfjs.Weights
	model string
	err   error
}

// newWeightLoader reads the manifest name (and its shards) from fsys.
func newWeightLoader(fsys fs.FS, name, model string) (*weightLoader, error) {
	w, err := tfjs.ReadManifest(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("face: %s: %w", model, err)
	}
	return &weightLoader{w: w, model: model}, nil
}

// get returns the named weight, which must have the given shape. After the
// first failure it returns zeroed slices of the right size, so callers can
// keep building layers and report the error once.
func (l *weightLoader) get(name string, shape ...int) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if l.err == nil {
		v, err := l.w.Float(name, shape...)
		if err == nil {
			// Hand the slice over rather than copy it: callers fold affine
			// maps into it in place, and a model's weights would otherwise
			// sit in memory three times during a load (map, copy, packed
			// layer). Taking it out of the map makes a second read of the
			// same weight an error instead of a silent read of folded
			// values.
			delete(l.w, name)
			return v
		}
		l.err = fmt.Errorf("face: %s: %w", l.model, err)
	}
	return make([]float32, n)
}
