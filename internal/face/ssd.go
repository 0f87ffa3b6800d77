package face

import (
	"cmp"
	"fmt"
	"io/fs"
	"math"
	"slices"

	"github.com/glint-id/glint/internal/nn"
)

// SSDManifest is the weights manifest LoadSSD reads.
const SSDManifest = "ssd_mobilenetv1_model-weights_manifest.json"

const (
	ssdSize = 512 // network input side
	// ssdMaxResults and ssdIoU are face-api's detection options
	// (maxResults 100) and its fixed NMS overlap threshold.
	ssdMaxResults = 100
	ssdIoU        = 0.5
	// ssdBNEpsilon is the batch-norm epsilon of the depthwise layers, the
	// float32 nearest to 0.001.
	ssdBNEpsilon = 0.0010000000474974513
)

// ssdPointwiseOut is the output width of MobileNet's layers 0 to 13.
var ssdPointwiseOut = [14]int{32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024}

// ssdExtra describes the eight extra feature layers after the backbone:
// kernel size, output channels and stride. Each stride-2 layer feeds a box
// predictor.
var ssdExtra = [8]struct{ k, out, stride int }{
	{1, 256, 1}, {3, 512, 2}, {1, 128, 1}, {3, 256, 2},
	{1, 128, 1}, {3, 256, 2}, {1, 64, 1}, {3, 128, 2},
}

// ssdHeads gives each box predictor's input channels and anchors per cell,
// in the order face-api concatenates them: backbone layer 11 (32×32), the
// backbone output (16×16), then extra layers 1, 3, 5 and 7 (8×8 to 1×1).
var ssdHeads = [6]struct{ in, anchors int }{
	{512, 3}, {1024, 6}, {512, 6}, {256, 6}, {256, 6}, {128, 6},
}

// SSD is face-api's face detector, an SSD with a MobileNet v1 backbone
// (ssd_mobilenetv1_model) run on a 512×512 input. Batch norms are folded
// into the convolutions at load; a loaded SSD is read-only and may be used
// from several goroutines at once.
type SSD struct {
	conv0 *nn.Conv2D
	dw    [13]*nn.DepthwiseConv2D
	pw    [13]*nn.Conv2D
	extra [8]*nn.Conv2D
	// heads are the box predictors, each one 1×1 convolution whose first
	// 4·anchors channels are the box encodings and the other 3·anchors the
	// class logits (two convolutions in the model, merged since each output
	// channel is independent).
	heads   [6]*nn.Conv2D
	anchors []float32 // 4 per prior: ymin, xmin, ymax, xmax in [0, 1]
}

