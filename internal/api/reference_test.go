package api_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"testing"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/session/sessiontest"
)

// TestEngineChooser runs get_token's choice of the reference face on the
// real engine and a sample group photo: the other tests of this package
// use fakeEngine, and cmd/glint's run it end to end through serve.
func TestEngineChooser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	models := sessiontest.ModelsDir()
	if models == "" {
		t.Skip("face models not installed (make models)")
	}
	m, err := face.LoadModels(models, face.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := api.EngineChooser{Engine: m.Engine}
	ctx := context.Background()
	data, err := os.ReadFile(face.SamplePhoto(models, 3)) // a group
	if err != nil {
		t.Fatal(err)
	}
	group, _, err := imaging.Decode(data, 0)
	if err != nil {
		t.Fatal(err)
	}

	noise := imagingtest.Noise(320, 240, 1)
	if _, err := c.Reference(ctx, noise, api.ReferenceOptions{}); !errors.Is(err, api.ErrNoFace) {
		t.Errorf("noise: %v, want ErrNoFace", err)
	}
	if _, err := c.Reference(ctx, group, api.ReferenceOptions{FailOnMultiple: true}); !errors.Is(err, api.ErrMultipleFaces) {
		t.Errorf("group photo failing on multiple faces: %v, want ErrMultipleFaces", err)
	}

	ref, err := c.Reference(ctx, group, api.ReferenceOptions{})
	if err != nil {
		t.Fatalf("group photo taking the largest face: %v", err)
	}
	if ref.Model != m.Engine.Calibration().Model || len(ref.Embedding) == 0 {
		t.Errorf("model %q with %d values, want %q", ref.Model, len(ref.Embedding), m.Engine.Calibration().Model)
	}
	if ref.Index != 0 || ref.Original != nil {
		t.Errorf("Index %d and %d original bytes: get_token sets those", ref.Index, len(ref.Original))
	}
	if b := ref.Box; b.Empty() || !b.In(group.Bounds()) {
		t.Errorf("box %v, want a face inside %v", b, group.Bounds())
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(ref.Crop)); err != nil {
		t.Errorf("crop: %v", err)
	}

	// Turned a quarter clockwise, the photo has no upright face unless it
	// may be turned back; the box is then in the turned photo's pixels.
	turned := imaging.Rotate(group, 90)
	if _, err := c.Reference(ctx, turned, api.ReferenceOptions{}); !errors.Is(err, api.ErrNoFace) {
		t.Errorf("turned photo: %v, want ErrNoFace", err)
	}
	got, err := c.Reference(ctx, turned, api.ReferenceOptions{MultiOriented: true})
	if err != nil {
		t.Fatalf("turned photo with MultiOriented: %v", err)
	}
	h := group.Bounds().Dy()
	u := ref.Box
	want := image.Rect(h-u.Max.Y, u.Min.X, h-u.Min.Y, u.Max.X)
	if iou(got.Box, want) < 0.7 {
		t.Errorf("turned photo: box %v, want about %v (the upright box turned)", got.Box, want)
	}
	match, err := m.Engine.Compare(face.Descriptor{Model: ref.Model, Vector: ref.Embedding}, face.Descriptor{Model: got.Model, Vector: got.Embedding})
	if err != nil {
		t.Fatal(err)
	}
	if th := m.Engine.Calibration().Thresholds()["1e-5"]; match.Confidence < th {
		t.Errorf("turned photo: confidence %.1f against the upright one, want at least %.1f", match.Confidence, th)
	}
}

// iou is the area of a∩b over that of a∪b.
func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}
