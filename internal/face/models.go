package face

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// The models folder, as `make models` writes it: face-api's networks and
// sample photos in one subfolder, human's graph models in the other. Only
// this file and the loaders it calls know these names; everything else
// reaches the folder through LoadModels, Load and SamplePhoto.
const (
	faceAPIDir = "face-api"
	humanDir   = "human"
)

// Options choose what LoadModels loads: the engine's models and rules, and
// the calibration its confidences follow.
type Options struct {
	Config

	// Calibration is the path of a calibration document (`glint calibrate
	// --out`) used instead of the one embedded for the embedding model;
	// empty keeps the embedded one.
	Calibration string
}

// Models are the models of one models folder: what the service runs.
type Models struct {
	// Engine is the face pipeline Options.Config selects, with
	// Options.Calibration when one is given.
	Engine *Engine

	// AntiSpoof is the passive anti-spoof model, nil when the folder does
	// not hold AntiSpoofModel: it is optional, and liveness then rests on
	// the flash reflection alone.
	AntiSpoof *AntiSpoof
}

// LoadModels reads every model from the models folder dir, laid out as
// `make models` writes it: the engine's (Load), its calibration, and the
// passive anti-spoof model when present. Errors of the engine's models
// tell the operator to run `make models`.
func LoadModels(dir string, opts Options) (*Models, error) {
	fsys := os.DirFS(dir)
	e, err := Load(fsys, opts.Config)
	if err != nil {
		return nil, fmt.Errorf("loading models from %s (run `make models`): %w", dir, err)
	}
	if path := opts.Calibration; path != "" {
		c, err := LoadCalibration(path)
		if err != nil {
			return nil, err
		}
		if e, err = e.WithCalibration(c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	m := &Models{Engine: e}
	human, err := fs.Sub(fsys, humanDir)
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(human, AntiSpoofModel); errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if m.AntiSpoof, err = LoadAntiSpoof(human, AntiSpoofModel); err != nil {
		return nil, err
	}
	return m, nil
}

// SamplePhotos is the number of sample photos in a models folder: group
// and single portraits that come with face-api, used by demos, tests and
// `glint liveness-eval`.
const SamplePhotos = 6

// SamplePhoto returns the path of sample photo n, 1 to SamplePhotos, in
// the models folder dir.
func SamplePhoto(dir string, n int) string {
	return filepath.Join(SampleDir(dir), "sample"+strconv.Itoa(n)+".jpg")
}

// SampleDir returns the folder of the models folder dir that holds the
// sample photos (and no other image).
func SampleDir(dir string) string {
	return filepath.Join(dir, faceAPIDir)
}
