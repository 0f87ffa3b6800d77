package face

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
)

// Calibration maps an embedding model's distances to the 0–100 confidence
// the API reports, and holds the confidence at or above which each of FARs
// of impostor pairs is accepted. It is measured by Calibrate on labelled
// pairs (`glint calibrate`) and stored as a JSON document per model version
// (internal/face/calibration/*.json, embedded; docs/calibration.md).
//
// The mapping is a logistic curve in the distance,
//
//	confidence = 100 / (1 + exp((distance − Threshold) / Scale)),
//
// whose two parameters Calibrate chooses so that the FAR 1e-3 threshold
// falls at confidence 60 and the FAR 1e-6 threshold at 90: the published
// ends of the FAR range keep the same confidences whatever the model and
// whatever data a calibration comes from.
type Calibration struct {
	// Model names the embedding model and its version the figures belong
	// to, as descriptors are tagged with it.
	Model string
	// Threshold is the distance at confidence 50.
	Threshold float64
	// Scale is the distance over which confidence moves from 50 to about
	// 73; smaller is steeper.
	Scale float64
	// FAR holds the measured threshold for each of FARs. A Calibration
	// without it (a test double) publishes 100 for every FAR: no false
	// accept rate can be promised without a measurement.
	FAR map[string]FARThreshold
	// Tail is the fit of the lowest impostor distances that extrapolated
	// thresholds come from; nil when every threshold is empirical.
	Tail *TailFit
	// Source says what data the calibration was measured on.
	Source *CalibrationSource
}

// CalibrationSource is the provenance of a calibration: what it was
// measured on and how well the model separated that data.
type CalibrationSource struct {
	// Data is the pairs file or identities folder (base name) and Command
	// the command line that produced the calibration.
	Data    string `json:"data"`
	Command string `json:"command,omitempty"`
	// Date is the day of the measurement, YYYY-MM-DD (UTC).
	Date string `json:"date"`
	// Detector is the face detector that found the faces; distances move
	// a little with the crop it leads to.
	Detector string `json:"detector,omitempty"`
	// Images and Identities count the images embedded and the people they
	// show, when known.
	Images     int `json:"images,omitempty"`
	Identities int `json:"identities,omitempty"`
	// GenuinePairs and ImpostorPairs count the scored pairs; SkippedPairs
	// those left out because an image had no face (or no finite distance).
	GenuinePairs  int `json:"genuine_pairs"`
	ImpostorPairs int `json:"impostor_pairs"`
	SkippedPairs  int `json:"skipped_pairs"`
	// ClosestImpostor is the smallest impostor distance seen.
	ClosestImpostor float64 `json:"closest_impostor"`
	// Genuine holds the figures that need genuine pairs; nil without any.
	Genuine *GenuineStats `json:"genuine,omitempty"`
}

// GenuineStats summarises how genuine and impostor pairs separate.
type GenuineStats struct {
	// EER is the equal error rate, at distance EERDistance.
	EER         float64 `json:"eer"`
	EERDistance float64 `json:"eer_distance"`
	// Accuracy is the best fraction of correctly classified pairs, at
	// AccuracyDistance.
	Accuracy         float64 `json:"accuracy"`
	AccuracyDistance float64 `json:"accuracy_distance"`
	AUC              float64 `json:"auc"`
	// MedianDistance is the median genuine distance.
	MedianDistance float64 `json:"median_distance"`
}

// Confidence maps a distance to 0–100, higher for more alike.
func (c Calibration) Confidence(d float64) float64 {
	v := 100 / (1 + math.Exp((d-c.Threshold)/c.Scale))
	return math.Round(v*1000) / 1000
}

// Distance is the inverse of Confidence: the distance at which the
// confidence is conf (0 < conf < 100).
func (c Calibration) Distance(conf float64) float64 {
	return c.Threshold + c.Scale*math.Log(100/conf-1)
}

// calibrationFormat names the version of the calibration document; a
// document of another version is refused rather than half understood.
const calibrationFormat = "glint-calibration/1"

// calibrationDoc is the JSON form of a Calibration.
type calibrationDoc struct {
	Format     string                  `json:"format"`
	Model      string                  `json:"model"`
	Confidence confidenceDoc           `json:"confidence"`
	Thresholds map[string]FARThreshold `json:"thresholds"`
	Tail       *TailFit                `json:"tail,omitempty"`
	Source     *CalibrationSource      `json:"source,omitempty"`
}

