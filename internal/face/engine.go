package face

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"time"
)

// Detector names accepted by Config.Detector.
const (
	DetectorSSD       = "ssd"
	DetectorTiny      = "tiny"
	DetectorBlazeFace = "blazeface"
)

// Embedder names accepted by Config.Embedder.
const (
	EmbedderResNet  = "resnet"
	EmbedderFaceRes = "faceres"
)

// Detectors lists the detector names Load accepts, the default first.
func Detectors() []string { return []string{DetectorSSD, DetectorBlazeFace, DetectorTiny} }

// Embedders lists the embedder names Load accepts, the default first.
func Embedders() []string { return []string{EmbedderResNet, EmbedderFaceRes} }

// Config selects the models of an Engine and the rules it applies. The zero
// value selects the defaults.
type Config struct {
	// Detector is one of Detectors(): DetectorSSD (default, the most
	// accurate on the development set), DetectorBlazeFace (about 9× faster)
	// or DetectorTiny. docs/models.md has the measurements.
	Detector string
	// Embedder is one of Embedders(): EmbedderResNet (default) or
	// EmbedderFaceRes.
	Embedder string
	// MinScore is the detector confidence a face needs (default 0.5).
	MinScore float32
	// MinFaceSize is the smallest face side, in pixels of the original
	// image, that counts as a face at all (default 24 px).
	MinFaceSize float64
	// SecondFaceRatio decides when a smaller face counts as a second face:
	// its box side must be at least this fraction of the largest face's
	// (default 0.35), so that a small face far in the background of a
	// selfie does not make the photo ambiguous.
	SecondFaceRatio float64
	// ContextPad is the border added around an image, as a fraction of its
	// longer side, when a first pass finds no face (default 1). Detectors
	// are trained on scenes: a tight crop whose face fills the frame, such
	// as an ID-photo chip, is found once the face spans about a third of
	// the padded frame. BlazeFace's default is -1 (off).
	ContextPad float64
	// DetectMaxSide, when positive, shrinks larger images by area
	// averaging to this longer side before detection (landmarks and
	// descriptors still use the full image). The detectors resize their
	// input bilinearly to 416–512 px, which aliases when a large photo
	// shrinks many times; see docs/models.md for the measured effect.
	// Negative disables it; zero selects the default.
	DetectMaxSide int
}

func (c Config) withDefaults() Config {
	if c.Detector == "" {
		c.Detector = DetectorSSD
	}
	if c.Embedder == "" {
		c.Embedder = EmbedderResNet
	}
	if c.MinScore == 0 {
		c.MinScore = 0.5
	}
	if c.MinFaceSize == 0 {
		c.MinFaceSize = 24
	}
	if c.SecondFaceRatio == 0 {
		c.SecondFaceRatio = 0.35
	}
	if c.ContextPad == 0 {
		c.ContextPad = 1
		if c.Detector == DetectorBlazeFace {
			// BlazeFace finds tight crops without it (one single-face
			// photo more with it, and seven false detections on no-face
			// photos: docs/models.md).
			c.ContextPad = -1
		}
	}
	if c.DetectMaxSide == 0 {
		c.DetectMaxSide = DefaultDetectMaxSide
	}
	return c
}

// Face is one face found in an image: the detector's box and score, the 68
// landmarks (iBUG order) and quality measures, all in pixels of the image
// that was searched.
type Face struct {
	Box       Rect
	Score     float32
	Landmarks [68]Point
	Quality   Quality
}

// Descriptor is a face's embedding, tagged with the model that computed
// it: descriptors of different models cannot be compared.
type Descriptor struct {
	Model  string
	Vector []float32
	// Region is the part of the image the model saw, in its pixels.
	Region Rect
}

// Match is the result of comparing two descriptors.
type Match struct {
	// Distance is the model's distance (Euclidean for ResNet); smaller is
	// more alike.
	Distance float64
	// Confidence maps the distance to 0–100, higher for more alike; see
	// Calibration.
	Confidence float64
}

// ErrModelMismatch is returned when two descriptors of different models are
// compared.
var ErrModelMismatch = errors.New("face: descriptors of different models")

