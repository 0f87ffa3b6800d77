package face

import (
	"fmt"
	"io/fs"
	"math"

	"github.com/glint-id/glint/internal/nn"
)

// Landmarks68Manifest is the weights manifest LoadLandmarks68 reads.
const Landmarks68Manifest = "face_landmark_68_model-weights_manifest.json"

const landmarksSize = 112 // network input side

// Landmarks68 is face-api's 68-point landmark network
// (face_landmark_68_model): four densely connected blocks of separable
// convolutions on a 112×112 input, a 7×7 average pool and a fully connected
// layer giving 68 (x, y) positions in iBUG order. A loaded Landmarks68 is
// read-only and may be used from several goroutines at once.
type Landmarks68 struct {
	blocks [4]denseBlock
	fc     *nn.Dense
}

// sepConv is a separable convolution: depthwise 3×3 without bias, then a
// pointwise 1×1 with bias (and the activation, if any).
type sepConv struct {
	dw *nn.DepthwiseConv2D
	pw *nn.Conv2D
}

func (s sepConv) forward(x *nn.Tensor) *nn.Tensor { return s.pw.Forward(s.dw.Forward(x)) }

// loadSepConv reads prefix/{depthwise_filter,pointwise_filter,bias}, with
// SAME padding (tiny's explicit one-pixel pad is the same for 3×3 at
// stride 1).
func loadSepConv(l *weightLoader, prefix string, in, out, stride int, act nn.Activation) sepConv {
	dp := nn.ConvParams{KH: 3, KW: 3, InC: in, OutC: in, StrideH: stride, StrideW: stride, Mode: nn.PadSame}
	pp := nn.ConvParams{KH: 1, KW: 1, InC: in, OutC: out, Mode: nn.PadSame}
	return sepConv{
		dw: nn.NewDepthwiseConv2D(dp, 1, l.get(prefix+"/depthwise_filter", 3, 3, in, 1), nil, nn.Activation{}),
		pw: nn.NewConv2D(pp, l.get(prefix+"/pointwise_filter", 1, 1, in, out), l.get(prefix+"/bias", out), act),
	}
}

// denseBlock is face-api's denseBlock4: a stride-2 first convolution
// (plain in the first block, separable in the others) followed by three
// separable convolutions, each fed the ReLU of the sum of all earlier
// outputs.
type denseBlock struct {
	first    *nn.Conv2D // first block
	firstSep sepConv    // other blocks
	sep      [3]sepConv
}

func (b *denseBlock) forward(x *nn.Tensor) *nn.Tensor {
	var out1 *nn.Tensor
	if b.first != nil {
		out1 = b.first.Forward(x)
	} else {
		out1 = b.firstSep.forward(x)
	}
	out2 := b.sep[0].forward(out1)
	out3 := b.sep[1].forward(sumRelu(out1, out2))
	// The sums nest to the right, as face-api adds them.
	out4 := b.sep[2].forward(sumRelu(out1, out2, out3))
	return sumRelu(out1, out2, out3, out4)
}

// sumRelu returns relu(t[0] + (t[1] + (… + t[n−1]))), adding from the
// right as face-api's nested tf.add calls do, in a new tensor.
func sumRelu(ts ...*nn.Tensor) *nn.Tensor {
	y := nn.New(ts[0].Shape...)
	last := len(ts) - 1
	for i := range y.Data {
		s := ts[last].Data[i]
		for j := last - 1; j >= 0; j-- {
			s = ts[j].Data[i] + s
		}
		y.Data[i] = max(s, 0)
	}
	return y
}

