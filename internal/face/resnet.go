package face

import (
	"io/fs"
	"math"

	"github.com/glint-id/glint/internal/nn"
)

// ResNetManifest is the weights manifest LoadResNet reads.
const ResNetManifest = "face_recognition_model-weights_manifest.json"

const (
	resnetSize = 150 // network input side
	// DescriptorLen is the length of a face descriptor.
	DescriptorLen = 128
)

// ResNet is face-api's face recognition network (face_recognition_model),
// a port of dlib's ResNet-29 metric network: 150×150 aligned face in,
// 128-d descriptor out; two faces are the same person when their
// descriptors are less than about 0.6 apart. A loaded ResNet is read-only
// and may be used from several goroutines at once.
type ResNet struct {
	conv0  *nn.Conv2D
	blocks []resBlock
	fc     *nn.Dense
}

// resBlock is a residual block of two 3×3 convolutions. A down block's
// first convolution has stride 2 and VALID padding, and its shortcut is a
// 2×2 average pool whose extra channels are zeros.
type resBlock struct {
	conv1, conv2 *nn.Conv2D
	down         bool
}

// resnetBlocks lists the residual blocks: weight prefix, output channels
// and whether the block halves the resolution.
var resnetBlocks = []struct {
	name string
	out  int
	down bool
}{
	{"conv32_1", 32, false}, {"conv32_2", 32, false}, {"conv32_3", 32, false},
	{"conv64_down", 64, true}, {"conv64_1", 64, false}, {"conv64_2", 64, false}, {"conv64_3", 64, false},
	{"conv128_down", 128, true}, {"conv128_1", 128, false}, {"conv128_2", 128, false},
	{"conv256_down", 256, true}, {"conv256_1", 256, false}, {"conv256_2", 256, false},
	{"conv256_down_out", 256, true},
}

// loadResConv reads prefix/conv/{filters,bias} and prefix/scale/{weights,
// biases}, folding the scale layer into the convolution.
func loadResConv(l *weightLoader, prefix string, p nn.ConvParams, act nn.Activation) *nn.Conv2D {
	f := l.get(prefix+"/conv/filters", p.KH, p.KW, p.InC, p.OutC)
	b := l.get(prefix+"/conv/bias", p.OutC)
	nn.FoldAffine(f, b, p.OutC, l.get(prefix+"/scale/weights", p.OutC), l.get(prefix+"/scale/biases", p.OutC))
	return nn.NewConv2D(p, f, b, act)
}

// LoadResNet reads the recognition network from fsys, which must hold
// ResNetManifest and its shards.
func LoadResNet(fsys fs.FS) (*ResNet, error) {
	l, err := newWeightLoader(fsys, ResNetManifest, "face_recognition")
	if err != nil {
		return nil, err
	}
	relu := nn.Activation{Kind: nn.ActRelu}
	m := &ResNet{}
	m.conv0 = loadResConv(l, "conv32_down",
		nn.ConvParams{KH: 7, KW: 7, InC: 3, OutC: 32, StrideH: 2, StrideW: 2, Mode: nn.PadValid}, relu)
	in := 32
	for _, b := range resnetBlocks {
		p1 := nn.ConvParams{KH: 3, KW: 3, InC: in, OutC: b.out, Mode: nn.PadSame}
		if b.down {
			p1.StrideH, p1.StrideW, p1.Mode = 2, 2, nn.PadValid
		}
		p2 := nn.ConvParams{KH: 3, KW: 3, InC: b.out, OutC: b.out, Mode: nn.PadSame}
		m.blocks = append(m.blocks, resBlock{
			conv1: loadResConv(l, b.name+"/conv1", p1, relu),
			conv2: loadResConv(l, b.name+"/conv2", p2, nn.Activation{}),
			down:  b.down,
		})
		in = b.out
	}
	m.fc = nn.NewDense(256, DescriptorLen, l.get("fc", 256, DescriptorLen), nil, nn.Activation{})
	if l.err != nil {
		return nil, l.err
	}
	return m, nil
}

func (b *resBlock) forward(x *nn.Tensor) *nn.Tensor {
	out := b.conv2.Forward(b.conv1.Forward(x))
	if !b.down {
		for i, v := range x.Data {
			out.Data[i] = max(out.Data[i]+v, 0)
		}
		return out
	}
	pooled := nn.AvgPool2D(x, nn.ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: nn.PadValid})
	return addShortcutRelu(out, pooled)
}

