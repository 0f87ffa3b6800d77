package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/glint-id/glint/internal/face"
)

// compareCommand compares the largest faces of two images.
type compareCommand struct {
	stdout io.Writer
	env    func(name, def string) string // Main.env
}

type compareResult struct {
	A          string  `json:"a"`
	B          string  `json:"b"`
	Model      string  `json:"model"`
	Distance   float64 `json:"distance"`
	Confidence float64 `json:"confidence"`
	// Same is whether Confidence reaches the FAR 1e-3 threshold, the
	// most lenient one the API publishes.
	Same bool `json:"same_person"`
	// Thresholds are verify_result's: the confidence at each FAR.
	Thresholds map[string]float64 `json:"thresholds"`
}

var errNoFace = errors.New("no face found")

func (c *compareCommand) Run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("compare", flag.ContinueOnError)
	models := fl.String("models", defaultModels(c.env), "models `dir`")
	cfg := engineFlags(fl, c.env)
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: glint compare [flags] IMAGE_A IMAGE_B\n\nCompares the largest face of each image; prints distance, confidence (0-100), the confidence thresholds at FAR 1e-3…1e-6 and whether the 1e-3 one is reached, as JSON.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 2 {
		fl.Usage()
		return errUsage
	}
	eng, err := loadEngine(*models, *cfg)
	if err != nil {
		return err
	}
	var desc [2]face.Descriptor
	for i, path := range fl.Args() {
		img, err := readRGB(path)
		if err != nil {
			return err
		}
		faces := eng.Detect(img, nil)
		if len(faces) == 0 {
			return fmt.Errorf("%s: %w", path, errNoFace)
		}
		desc[i] = eng.Embed(img, faces[0], nil)
	}
	m, err := eng.Compare(desc[0], desc[1])
	if err != nil {
		return err
	}
	cal := eng.Calibration()
	th := cal.Thresholds()
	res := compareResult{
		A: fl.Arg(0), B: fl.Arg(1), Model: cal.Model,
		Distance:   math.Round(m.Distance*1e6) / 1e6,
		Confidence: m.Confidence,
		Same:       m.Confidence >= th["1e-3"],
		Thresholds: th,
	}
	return json.NewEncoder(c.stdout).Encode(res)
}