// LoadLandmarks68 reads the landmark network from fsys, which must hold
// Landmarks68Manifest and its shard.
func LoadLandmarks68(fsys fs.FS) (*Landmarks68, error) {
	l, err := newWeightLoader(fsys, Landmarks68Manifest, "face_landmark_68")
	if err != nil {
		return nil, err
	}
	relu := nn.Activation{Kind: nn.ActRelu}
	m := &Landmarks68{}
	in := 3
	for i, out := range [4]int{32, 64, 128, 256} {
		p := fmt.Sprintf("dense%d/", i)
		b := &m.blocks[i]
		if i == 0 {
			b.first = nn.NewConv2D(
				nn.ConvParams{KH: 3, KW: 3, InC: in, OutC: out, StrideH: 2, StrideW: 2, Mode: nn.PadSame},
				l.get(p+"conv0/filters", 3, 3, in, out), l.get(p+"conv0/bias", out), relu)
		} else {
			b.firstSep = loadSepConv(l, p+"conv0", in, out, 2, relu)
		}
		for j := range b.sep {
			b.sep[j] = loadSepConv(l, fmt.Sprintf("%sconv%d", p, j+1), out, out, 1, nn.Activation{})
		}
		in = out
	}
	m.fc = nn.NewDense(256, 136, l.get("fc/weights", 256, 136), l.get("fc/bias", 136), nn.Activation{})
	if l.err != nil {
		return nil, l.err
	}
	return m, nil
}

// forward runs the network on a normalised [1, 112, 112, 3] input and
// returns its 136 raw outputs: x0, y0, x1, y1, … relative to the input.
func (m *Landmarks68) forward(x *nn.Tensor) []float32 {
	for i := range m.blocks {
		x = m.blocks[i].forward(x)
	}
	x = nn.AvgPool2D(x, nn.ConvParams{KH: 7, KW: 7, StrideH: 2, StrideW: 2, Mode: nn.PadValid})
	return m.fc.Forward(x.Reshape(1, -1)).Data
}

// LandmarkCrop returns the integer region face-api cuts out of an imgW×imgH
// image for the landmark network given a detection box: the box clipped to
// the image, then x, y, width and height each floored.
func LandmarkCrop(imgW, imgH int, box Rect) Rect {
	// face-api takes the box through relative coordinates and back
	// (FaceDetection.forSize); repeat that so floors agree to the last bit.
	w, h := float64(imgW), float64(imgH)
	sx, sy := 1/w, 1/h
	b := Rect{box.X * sx * w, box.Y * sy * h, box.W * sx * w, box.H * sy * h}
	return clipFloor(b, imgW, imgH).rect()
}

// Predict locates the 68 landmarks of the face in box (a detection box in
// pixels of img), in pixels of img. A box with no pixel inside the image
// gives the zero array.
func (m *Landmarks68) Predict(img *RGB, box Rect) [68]Point {
	return m.PredictCrop(img, LandmarkCrop(img.W, img.H, box), Point{box.X, box.Y})
}

// PredictCrop runs the landmark network on the integer region crop of img
// (see LandmarkCrop) and maps its output back to pixels of img. The
// positions are offset by origin, the unfloored corner of the detection
// box, rather than by the crop's corner: face-api's sub-pixel quirk, kept
// so that results match it.
func (m *Landmarks68) PredictCrop(img *RGB, crop Rect, origin Point) [68]Point {
	var pts [68]Point
	r := regionOf(crop)
	if r.w <= 0 || r.h <= 0 {
		return pts
	}
	out := m.forward(squareInput(img, r, true, landmarksSize, normFace))

	// The network's positions are relative to the padded square. face-api
	// removes half the padding (exactly, though the padding was split with
	// the odd pixel after) and divides by the crop size, in float32 tensor
	// ops; then scales by the crop size and adds the origin in float64.
	w, h := float64(r.w), float64(r.h)
	scale := landmarksSize / math.Max(w, h)
	sw, sh := w*scale, h*scale
	var padX, padY float64
	if sw < sh {
		padX = (sh - sw) / 2
	} else if sh < sw {
		padY = (sw - sh) / 2
	}
	fx := [3]float32{landmarksSize, float32(padX), float32(sw)}
	fy := [3]float32{landmarksSize, float32(padY), float32(sh)}
	for i := range pts {
		rx := float32(float32(out[2*i]*fx[0])-fx[1]) / fx[2]
		ry := float32(float32(out[2*i+1]*fy[0])-fy[1]) / fy[2]
		// face-api scales to the crop, then shifts by taking the positions
		// back to relative and scaling again; the round trip can move the
		// last bit.
		px, py := float64(rx)*w, float64(ry)*h
		pts[i] = Point{px/w*w + origin.X, py/h*h + origin.Y}
	}
	return pts
}