// LoadSSD reads the detector from fsys, which must hold SSDManifest and its
// shard.
func LoadSSD(fsys fs.FS) (*SSD, error) {
	l, err := newWeightLoader(fsys, SSDManifest, "ssd_mobilenetv1")
	if err != nil {
		return nil, err
	}
	m := &SSD{}
	relu6 := nn.Activation{Kind: nn.ActRelu6}
	same := func(k, in, out, stride int) nn.ConvParams {
		return nn.ConvParams{KH: k, KW: k, InC: in, OutC: out, StrideH: stride, StrideW: stride, Mode: nn.PadSame}
	}

	const mb = "MobilenetV1/Conv2d_"
	m.conv0 = nn.NewConv2D(same(3, 3, 32, 2),
		l.get(mb+"0_pointwise/weights", 3, 3, 3, 32),
		l.get(mb+"0_pointwise/convolution_bn_offset", 32), relu6)
	for i := 1; i <= 13; i++ {
		in, out := ssdPointwiseOut[i-1], ssdPointwiseOut[i]
		stride := 1
		if i == 2 || i == 4 || i == 6 || i == 12 {
			stride = 2
		}
		p := fmt.Sprintf("%s%d_depthwise/", mb, i)
		f := l.get(p+"depthwise_weights", 3, 3, in, 1)
		gamma := l.get(p+"BatchNorm/gamma", in)
		beta := l.get(p+"BatchNorm/beta", in)
		mean := l.get(p+"BatchNorm/moving_mean", in)
		variance := l.get(p+"BatchNorm/moving_variance", in)
		// (x − mean)/√(var+ε)·γ + β = x·s + (β − mean·s): starting the bias
		// at −mean lets FoldAffine do the rest.
		scale := make([]float32, in)
		bias := make([]float32, in)
		for c := range scale {
			scale[c] = float32(float64(gamma[c]) / math.Sqrt(float64(variance[c])+ssdBNEpsilon))
			bias[c] = -mean[c]
		}
		nn.FoldAffine(f, bias, in, scale, beta)
		m.dw[i-1] = nn.NewDepthwiseConv2D(same(3, in, in, stride), 1, f, bias, relu6)
		p = fmt.Sprintf("%s%d_pointwise/", mb, i)
		m.pw[i-1] = nn.NewConv2D(same(1, in, out, 1),
			l.get(p+"weights", 1, 1, in, out), l.get(p+"convolution_bn_offset", out), relu6)
	}

	in := ssdPointwiseOut[13]
	for i, e := range ssdExtra {
		p := fmt.Sprintf("Prediction/Conv2d_%d_pointwise/", i)
		m.extra[i] = nn.NewConv2D(same(e.k, in, e.out, e.stride),
			l.get(p+"weights", e.k, e.k, in, e.out), l.get(p+"convolution_bn_offset", e.out), relu6)
		in = e.out
	}

	for i, h := range ssdHeads {
		p := fmt.Sprintf("Prediction/BoxPredictor_%d/", i)
		nb, nc := 4*h.anchors, 3*h.anchors
		bw := l.get(p+"BoxEncodingPredictor/weights", 1, 1, h.in, nb)
		bb := l.get(p+"BoxEncodingPredictor/biases", nb)
		cw := l.get(p+"ClassPredictor/weights", 1, 1, h.in, nc)
		cb := l.get(p+"ClassPredictor/biases", nc)
		w := make([]float32, 0, h.in*(nb+nc))
		for ci := 0; ci < h.in; ci++ {
			w = append(w, bw[ci*nb:][:nb]...)
			w = append(w, cw[ci*nc:][:nc]...)
		}
		m.heads[i] = nn.NewConv2D(same(1, h.in, nb+nc, 1), w, append(bb, cb...), nn.Activation{})
	}

	priors := 0
	for i, h := range ssdHeads {
		side := ssdSize / (16 << i) // 32, 16, 8, 4, 2, 1
		priors += side * side * h.anchors
	}
	m.anchors = l.get("Output/extra_dim", 1, priors, 4)
	if l.err != nil {
		return nil, l.err
	}
	return m, nil
}

// forward runs the network on a [1, 512, 512, 3] input normalised to
// [−1, 1] and returns the decoded prior boxes (ymin, xmin, ymax, xmax,
// relative to the input square, four per prior) and their face scores.
func (m *SSD) forward(x *nn.Tensor) (boxes, scores []float32) {
	out := m.conv0.Forward(x)
	var conv11 *nn.Tensor
	for i := range m.dw {
		out = m.pw[i].Forward(m.dw[i].Forward(out))
		if i == 10 { // layer 11
			conv11 = out
		}
	}
	feats := [6]*nn.Tensor{conv11, out}
	e := out
	for i, layer := range m.extra {
		e = layer.Forward(e)
		if i%2 == 1 {
			feats[2+i/2] = e
		}
	}

	n := len(m.anchors) / 4
	boxes = make([]float32, 4*n)
	scores = make([]float32, n)
	p := 0
	for i, h := range m.heads {
		pred := h.Forward(feats[i])
		k := ssdHeads[i].anchors
		stride := 7 * k
		for cell := 0; cell < len(pred.Data)/stride; cell++ {
			v := pred.Data[cell*stride:][:stride]
			for a := 0; a < k; a++ {
				decodeBox(boxes[4*p:][:4], m.anchors[4*p:][:4], v[4*a:][:4])
				// Class 0 is background; face-api keeps class 1 only.
				scores[p] = nn.Sigmoid(v[4*k+3*a+1])
				p++
			}
		}
	}
	return boxes, scores
}

