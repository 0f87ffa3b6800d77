package liveness

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
)

func TestInjectionCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		motion  float64
		repeats int
		client  []string
		pass    bool
		signals []string
		detail  string
	}{
		{"moving", 0.01, 0, nil, true, nil, "face motion across the picture, inter-ocular distances ≥ threshold"},
		{"motion at threshold", 0.004, 0, nil, true, nil, "face motion across the picture"},
		{"motion just above", 0.00404, 0, nil, true, nil, "face motion across the picture"},
		{"motion just below", 0.00396, 0, nil, false, []string{SignalStaticScene}, "suspected injection: static_scene"},
		{"still", 0, 0, nil, false, []string{SignalStaticScene}, "suspected injection: static_scene"},
		// Too few registered frames to tell: not held against the
		// frames (continuity fails such a sequence anyway).
		{"motion not measured", math.NaN(), 0, nil, true, nil, "face motion across the picture"},
		{"one repeated picture", 0.01, 1, nil, false, []string{SignalRepeatedFrames}, "suspected injection: repeated_frames (1 repeated pictures)"},
		{"repeated and still", 0.001, 3, nil, false, []string{SignalRepeatedFrames, SignalStaticScene}, "suspected injection: repeated_frames, static_scene (3 repeated pictures)"},
		{"client signal", 0.01, 0, []string{"virtual_camera"}, false, []string{"virtual_camera"}, "suspected injection: virtual_camera"},
		// A client signal naming a frame signal is not listed twice.
		{"client and frames agree", 0.001, 0, []string{SignalStaticScene, "automation"}, false, []string{SignalStaticScene, "automation"}, "suspected injection: static_scene, automation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := scheduled(t, 400*time.Millisecond, "red", "green")
			a.motion, a.repeats = tc.motion, tc.repeats
			a.opt.ClientSignals = tc.client
			c, signals := a.injection()
			if c.Name != CheckInjection || c.Pass != tc.pass {
				t.Errorf("%s pass %v, want %s pass %v", c.Name, c.Pass, CheckInjection, tc.pass)
			}
			if !slices.Equal(signals, tc.signals) {
				t.Errorf("signals %q, want %q", signals, tc.signals)
			}
			if !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("detail %q, want it to contain %q", c.Detail, tc.detail)
			}
			if c.Threshold != 0.004 {
				t.Errorf("threshold %v, want the default 0.004", c.Threshold)
			}
			if !(c.Value == tc.motion || math.IsNaN(c.Value) && math.IsNaN(tc.motion)) {
				t.Errorf("value %v, want the motion %v", c.Value, tc.motion)
			}
			// The score says how far a still picture was from moving
			// enough, and nothing else softens a signal.
			switch {
			case tc.pass && math.IsNaN(tc.motion):
				if c.Score != 0.5 {
					t.Errorf("score %v, want 0.5 unmeasured", c.Score)
				}
			case tc.pass:
				if want := 1 / (1 + math.Pow(0.004/tc.motion, 2)); math.Abs(c.Score-want) > 1e-12 {
					t.Errorf("score %v, want %v", c.Score, want)
				}
			case slices.Equal(tc.signals, []string{SignalStaticScene}):
				if want := 0.5 * tc.motion / 0.004; math.Abs(c.Score-want) > 1e-12 {
					t.Errorf("score %v, want %v", c.Score, want)
				}
			default:
				if c.Score != 0 {
					t.Errorf("score %v, want 0", c.Score)
				}
			}
		})
	}
}

// pickFrames counts a picture that comes back after others (no camera
// sends one), drops one repeated at once (a capture timer outrunning the
// camera), and leaves out frames with several faces.
func TestPickFrames(t *testing.T) {
	t.Parallel()
	type frame struct {
		ms     int
		source uint64
		faces  int
	}
	for _, tc := range []struct {
		name    string
		frames  []frame
		picked  []int // indices into frames
		repeats int
		multi   int
	}{
		{"fresh pictures", []frame{{0, 1, 1}, {40, 2, 1}, {80, 3, 1}}, []int{0, 1, 2}, 0, 0},
		{"drawn twice in a row", []frame{{0, 1, 1}, {40, 1, 1}, {80, 2, 1}}, []int{0, 2}, 0, 0},
		{"came back", []frame{{0, 1, 1}, {40, 2, 1}, {80, 1, 1}}, []int{0, 1, 2}, 1, 0},
		{"loop of two", []frame{{0, 1, 1}, {40, 2, 1}, {80, 1, 1}, {120, 2, 1}, {160, 1, 1}}, []int{0, 1, 2, 3, 4}, 3, 0},
		// Capture order, not arrival order, decides what "in a row" is.
		{"out of order", []frame{{80, 1, 1}, {0, 1, 1}, {40, 2, 1}}, []int{1, 2, 0}, 1, 0},
		{"unknown sources", []frame{{0, 0, 1}, {40, 0, 1}, {80, 0, 1}}, []int{0, 1, 2}, 0, 0},
		// A frame with several faces is left out and does not separate
		// two draws of one picture.
		{"several faces", []frame{{0, 1, 1}, {40, 2, 2}, {80, 1, 1}}, []int{0}, 0, 1},
		{"no face counted", []frame{{0, 1, 0}, {40, 2, 0}}, []int{0, 1}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := scheduled(t, 400*time.Millisecond, "red", "green")
			frames := make([]Frame, len(tc.frames))
			for i, f := range tc.frames {
				frames[i] = Frame{T: checkT0.Add(time.Duration(f.ms) * time.Millisecond), Source: f.source, Faces: f.faces}
			}
			if got := a.pickFrames(frames); !slices.Equal(got, tc.picked) {
				t.Errorf("picked %v, want %v", got, tc.picked)
			}
			if a.repeats != tc.repeats || a.multi != tc.multi {
				t.Errorf("%d repeats and %d with several faces, want %d and %d", a.repeats, a.multi, tc.repeats, tc.multi)
			}
			c, _ := a.injection()
			if strings.Contains(c.Detail, SignalRepeatedFrames) != (tc.repeats > 0) {
				t.Errorf("injection detail %q with %d repeats", c.Detail, tc.repeats)
			}
		})
	}
}

