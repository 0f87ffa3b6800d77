package face

import (
	"fmt"
	"io/fs"
	"math"

	"github.com/glint-id/glint/internal/nn"
	"github.com/glint-id/glint/internal/nn/tfjs"
)

// FaceRes model files in the human/ folder.
const (
	// FaceResModel is human's default description model (HSE FaceRes:
	// 1024-d descriptor, age and gender).
	FaceResModel = "faceres.json"
	// FaceResDeepModel is its larger variant.
	FaceResDeepModel = "faceres-deep.json"
)

// FaceResLen is the length of a FaceRes descriptor.
const FaceResLen = 1024

// faceresGeometry places FaceRes's input square relative to the 68
// landmarks, in units of the mean eye-to-mouth distance s (dlib's measure,
// see dlibSquare) and from the mean of the eye and mouth centres. human
// feeds the network its BlazeFace box enlarged 1.4 times; on the sample
// photos a BlazeFace box is 2.0·s wide and centred 0.18·s below that mean
// point, so the square is 2.8·s wide there. On the development pairs
// (TestDevsetFaceResCrop) every side from 2.2·s to 3.4·s and shift from 0
// to 0.35·s gives an AUC of 0.997–0.999 and an accuracy of 0.973–0.983,
// differences of a few pairs in 696, so human's geometry is kept.
// Levelling the eyes does not help (AUC 0.9965 against 0.9976), and human
// does not level them either.
type faceresGeometry struct {
	side, dy float64
	level    bool // rotate so that the eyes are level
}

var defaultFaceResGeometry = faceresGeometry{side: 2.8, dy: 0.18}

// FaceRes is human's face description network (after HSE-asavchenko's
// HSE_FaceRec_tf) run as a TF.js graph model: a 224×224 face in, a 1024-d
// descriptor (and age and gender, unused) out. The descriptor is returned
// L2-normalised, so that the Engine's Euclidean distance between two
// descriptors is √(2 − 2·cos θ), in [0, 2] and ranking pairs exactly as
// their cosine similarity does. human compares raw descriptors instead,
// whose length varies from 10 to 16 between photos; normalising verifies
// better on the development pairs (TestDevsetFaceResNorm: AUC 0.9976
// against 0.9962, TAR at FAR 1e-2 0.966 against 0.925). A loaded FaceRes
// is read-only and may be used from several goroutines at once.
type FaceRes struct {
	g     *tfjs.Graph
	input string
	size  int
	desc  string // the output holding the descriptor
	geom  faceresGeometry
}

// LoadFaceRes reads a FaceRes graph model (FaceResModel or
// FaceResDeepModel) from fsys, the folder holding human's models.
func LoadFaceRes(fsys fs.FS, name string) (*FaceRes, error) {
	g, err := tfjs.LoadGraph(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("face: faceres: %w", err)
	}
	ins := g.Inputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("face: faceres: %s has %d inputs, want 1", name, len(ins))
	}
	m := &FaceRes{g: g, input: ins[0], size: 224, geom: defaultFaceResGeometry}
	if shape := g.InputShape(ins[0]); len(shape) == 4 && shape[1] > 0 && shape[1] == shape[2] {
		m.size = shape[1]
	}
	// The descriptor is told from the age and gender heads by its width,
	// as human does.
	probe, err := g.Run(map[string]*nn.Tensor{m.input: nn.New(1, m.size, m.size, 3)})
	if err != nil {
		return nil, fmt.Errorf("face: faceres: %s: %w", name, err)
	}
	for out, t := range probe {
		if len(t.Shape) == 2 && t.Shape[1] == FaceResLen {
			m.desc = out
		}
	}
	if m.desc == "" {
		return nil, fmt.Errorf("face: faceres: %s: no %d-wide output among %v", name, FaceResLen, g.Outputs())
	}
	return m, nil
}

// Region returns the square FaceRes sees for a face with landmarks lm, as
// its centre, side and rotation (radians, clockwise in image coordinates;
// always 0, see faceresGeometry).
func (m *FaceRes) Region(lm [68]Point) (c Point, side, angle float64) {
	le, re, mo := LeftEye.Centroid(&lm), RightEye.Centroid(&lm), Mouth.Centroid(&lm)
	s := (math.Hypot(mo.X-le.X, mo.Y-le.Y) + math.Hypot(mo.X-re.X, mo.Y-re.Y)) / 2
	ref := Centroid([]Point{le, re, mo})
	if m.geom.level {
		angle = math.Atan2(re.Y-le.Y, re.X-le.X)
	}
	// "Below" follows the face's own vertical axis when it is levelled.
	sin, cos := math.Sincos(angle)
	d := m.geom.dy * s
	return Point{ref.X - d*sin, ref.Y + d*cos}, m.geom.side * s, angle
}

