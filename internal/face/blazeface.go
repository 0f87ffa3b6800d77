package face

import (
	"cmp"
	"fmt"
	"io/fs"
	"math"
	"slices"

	"github.com/glint-id/glint/internal/nn"
	"github.com/glint-id/glint/internal/nn/tfjs"
)

// BlazeFace model files in the human/ folder.
const (
	// BlazeFaceModel is human's default detector (MediaPipe's full-range
	// "back camera" model, 256×256 input).
	BlazeFaceModel = "blazeface.json"
	// BlazeFaceFrontModel is the short-range "front camera" model (128×128
	// input), meant for selfies whose face fills much of the frame.
	BlazeFaceFrontModel = "blazeface-front.json"
)

const (
	// blazeIoU is the NMS overlap above which a weaker box is dropped.
	// BlazeFace emits many near-identical boxes around a face; 0.3 merges
	// them without dropping a neighbour's face in a tight group photo.
	blazeIoU = 0.3
	// blazeInside is the fraction of the smaller of two boxes that must lie
	// inside the other for the weaker one to be dropped: on close crops
	// BlazeFace also reports eyes-and-nose or mouth-and-chin patches inside
	// the face box (scores up to 0.65), which overlap it too little for IoU
	// to catch.
	blazeInside = 0.6
	// blazeMaxResults bounds the faces returned, as SSD's maxResults does.
	blazeMaxResults = 100
	// blazeKeypoints is the number of keypoints per face.
	blazeKeypoints = 6
)

// blazeMaxTilt is the largest angle, in degrees, between the eyes-to-mouth
// direction of a face's best anchor and straight down for which the face
// counts as upright. Upright faces reach 26° in the development photos
// (99th percentile) and 47° for a strongly tilted head in the samples;
// faces turned by 90° mostly give 65–110°, but a quarter of them less.
const blazeMaxTilt = 60

// landmarkBoxFit converts a BlazeFace box into the box the 68-landmark
// network expects. BlazeFace boxes are square and tight (brows to chin),
// while the landmark net was trained on SSD boxes, which are narrower,
// taller and reach higher (median ratios 0.86, 1.21 and a centre 0.12 of
// the height higher): the box is scaled by w and h and its centre moved by
// dy times its height. The factors minimise the landmarks' disagreement
// with those found from SSD boxes on 50 faces of the sample and
// development photos (TestDevsetBlazeLandmarkBox): mean error 6.0% of the
// eye distance against 7.7% for the unchanged box, where moving an SSD box
// by 5% of its width already gives 3.0%. Verification accuracy barely
// depends on it (within two pairs in 696).
type landmarkBoxFit struct{ w, h, dy float64 }

var defaultLandmarkBox = landmarkBoxFit{w: 0.95, h: 1.17, dy: -0.10}

// BlazeKeypoints are BlazeFace's six face keypoints, in pixels of the
// image: the two eyes, the nose tip, the mouth centre and the two ear
// tragions, each pair in the network's order (the subject's right first,
// which is the image's left for a face looking at the camera).
type BlazeKeypoints struct {
	RightEye, LeftEye, Nose, Mouth, RightEar, LeftEar Point
}

// BlazeDetection is one face found by BlazeFace: the network's own tight,
// square box, its score and its keypoints.
type BlazeDetection struct {
	Box       Rect
	Score     float32
	Keypoints BlazeKeypoints
}

// BlazeFace is MediaPipe's BlazeFace face detector as human ships it (TF.js
// graph models). The image is padded to a centred square, resized to the
// model's input and scaled to [−1, 1]; each of the 896 anchors predicts a
// face logit, a box and six keypoints. A loaded BlazeFace is read-only and
// may be used from several goroutines at once.
type BlazeFace struct {
	g       *tfjs.Graph
	input   string
	size    int
	anchors []Point // anchor centres in input pixels, in output order
	// The names of the graph outputs holding the logits and regressors of
	// the fine (stride size/16) and coarse (stride size/8) anchor grids.
	fineScore, fineReg, coarseScore, coarseReg string
	nFine                                      int
	lmBox                                      landmarkBoxFit
}

