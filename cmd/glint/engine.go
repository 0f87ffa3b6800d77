package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/session"
)

// maxCLISide bounds the images the local commands accept (8192² RGBA is
// 256 MiB while decoding); larger photos would only be downscaled anyway.
const maxCLISide = 8192

// newFaceEngine loads the default face engine for serve, with the
// operator's calibration file if one is given.
func newFaceEngine(modelsDir, calibration string) (api.FaceEngine, error) {
	e, err := loadEngine(modelsDir, engineConfig{Calibration: calibration})
	if err != nil {
		return nil, err
	}
	return referenceEngine{e}, nil
}

// referenceEngine adapts the face engine to what get_token needs.
type referenceEngine struct{ e *face.Engine }

// cropQuality is the JPEG quality of stored aligned face crops: enough to
// look at and to re-embed, small enough to keep per record.
const cropQuality = 90

// Reference chooses the face of a reference photo and embeds it upright.
// A photo lying on its side or upside down is NO_FACE_FOUND unless
// multi_oriented_detection asks for it to be turned: the detector finds
// many turned faces, but a face embedded as it lies matches nobody
// (face.Engine.DetectUpright).
func (r referenceEngine) Reference(ctx context.Context, img image.Image, opts api.ReferenceOptions) (api.Reference, error) {
	rgb := face.FromImage(img)
	var tm face.Timings
	faces, rot, upright := r.e.DetectUpright(rgb, opts.MultiOriented, &tm)
	api.ObserveStage(ctx, "detect", tm.Detect)
	api.ObserveStage(ctx, "landmarks", tm.Landmarks)
	faces = r.e.Significant(faces)
	switch {
	case len(faces) == 0:
		return api.Reference{}, api.ErrNoFace
	case len(faces) > 1 && opts.FailOnMultiple:
		return api.Reference{}, fmt.Errorf("%d faces: %w", len(faces), api.ErrMultipleFaces)
	}
	if err := ctx.Err(); err != nil {
		return api.Reference{}, err
	}
	d := r.e.Embed(upright, faces[0], &tm)
	api.ObserveStage(ctx, "embed", tm.Embed)
	var crop bytes.Buffer
	if err := jpeg.Encode(&crop, upright.Crop(d.Region).RGBA(), &jpeg.Options{Quality: cropQuality}); err != nil {
		return api.Reference{}, fmt.Errorf("encoding face crop: %w", err)
	}
	b := faces[0].Box.RotateBack(rot, rgb.W, rgb.H)
	return api.Reference{
		Embedding: d.Vector,
		Crop:      crop.Bytes(),
		Box:       image.Rect(int(math.Floor(b.X)), int(math.Floor(b.Y)), int(math.Ceil(b.X+b.W)), int(math.Ceil(b.Y+b.H))),
		Model:     d.Model,
	}, nil
}

// engineConfig is what the engine flags set: the models and rules, and an
// operator's calibration document (`glint calibrate --out`) to use instead
// of the one embedded for the model; empty keeps the embedded one.
type engineConfig struct {
	face.Config
	Calibration string
}

// loadEngine loads the face engine from a models folder laid out as
// `make models` writes it, with the operator's calibration when cfg names
// one, else the one embedded for the model.
func loadEngine(modelsDir string, cfg engineConfig) (*face.Engine, error) {
	e, err := face.Load(os.DirFS(modelsDir), cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("loading models from %s (run `make models`): %w", modelsDir, err)
	}
	path := cfg.Calibration
	if path == "" {
		return e, nil
	}
	c, err := face.LoadCalibration(path)
	if err != nil {
		return nil, err
	}
	if e, err = e.WithCalibration(c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// readRGB reads an image file, applies its EXIF orientation and converts it
// to the engine's pixel format.
func readRGB(path string) (*face.RGB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, _, err := imaging.Decode(data, maxCLISide)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return face.FromImage(img), nil
}

// engineFlags registers the flags that choose the engine's models and
// rules, for the commands that run it locally.
func engineFlags(fl *flag.FlagSet) *engineConfig {
	cfg := &engineConfig{}
	fl.StringVar(&cfg.Detector, "detector", "", "face `detector`: "+strings.Join(face.Detectors(), ", ")+" (default "+face.Detectors()[0]+")")
	fl.StringVar(&cfg.Embedder, "embedder", "", "face `embedder`: "+strings.Join(face.Embedders(), ", ")+" (default "+face.Embedders()[0]+")")
	fl.IntVar(&cfg.DetectMaxSide, "detect-max-side", 0, "shrink larger images to this `side` before detection; -1: never")
	fl.Float64Var(&cfg.ContextPad, "context-pad", 0, "border `fraction` added when no face is found; -1: never")
	fl.StringVar(&cfg.Calibration, "calibration", os.Getenv("GLINT_CALIBRATION"), "calibration `file` written by glint calibrate --out, replacing the embedded one (env GLINT_CALIBRATION)")
	return cfg
}

// defaultModels is where the models are when no flag or GLINT_MODELS says
// otherwise.
func defaultModels() string {
	if d := os.Getenv("GLINT_MODELS"); d != "" {
		return d
	}
	return "models"
}

// newCaptureAnalyzer returns the face analysis of the capture channel,
// built on the engine serve loaded, and the passive anti-spoof model, nil
// when its file is missing (the reflection analysis then decides alone).
// An engine that is not the face engine (a test double) yields a nil
// analyzer: the capture side stays off.
func newCaptureAnalyzer(engine api.FaceEngine, modelsDir string) (session.FaceAnalyzer, session.PassiveScorer, error) {
	ref, ok := engine.(referenceEngine)
	if !ok {
		return nil, nil, nil
	}
	models := os.DirFS(modelsDir)
	faceAPI, err := fs.Sub(models, "face-api")
	if err != nil {
		return nil, nil, err
	}
	an, err := session.NewEngineAnalyzer(ref.e, faceAPI)
	if err != nil {
		return nil, nil, err
	}
	human, err := fs.Sub(models, "human")
	if err != nil {
		return nil, nil, err
	}
	if _, err := fs.Stat(human, face.AntiSpoofModel); errors.Is(err, fs.ErrNotExist) {
		return an, nil, nil
	}
	as, err := face.LoadAntiSpoof(human, face.AntiSpoofModel)
	if err != nil {
		return nil, nil, err
	}
	return an, as, nil
}