// decodeBox applies the SSD box coder (scale factors 10, 10, 5, 5) to the
// encoding t of a prior a, both in (y, x, h, w) order, in float32 and in
// face-api's order of operations.
func decodeBox(dst, a, t []float32) {
	h := a[2] - a[0]
	w := a[3] - a[1]
	cy := a[0] + h/2
	cx := a[1] + w/2
	halfH := float32(float32(math.Exp(float64(t[2]/5)))*h) / 2
	y := float32(t[0]/10*h) + cy
	halfW := float32(float32(math.Exp(float64(t[3]/5)))*w) / 2
	x := float32(t[1]/10*w) + cx
	dst[0], dst[1], dst[2], dst[3] = y-halfH, x-halfW, y+halfH, x+halfW
}

// Detect finds faces in img, returning those scoring above minScore (face-
// api's minConfidence; 0.5 is its default) after non-maximum suppression,
// best first, at most 100.
func (m *SSD) Detect(img *RGB, minScore float32) []Detection {
	if img.W <= 0 || img.H <= 0 {
		return nil
	}
	x := squareInput(img, region{0, 0, img.W, img.H}, false, ssdSize, normSSD)
	boxes, scores := m.forward(x)
	keep := ssdNMS(boxes, scores, ssdMaxResults, ssdIoU, float64(minScore))

	// face-api maps boxes back through the size the image would have had
	// if resized to fit 512 (rounded), not through the exact padded square:
	// a small distortion of the original, kept for identical boxes.
	w, h := float64(img.W), float64(img.H)
	fit := ssdSize / math.Max(w, h)
	padX := ssdSize / math.Round(w*fit)
	padY := ssdSize / math.Round(h*fit)
	dets := make([]Detection, len(keep))
	for i, k := range keep {
		b := boxes[4*k:][:4]
		top := math.Max(0, float64(b[0])) * padY
		bottom := math.Min(1, float64(b[2])) * padY
		left := math.Max(0, float64(b[1])) * padX
		right := math.Min(1, float64(b[3])) * padX
		dets[i] = Detection{
			Box:   Rect{X: left * w, Y: top * h, W: (right - left) * w, H: (bottom - top) * h},
			Score: scores[k],
		}
	}
	return dets
}

// ssdNMS is face-api's greedy non-maximum suppression for the SSD: the
// candidates scoring above minScore, best first, each kept unless it
// overlaps an already kept box by more than iouMax.
func ssdNMS(boxes, scores []float32, maxOut int, iouMax, minScore float64) []int {
	var cand []int
	for i, s := range scores {
		if float64(s) > minScore {
			cand = append(cand, i)
		}
	}
	slices.SortStableFunc(cand, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	var keep []int
	for _, c := range cand {
		if len(keep) >= maxOut {
			break
		}
		ok := true
		for j := len(keep) - 1; j >= 0; j-- {
			if boxIoU(boxes[4*c:][:4], boxes[4*keep[j]:][:4]) > iouMax {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, c)
		}
	}
	return keep
}

// boxIoU is the intersection over union of two (y0, x0, y1, x1) boxes
// whose corners may come in either order; empty boxes overlap nothing.
func boxIoU(a, b []float32) float64 {
	ay0, ay1 := minmax(a[0], a[2])
	ax0, ax1 := minmax(a[1], a[3])
	by0, by1 := minmax(b[0], b[2])
	bx0, bx1 := minmax(b[1], b[3])
	areaA := (ay1 - ay0) * (ax1 - ax0)
	areaB := (by1 - by0) * (bx1 - bx0)
	if areaA <= 0 || areaB <= 0 {
		return 0
	}
	ih := math.Max(math.Min(ay1, by1)-math.Max(ay0, by0), 0)
	iw := math.Max(math.Min(ax1, bx1)-math.Max(ax0, bx0), 0)
	inter := ih * iw
	return inter / (areaA + areaB - inter)
}

func minmax(a, b float32) (lo, hi float64) {
	return float64(min(a, b)), float64(max(a, b))
}
