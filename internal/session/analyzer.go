package session

import (
	"math"

	"github.com/glint-id/glint/internal/face"
)

// FaceAnalyzer is the face analysis a session needs. Implementations must
// be safe for concurrent use.
type FaceAnalyzer interface {
	// Detect returns the significant faces of img (face.Engine.Significant),
	// largest first, with landmarks and quality.
	Detect(img *face.RGB) []face.Face
	// Track returns the landmarks of the face known to lie about in box,
	// without detection: a fraction of Detect's cost, for the frames
	// between detections. Quality is left zero.
	Track(img *face.RGB, box face.Rect) face.Face
	// Embed describes face f of img for comparison.
	Embed(img *face.RGB, f face.Face) face.Descriptor
	// Compare compares two descriptors of the same model.
	Compare(a, b face.Descriptor) (face.Match, error)
	// Thresholds maps false-accept rates to confidences (verify_result
	// thresholds).
	Thresholds() map[string]float64
}

// PassiveScorer is a passive anti-spoof model: the probability, in
// [0, 1], that face f of img is live.
type PassiveScorer interface {
	Live(img *face.RGB, f face.Face) float64
}

// EngineAnalyzer is the FaceAnalyzer of the face engine.
type EngineAnalyzer struct {
	Engine    *face.Engine
	Landmarks *face.Landmarks68
}

// NewEngineAnalyzer wraps e, tracking faces with the engine's own
// 68-point landmark network.
func NewEngineAnalyzer(e *face.Engine) *EngineAnalyzer {
	return &EngineAnalyzer{Engine: e, Landmarks: e.Landmarks()}
}

// Detect implements FaceAnalyzer.
func (a *EngineAnalyzer) Detect(img *face.RGB) []face.Face {
	return a.Engine.Significant(a.Engine.Detect(img, nil))
}

// Track implements FaceAnalyzer.
func (a *EngineAnalyzer) Track(img *face.RGB, box face.Rect) face.Face {
	f := face.Face{Box: box, Score: 1, Landmarks: a.Landmarks.Predict(img, box)}
	f.Quality.Size = math.Sqrt(box.W * box.H)
	return f
}

// Embed implements FaceAnalyzer.
func (a *EngineAnalyzer) Embed(img *face.RGB, f face.Face) face.Descriptor {
	return a.Engine.Embed(img, f, nil)
}

// Compare implements FaceAnalyzer.
func (a *EngineAnalyzer) Compare(x, y face.Descriptor) (face.Match, error) {
	return a.Engine.Compare(x, y)
}

// Thresholds implements FaceAnalyzer.
func (a *EngineAnalyzer) Thresholds() map[string]float64 {
	return a.Engine.Calibration().Thresholds()
}
