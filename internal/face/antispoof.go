package face

import (
	"fmt"
	"io/fs"
	"math"

	"github.com/glint-id/glint/internal/nn"
	"github.com/glint-id/glint/internal/nn/tfjs"
)

// AntiSpoofModel is the file name of human's passive anti-spoofing graph
// model in the human models folder.
const AntiSpoofModel = "antispoof.json"

// antiSpoofScale is how much larger than the face the crop is: human
// enlarges its detector's box by 1.4 (face.detector.scale) and squares it
// before any face model sees it.
const antiSpoofScale = 1.4

// AntiSpoof is human's passive anti-spoofing network (@vladmandic/human
// models 3.0.4, antispoof.json): a small convolutional classifier that
// reads one face crop and returns the probability that it is a real face
// rather than a photo or a screen. It looks at texture and colour only,
// so it is a second opinion beside the flash reflection, never a
// replacement. A loaded AntiSpoof is read-only and safe for concurrent use.
type AntiSpoof struct {
	g      *tfjs.Graph
	input  string
	output string
	size   int
}

// LoadAntiSpoof reads the model name (normally AntiSpoofModel) from fsys,
// the folder holding human's models.
func LoadAntiSpoof(fsys fs.FS, name string) (*AntiSpoof, error) {
	g, err := tfjs.LoadGraph(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("face: antispoof: %w", err)
	}
	ins, outs := g.Inputs(), g.Outputs()
	if len(ins) != 1 || len(outs) != 1 {
		return nil, fmt.Errorf("face: antispoof: %s has %d inputs and %d outputs, want 1 and 1", name, len(ins), len(outs))
	}
	m := &AntiSpoof{g: g, input: ins[0], output: outs[0], size: 128}
	if shape := g.InputShape(ins[0]); len(shape) == 4 && shape[1] > 0 && shape[1] == shape[2] && shape[3] == 3 {
		m.size = shape[1]
	}
	return m, nil
}

// Crop returns the square of img the model reads for a face with
// landmarks lm: centred on the landmarks' bounding box, antiSpoofScale
// times its longer side. human crops around its BlazeFace box; the 68
// landmarks span about the same region (brows to chin, jaw to jaw) and
// exist whichever detector found the face.
func (m *AntiSpoof) Crop(lm [68]Point) (c Point, side float64) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range lm {
		x0, y0 = math.Min(x0, p.X), math.Min(y0, p.Y)
		x1, y1 = math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	return Point{(x0 + x1) / 2, (y0 + y1) / 2}, antiSpoofScale * math.Max(x1-x0, y1-y0)
}

// Live returns the model's probability, in [0, 1], that face f of img is
// a live face. The crop (see Crop) is resampled to the model's input size
// with values scaled to 0–1, as human feeds it; parts outside the image
// are black, as in TF.js's cropAndResize.
func (m *AntiSpoof) Live(img *RGB, f Face) float64 {
	c, side := m.Crop(f.Landmarks)
	if !(side > 0) {
		return 0
	}
	x := warpSquare(img, c, side, 0, m.size)
	for i := range x.Data {
		x.Data[i] /= 255
	}
	out, err := m.g.Run(map[string]*nn.Tensor{m.input: x})
	if err != nil {
		// The input is built to the model's declared shape, so Run can
		// only fail on a bug.
		panic(err)
	}
	p := float64(out[m.output].Data[0])
	return math.Max(0, math.Min(1, p))
}
