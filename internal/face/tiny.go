package face

import (
	"cmp"
	"fmt"
	"io/fs"
	"math"
	"slices"

	"github.com/glint-id/glint/internal/nn"
)

// TinyManifest is the weights manifest LoadTiny reads.
const TinyManifest = "tiny_face_detector_model-weights_manifest.json"

const (
	// TinySize is the tiny detector's default input side (face-api's
	// inputSize option, a multiple of 32).
	TinySize = 416
	tinyIoU  = 0.4 // NMS overlap threshold
)

// tinyAnchors are the five anchor box sizes, in output cells (width, height).
var tinyAnchors = [5][2]float64{
	{1.603231, 2.094468},
	{6.041143, 7.080126},
	{2.882459, 3.518061},
	{4.266906, 5.178857},
	{9.041765, 10.66308},
}

// Tiny is face-api's tiny face detector (tiny_face_detector_model), a
// Tiny-YOLOv2 with separable convolutions: one 13×13 grid of five anchors
// at the default 416×416 input. It is several times cheaper than the SSD
// and less accurate, notably for small faces. A loaded Tiny is read-only
// and may be used from several goroutines at once.
type Tiny struct {
	conv0 *nn.Conv2D
	sep   [5]sepConv
	conv8 *nn.Conv2D
}

// LoadTiny reads the tiny detector from fsys, which must hold TinyManifest
// and its shard.
func LoadTiny(fsys fs.FS) (*Tiny, error) {
	l, err := newWeightLoader(fsys, TinyManifest, "tiny_face_detector")
	if err != nil {
		return nil, err
	}
	// face-api's leaky ReLU: x − 0.1x clipped at zero, plus 0.1x.
	leaky := nn.Activation{Kind: nn.ActLeaky, Alpha: 0.1}
	m := &Tiny{}
	m.conv0 = nn.NewConv2D(nn.ConvParams{KH: 3, KW: 3, InC: 3, OutC: 16, Mode: nn.PadValid},
		l.get("conv0/filters", 3, 3, 3, 16), l.get("conv0/bias", 16), leaky)
	in := 16
	for i := range m.sep {
		out := 2 * in
		m.sep[i] = loadSepConv(l, fmt.Sprintf("conv%d", i+1), in, out, 1, leaky)
		in = out
	}
	m.conv8 = nn.NewConv2D(nn.ConvParams{KH: 1, KW: 1, InC: in, OutC: 25, Mode: nn.PadValid},
		l.get("conv8/filters", 1, 1, in, 25), l.get("conv8/bias", 25), nn.Activation{})
	if l.err != nil {
		return nil, l.err
	}
	return m, nil
}

// forward runs the network on a normalised [1, s, s, 3] input, returning
// the [1, s/32, s/32, 25] grid of five (x, y, w, h, score) encodings per
// cell.
func (m *Tiny) forward(x *nn.Tensor) *nn.Tensor {
	pool := nn.ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: nn.PadSame}
	x = nn.MaxPool2D(m.conv0.Forward(x), pool)
	for i := range m.sep {
		if i == len(m.sep)-1 {
			pool.StrideH, pool.StrideW = 1, 1
		}
		x = nn.MaxPool2D(m.sep[i].forward(x), pool)
	}
	return m.conv8.Forward(x)
}

// Detect finds faces in img at the default input size; see DetectSize.
func (m *Tiny) Detect(img *RGB, minScore float32) []Detection {
	return m.DetectSize(img, TinySize, minScore)
}

// DetectSize finds faces in img with the network run at size×size (a
// multiple of 32: larger finds smaller faces, more slowly), returning
// those scoring above minScore (face-api's scoreThreshold, 0.5 by default)
// after non-maximum suppression, best first. Boxes are not clipped to the
// image.
func (m *Tiny) DetectSize(img *RGB, size int, minScore float32) []Detection {
	if img.W <= 0 || img.H <= 0 || size < 32 || size%32 != 0 {
		return nil
	}
	out := m.forward(squareInput(img, region{0, 0, img.W, img.H}, false, size, normTiny))
	_, cells, _, _ := out.NHWC()

	// As for the SSD, face-api corrects for the padding with the rounded
	// size the image would have at the input scale.
	w, h := float64(img.W), float64(img.H)
	fit := float64(size) / math.Max(w, h)
	rw, rh := math.Round(w*fit), math.Round(h*fit)
	side := math.Max(rw, rh)
	corrX, corrY := side/rw, side/rh

	type cand struct {
		box   Rect // relative to the image
		score float64
	}
	var cands []cand
	sigmoid := func(v float32) float64 { return 1 / (1 + math.Exp(-float64(v))) }
	n := float64(cells)
	for row := 0; row < cells; row++ {
		for col := 0; col < cells; col++ {
			v := out.Data[(row*cells+col)*25:][:25]
			for a, anchor := range tinyAnchors {
				e := v[5*a:][:5]
				score := sigmoid(e[4])
				if score <= float64(minScore) {
					continue
				}
				cx := (float64(col) + sigmoid(e[0])) / n * corrX
				cy := (float64(row) + sigmoid(e[1])) / n * corrY
				bw := math.Exp(float64(e[2])) * anchor[0] / n * corrX
				bh := math.Exp(float64(e[3])) * anchor[1] / n * corrY
				cands = append(cands, cand{Rect{cx - bw/2, cy - bh/2, bw, bh}, score})
			}
		}
	}

	// Greedy NMS, best first; face-api takes equal scores last index first.
	order := make([]int, len(cands))
	for i := range order {
		order[i] = len(cands) - 1 - i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(cands[b].score, cands[a].score) })
	var dets []Detection
	dropped := make([]bool, len(cands))
	for k, i := range order {
		if dropped[i] {
			continue
		}
		c := cands[i]
		dets = append(dets, Detection{
			Box:   Rect{c.box.X * w, c.box.Y * h, c.box.W * w, c.box.H * h},
			Score: float32(c.score),
		})
		for _, j := range order[k+1:] {
			if !dropped[j] && rectIoU(c.box, cands[j].box) > tinyIoU {
				dropped[j] = true
			}
		}
	}
	return dets
}

// rectIoU is the intersection over union of two rectangles.
func rectIoU(a, b Rect) float64 {
	iw := math.Max(0, math.Min(a.X+a.W, b.X+b.W)-math.Max(a.X, b.X))
	ih := math.Max(0, math.Min(a.Y+a.H, b.Y+b.H)-math.Max(a.Y, b.Y))
	inter := iw * ih
	return inter / (a.W*a.H + b.W*b.H - inter)
}
