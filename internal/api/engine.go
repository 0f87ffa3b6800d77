package api

import (
	"context"
	"errors"
	"image"
	"time"
)

// Errors a FaceEngine wraps to report what it found in a reference photo.
// Any other error is an internal failure (HTTP 500).
var (
	// ErrNoFace: no face, even after rotations if those were asked for.
	ErrNoFace = errors.New("no face found")

	// ErrMultipleFaces: more than one face, and the caller asked to fail
	// rather than take the largest.
	ErrMultipleFaces = errors.New("multiple faces found")
)

// FaceEngine finds the reference face in an upright photo and describes it
// for later comparison. Implementations must be safe for concurrent use.
type FaceEngine interface {
	// Reference detects faces in img, whose bounds start at (0, 0), and
	// returns the one to verify against. Errors wrap ErrNoFace or
	// ErrMultipleFaces for those outcomes. The engine should stop early
	// when ctx is done.
	Reference(ctx context.Context, img image.Image, opts ReferenceOptions) (Reference, error)
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

// Reference is the face an engine chose in a reference photo.
type Reference struct {
	// Embedding is the face descriptor compared during verification.
	Embedding []float32

	// Crop is the aligned face as a JPEG.
	Crop []byte

	// Box bounds the face in img's coordinates (for a face found in a
	// rotated copy, mapped back to img).
	Box image.Rectangle

	// Model identifies the model (and version) behind Embedding.
	Model string
}

type metricsKey struct{}

// ObserveStage records the duration of one processing stage (for example
// "detect", "align", "embed") of the request whose context is ctx, in the
// glint_engine_stage_duration_seconds histogram. Engines call it; outside a
// request served by this package it does nothing.
func ObserveStage(ctx context.Context, stage string, d time.Duration) {
	if m, ok := ctx.Value(metricsKey{}).(*Metrics); ok {
		m.ObserveStage(stage, d)
	}
}
