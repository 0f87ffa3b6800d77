package face

import "math"

// Calibration maps an embedding model's distances to the 0–100 confidence
// the API reports: a logistic curve centred on the distance where genuine
// and impostor pairs are equally likely, so that confidence 50 is the
// decision boundary and higher means more alike.
type Calibration struct {
	// Model names the embedding model (and its version) the figures belong
	// to.
	Model string
	// Threshold is the distance at confidence 50.
	Threshold float64
	// Scale is the distance over which confidence moves from 50 to about 73.
	Scale float64
	// ImpostorMean and ImpostorSD describe the distances between different
	// people's faces measured on ImpostorPairs labelled pairs; Thresholds
	// reads the false-accept rates off a normal fit of them.
	ImpostorMean, ImpostorSD float64
	ImpostorPairs            int
}

// Confidence maps a distance to 0–100.
func (c Calibration) Confidence(d float64) float64 {
	v := 100 / (1 + math.Exp((d-c.Threshold)/c.Scale))
	return math.Round(v*1000) / 1000
}

// Distance is the inverse of Confidence: the distance at which the
// confidence is conf (0 < conf < 100).
func (c Calibration) Distance(conf float64) float64 {
	return c.Threshold + c.Scale*math.Log(100/conf-1)
}

// resnetCalibration is measured with `glint eval` on the development pairs
// (docs/models.md); it is provisional until calibration on a large labelled
// set replaces it.
//
// Impostor distances: `glint eval --dump` on the development pairs (348
// different-person pairs): mean 0.8449, standard deviation 0.0905, smallest
// 0.5472.
var resnetCalibration = Calibration{Model: "face-api-resnet128@1.7.15", Threshold: 0.6, Scale: 0.05,
	ImpostorMean: 0.8449, ImpostorSD: 0.0905, ImpostorPairs: 348}

// faceresCalibration is measured on the development pairs with the SSD
// detector (TestDevsetVerification): best accuracy at distance 0.96,
// median genuine and impostor distances 0.67 and 1.11. FaceRes descriptors
// are L2-normalised, so distances lie in [0, 2]. Provisional like
// resnetCalibration.
// Impostor distances as for resnetCalibration: mean 1.1062, standard
// deviation 0.0634, smallest 0.8945.
var faceresCalibration = Calibration{Model: "human-faceres@3.3.6", Threshold: 0.96, Scale: 0.045,
	ImpostorMean: 1.1062, ImpostorSD: 0.0634, ImpostorPairs: 348}
