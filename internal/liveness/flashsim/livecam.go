package flashsim

import (
	"math/rand/v2"
	"time"

	"github.com/glint-id/glint/internal/liveness"
)

// LiveCamera renders a subject's frames one at a time, as a camera in
// front of the face would take them while colours are announced: for a
// test client that learns the colours only as they come (over the
// WebSocket) and must answer in real time, with no schedule known in
// advance. It draws its scene (light, screen, camera, motion) once, like
// Render, and takes each frame with the same camera as Render.
type LiveCamera struct {
	sc   scene
	sh   *shooter
	ls   *lightState
	last time.Time
	// instant: the light of the moment, not an exposure's mean (a
	// renderer's).
	instant bool
}

// LiveOptions select what LiveCamera imitates: by default a live face in
// front of a phone's camera.
type LiveOptions struct {
	// Static: no head or hand motion. NoiseVariants > 0: noise drawn from
	// that many pre-rendered patterns per screen light, cycled (frames
	// repeat); 0: fresh noise every frame.
	//
	// NoiseVariants > 0 imitates a naive renderer in place of the camera:
	// besides repeating its pictures it paints the light of the instant
	// (no exposure), keeps its gains and has no drifting room light.
	Static        bool
	NoiseVariants int
}

// NewLiveCamera draws a scene for subject s from r and returns its camera,
// settled on the scene's pre-flash light.
func NewLiveCamera(r *rand.Rand, s *Subject, o LiveOptions) *LiveCamera {
	c := &LiveCamera{sc: drawScene(r), instant: o.NoiseVariants > 0}
	mod, spec := s.lightMaps(&c.sc, false, 0, 0)
	c.ls = newLightState(s, s.lin, mod, spec)
	c.sh = newShooter(&c.sc, r, c.ls, o.Static, max(0, o.NoiseVariants))
	return c
}

// FPS is the camera's frame rate drawn for this scene.
func (c *LiveCamera) FPS() float64 { return c.sc.fps }

// Frame renders the picture exposed around t under the screen light
// screen(t') (linear RGB the screen emits at instant t', the page's grey
// when no colour is shown), with the camera's auto-exposure/white balance
// state carried from the previous call; it returns the frame with its
// landmarks as a detector would report them, and its Source digest.
//
// The face sees the screen with the scene's latency (display and capture
// pipeline, 0–70 ms): the light at t' left the screen then. Calls should
// come at about FPS frames per second, in time order; motion follows the
// time between calls, the light's drift steps once per call.
func (c *LiveCamera) Frame(t time.Time, screen func(time.Time) [3]float64) liveness.Frame {
	dt := time.Duration(float64(time.Second) / c.sc.fps)
	if !c.last.IsZero() {
		dt = max(0, t.Sub(c.last))
	}
	c.last = t
	c.sh.advance(dt)
	at := t.Add(-c.sc.latency)
	var light [3]float64
	if c.instant {
		light = screen(at)
	} else {
		// The exposure's mean, sampled every millisecond: changes come
		// at unknown instants.
		n := max(1, int(c.sc.exposure/time.Millisecond))
		step := c.sc.exposure / time.Duration(n)
		from := at.Add(-c.sc.exposure / 2).Add(step / 2)
		for i := 0; i < n; i++ {
			l := screen(from.Add(time.Duration(i) * step))
			for k := range light {
				light[k] += l[k] / float64(n)
			}
		}
	}
	f := c.sh.shoot(c.ls, mixScreen(&c.sc.crosstalk, light), [3]float64{1, 1, 1}, [3]float64{}, nil)
	f.T = t
	return f
}
