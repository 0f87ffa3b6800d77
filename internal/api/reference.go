package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/store"
)

// Errors a ReferenceChooser wraps to report what it found in a reference
// photo. Any other error is an internal failure (HTTP 500).
var (
	// ErrNoFace: no face, even after rotations if those were asked for.
	ErrNoFace = errors.New("no face found")

	// ErrMultipleFaces: more than one face, and the caller asked to fail
	// rather than take the largest.
	ErrMultipleFaces = errors.New("multiple faces found")
)

// ReferenceChooser finds the reference face in a photo, stands it upright
// and describes it for later comparison: step 7 of get_token. The face
// engine's is EngineChooser. Implementations must be safe for concurrent
// use.
type ReferenceChooser interface {
	// Reference detects faces in img, whose bounds start at (0, 0), and
	// returns the one to verify against: its Model, Embedding, Crop and
	// Box (the caller sets Index, and Original when it keeps photos).
	// Errors wrap ErrNoFace or ErrMultipleFaces for those outcomes. It
	// should stop early when ctx is done.
	Reference(ctx context.Context, img image.Image, opts ReferenceOptions) (store.Reference, error)
}

// ReferenceOptions carry the get_token flags that steer detection.
type ReferenceOptions struct {
	// MultiOriented (multi_oriented_detection=1): when no face is found
	// upright, retry with the photo turned 90, 180 and 270 degrees.
	MultiOriented bool

	// FailOnMultiple (fail_when_ref_multiple_faces=1, the default): more
	// than one face is ErrMultipleFaces; otherwise the largest face wins.
	FailOnMultiple bool
}

// EngineChooser is the ReferenceChooser of the face engine, the one glint
// serve runs. It reports the time of each engine stage ("detect",
// "landmarks", "embed") to the request's metrics (ObserveStage).
type EngineChooser struct {
	Engine *face.Engine
}

// cropQuality is the JPEG quality of stored aligned face crops: enough to
// look at and to re-embed, small enough to keep per record.
const cropQuality = 90

// Reference implements ReferenceChooser: the largest significant face
// (face.Engine.Significant), embedded upright. A photo lying on its side
// or upside down is ErrNoFace unless opts.MultiOriented asks for it to be
// turned: the detector finds many turned faces, but a face embedded as it
// lies matches nobody (face.Engine.DetectUpright). Box is in img's
// coordinates, whichever way the face was found.
func (c EngineChooser) Reference(ctx context.Context, img image.Image, opts ReferenceOptions) (store.Reference, error) {
	e := c.Engine
	rgb := face.FromImage(img)
	var tm face.Timings
	faces, rot, upright := e.DetectUpright(rgb, opts.MultiOriented, &tm)
	ObserveStage(ctx, "detect", tm.Detect)
	ObserveStage(ctx, "landmarks", tm.Landmarks)
	faces = e.Significant(faces)
	switch {
	case len(faces) == 0:
		return store.Reference{}, ErrNoFace
	case len(faces) > 1 && opts.FailOnMultiple:
		return store.Reference{}, fmt.Errorf("%d faces: %w", len(faces), ErrMultipleFaces)
	}
	if err := ctx.Err(); err != nil {
		return store.Reference{}, err
	}
	d := e.Embed(upright, faces[0], &tm)
	ObserveStage(ctx, "embed", tm.Embed)
	var crop bytes.Buffer
	if err := jpeg.Encode(&crop, upright.Crop(d.Region).RGBA(), &jpeg.Options{Quality: cropQuality}); err != nil {
		return store.Reference{}, fmt.Errorf("encoding face crop: %w", err)
	}
	b := faces[0].Box.RotateBack(rot, rgb.W, rgb.H)
	return store.Reference{
		Model:     d.Model,
		Embedding: d.Vector,
		Crop:      crop.Bytes(),
		Box:       image.Rect(int(math.Floor(b.X)), int(math.Floor(b.Y)), int(math.Ceil(b.X+b.W)), int(math.Ceil(b.Y+b.H))),
	}, nil
}