// Embed computes the L2-normalised descriptor of the face with landmarks
// lm (pixels of img) and returns it with the square it was computed from,
// clipped to the image (parts outside the image are seen as black).
func (m *FaceRes) Embed(img *RGB, lm [68]Point) ([]float32, Rect) {
	c, side, angle := m.Region(lm)
	if !(side > 0) {
		// Landmarks of a box with no pixel in the image are all zero; like
		// ResNet, give the zero descriptor, which matches nothing.
		return make([]float32, FaceResLen), Rect{}
	}
	return m.EmbedRegion(img, c, side, angle), m.Crop(img.W, img.H, lm)
}

// Crop returns the square of an imgW×imgH image that Embed reads for a
// face with landmarks lm, clipped to the image.
func (m *FaceRes) Crop(imgW, imgH int, lm [68]Point) Rect {
	c, side, _ := m.Region(lm)
	if !(side > 0) {
		return Rect{}
	}
	return clipRect(Rect{c.X - side/2, c.Y - side/2, side, side}, imgW, imgH)
}

// EmbedRegion computes the L2-normalised descriptor of the square of img
// centred on c with the given side, turned by angle radians.
func (m *FaceRes) EmbedRegion(img *RGB, c Point, side, angle float64) []float32 {
	x := warpSquare(img, c, side, angle, m.size)
	out, err := m.g.Run(map[string]*nn.Tensor{m.input: x})
	if err != nil {
		// The input is built to the model's declared shape, so Run can
		// only fail on a bug.
		panic(err)
	}
	v := append([]float32(nil), out[m.desc].Data...)
	var ss float64
	for _, e := range v {
		ss += float64(e) * float64(e)
	}
	if ss > 0 {
		k := 1 / math.Sqrt(ss)
		for i := range v {
			v[i] = float32(float64(v[i]) * k)
		}
	}
	return v
}

// warpSquare samples the square of img centred on c with the given side,
// rotated by angle, into a [1, size, size, 3] tensor of 0–255 values (the
// range FaceRes takes: human scales its 0–1 crop by 255). Pixels outside
// the image are black. When the square is more than 1.5 times the output,
// each output pixel averages a grid of bilinear samples, so that a large
// face does not alias as it shrinks (human resizes without it; on the
// development pairs, whose faces are mostly small, it changes nothing).
func warpSquare(img *RGB, c Point, side, angle float64, size int) *nn.Tensor {
	t := nn.New(1, size, size, 3)
	step := side / float64(size)
	sub := max(1, int(math.Ceil(step/1.5)))
	sin, cos := math.Sincos(angle)
	// ux, uy step one output pixel along the square's x and y axes, in
	// image pixels.
	ux, uy := Point{cos * step, sin * step}, Point{-sin * step, cos * step}
	// Image pixel i covers [i, i+1): its value sits at i + 0.5.
	ox := c.X - 0.5 - (ux.X+uy.X)*float64(size)/2
	oy := c.Y - 0.5 - (ux.Y+uy.Y)*float64(size)/2
	norm := 1 / float32(sub*sub)
	sample := func(x, y float64, acc *[3]float32) {
		x0, y0 := math.Floor(x), math.Floor(y)
		fx, fy := float32(x-x0), float32(y-y0)
		ix, iy := int(x0), int(y0)
		for j := 0; j < 2; j++ {
			yy := iy + j
			wy := fy
			if j == 0 {
				wy = 1 - fy
			}
			if yy < 0 || yy >= img.H || wy == 0 {
				continue
			}
			row := img.Pix[3*yy*img.W:][:3*img.W]
			for i := 0; i < 2; i++ {
				xx := ix + i
				wx := fx
				if i == 0 {
					wx = 1 - fx
				}
				if xx < 0 || xx >= img.W || wx == 0 {
					continue
				}
				w := wx * wy
				p := row[3*xx:][:3]
				acc[0] += w * float32(p[0])
				acc[1] += w * float32(p[1])
				acc[2] += w * float32(p[2])
			}
		}
	}
	nn.Parallel(size, 8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			out := t.Data[3*size*r:][:3*size]
			for col := 0; col < size; col++ {
				var acc [3]float32
				for sy := 0; sy < sub; sy++ {
					v := float64(r) + (float64(sy)+0.5)/float64(sub)
					for sx := 0; sx < sub; sx++ {
						u := float64(col) + (float64(sx)+0.5)/float64(sub)
						sample(ox+u*ux.X+v*uy.X, oy+u*ux.Y+v*uy.Y, &acc)
					}
				}
				out[3*col] = acc[0] * norm
				out[3*col+1] = acc[1] * norm
				out[3*col+2] = acc[2] * norm
			}
		}
	})
	return t
}

// loadHumanFaceRes loads the named FaceRes model from the human/ folder of
// a models tree laid out as Load expects.
func loadHumanFaceRes(models fs.FS, name string) (*FaceRes, error) {
	h, err := fs.Sub(models, humanDir)
	if err != nil {
		return nil, err
	}
	return LoadFaceRes(h, name)
}