// Timings records how long each stage of the last call took; the Engine
// adds to it when the caller passes one.
type Timings struct {
	Detect, Landmarks, Embed time.Duration
}

// detector is the part of a detection model the Engine needs.
type detector interface {
	Detect(img *RGB, minScore float32) []Detection
}

// embedder is the part of a descriptor model the Engine needs: the
// descriptor of a face given its landmarks, and the region of the image it
// was computed from.
type embedder interface {
	Embed(img *RGB, lm [68]Point) ([]float32, Rect)
	Crop(imgW, imgH int, lm [68]Point) Rect
}

// Engine is the face pipeline: detection, landmarks, quality, embedding and
// comparison. A loaded Engine is read-only and safe for concurrent use.
type Engine struct {
	cfg   Config
	det   detector
	marks *Landmarks68
	emb   embedder
	calib Calibration
}

// Load reads the models cfg selects from fsys, a models folder laid out as
// `make models` writes it (see LoadModels, which loads every model of the
// folder and the calibration).
func Load(fsys fs.FS, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	fa, err := fs.Sub(fsys, faceAPIDir)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg}
	switch cfg.Detector {
	case DetectorSSD:
		e.det, err = LoadSSD(fa)
	case DetectorTiny:
		e.det, err = LoadTiny(fa)
	case DetectorBlazeFace:
		e.det, err = loadHumanBlazeFace(fsys, BlazeFaceModel)
	default:
		return nil, fmt.Errorf("face: unknown detector %q", cfg.Detector)
	}
	if err != nil {
		return nil, err
	}
	if e.marks, err = LoadLandmarks68(fa); err != nil {
		return nil, err
	}
	switch cfg.Embedder {
	case EmbedderResNet:
		e.emb, err = LoadResNet(fa)
		e.calib = resnetCalibration
	case EmbedderFaceRes:
		e.emb, err = loadHumanFaceRes(fsys, FaceResModel)
		e.calib = faceresCalibration
	default:
		return nil, fmt.Errorf("face: unknown embedder %q", cfg.Embedder)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Config returns the configuration the engine runs with, defaults filled.
func (e *Engine) Config() Config { return e.cfg }

// Landmarks returns the engine's 68-point landmark network, which places
// the landmarks of every face Detect finds, for callers that follow a face
// already found without detecting it again.
func (e *Engine) Landmarks() *Landmarks68 { return e.marks }

// Detect finds the faces in img, largest first, with landmarks and quality.
// Faces smaller than MinFaceSize are dropped. If none is found, the search
// is repeated with a border of context around the image (see ContextPad).
func (e *Engine) Detect(img *RGB, tm *Timings) []Face {
	t0 := time.Now()
	dets := e.detect(img)
	if len(dets) == 0 && e.cfg.ContextPad > 0 {
		pad := int(math.Round(e.cfg.ContextPad * float64(max(img.W, img.H))))
		padded := padImage(img, pad)
		for _, d := range e.detect(padded) {
			d.Box.X -= float64(pad)
			d.Box.Y -= float64(pad)
			d.Box = clipRect(d.Box, img.W, img.H)
			if d.Box.W >= e.cfg.MinFaceSize && d.Box.H >= e.cfg.MinFaceSize {
				dets = append(dets, d)
			}
		}
	}
	t1 := time.Now()
	faces := make([]Face, len(dets))
	for i, d := range dets {
		faces[i] = Face{Box: d.Box, Score: d.Score}
		faces[i].Landmarks = e.marks.Predict(img, d.Box)
		faces[i].Quality = measureQuality(img, faces[i])
	}
	slices.SortStableFunc(faces, func(a, b Face) int { return cmp.Compare(b.Box.W*b.Box.H, a.Box.W*a.Box.H) })
	if tm != nil {
		tm.Detect += t1.Sub(t0)
		tm.Landmarks += time.Since(t1)
	}
	return faces
}

// DefaultDetectMaxSide is Config.DetectMaxSide's default. On the
// development set shrinking to 1024 px changed no face count and cost
// about 12 ms per 1920 px photo on one core (BenchmarkDetectMaxSide), so
// only photos beyond 2048 px, where the detectors' bilinear resize samples
// fewer than one pixel in four, are shrunk.
const DefaultDetectMaxSide = 2048

func (e *Engine) detect(img *RGB) []Detection {
	small, s := img.Downscale(e.cfg.DetectMaxSide)
	var out []Detection
	for _, d := range e.det.Detect(small, e.cfg.MinScore) {
		if s != 1 {
			// Downscale rounds each side; map through the exact ratios.
			sx, sy := float64(img.W)/float64(small.W), float64(img.H)/float64(small.H)
			d.Box = Rect{d.Box.X * sx, d.Box.Y * sy, d.Box.W * sx, d.Box.H * sy}
		}
		if d.Box.W >= e.cfg.MinFaceSize && d.Box.H >= e.cfg.MinFaceSize {
			out = append(out, d)
		}
	}
	return out
}

// Significant returns the faces that count: the largest one and every
// other face whose side is at least SecondFaceRatio of the largest's.
// faces must be sorted largest first, as Detect returns them.
func (e *Engine) Significant(faces []Face) []Face {
	if len(faces) < 2 {
		return faces
	}
	big := math.Sqrt(faces[0].Box.W * faces[0].Box.H)
	out := faces[:1:1]
	for _, f := range faces[1:] {
		if math.Sqrt(f.Box.W*f.Box.H) >= e.cfg.SecondFaceRatio*big {
			out = append(out, f)
		}
	}
	return out
}

// DetectOriented finds faces in img as it is and turned by 90, 180 and 270
// degrees clockwise, and keeps the orientation whose best face the
// detector is surest of. A detector often reports a face or two in a
// sideways photo too, with lower scores, so stopping at the first
// orientation with any face would pick the wrong one; an upright face
// scoring at least UprightScore ends the search early. It returns the
// faces, the rotation that found them and the image they are in (img
// itself when rotation is 0).
func (e *Engine) DetectOriented(img *RGB, tm *Timings) (faces []Face, rotation int, upright *RGB) {
	var best float32 = -1
	upright = img
	for _, deg := range []int{0, 90, 180, 270} {
		im := img
		if deg != 0 {
			im = img.Rotate(deg)
		}
		fs := e.Detect(im, tm)
		var top float32
		for _, f := range fs {
			top = max(top, f.Score)
		}
		if len(fs) > 0 && top > best {
			best, faces, rotation, upright = top, fs, deg, im
		}
		if deg == 0 && top >= UprightScore {
			break
		}
	}
	return faces, rotation, upright
}

// UprightScore is the detection score above which DetectOriented trusts
// the image's own orientation without trying the others.
const UprightScore = 0.95

// Embed computes the descriptor of face f of img.
func (e *Engine) Embed(img *RGB, f Face, tm *Timings) Descriptor {
	t0 := time.Now()
	v, r := e.emb.Embed(img, f.Landmarks)
	if tm != nil {
		tm.Embed += time.Since(t0)
	}
	return Descriptor{Model: e.calib.Model, Vector: v, Region: r}
}

// Align returns the canonical crop of face f that the embedding model
// reads, cut out of img as its own image: what a verification record keeps
// instead of the original photo.
func (e *Engine) Align(img *RGB, f Face) *RGB {
	return img.Crop(e.emb.Crop(img.W, img.H, f.Landmarks))
}

// Compare returns the distance between two descriptors and its confidence.
func (e *Engine) Compare(a, b Descriptor) (Match, error) {
	if a.Model != b.Model || len(a.Vector) != len(b.Vector) {
		return Match{}, ErrModelMismatch
	}
	var s float64
	for i, v := range a.Vector {
		d := float64(v - b.Vector[i])
		s += d * d
	}
	d := math.Sqrt(s)
	return Match{Distance: d, Confidence: e.calib.Confidence(d)}, nil
}

// Calibration returns the distance-to-confidence mapping of the engine's
// embedding model.
func (e *Engine) Calibration() Calibration { return e.calib }

func clipRect(r Rect, w, h int) Rect {
	x0, y0 := math.Max(r.X, 0), math.Max(r.Y, 0)
	x1, y1 := math.Min(r.X+r.W, float64(w)), math.Min(r.Y+r.H, float64(h))
	return Rect{x0, y0, math.Max(x1-x0, 0), math.Max(y1-y0, 0)}
}