// LoadBlazeFace reads a BlazeFace graph model (BlazeFaceModel,
// BlazeFaceFrontModel or human's blazeface-back.json) from fsys, the folder
// holding human's models.
func LoadBlazeFace(fsys fs.FS, name string) (*BlazeFace, error) {
	g, err := tfjs.LoadGraph(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("face: blazeface: %w", err)
	}
	ins := g.Inputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("face: blazeface: %s has %d inputs, want 1", name, len(ins))
	}
	shape := g.InputShape(ins[0])
	if len(shape) != 4 || shape[1] != shape[2] || shape[1] <= 0 || shape[1]%16 != 0 || shape[3] != 3 {
		return nil, fmt.Errorf("face: blazeface: %s: input shape %v, want [1, n, n, 3]", name, shape)
	}
	m := &BlazeFace{g: g, input: ins[0], size: shape[1], lmBox: defaultLandmarkBox}
	m.anchors, m.nFine = blazeAnchors(m.size)

	// The outputs are told apart by shape, since their order differs
	// between the converted models: the fine grid has 2 anchors per cell,
	// the coarse one 6.
	probe, err := g.Run(map[string]*nn.Tensor{m.input: nn.New(1, m.size, m.size, 3)})
	if err != nil {
		return nil, fmt.Errorf("face: blazeface: %s: %w", name, err)
	}
	nCoarse := len(m.anchors) - m.nFine
	for out, t := range probe {
		if len(t.Shape) != 3 {
			continue
		}
		switch {
		case t.Shape[1] == m.nFine && t.Shape[2] == 1:
			m.fineScore = out
		case t.Shape[1] == m.nFine && t.Shape[2] == 4+2*blazeKeypoints:
			m.fineReg = out
		case t.Shape[1] == nCoarse && t.Shape[2] == 1:
			m.coarseScore = out
		case t.Shape[1] == nCoarse && t.Shape[2] == 4+2*blazeKeypoints:
			m.coarseReg = out
		}
	}
	if m.fineScore == "" || m.fineReg == "" || m.coarseScore == "" || m.coarseReg == "" {
		return nil, fmt.Errorf("face: blazeface: %s: outputs %v are not BlazeFace's", name, g.Outputs())
	}
	return m, nil
}

// blazeAnchors lists the anchor centres of a size×size BlazeFace, in the
// order of its outputs: the fine grid (stride size/16, 2 anchors per cell)
// then the coarse one (stride size/8, 6 per cell), row by row. It also
// returns how many belong to the fine grid.
func blazeAnchors(size int) (anchors []Point, nFine int) {
	for _, g := range []struct{ stride, per int }{{size / 16, 2}, {size / 8, 6}} {
		cells := (size + g.stride - 1) / g.stride
		for y := 0; y < cells; y++ {
			for x := 0; x < cells; x++ {
				c := Point{float64(g.stride) * (float64(x) + 0.5), float64(g.stride) * (float64(y) + 0.5)}
				for range g.per {
					anchors = append(anchors, c)
				}
			}
		}
		if nFine == 0 {
			nFine = len(anchors)
		}
	}
	return anchors, nFine
}

// InputSize is the side of the model's square input.
func (m *BlazeFace) InputSize() int { return m.size }

// Detect finds faces in img scoring above minScore, best first, with boxes
// converted to what the 68-landmark network expects (see landmarkBoxFit):
// the detector interface of the Engine.
func (m *BlazeFace) Detect(img *RGB, minScore float32) []Detection {
	raw := m.DetectKeypoints(img, minScore)
	out := make([]Detection, len(raw))
	for i, d := range raw {
		out[i] = Detection{Box: m.landmarkBox(d.Box), Score: d.Score}
	}
	return out
}

