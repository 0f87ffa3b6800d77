package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/glint-id/glint/internal/face"
)

// detectCommand prints the faces found in images as JSON.
type detectCommand struct {
	stdout io.Writer
	env    func(name, def string) string // Main.env
}

type detectFace struct {
	Box       [4]float64   `json:"box"` // x, y, width, height
	Score     float64      `json:"score"`
	Landmarks [][2]float64 `json:"landmarks"`
	Quality   face.Quality `json:"quality"`
	Counts    bool         `json:"counts"` // a significant face (see face.Config.SecondFaceRatio)
}

type detectResult struct {
	Image    string       `json:"image"`
	Width    int          `json:"width"`
	Height   int          `json:"height"`
	Rotation int          `json:"rotation,omitempty"`
	Faces    []detectFace `json:"faces"`
	Error    string       `json:"error,omitempty"`
}

func (c *detectCommand) Run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("detect", flag.ContinueOnError)
	models := fl.String("models", defaultModels(c.env), "models `dir`")
	cfg := engineFlags(fl, c.env)
	rotate := fl.Bool("rotate", false, "search at 90/180/270 degrees when no face is upright")
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: glint detect [flags] IMAGE...\n\nPrints one JSON object per image: faces with box, score, 68 landmarks and quality.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return errUsage
	}
	eng, err := loadEngine(*models, *cfg)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.stdout)
	failed := 0
	for _, path := range fl.Args() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res := detectResult{Image: path, Faces: []detectFace{}}
		img, err := readRGB(path)
		if err != nil {
			res.Error = err.Error()
			failed++
		} else {
			res.Width, res.Height = img.W, img.H
			var faces []face.Face
			if *rotate {
				faces, res.Rotation, _ = eng.DetectOriented(img, nil)
			} else {
				faces = eng.Detect(img, nil)
			}
			sig := len(eng.Significant(faces))
			for i, f := range faces {
				df := detectFace{
					Box:     [4]float64{round2(f.Box.X), round2(f.Box.Y), round2(f.Box.W), round2(f.Box.H)},
					Score:   math.Round(float64(f.Score)*1e4) / 1e4,
					Quality: roundQuality(f.Quality),
					Counts:  i < sig,
				}
				for _, p := range f.Landmarks {
					df.Landmarks = append(df.Landmarks, [2]float64{round2(p.X), round2(p.Y)})
				}
				res.Faces = append(res.Faces, df)
			}
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be read", failed, fl.NArg())
	}
	return nil
}

// round2 rounds v to two decimal places: pixel positions and scores are
// not measured more finely than that.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

func roundQuality(q face.Quality) face.Quality {
	r := round2
	return face.Quality{Size: r(q.Size), Yaw: r(q.Yaw), Pitch: r(q.Pitch), Roll: r(q.Roll),
		Brightness: r(q.Brightness), Sharpness: r(q.Sharpness)}
}