// placed returns registered views of a face 28 px between the eyes,
// moved by offsets[j] in the camera picture, in windows enlarged scale
// times; the face moves inside a fixed window, or (window) the window
// follows the face. It returns them with the reference face frame.
func placed(offsets []face.Point, scale float64, window bool) ([]view, []similarity, []patchSample, FaceFrame) {
	ref := FaceFrame{origin: face.Point{X: 60, Y: 50}, ex: face.Point{X: 28}, ey: face.Point{Y: 28}, iod: 28}
	views := make([]view, len(offsets))
	sims := make([]similarity, len(offsets))
	patches := make([]patchSample, len(offsets))
	for j, o := range offsets {
		views[j] = view{scale: scale}
		sims[j] = similarity{a: complex(scale, 0)}
		if window {
			views[j].origin = o
		} else {
			sims[j].b = complex(o.X*scale, o.Y*scale)
		}
		patches[j].enough = true
	}
	return views, sims, patches, ref
}

func TestFaceMotion(t *testing.T) {
	t.Parallel()
	at := func(xs ...float64) []face.Point {
		out := make([]face.Point, len(xs))
		for i, x := range xs {
			out[i] = face.Point{X: x}
		}
		return out
	}
	const d = 0.28 // 0.01 inter-ocular distances
	for _, tc := range []struct {
		name    string
		offsets []face.Point
		scale   float64
		window  bool
		want    float64
	}{
		{"still", at(0, 0, 0, 0, 0, 0, 0), 1, false, 0},
		{"still elsewhere", at(5, 5, 5, 5, 5, 5), 1, false, 0},
		// A step of d, smoothed over 5 frames: 0, d/4, 2d/5, 3d/5,
		// 3d/4, d about their mean d/2.
		{"step", at(0, 0, 0, d, d, d), 1, false, math.Sqrt(0.645/6) * 0.01},
		// The same motion seen in a window enlarged twice, or in
		// windows cut around the face each frame.
		{"step in an enlarged window", at(0, 0, 0, d, d, d), 2, false, math.Sqrt(0.645/6) * 0.01},
		{"window following the face", at(0, 0, 0, d, d, d), 2, true, math.Sqrt(0.645/6) * 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			views, sims, patches, ref := placed(tc.offsets, tc.scale, tc.window)
			if got := faceMotion(views, sims, patches, ref); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("motion %v, want %v", got, tc.want)
			}
		})
	}
	// Frame-to-frame jitter, what is left of the registration's error,
	// mostly averages out; a drift of the same size does not.
	jitter := at(0, d, 0, d, 0, d, 0, d, 0, d, 0, d)
	drift := at(0, 0, 0, 0, 0, 0, d, d, d, d, d, d)
	views, sims, patches, ref := placed(jitter, 1, false)
	j := faceMotion(views, sims, patches, ref)
	views, sims, patches, ref = placed(drift, 1, false)
	if dr := faceMotion(views, sims, patches, ref); !(j < dr/3) {
		t.Errorf("jitter %v, drift %v: smoothing does not tell them apart", j, dr)
	}
	// Six registered frames are needed; unregistered ones do not count.
	views, sims, patches, ref = placed(at(0, d, 0, d, 0, d), 1, false)
	if m := faceMotion(views, sims, patches, ref); math.IsNaN(m) {
		t.Errorf("six frames: motion not measured")
	}
	patches[2].enough = false
	if m := faceMotion(views, sims, patches, ref); !math.IsNaN(m) {
		t.Errorf("five registered frames: motion %v, want NaN", m)
	}
}