// addShortcutRelu returns relu(shortcut + out) in the shortcut's size and
// out's channels. Where a stride-2 VALID convolution left out a row and
// column short of the pooled shortcut (3 against 4, 1 against 2) face-api
// pads out with zeros at the bottom and right; the shortcut's missing
// channels are zeros too.
func addShortcutRelu(out, shortcut *nn.Tensor) *nn.Tensor {
	_, oh, ow, oc := out.NHWC()
	_, h, w, sc := shortcut.NHWC()
	y := nn.New(1, h, w, oc)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			dst := y.Data[(r*w+c)*oc:][:oc]
			if r < oh && c < ow {
				copy(dst, out.Data[(r*ow+c)*oc:][:oc])
			}
			for i, v := range shortcut.Data[(r*w+c)*sc:][:sc] {
				dst[i] = v + dst[i]
			}
			for i, v := range dst {
				dst[i] = max(v, 0)
			}
		}
	}
	return y
}

// forward runs the network on a normalised [1, 150, 150, 3] input.
func (m *ResNet) forward(x *nn.Tensor) []float32 {
	x = m.conv0.Forward(x)
	x = nn.MaxPool2D(x, nn.ConvParams{KH: 3, KW: 3, StrideH: 2, StrideW: 2, Mode: nn.PadValid})
	for i := range m.blocks {
		x = m.blocks[i].forward(x)
	}
	return m.fc.Forward(nn.GlobalAvgPool(x)).Data
}

// DescriptorCrop returns the integer region of an imgW×imgH image that is
// given to the recognition network for a face with landmarks lm, chosen as
// dlib does: a square of side floor(mean eye-to-mouth distance / 0.45)
// placed around the mean of the eye and mouth centres (at 50 % across and
// 43 % down), then clipped to the image and floored.
//
// face-api additionally caps the width at landmarkCrop.W + x and the height
// at landmarkCrop.H + y (it mixes the crop's size into the image size); see
// FaceAPIDescriptorCrop.
func DescriptorCrop(imgW, imgH int, lm [68]Point) Rect {
	x, y, size := dlibSquare(lm)
	return clipFloor(Rect{x, y, size, size}, imgW, imgH).rect()
}

// FaceAPIDescriptorCrop is DescriptorCrop with face-api's cap on the
// square's sides, for results identical to face-api when a face lies so
// close to the left or top border that the cap binds. landmarkCrop is the
// face's LandmarkCrop.
func FaceAPIDescriptorCrop(imgW, imgH int, lm [68]Point, landmarkCrop Rect) Rect {
	x, y, size := dlibSquare(lm)
	r := Rect{x, y, math.Min(size, landmarkCrop.W+x), math.Min(size, landmarkCrop.H+y)}
	return clipFloor(r, imgW, imgH).rect()
}

// dlibSquare is the unclipped aligned square of DescriptorCrop.
func dlibSquare(lm [68]Point) (x, y, size float64) {
	leftEye := LeftEye.Centroid(&lm)
	rightEye := RightEye.Centroid(&lm)
	mouth := Mouth.Centroid(&lm)
	// √(dx² + dy²) rather than math.Hypot, whose rounding differs.
	dist := func(p Point) float64 {
		dx, dy := mouth.X-p.X, mouth.Y-p.Y
		return math.Sqrt(dx*dx + dy*dy)
	}
	size = math.Floor((dist(leftEye) + dist(rightEye)) / 2 / 0.45)
	ref := Centroid([]Point{leftEye, rightEye, mouth})
	x = math.Floor(math.Max(0, ref.X-0.5*size))
	y = math.Floor(math.Max(0, ref.Y-0.43*size))
	return x, y, size
}

// Centroid is the mean of pts, summed in order from zero as face-api does
// (so that crops derived from it match face-api to the last bit).
func Centroid(pts []Point) Point {
	var s Point
	for _, p := range pts {
		s.X += p.X
		s.Y += p.Y
	}
	n := float64(len(pts))
	return Point{s.X / n, s.Y / n}
}

// Embed computes the descriptor of the face with landmarks lm (in pixels
// of img) and returns it with the region it was computed from (see
// DescriptorCrop).
func (m *ResNet) Embed(img *RGB, lm [68]Point) ([]float32, Rect) {
	crop := DescriptorCrop(img.W, img.H, lm)
	return m.EmbedCrop(img, crop), crop
}

// Crop returns the region of an imgW×imgH image that Embed reads for a face
// with landmarks lm (DescriptorCrop).
func (m *ResNet) Crop(imgW, imgH int, lm [68]Point) Rect { return DescriptorCrop(imgW, imgH, lm) }

// EmbedCrop computes the descriptor of the integer region crop of img:
// padded with zeros to a square (the odd row or column after), resized to
// 150×150 and normalised as face-api does. An empty crop gives zeros, as in
// face-api.
func (m *ResNet) EmbedCrop(img *RGB, crop Rect) []float32 {
	r := regionOf(crop)
	if r.w <= 0 || r.h <= 0 {
		return make([]float32, DescriptorLen)
	}
	return m.forward(squareInput(img, r, true, resnetSize, normFace))
}
