package liveness

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Injection. The reflection analysis proves that the frames show a face
// lit by the challenge at the right moments; it cannot prove that a camera
// took them. Software that relights a photo for each colour as it is
// announced (a "real-time renderer", injected in place of the camera)
// produces exactly that light. What the server can still observe are the
// traces a lazy renderer leaves, and which a camera never does:
//
//   - repeated_frames: a picture that comes back after others. Every
//     exposure of a sensor carries fresh shot and read noise, so two camera
//     frames are never identical; a renderer that cycles a few pre-rendered
//     noise patterns repeats itself. (The same picture twice in a row is a
//     capture timer outrunning the camera, and is only dropped.)
//   - static_scene: a face that does not move at all across the camera
//     picture. A phone in the hand, or a head in front of a phone on a
//     stand, moves by at least a fraction of a millimetre over seconds
//     (tremor, breathing, sway); a photo drawn at a fixed place does not.
//
// The transport adds what it learned about the client (Options.
// ClientSignals: the SDK's report on its browser and camera). Each signal
// alone fails the injection check. None of them stops a renderer that
// adds motion and fresh noise and runs in an unmodified-looking browser:
// docs/liveness.md says what each costs an attacker and what stops the
// rest.

// Injection signals raised by the frames themselves.
const (
	SignalRepeatedFrames = "repeated_frames"
	SignalStaticScene    = "static_scene"
)

// minMotionFrames is how many registered face frames the motion is
// measured over; fewer leave it unmeasured (and the continuity check
// fails such a sequence anyway). motionSmooth is the width, in frames, of
// the moving average taken over the face's track (see faceMotion).
const (
	minMotionFrames = 6
	motionSmooth    = 5
)

// injection is the injection check: the frames' signals and the client's.
func (a *analysis) injection() (Check, []string) {
	c := Check{Name: CheckInjection, Value: a.motion, Threshold: a.opt.MinMotion,
		Detail: "face motion across the picture, inter-ocular distances ≥ threshold; no repeated picture; no client signal"}
	var signals []string
	if a.repeats > 0 {
		signals = append(signals, SignalRepeatedFrames)
	}
	static := !math.IsNaN(a.motion) && a.motion < a.opt.MinMotion
	if static {
		signals = append(signals, SignalStaticScene)
	}
	for _, s := range a.opt.ClientSignals {
		if !slices.Contains(signals, s) {
			signals = append(signals, s)
		}
	}
	c.Pass = len(signals) == 0
	switch {
	case !c.Pass:
		c.Score = 0
		if static && len(signals) == 1 {
			// Only the motion: say how far below the floor it was.
			c.Score = 0.5 * a.motion / a.opt.MinMotion
		}
		c.Detail = fmt.Sprintf("suspected injection: %s", strings.Join(signals, ", "))
		if a.repeats > 0 {
			c.Detail += fmt.Sprintf(" (%d repeated pictures)", a.repeats)
		}
	case math.IsNaN(a.motion):
		c.Score = 0.5
	default:
		c.Score = logistic(math.Log(a.motion/a.opt.MinMotion), 0.5)
	}
	return c, signals
}

// faceMotion returns how much the face moved across the camera pictures:
// the RMS distance of its registered centre from the mean centre, over
// the mean inter-ocular distance. The registered placement (sims, refined
// by registration) is used rather than the landmarks, whose jitter from
// frame to frame would pass for motion; and the track is smoothed over
// motionSmooth frames first, since what is left of the registration's own
// error is independent from frame to frame while a head's or a hand's
// motion is not (measured on a still picture in Chromium, 480×640 JPEGs:
// 0.003 unsmoothed). NaN when fewer than minMotionFrames frames
// registered.
func faceMotion(views []view, sims []similarity, patches []patchSample, ref FaceFrame) float64 {
	centre := ref.ToImage(0, 0.5)
	var pts []complex128
	var iod float64
	for j := range views {
		if !patches[j].enough {
			continue
		}
		v := &views[j]
		p := v.camera(sims[j].apply(centre))
		pts = append(pts, cpt(p))
		iod += ref.iod * cmplxAbs(sims[j].a) / v.scale
	}
	if len(pts) < minMotionFrames {
		return math.NaN()
	}
	n := float64(len(pts))
	iod /= n
	pts = smoothTrack(pts, motionSmooth)
	var m complex128
	for _, p := range pts {
		m += p
	}
	m /= complex(n, 0)
	var ss float64
	for _, p := range pts {
		d := p - m
		ss += real(d)*real(d) + imag(d)*imag(d)
	}
	return math.Sqrt(ss/n) / iod
}

// smoothTrack returns the centred moving average of pts over width
// points (fewer at the ends).
func smoothTrack(pts []complex128, width int) []complex128 {
	out := make([]complex128, len(pts))
	h := width / 2
	for i := range pts {
		lo, hi := max(0, i-h), min(len(pts), i+h+1)
		var s complex128
		for _, p := range pts[lo:hi] {
			s += p
		}
		out[i] = s / complex(float64(hi-lo), 0)
	}
	return out
}
