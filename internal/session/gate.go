package session

import (
	"math"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/store"
)

// Gate holds the mirror stage's framing rules (spec §5.4 item 8). Sizes
// are relative to the frame's shorter side, so they hold at any capture
// resolution. The zero value selects the defaults.
type Gate struct {
	// MinFace and MaxFace bound the face size (Quality.Size over the
	// shorter side): defaults 0.2 (arm's length) and 0.75.
	MinFace, MaxFace float64
	// MaxYaw and MaxPitch, in degrees (default 20 each; the landmark
	// estimate is good to about ±10°).
	MaxYaw, MaxPitch float64
	// MinBrightness and MaxBrightness bound the face's mean luma
	// (defaults 60 and 220).
	MinBrightness, MaxBrightness float64
	// MinSharpness is the least Laplacian variance (default 15; a
	// defocused face scores below 20).
	MinSharpness float64
	// Margin is how far, as a fraction of its side, the face box may
	// reach past the frame's edge (default 0.05).
	Margin float64
}

func (g Gate) withDefaults() Gate {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&g.MinFace, 0.2)
	def(&g.MaxFace, 0.75)
	def(&g.MaxYaw, 20)
	def(&g.MaxPitch, 20)
	def(&g.MinBrightness, 60)
	def(&g.MaxBrightness, 220)
	def(&g.MinSharpness, 15)
	def(&g.Margin, 0.05)
	return g
}

// check returns the tip for a frame of size w×h with the given
// significant faces, "" when the frame is good. Rules are checked from
// the most basic (is there one face) to the finest (blur), so the tip
// names the first thing the user must fix.
func (g Gate) check(w, h int, faces []face.Face) string {
	switch {
	case len(faces) == 0:
		return TipNoFace
	case len(faces) > 1:
		return TipMultipleFaces
	}
	f := faces[0]
	b := f.Box
	mx, my := g.Margin*b.W, g.Margin*b.H
	if b.X < -mx || b.Y < -my || b.X+b.W > float64(w)+mx || b.Y+b.H > float64(h)+my {
		return TipOutOfImage
	}
	rel := f.Quality.Size / float64(min(w, h))
	q := f.Quality
	switch {
	case rel < g.MinFace:
		return TipTooFar
	case rel > g.MaxFace:
		return TipTooClose
	case math.Abs(q.Yaw) > g.MaxYaw:
		return TipYaw
	case math.Abs(q.Pitch) > g.MaxPitch:
		return TipPitch
	case q.Brightness < g.MinBrightness:
		return TipTooDark
	case q.Brightness > g.MaxBrightness:
		return TipTooBright
	case q.Sharpness < g.MinSharpness:
		return TipBlur
	}
	return ""
}

// occlusionTip returns the tip for a covered face (face.MeasureOcclusion),
// "" when eyes and mouth show. The mirror gate asks it only when the
// verification has face_occlusion_detection on.
func occlusionTip(o face.Occlusion) string {
	switch {
	case o.Eyes:
		return TipEyeOcclusion
	case o.Mouth:
		return TipMouth
	}
	return ""
}

// countTip adds one to the liveness_result counter a tip stands for; tips
// without a counter (lighting, blur) count nowhere.
func countTip(d *store.LivenessDetails, tip string) {
	switch tip {
	case TipNoFace:
		d.FaceNotFound++
	case TipMultipleFaces:
		d.MultipleFaces++
	case TipOutOfImage:
		d.OutOfImage++
	case TipTooFar:
		d.AwayFromCamera++
	case TipTooClose:
		d.CloseToCamera++
	case TipYaw:
		d.SideFace++
	case TipPitch:
		d.UpdownFace++
	case TipEyeOcclusion:
		d.EyeOcclusion++
	case TipMouth:
		d.MouthOcclusion++
	}
}