// confidenceDoc is the distance-to-confidence mapping; Anchors records
// which confidences the mapping was fitted to put the FAR thresholds at,
// for the reader (Threshold and Scale alone define the mapping).
type confidenceDoc struct {
	Function     string             `json:"function"`
	DistanceAt50 float64            `json:"distance_at_50"`
	Scale        float64            `json:"scale"`
	Anchors      map[string]float64 `json:"anchors,omitempty"`
}

// MarshalJSON writes the calibration document.
func (c Calibration) MarshalJSON() ([]byte, error) {
	return json.Marshal(calibrationDoc{
		Format:     calibrationFormat,
		Model:      c.Model,
		Confidence: confidenceDoc{Function: "logistic", DistanceAt50: c.Threshold, Scale: c.Scale, Anchors: confidenceAnchors},
		Thresholds: c.FAR,
		Tail:       c.Tail,
		Source:     c.Source,
	})
}

// UnmarshalJSON reads a calibration document with ParseCalibration's
// checks.
func (c *Calibration) UnmarshalJSON(data []byte) error {
	parsed, err := ParseCalibration(data)
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

// ErrCalibration reports a calibration document that cannot be used.
var ErrCalibration = errors.New("face: invalid calibration")

// ErrCalibrationModel reports a calibration measured for another
// embedding model than the engine runs.
var ErrCalibrationModel = errors.New("face: calibration is for another model")

// ParseCalibration reads and checks a calibration document: known format,
// a logistic mapping, a threshold for each of FARs whose confidence is the
// mapping's value at its distance, thresholds that get stricter as the FAR
// falls, and no "empirical" claim without enough impostor pairs behind it.
// Errors wrap ErrCalibration.
func ParseCalibration(data []byte) (Calibration, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	// Unknown fields are refused: a misspelt key would otherwise be
	// silently ignored in a file that decides who is accepted.
	dec.DisallowUnknownFields()
	var doc calibrationDoc
	if err := dec.Decode(&doc); err != nil {
		return Calibration{}, fmt.Errorf("%w: %w", ErrCalibration, err)
	}
	if dec.More() {
		return Calibration{}, fmt.Errorf("%w: data after the document", ErrCalibration)
	}
	c := Calibration{
		Model: doc.Model, Threshold: doc.Confidence.DistanceAt50, Scale: doc.Confidence.Scale,
		FAR: doc.Thresholds, Tail: doc.Tail, Source: doc.Source,
	}
	if err := c.validate(doc); err != nil {
		return Calibration{}, fmt.Errorf("%w: %w", ErrCalibration, err)
	}
	return c, nil
}

func (c Calibration) validate(doc calibrationDoc) error {
	switch {
	case doc.Format != calibrationFormat:
		return fmt.Errorf("format %q, want %q", doc.Format, calibrationFormat)
	case c.Model == "":
		return errors.New("no model")
	case doc.Confidence.Function != "logistic":
		return fmt.Errorf("confidence function %q, want \"logistic\"", doc.Confidence.Function)
	case !isFinite(c.Threshold) || !isFinite(c.Scale) || c.Scale <= 0:
		return fmt.Errorf("confidence mapping distance_at_50 %v, scale %v: want finite numbers, scale > 0", c.Threshold, c.Scale)
	}
	for k := range c.FAR {
		if _, err := farValue(k); err != nil {
			return err
		}
	}
	prev := FARThreshold{Distance: math.Inf(1)}
	for _, k := range FARs {
		t, ok := c.FAR[k]
		if !ok {
			return fmt.Errorf("no threshold for FAR %s", k)
		}
		far, _ := farValue(k)
		switch {
		case !isFinite(t.Distance) || t.Distance < 0:
			return fmt.Errorf("FAR %s: distance %v", k, t.Distance)
		case t.Confidence <= 0 || t.Confidence > 100:
			return fmt.Errorf("FAR %s: confidence %v outside (0, 100]", k, t.Confidence)
		case math.Abs(c.Confidence(t.Distance)-t.Confidence) > 0.011:
			// Thresholds are rounded up to 0.01, so a larger gap means
			// they were not computed with this mapping.
			return fmt.Errorf("FAR %s: confidence %v, but the mapping gives %v at distance %v", k, t.Confidence, c.Confidence(t.Distance), t.Distance)
		case t.ImpostorPairs <= 0 || t.ImpostorsAccepted < 0 || t.ImpostorsAccepted > t.ImpostorPairs:
			return fmt.Errorf("FAR %s: %d of %d impostor pairs accepted", k, t.ImpostorsAccepted, t.ImpostorPairs)
		case t.Distance > prev.Distance || t.Confidence < prev.Confidence:
			return fmt.Errorf("FAR %s: threshold (distance %v, confidence %v) is more lenient than the previous one's (%v, %v)", k, t.Distance, t.Confidence, prev.Distance, prev.Confidence)
		}
		switch t.Method {
		case MethodEmpirical:
			if n := far * float64(t.ImpostorPairs); n < MinEmpiricalImpostors-1e-9 {
				return fmt.Errorf("FAR %s: \"empirical\" from %d impostor pairs expects %.1f accepted, fewer than %d", k, t.ImpostorPairs, n, MinEmpiricalImpostors)
			}
		case MethodExtrapolated:
			if c.Tail == nil {
				return fmt.Errorf("FAR %s: extrapolated, but the document has no tail fit", k)
			}
		default:
			return fmt.Errorf("FAR %s: method %q, want %q or %q", k, t.Method, MethodEmpirical, MethodExtrapolated)
		}
		prev = t
	}
	return nil
}

// LoadCalibration reads a calibration document written by `glint
// calibrate` (see ParseCalibration). Engine.WithCalibration installs it
// after checking it is for the engine's model.
func LoadCalibration(path string) (Calibration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Calibration{}, fmt.Errorf("reading calibration: %w", err)
	}
	c, err := ParseCalibration(data)
	if err != nil {
		return Calibration{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WithCalibration returns a copy of the engine that maps distances and
// publishes thresholds with c instead of its embedded calibration. c must
// be for the engine's embedding model (ErrCalibrationModel otherwise):
// another model's distances live on another scale.
func (e *Engine) WithCalibration(c Calibration) (*Engine, error) {
	if c.Model != e.calib.Model {
		return nil, fmt.Errorf("%w: calibration for %q, engine runs %q", ErrCalibrationModel, c.Model, e.calib.Model)
	}
	cp := *e
	cp.calib = c
	return &cp, nil
}

// Model names of the embedders: descriptors are tagged with them and
// stored, so an embedded calibration must carry exactly this name.
const (
	resnetModelName  = "face-api-resnet128@1.7.15"
	faceresModelName = "human-faceres@3.3.6"
)

// The embedded calibrations are written by `glint calibrate --out` on the
// development data; docs/calibration.md gives the command and the data.
//
//go:embed calibration/*.json
var embeddedCalibrations embed.FS

var (
	resnetCalibration  = mustEmbeddedCalibration("calibration/resnet.json", resnetModelName)
	faceresCalibration = mustEmbeddedCalibration("calibration/faceres.json", faceresModelName)
)

// mustEmbeddedCalibration parses an embedded calibration. A broken one is a
// build mistake, which TestEmbeddedCalibrations also catches, so it panics.
func mustEmbeddedCalibration(name, model string) Calibration {
	data, err := embeddedCalibrations.ReadFile(name)
	if err != nil {
		panic(err)
	}
	c, err := ParseCalibration(data)
	if err != nil {
		panic(fmt.Sprintf("face: embedded %s: %v", name, err))
	}
	if c.Model != model {
		panic(fmt.Sprintf("face: embedded %s is for %q, want %q", name, c.Model, model))
	}
	return c
}

// DefaultCalibration returns the embedded calibration of an embedder (one
// of Embedders(); "" is the default), without loading any model.
func DefaultCalibration(embedder string) (Calibration, error) {
	switch embedder {
	case "", EmbedderResNet:
		return resnetCalibration, nil
	case EmbedderFaceRes:
		return faceresCalibration, nil
	}
	return Calibration{}, fmt.Errorf("face: unknown embedder %q", embedder)
}

// farValue parses a FAR key.
func farValue(key string) (float64, error) {
	for _, k := range FARs {
		if k == key {
			return strconv.ParseFloat(k, 64)
		}
	}
	return 0, fmt.Errorf("unknown FAR %q (want one of %v)", key, FARs)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