// landmarkBox converts a BlazeFace box into the SSD-like box the
// 68-landmark network was trained on.
func (m *BlazeFace) landmarkBox(b Rect) Rect {
	a := m.lmBox
	cx := b.X + b.W/2
	cy := b.Y + b.H/2 + a.dy*b.H
	w, h := b.W*a.w, b.H*a.h
	return Rect{cx - w/2, cy - h/2, w, h}
}

// DetectKeypoints finds faces in img scoring above minScore (the sigmoid
// of the face logit), best first after non-maximum suppression, with
// BlazeFace's own boxes and keypoints in pixels of img. Boxes are not
// clipped to the image.
//
// BlazeFace also finds many faces that are turned on their side or upside
// down, with scores (0.45–0.85) that overlap an upright face's (0.75–0.95).
// A face whose best anchor puts the mouth more than blazeMaxTilt degrees
// off straight below the eyes is turned by about 90° and is dropped, since
// the landmark network would give it meaningless points; that catches
// three quarters of the faces turned by 90° in the sample photos. An
// upside-down face keeps upright-looking keypoints and is not caught here:
// the Engine's orientation search tells it by its lower score.
func (m *BlazeFace) DetectKeypoints(img *RGB, minScore float32) []BlazeDetection {
	if img.W <= 0 || img.H <= 0 || minScore >= 1 {
		return nil
	}
	// A centred square keeps the face away from the zero padding on
	// either side; the offset is undone when mapping boxes back.
	x := squareInput(img, region{0, 0, img.W, img.H}, true, m.size, normSSD)
	logits, regs := m.run(x)
	cands := m.candidates(logits, regs, minScore)

	// Input pixel p sees square pixel p·side/size (the bilinear resize has
	// no half-pixel offset); then the centred padding is removed.
	side := max(img.W, img.H)
	before := squarePad(img.W, img.H, true)
	var offX, offY float64
	if img.W < img.H {
		offX = float64(before)
	} else {
		offY = float64(before)
	}
	k := float64(side) / float64(m.size)
	toImg := func(p Point) Point { return Point{p.X*k - offX, p.Y*k - offY} }

	const stride = 4 + 2*blazeKeypoints
	keypoints := func(i int) (kp [blazeKeypoints]Point) {
		r := regs[i*stride:][:stride]
		a := m.anchors[i]
		for j := range kp {
			kp[j] = Point{float64(r[4+2*j]) + a.X, float64(r[5+2*j]) + a.Y}
		}
		return kp
	}
	var dets []BlazeDetection
	dropped := make([]bool, len(cands))
	for ci, c := range cands {
		if dropped[ci] {
			continue
		}
		if len(dets) == blazeMaxResults {
			break
		}
		cluster := []int{ci}
		for j := ci + 1; j < len(cands); j++ {
			if dropped[j] {
				continue
			}
			if rectIoU(c.box, cands[j].box) > blazeIoU {
				dropped[j] = true
				cluster = append(cluster, j)
			} else if insideFrac(c.box, cands[j].box) > blazeInside {
				dropped[j] = true
			}
		}
		if sideways(keypoints(c.i)) {
			continue
		}
		// The keypoints are the score-weighted mean of the overlapping
		// candidates' (MediaPipe's weighted suppression), which puts them
		// closer to the 68-point landmarks (9.4% of the eye distance against
		// 11.0% for the best anchor's alone). The box stays the best
		// anchor's, as in human: averaged boxes agree better with SSD boxes
		// but verify slightly worse on the development pairs (AUC 0.9989
		// against 0.9997 with ResNet).
		var kp [blazeKeypoints]Point
		var wsum float64
		for _, j := range cluster {
			w := float64(cands[j].score)
			for q, p := range keypoints(cands[j].i) {
				kp[q].X += w * p.X
				kp[q].Y += w * p.Y
			}
			wsum += w
		}
		corner := toImg(Point{c.box.X, c.box.Y})
		d := BlazeDetection{Box: Rect{corner.X, corner.Y, c.box.W * k, c.box.H * k}, Score: c.score}
		for q := range kp {
			kp[q] = toImg(Point{kp[q].X / wsum, kp[q].Y / wsum})
		}
		d.Keypoints = BlazeKeypoints{kp[0], kp[1], kp[2], kp[3], kp[4], kp[5]}
		dets = append(dets, d)
	}
	return dets
}

