package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/session"
)

// serveModels is what serve runs on, loaded from one models folder:
// get_token's choice of the reference face, and the capture side's face
// analysis and passive anti-spoof model. A test double of references
// leaves analyzer nil, which turns the capture side off.
type serveModels struct {
	references api.ReferenceChooser
	analyzer   session.FaceAnalyzer
	passive    session.PassiveScorer // nil when the models folder lacks it
}

// loadServeModels loads the models of modelsDir for serve, with the
// operator's calibration file if one is given.
func loadServeModels(modelsDir, calibration string) (serveModels, error) {
	m, err := face.LoadModels(modelsDir, face.Options{Calibration: calibration})
	if err != nil {
		return serveModels{}, err
	}
	s := serveModels{
		references: api.EngineChooser{Engine: m.Engine},
		analyzer:   session.NewEngineAnalyzer(m.Engine),
	}
	if m.AntiSpoof != nil {
		s.passive = m.AntiSpoof
	}
	return s, nil
}

// loadEngine loads the face engine of the commands that run it locally.
func loadEngine(modelsDir string, opts face.Options) (*face.Engine, error) {
	m, err := face.LoadModels(modelsDir, opts)
	if err != nil {
		return nil, err
	}
	return m.Engine, nil
}

// engineFlags registers the flags that choose the engine's models and
// rules, for the commands that run it locally; env (Main.env) gives the
// defaults from the environment.
func engineFlags(fl *flag.FlagSet, env func(name, def string) string) *face.Options {
	opts := &face.Options{}
	fl.StringVar(&opts.Detector, "detector", "", "face `detector`: "+strings.Join(face.Detectors(), ", ")+" (default "+face.Detectors()[0]+")")
	fl.StringVar(&opts.Embedder, "embedder", "", "face `embedder`: "+strings.Join(face.Embedders(), ", ")+" (default "+face.Embedders()[0]+")")
	fl.IntVar(&opts.DetectMaxSide, "detect-max-side", 0, "shrink larger images to this `side` before detection; -1: never")
	fl.Float64Var(&opts.ContextPad, "context-pad", 0, "border `fraction` added when no face is found; -1: never")
	fl.StringVar(&opts.Calibration, "calibration", env("GLINT_CALIBRATION", ""), "calibration `file` written by glint calibrate --out, replacing the embedded one (env GLINT_CALIBRATION)")
	return opts
}

// defaultModels is where the models are when no flag says otherwise:
// GLINT_MODELS from env (Main.env), else ./models.
func defaultModels(env func(name, def string) string) string {
	return env("GLINT_MODELS", "models")
}

// maxCLISide bounds the images the local commands accept (8192² RGBA is
// 256 MiB while decoding); larger photos would only be downscaled anyway.
const maxCLISide = 8192

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