// blazeCand is one anchor's face: its index, box (in input pixels) and
// score.
type blazeCand struct {
	i     int
	box   Rect
	score float32
}

// run runs the network on x and returns every anchor's logit and its 16
// regressors (box centre offset and size, six keypoint offsets), in anchor
// order.
func (m *BlazeFace) run(x *nn.Tensor) (logits, regs []float32) {
	out, err := m.g.Run(map[string]*nn.Tensor{m.input: x})
	if err != nil {
		// The input is built to the model's declared shape, so Run can
		// only fail on a bug.
		panic(err)
	}
	logits = append(append([]float32(nil), out[m.fineScore].Data...), out[m.coarseScore].Data...)
	regs = append(append([]float32(nil), out[m.fineReg].Data...), out[m.coarseReg].Data...)
	return logits, regs
}

// candidates decodes the anchors scoring above minScore, best first.
func (m *BlazeFace) candidates(logits, regs []float32, minScore float32) []blazeCand {
	// Logits are compared before the sigmoid so that the many hopeless
	// anchors cost one comparison each.
	minLogit := float32(math.Inf(-1))
	if minScore > 0 {
		minLogit = float32(math.Log(float64(minScore) / (1 - float64(minScore))))
	}
	var cands []blazeCand
	const stride = 4 + 2*blazeKeypoints
	for i, logit := range logits {
		if logit <= minLogit {
			continue
		}
		s := nn.Sigmoid(logit)
		if s <= minScore {
			continue
		}
		r := regs[i*stride:][:4]
		a := m.anchors[i]
		w, h := float64(r[2]), float64(r[3])
		if w <= 0 || h <= 0 {
			continue
		}
		cx, cy := float64(r[0])+a.X, float64(r[1])+a.Y
		cands = append(cands, blazeCand{i, Rect{cx - w/2, cy - h/2, w, h}, s})
	}
	slices.SortStableFunc(cands, func(a, b blazeCand) int { return cmp.Compare(b.score, a.score) })
	return cands
}

// loadHumanBlazeFace loads the named BlazeFace model from the human/ folder
// of a models tree laid out as Load expects.
func loadHumanBlazeFace(models fs.FS, name string) (*BlazeFace, error) {
	h, err := fs.Sub(models, humanDir)
	if err != nil {
		return nil, err
	}
	return LoadBlazeFace(h, name)
}

// insideFrac is the fraction of the smaller of a and b that lies inside the
// other.
func insideFrac(a, b Rect) float64 {
	iw := math.Max(0, math.Min(a.X+a.W, b.X+b.W)-math.Max(a.X, b.X))
	ih := math.Max(0, math.Min(a.Y+a.H, b.Y+b.H)-math.Max(a.Y, b.Y))
	return iw * ih / math.Min(a.W*a.H, b.W*b.H)
}

// sideways reports whether keypoints kp (eyes, nose, mouth, ears) show a
// face turned by more than blazeMaxTilt degrees from upright: the direction
// from the eyes' midpoint to the mouth is then far from straight down.
func sideways(kp [blazeKeypoints]Point) bool {
	ex, ey := (kp[0].X+kp[1].X)/2, (kp[0].Y+kp[1].Y)/2
	dx, dy := kp[3].X-ex, kp[3].Y-ey
	if dx == 0 && dy == 0 {
		return false
	}
	return math.Abs(math.Atan2(dx, dy))*180/math.Pi > blazeMaxTilt
}
