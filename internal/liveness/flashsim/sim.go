package flashsim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
)

// Species of rendered sequences: the genuine presentation and the attacks
// the spoof-test kit measures (ISO/IEC 30107-3 "presentation attack
// instrument species"). Species describes each one, what the analysis is
// expected to make of it and what stops it otherwise.
const (
	// Genuine is a live face lit by the challenge.
	Genuine = "genuine"
	// Replay is a pre-recorded video: the face never reflects the
	// challenge.
	Replay = "replay"
	// WrongSequence is a recorded genuine session replayed for another
	// token: right physics, but the colours and times of another
	// challenge.
	WrongSequence = "wrong_sequence"
	// Late is a relay or a renderer: the right reflection, 150–400 ms
	// after the colour appears.
	Late = "late"
	// ScreenTint is a screen replay whose picture takes the colours over
	// its whole surface, face and background alike.
	ScreenTint = "screen_tint"
	// FlatPrint is a printed photo lit by the screen: right colours and
	// times, but a flat surface.
	FlatPrint = "flat_print"
	// GlossyPrint is a flat print on glossy paper: besides the diffuse
	// light it mirrors the phone's screen, a bright patch of the screen's
	// colour wherever the tilt puts it, and the room's sheen.
	GlossyPrint = "glossy_print"
	// CurvedPrint is a print bent around a vertical cylinder, convex or
	// concave, to give it real depth.
	CurvedPrint = "curved_print"
	// FoldedPrint is a print folded along a vertical line near the nose,
	// the classic trick to fake a nose's relief.
	FoldedPrint = "folded_print"
	// ScreenMoire is a screen replay filmed through the camera: moiré and
	// rolling refresh bands over a picture that does not reflect the
	// challenge, with or without the verification screen's tint or glare.
	ScreenMoire = "screen_moire"
	// FaceSwap is a live face replaced by another person's live face
	// during the sequence.
	FaceSwap = "face_swap"
	// Mask is a 3-D mask: a live face's physics, but another person's
	// face. The reflection analysis passes it; the comparison with the
	// victim's reference is what must stop it.
	Mask = "mask"
	// RenderStatic is a naive digital injection: the victim's still photo
	// relit in software for each colour as it is announced, never moving,
	// its noise cycled from three pre-rendered patterns per colour.
	RenderStatic = "render_static"
	// InjectedRender is a sophisticated digital injection: the genuine
	// rendering itself (motion, fresh noise), delivered by software
	// instead of a camera; physically indistinguishable from genuine.
	InjectedRender = "injected_render"
)

// AttackSpecies lists the attack species in report order.
var AttackSpecies = []string{
	Replay, WrongSequence, Late, ScreenTint, FlatPrint, GlossyPrint, CurvedPrint,
	FoldedPrint, ScreenMoire, FaceSwap, Mask, RenderStatic, InjectedRender,
}

// Geometry of the rendered window. The window is centred on the face and
// spans simSpan inter-ocular distances, enough for the background ring
// (ringOuter) with room for head motion; it is rendered at FrameSide
// pixels, which puts about 24 pixels between the eyes: coarser than a
// real 640×480 selfie, so region means are noisier than in the field.
const (
	FrameSide = 144
	simSpan   = 6.0
	// simMargin is the extra source border, per side, that motion may
	// bring into view.
	simMargin = 0.12
	srcSide   = 178 // FrameSide·(1 + 2·simMargin), rounded down
	// cmPerIOD sets the metric scale: an adult's inter-ocular distance
	// is about 6.3 cm.
	cmPerIOD = 6.3
)

// Subject is a face photo prepared for rendering: a window around the
// face in linear light, its landmarks, and a 3-D shape fitted to them.
type Subject struct {
	lin   []float32      // 3·srcSide² linear RGB
	faceW []float32      // srcSide²: 1 on the face, 0 off it, soft edge
	ell   []float32      // srcSide²: elliptic radius of the face outline (1 on the edge)
	norm  [][3]float32   // srcSide²: surface normal, camera axes
	pos   [][3]float32   // srcSide²: surface point in cm, face centre at the origin
	lm    [68]face.Point // landmarks in window pixels
	qual  face.Quality   // of the source face
	sumA  [2][3]float64  // Σ lin over the face (0) and the whole window (1)
	faceN float64        // Σ faceW
	cs    float64        // mean linear face level, the scale of specular light
	rot   [3][3]float64  // head rotation applied to the frontal model
	// photo and face are where the subject came from: the victim's
	// reference for the comparison the mask species needs.
	photo *face.RGB
	face  face.Face
}

// NewSubject prepares face f of photo img for rendering. The photo is taken
// as the face under the room's light: its pixels are the albedo times the
// room's shading, which the rendering keeps, adding the screen's light on
// top in proportion to the model's shading.
func NewSubject(img *face.RGB, f face.Face) (*Subject, error) {
	ff, ok := liveness.NewFaceFrame(&f.Landmarks)
	if !ok {
		return nil, errors.New("liveness: face too small to render")
	}
	s := &Subject{qual: f.Quality, photo: img, face: f}
	// Window: square, upright in the image, centred just below the eyes.
	c := ff.ToImage(0, 0.55)
	side := simSpan * ff.IOD() * (1 + 2*simMargin)
	scale := side / float64(srcSide)
	ox, oy := c.X-side/2, c.Y-side/2
	s.lin = resampleLinear(img, ox, oy, scale, srcSide)
	for i, p := range f.Landmarks {
		s.lm[i] = face.Point{X: (p.X - ox) / scale, Y: (p.Y - oy) / scale}
	}
	s.buildShape()
	return s, nil
}

// Reference returns the photo the subject was prepared from and its face
// there: what a verification would hold as the person's reference.
func (s *Subject) Reference() (*face.RGB, face.Face) { return s.photo, s.face }

// resampleLinear returns the side×side window of img whose top-left corner
// is (ox, oy) and whose pixels are scale photo pixels wide, in linear
// light, each the mean of the photo pixels it covers (edge pixels repeat
// beyond the photo).
func resampleLinear(img *face.RGB, ox, oy, scale float64, side int) []float32 {
	out := make([]float32, 3*side*side)
	taps := max(1, int(math.Ceil(scale)))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			var sum [3]float64
			for j := 0; j < taps; j++ {
				py := clampInt(int(oy+(float64(y)+(float64(j)+0.5)/float64(taps))*scale), 0, img.H-1)
				for i := 0; i < taps; i++ {
					px := clampInt(int(ox+(float64(x)+(float64(i)+0.5)/float64(taps))*scale), 0, img.W-1)
					p := img.Pix[3*(py*img.W+px):]
					sum[0] += liveness.Linear(p[0])
					sum[1] += liveness.Linear(p[1])
					sum[2] += liveness.Linear(p[2])
				}
			}
			n := float64(taps * taps)
			o := out[3*(y*side+x):]
			o[0], o[1], o[2] = float32(sum[0]/n), float32(sum[1]/n), float32(sum[2]/n)
		}
	}
	return out
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// buildShape fits the height field to the landmarks. The model is built
// in head coordinates (inter-ocular units), frontal, and turned by the
// head's yaw and pitch estimated from the landmarks; an image point is
// taken to the head's frontal coordinates by undoing the foreshortening
// of yaw about the facial midline. The shape: an ellipsoid as wide as the
// jaw and as tall as chin to hairline, 0.75 of its half-width deep; a nose
// ridge from the bridge (landmark 27) to the tip (30) rising from 0.15 to
// 0.4 units (a 2.5 cm nose) and widening towards the nostrils; shallow
// sockets at the eyes and a slight swell at the lips.
func (s *Subject) buildShape() {
	ff, _ := liveness.NewFaceFrame(&s.lm)
	uv := func(i int) (float64, float64) { return ff.ToFace(s.lm[i]) }
	yaw := clampF(s.qual.Yaw, -45, 45) * math.Pi / 180
	pitch := clampF(s.qual.Pitch, -30, 30) * math.Pi / 180
	cy, sy := math.Cos(yaw), math.Sin(yaw)
	cp, sp := math.Cos(pitch), math.Sin(pitch)
	var mid float64
	for _, i := range []int{27, 28, 51, 57, 8} {
		u, _ := uv(i)
		mid += u / 5
	}
	front := func(u float64) float64 { return (u - mid) / cy }
	u0, _ := uv(0)
	u16, _ := uv(16)
	_, vChin := uv(8)
	const vTop = -1.35
	a := clampF((u16-u0)/2/((1+cy)/2), 0.95, 1.35)
	vc, b := (vChin+vTop)/2, math.Max((vChin-vTop)/2, 1)
	depth := 0.75 * a
	bu, bv := uv(27)
	tu, tv := uv(30)
	bu, tu = front(bu), front(tu)
	elu, elv := ff.ToFace(face.LeftEye.Centroid(&s.lm))
	eru, erv := ff.ToFace(face.RightEye.Centroid(&s.lm))
	elu, eru = front(elu), front(eru)
	mu, mv := ff.ToFace(face.Mouth.Centroid(&s.lm))
	mu = front(mu)
	nlen := math.Hypot(tu-bu, tv-bv)
	height := func(u, v float64) (z, rho float64) {
		du, dv := u/a, (v-vc)/b
		rho2 := du*du + dv*dv
		rho = math.Sqrt(rho2)
		z = depth * math.Sqrt(math.Max(0.02, 1-math.Min(rho2, 0.98)))
		if nlen > 0 {
			t := ((u-bu)*(tu-bu) + (v-bv)*(tv-bv)) / (nlen * nlen)
			tc := math.Max(0, math.Min(1, t))
			pu, pv := bu+tc*(tu-bu), bv+tc*(tv-bv)
			d2 := (u-pu)*(u-pu) + (v-pv)*(v-pv)
			h := 0.15 + 0.25*tc
			w := 0.1 + 0.1*tc
			if t > 1 {
				// The tip falls away quickly towards the lip.
				over := (t - 1) * nlen
				h *= math.Exp(-over * over / (2 * 0.12 * 0.12))
			}
			z += h * math.Exp(-d2/(2*w*w))
		}
		for _, e := range [][2]float64{{elu, elv}, {eru, erv}} {
			d2 := (u-e[0])*(u-e[0]) + (v-e[1])*(v-e[1])
			z -= 0.12 * math.Exp(-d2/(2*0.2*0.2))
		}
		d2 := (u-mu)*(u-mu) + (v-mv)*(v-mv)
		z += 0.05 * math.Exp(-d2/(2*0.25*0.25))
		return z, rho
	}
	// R = Rx(pitch)·Ry(yaw): the frontal normal (0,0,1) turns towards +x
	// for positive yaw (the image's right) and towards −y (up) for
	// positive pitch.
	ry := [3][3]float64{{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}}
	rx := [3][3]float64{{1, 0, 0}, {0, cp, -sp}, {0, sp, cp}}
	s.rot = matMul(rx, ry)
	n := srcSide * srcSide
	s.faceW = make([]float32, n)
	s.ell = make([]float32, n)
	s.norm = make([][3]float32, n)
	s.pos = make([][3]float32, n)
	const h = 0.01
	for y := 0; y < srcSide; y++ {
		for x := 0; x < srcSide; x++ {
			i := y*srcSide + x
			u, v := ff.ToFace(face.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5})
			u = front(u)
			z, rho := height(u, v)
			s.ell[i] = float32(rho)
			zu, _ := height(u+h, v)
			zv, _ := height(u, v+h)
			nrm := matVec(s.rot, normalize3([3]float64{-(zu - z) / h, -(zv - z) / h, 1}))
			// Soft edge over the outer 8 % of the outline, and where the
			// turned surface grazes the line of sight.
			w := clampF((1-rho)/0.08, 0, 1) * clampF((nrm[2]-0.05)/0.15, 0, 1)
			s.faceW[i] = float32(w)
			if w == 0 {
				continue
			}
			p := matVec(s.rot, [3]float64{u * cmPerIOD, (v - 0.55) * cmPerIOD, (z - depth) * cmPerIOD})
			s.norm[i] = [3]float32{float32(nrm[0]), float32(nrm[1]), float32(nrm[2])}
			s.pos[i] = [3]float32{float32(p[0]), float32(p[1]), float32(p[2])}
		}
	}
	s.sums()
}

// sums totals the light of the face and of the window, which metering
// and white balance read, and the face's mean level.
func (s *Subject) sums() {
	n := srcSide * srcSide
	s.sumA, s.faceN = [2][3]float64{}, 0
	var csum float64
	for i := 0; i < n; i++ {
		w := float64(s.faceW[i])
		for k := 0; k < 3; k++ {
			v := float64(s.lin[3*i+k])
			s.sumA[0][k] += w * v
			s.sumA[1][k] += v
			csum += w * v / 3
		}
		s.faceN += w
	}
	s.cs = csum / math.Max(s.faceN, 1)
}

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func normalize3(v [3]float64) [3]float64 {
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	if n == 0 {
		return v
	}
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}

func matMul(a, b [3][3]float64) (m [3][3]float64) {
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				m[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return m
}

func matVec(m [3][3]float64, v [3]float64) (o [3]float64) {
	for i := 0; i < 3; i++ {
		o[i] = m[i][0]*v[0] + m[i][1]*v[1] + m[i][2]*v[2]
	}
	return o
}

func dot3(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// scene is the physical setting of one rendered sequence, drawn at random
// (see drawScene for the ranges and docs/liveness.md for the reasons).
type scene struct {
	screen     [3]float64 // screen centre, cm from the face centre (x right, y down, z to the camera)
	strength   float64    // screen white at the face centre ÷ room light there
	skyW, dirW float64    // room light: overhead diffuse and directional parts
	dir        [3]float64 // direction towards the directional room light
	ambient    [3]float64 // room light colour
	crosstalk  [3][3]float64
	specular   float64
	spill      float64 // screen light on the background, relative to the face
	latency    time.Duration
	fps        float64
	exposure   time.Duration
	gamma      float64
	readNoise  float64 // 8-bit levels
	shotNoise  float64 // 8-bit levels per √level
	aeRate     float64
	awbRate    float64
	faceLevel  float64 // the face's mean linear level auto-exposure aims at
	pageLevel  float64 // grey level the page shows before and after the flashes
	motion     float64 // head motion scale, fraction of the window
	lmJitter   float64 // landmark noise, inter-ocular units
	drift      float64 // face-only room-light drift
	roomDrift  float64 // room-light drift, face and background alike
	dropRate   float64
	baseline   time.Duration
	tail       time.Duration
}

// drawScene draws the physical setting of a sequence.
func drawScene(r *rand.Rand) scene {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	sc := scene{
		screen:    [3]float64{u(-4, 4), u(2, 10), u(25, 40)},
		strength:  math.Exp(u(math.Log(0.12), math.Log(1.0))),
		skyW:      u(0.3, 1),
		dirW:      u(0, 1),
		specular:  u(0, 0.08),
		spill:     u(0.02, 0.25),
		latency:   time.Duration(u(0, 70) * float64(time.Millisecond)),
		fps:       u(15, 30),
		gamma:     u(2.0, 2.4),
		readNoise: u(0.8, 2.5),
		shotNoise: u(0.1, 0.25),
		aeRate:    u(0.05, 0.3),
		awbRate:   u(0, 0.15),
		faceLevel: u(0.12, 0.3),
		pageLevel: u(0.05, 0.9),
		motion:    u(0.003, 0.015),
		lmJitter:  u(0.005, 0.02),
		drift:     u(0, 0.015),
		roomDrift: u(0, 0.03),
		dropRate:  u(0, 0.03),
		baseline:  time.Duration(u(500, 900) * float64(time.Millisecond)),
		tail:      time.Duration(u(150, 300) * float64(time.Millisecond)),
	}
	el, az := u(10, 75)*math.Pi/180, u(-80, 80)*math.Pi/180
	sc.dir = [3]float64{math.Sin(az) * math.Cos(el), -math.Sin(el), math.Cos(az) * math.Cos(el)}
	warm, cool := [3]float64{1.15, 1, 0.72}, [3]float64{0.9, 1, 1.15}
	t := r.Float64()
	for k := range sc.ambient {
		sc.ambient[k] = (warm[k]*(1-t) + cool[k]*t) * u(0.95, 1.05)
	}
	for i := range sc.crosstalk {
		for j := range sc.crosstalk[i] {
			if i == j {
				sc.crosstalk[i][j] = 1
			} else {
				sc.crosstalk[i][j] = u(0, 0.12)
			}
		}
	}
	period := 1 / sc.fps
	sc.exposure = time.Duration(u(0.008, period) * float64(time.Second))
	return sc
}

// screenSamples are points on a 6.5 × 14 cm portrait phone screen, cm
// from its centre: the screen is a near, extended light.
var screenSamples = func() (p [][2]float64) {
	for _, x := range []float64{-2.2, 2.2} {
		for _, y := range []float64{-4.7, 0, 4.7} {
			p = append(p, [2]float64{x, y})
		}
	}
	return p
}()

// screenIrradiance returns the screen's light on a surface point p with
// normal n, relative to a frontal point at the face centre: Lambert's
// cosine at the surface and at the emitting screen, and the inverse square
// of the distance, summed over the screen.
func (sc *scene) screenIrradiance(p, n [3]float64) float64 {
	var e float64
	for _, q := range screenSamples {
		s := [3]float64{sc.screen[0] + q[0], sc.screen[1] + q[1], sc.screen[2]}
		l := [3]float64{s[0] - p[0], s[1] - p[1], s[2] - p[2]}
		d2 := dot3(l, l)
		d := math.Sqrt(d2)
		cosS := dot3(n, l) / d
		if cosS <= 0 {
			continue
		}
		e += cosS * (l[2] / d) / d2
	}
	return e / sc.refIrradiance()
}

func (sc *scene) refIrradiance() float64 {
	var e float64
	for _, q := range screenSamples {
		l := [3]float64{sc.screen[0] + q[0], sc.screen[1] + q[1], sc.screen[2]}
		d2 := dot3(l, l)
		d := math.Sqrt(d2)
		e += (l[2] / d) * (l[2] / d) / d2
	}
	return e
}

// roomShading is the room light on a surface of normal n relative to a
// frontal surface: an overhead sky (half-cosine) plus a directional lamp,
// with a floor for light bounced from everywhere.
func (sc *scene) roomShading(n [3]float64) float64 {
	sh := func(n [3]float64) float64 {
		return sc.skyW*(1-n[1])/2 + sc.dirW*math.Max(0, dot3(n, sc.dir)) + 0.08
	}
	return math.Max(0.2, sh(n)/sh([3]float64{0, 0, 1}))
}

// lightMaps returns, per source pixel, the screen's light relative to the
// room's (the "modulation" a pixel shows per unit of screen output) and
// the specular highlight (linear light per unit of screen output), for a
// live face (flat=false) or a flat print tilted by (tiltX, tiltY)
// radians.
func (s *Subject) lightMaps(sc *scene, flat bool, tiltX, tiltY float64) (mod, spec []float32) {
	n := srcSide * srcSide
	mod = make([]float32, n)
	spec = make([]float32, n)
	view := [3]float64{0, 0, 1}
	lc := normalize3(sc.screen)
	half := normalize3([3]float64{lc[0] + view[0], lc[1] + view[1], lc[2] + view[2]})
	var flatN [3]float64
	if flat {
		flatN = normalize3([3]float64{math.Sin(tiltX), -math.Sin(tiltY), math.Cos(tiltX) * math.Cos(tiltY)})
	}
	ff, _ := liveness.NewFaceFrame(&s.lm)
	for i := 0; i < n; i++ {
		w := float64(s.faceW[i])
		if flat {
			// The print is cut out round the head, hair included, well
			// inside the background ring.
			x, y := i%srcSide, i/srcSide
			u, v := ff.ToFace(face.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5})
			e := math.Hypot(u/1.7, (v-0.5)/2.0)
			w = clampF((1-e)/0.05, 0, 1)
		}
		// Off the face: the background, much further from the screen;
		// hair and ears next to the face catch more than the far wall.
		bg := sc.strength * sc.spill * math.Min(1, math.Exp(-(float64(s.ell[i])-1)/0.6))
		if w == 0 {
			mod[i] = float32(bg)
			continue
		}
		var m, sp float64
		if flat {
			// The print's plane through the face centre.
			x, y := i%srcSide, i/srcSide
			u, v := ff.ToFace(face.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5})
			p := [3]float64{u * cmPerIOD, (v - 0.55) * cmPerIOD, 0}
			p[2] = -(p[0]*flatN[0] + p[1]*flatN[1]) / flatN[2]
			m = sc.strength * sc.screenIrradiance(p, flatN) / sc.roomShading(flatN)
		} else {
			nr := s.norm[i]
			nv := [3]float64{float64(nr[0]), float64(nr[1]), float64(nr[2])}
			ps := s.pos[i]
			p := [3]float64{float64(ps[0]), float64(ps[1]), float64(ps[2])}
			m = sc.strength * sc.screenIrradiance(p, nv) / sc.roomShading(nv)
			if c := dot3(nv, half); c > 0 {
				sp = sc.specular * math.Pow(c, 30)
			}
		}
		mod[i] = float32(w*m + (1-w)*bg)
		spec[i] = float32(s.cs) * float32(w*sp)
	}
	return mod, spec
}

// Sequence is one rendered verification, ready for liveness.Analyze.
type Sequence struct {
	Species   string
	Challenge liveness.Challenge
	Shown     []time.Time
	Frames    []liveness.Frame
}

// Render renders a sequence of species with challenge ch shown to subject
// s, the victim; other is the second person, whose face replaces s's in
// FaceSwap and whom the Mask is made of (ignored otherwise). All
// randomness comes from r, so a seed reproduces a sequence exactly.
func Render(r *rand.Rand, species string, ch liveness.Challenge, s, other *Subject) (Sequence, error) {
	sc := drawScene(r)
	return render(r, &sc, species, ch, s, other)
}

func render(r *rand.Rand, scp *scene, species string, ch liveness.Challenge, s, other *Subject) (Sequence, error) {
	sc := *scp
	seq := Sequence{Species: species, Challenge: ch}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	first := t0.Add(sc.baseline)
	seq.Challenge.Start = first
	seq.Shown = ch.Schedule(first)
	end := seq.Shown[len(seq.Shown)-1].Add(ch.Holds[len(ch.Holds)-1])

	// What the face sees: the colours and the moments they reach it.
	lit := ch
	shown := seq.Shown
	lag := make([]time.Duration, len(ch.Colors)+1)
	for i := range lag {
		lag[i] = sc.latency + time.Duration(r.NormFloat64()*4*float64(time.Millisecond))
	}
	reflects, flat, tint, swap := true, false, false, false
	// sheetKind is a print species other than the flat one; filmed is a
	// screen filmed by the camera; static is the naive renderer.
	sheetKind, filmed, static := "", false, false
	subject := s
	switch species {
	case Genuine, InjectedRender:
		// An injected rendering is the genuine picture itself, delivered
		// by software: nothing in the frames differs.
	case Replay:
		reflects = false
	case WrongSequence:
		lit = Challenge(r, len(ch.Colors))
		shown = lit.Schedule(first)
	case Late:
		extra := time.Duration((150 + 250*r.Float64()) * float64(time.Millisecond))
		for i := range lag {
			lag[i] = extra + time.Duration(r.NormFloat64()*4*float64(time.Millisecond))
		}
	case ScreenTint:
		reflects, tint = false, true
	case FlatPrint:
		flat = true
	case GlossyPrint, CurvedPrint, FoldedPrint:
		sheetKind = species
	case ScreenMoire:
		reflects, filmed = false, true
	case FaceSwap, Mask:
		if other == nil {
			return seq, fmt.Errorf("liveness: %s needs a second subject", species)
		}
		if species == FaceSwap {
			swap = true
		} else {
			subject = other
		}
	case RenderStatic:
		static = true
	default:
		return seq, fmt.Errorf("liveness: unknown species %q", species)
	}
	if lag[0] < 0 {
		lag[0] = 0
	}
	tintMul, tintAmt := r.IntN(2) == 0, 0.1+0.5*r.Float64()
	tiltX, tiltY := (r.Float64()*2-1)*20*math.Pi/180, (r.Float64()*2-1)*20*math.Pi/180
	var sheet *printSheet
	if sheetKind != "" {
		sheet = drawSheet(r, sheetKind, s, tiltX, tiltY)
	}
	var mo *moire
	if filmed {
		mo = drawMoire(r)
		// Half the filmed replays also take the verification screen's
		// light, as ScreenTint's do.
		tint = r.IntN(2) == 0
	}
	screen := newTimeline(lit, shown, lag, sc.pageLevel)
	if !reflects {
		screen = newTimeline(liveness.Challenge{}, nil, nil, sc.pageLevel)
	}
	var tintTL *timeline
	if tint {
		tintTL = newTimeline(ch, seq.Shown, lag, sc.pageLevel)
	}
	subjects := []*Subject{subject}
	if swap {
		subjects = append(subjects, other)
	}
	maps := make([]*lightState, len(subjects))
	for i, sub := range subjects {
		if sheet != nil {
			maps[i] = sub.onSheet(&sc, sheet)
			continue
		}
		mod, spec := sub.lightMaps(&sc, flat, tiltX, tiltY)
		maps[i] = newLightState(sub, sub.lin, mod, spec)
	}
	// The swap happens somewhere between the second colour and the last.
	var swapAt time.Time
	if swap {
		lo := seq.Shown[1]
		hi := seq.Shown[len(seq.Shown)-1]
		swapAt = lo.Add(time.Duration(r.Float64() * float64(hi.Sub(lo))))
	}

	sh := newShooter(&sc, r, maps[0], static, staticVariants(static))
	period := time.Duration(float64(time.Second) / sc.fps)
	stop := end.Add(sc.tail)
	for t := t0.Add(time.Duration(r.Float64() * float64(period))); t.Before(stop); t = t.Add(period) {
		sh.advance(period)
		if r.Float64() < sc.dropRate {
			continue
		}
		ti := t.Add(time.Duration(r.NormFloat64() * 2 * float64(time.Millisecond)))
		ls := maps[0]
		if swap && !ti.Before(swapAt) {
			ls = maps[1]
		}
		half := sc.exposure / 2
		light := screen.mean(ti.Add(-half), ti.Add(half))
		if static {
			// A renderer paints the colour of the moment; it has no
			// exposure to integrate over.
			light = screen.at1(ti)
		}
		var add [3]float64
		mul := [3]float64{1, 1, 1}
		if tintTL != nil {
			tl := mixScreen(&sc.crosstalk, tintTL.mean(ti.Add(-half), ti.Add(half)))
			page := mixScreen(&sc.crosstalk, tintTL.page)
			for k := 0; k < 3; k++ {
				if tintMul {
					// A tint rendered into the replayed picture.
					mul[k] = 1 + tintAmt*(tl[k]-page[k])
				} else {
					// Glare: the replay screen's glass mirrors the
					// verification screen, adding its light everywhere.
					add[k] = tintAmt * 0.5 * ls.sub.cs * tl[k]
				}
			}
		}
		var pat []float32
		if mo != nil {
			pat = mo.pattern(ti.Sub(t0))
		}
		f := sh.shoot(ls, mixScreen(&sc.crosstalk, light), mul, add, pat)
		f.T = ti
		seq.Frames = append(seq.Frames, f)
	}
	return seq, nil
}

// staticVariants is how many noise patterns the naive renderer cycles
// per colour: a handful, so that the same picture recurs within a colour.
func staticVariants(static bool) int {
	if static {
		return 3
	}
	return 0
}

func landmarkBox(lm *[68]face.Point) face.Rect {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range lm {
		x0, y0 = math.Min(x0, p.X), math.Min(y0, p.Y)
		x1, y1 = math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	return face.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

func mixScreen(m *[3][3]float64, l [3]float64) [3]float64 {
	return matVec(*m, l)
}

// timeline is the screen light reaching the face over time: the page's
// grey before and after the sequence and each colour from its display time
// plus its lag.
type timeline struct {
	at   []time.Time // change points
	col  [][3]float64
	page [3]float64
}

func newTimeline(ch liveness.Challenge, shown []time.Time, lag []time.Duration, page float64) *timeline {
	tl := &timeline{page: [3]float64{page, page, page}}
	for i, c := range ch.Colors {
		tl.at = append(tl.at, shown[i].Add(lag[i]))
		tl.col = append(tl.col, c.Linear())
	}
	if n := len(ch.Colors); n > 0 {
		tl.at = append(tl.at, shown[n-1].Add(ch.Holds[n-1]).Add(lag[n]))
		tl.col = append(tl.col, tl.page)
	}
	return tl
}

// mean returns the mean screen light over [a, b): what an exposure
// integrates.
func (tl *timeline) mean(a, b time.Time) [3]float64 {
	total := b.Sub(a)
	if total <= 0 {
		return tl.at1(a)
	}
	var out [3]float64
	cur := a
	for cur.Before(b) {
		next := b
		for _, t := range tl.at {
			if t.After(cur) && t.Before(next) {
				next = t
			}
		}
		c := tl.at1(cur)
		w := float64(next.Sub(cur)) / float64(total)
		for k := range out {
			out[k] += w * c[k]
		}
		cur = next
	}
	return out
}

// at1 is the light at instant t.
func (tl *timeline) at1(t time.Time) [3]float64 {
	c := tl.page
	for i, at := range tl.at {
		if !t.Before(at) {
			c = tl.col[i]
		}
	}
	return c
}

// lightState is a subject's per-sequence light maps.
type lightState struct {
	sub  *Subject
	mod  []float32 // per pixel, the screen's light per unit of its output, 3 channels
	sumB [2][3]float64
}

// newLightState combines the maps of lightMaps: the diffuse screen light
// is the albedo (the subject's photo, without any sheen the surface adds)
// times the modulation, and the specular light adds to it.
func newLightState(s *Subject, albedo, mod, spec []float32) *lightState {
	n := srcSide * srcSide
	ls := &lightState{sub: s, mod: make([]float32, 3*n)}
	for i := 0; i < n; i++ {
		w := float64(s.faceW[i])
		for k := 0; k < 3; k++ {
			v := albedo[3*i+k]*mod[i] + spec[i]
			ls.mod[3*i+k] = v
			ls.sumB[0][k] += w * float64(v)
			ls.sumB[1][k] += float64(v)
		}
	}
	return ls
}

// motion is small head and hand motion: a smooth random walk of the
// window's shift, scale and roll.
type motion struct {
	dx, dy, ds, dr float64
	scale          float64
}

func newMotion(r *rand.Rand, scale float64) *motion {
	m := &motion{scale: scale}
	m.dx, m.dy = r.NormFloat64()*scale, r.NormFloat64()*scale
	return m
}

// step advances an Ornstein–Uhlenbeck walk with a half-second time
// constant and a stationary spread of scale.
func (m *motion) step(r *rand.Rand, dt time.Duration) {
	a := math.Exp(-dt.Seconds() / 0.5)
	b := math.Sqrt(1 - a*a)
	m.dx = a*m.dx + b*m.scale*r.NormFloat64()
	m.dy = a*m.dy + b*m.scale*r.NormFloat64()
	m.ds = a*m.ds + b*m.scale*r.NormFloat64()
	m.dr = a*m.dr + b*m.scale*2*r.NormFloat64()
}

// camera holds the state that carries from frame to frame: auto-exposure
// and white balance, each chasing its target at its own rate.
type camera struct {
	// room is the room light's relative change from the start.
	room   float64
	gain   float64
	wb     [3]float64
	target float64
	enc    [4096]float32 // linear → 8-bit encoded
	gauss  []float32
	gi     int
}

// encSteps is the resolution of the encoding table.
const encSteps = 4096

var gaussTable = func() []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	t := make([]float32, 1<<16)
	for i := range t {
		t[i] = float32(r.NormFloat64())
	}
	return t
}()

func newCamera(sc *scene, r *rand.Rand, ls *lightState) *camera {
	c := &camera{gain: 1, gauss: gaussTable, gi: r.IntN(len(gaussTable))}
	for i := range c.enc {
		c.enc[i] = float32(255 * math.Pow(float64(i)/(encSteps-1), 1/sc.gamma))
	}
	// Start settled: white balance and exposure already adapted to the
	// pre-flash scene, exposure metering the face as a front camera's
	// face-priority exposure does.
	page := mixScreen(&sc.crosstalk, [3]float64{sc.pageLevel, sc.pageLevel, sc.pageLevel})
	m := c.frameMeans(sc, ls, page, [3]float64{1, 1, 1}, [3]float64{})
	grey := (m[1][0] + m[1][1] + m[1][2]) / 3
	for k := range c.wb {
		c.wb[k] = grey / math.Max(m[1][k], 1e-6)
	}
	c.target = sc.faceLevel
	c.gain = c.target / math.Max(c.faceLum(m), 1e-6)
	return c
}

// faceLum is the face's mean level after white balance, before exposure.
func (c *camera) faceLum(m [2][3]float64) float64 {
	return (m[0][0]*c.wb[0] + m[0][1]*c.wb[1] + m[0][2]*c.wb[2]) / 3
}

// frameMeans returns the mean linear light of the face (0) and the whole
// window (1) under screen light l, before the camera's gains.
func (c *camera) frameMeans(sc *scene, ls *lightState, l, mul, add [3]float64) (m [2][3]float64) {
	s := ls.sub
	for k := 0; k < 3; k++ {
		amb := sc.ambient[k] * (1 + c.room)
		m[0][k] = (amb*s.sumA[0][k] + l[k]*ls.sumB[0][k]) / math.Max(s.faceN, 1)
		m[0][k] = m[0][k]*mul[k] + add[k]
		n := float64(srcSide * srcSide)
		m[1][k] = (amb*s.sumA[1][k] + l[k]*ls.sumB[1][k]) / n
		m[1][k] = m[1][k]*mul[k] + add[k]
	}
	return m
}

// meter lets auto-exposure and white balance react to what they saw in
// the frame about to be taken under screen light l: a step per frame,
// partially.
func (c *camera) meter(sc *scene, ls *lightState, l, mul, add [3]float64) {
	m := c.frameMeans(sc, ls, l, mul, add)
	lum := c.gain * c.faceLum(m)
	c.gain *= math.Pow(c.target/math.Max(lum, 1e-6), sc.aeRate)
	grey := (m[1][0]*c.wb[0] + m[1][1]*c.wb[1] + m[1][2]*c.wb[2]) / 3
	for k := range c.wb {
		c.wb[k] *= math.Pow(grey/math.Max(m[1][k]*c.wb[k], 1e-6), sc.awbRate)
	}
}

// develop renders one frame at the camera's present gains: the subject's
// light under room light and screen light l, through the motion, the
// gains, the tone curve and the noise. pat, when not nil, multiplies the
// light of the scene at each output pixel and channel (3·FrameSide²
// values) before the additive glare, as a filmed screen's moiré and
// refresh bands do. It returns the frame and the landmarks a detector
// would report (the exact ones moved with the frame, plus detector
// jitter).
func (c *camera) develop(sc *scene, r *rand.Rand, ls *lightState, l, mul, add [3]float64, drift float64, mot *motion, pat []float32) (*face.RGB, [68]face.Point) {
	s := ls.sub
	var ca, cw, cb, cc [3]float32
	for k := 0; k < 3; k++ {
		g := c.gain * c.wb[k] * mul[k]
		amb := sc.ambient[k] * (1 + c.room)
		ca[k] = float32(amb * g)
		cw[k] = float32(amb * g * drift)
		cb[k] = float32(l[k] * g)
		cc[k] = float32(add[k] * c.gain * c.wb[k])
	}
	var sigma [256]float32
	for i := range sigma {
		sigma[i] = float32(sc.readNoise + sc.shotNoise*math.Sqrt(float64(i)))
	}
	// Output pixel → source pixel: rotate and scale about the centre,
	// then shift.
	scale := 1 + mot.ds
	rot := mot.dr
	cosR, sinR := math.Cos(rot)/scale, math.Sin(rot)/scale
	oc := float64(FrameSide) / 2
	sccen := float64(srcSide) / 2
	shx, shy := mot.dx*FrameSide, mot.dy*FrameSide
	img := face.NewRGB(FrameSide, FrameSide)
	g := c.gauss
	gmask := len(g) - 1
	gi := c.gi
	for oy := 0; oy < FrameSide; oy++ {
		py := float64(oy) + 0.5 - oc - shy
		for ox := 0; ox < FrameSide; ox++ {
			px := float64(ox) + 0.5 - oc - shx
			sx := sccen + cosR*px + sinR*py - 0.5
			sy := sccen - sinR*px + cosR*py - 0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := float32(sx-float64(x0)), float32(sy-float64(y0))
			x0 = clampInt(x0, 0, srcSide-2)
			y0 = clampInt(y0, 0, srcSide-2)
			i00 := y0*srcSide + x0
			w00, w01, w10, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
			fw := w00*s.faceW[i00] + w01*s.faceW[i00+1] + w10*s.faceW[i00+srcSide] + w11*s.faceW[i00+srcSide+1]
			o := img.Pix[3*(oy*FrameSide+ox):]
			for k := 0; k < 3; k++ {
				a := w00*s.lin[3*i00+k] + w01*s.lin[3*i00+3+k] + w10*s.lin[3*(i00+srcSide)+k] + w11*s.lin[3*(i00+srcSide)+3+k]
				b := w00*ls.mod[3*i00+k] + w01*ls.mod[3*i00+3+k] + w10*ls.mod[3*(i00+srcSide)+k] + w11*ls.mod[3*(i00+srcSide)+3+k]
				raw := ca[k]*a + cw[k]*a*fw + cb[k]*b
				if pat != nil {
					raw *= pat[3*(oy*FrameSide+ox)+k]
				}
				raw += cc[k]
				var e float32
				switch {
				case !(raw > 0):
					e = 0
				case raw >= 1:
					e = 255
				default:
					e = c.enc[int(raw*(encSteps-1))]
				}
				e += sigma[int(e)] * g[gi&gmask]
				gi += 7919
				switch v := int(e + 0.5); {
				case v < 0:
					o[k] = 0
				case v > 255:
					o[k] = 255
				default:
					o[k] = uint8(v)
				}
			}
		}
	}
	c.gi = gi
	// Landmarks through the forward transform, plus detector noise.
	var lm [68]face.Point
	ff, _ := liveness.NewFaceFrame(&s.lm)
	common := face.Point{X: r.NormFloat64() * sc.lmJitter * 0.7 * ff.IOD(), Y: r.NormFloat64() * sc.lmJitter * 0.7 * ff.IOD()}
	cr, sr := math.Cos(rot)*scale, math.Sin(rot)*scale
	for i, p := range s.lm {
		qx, qy := p.X-sccen, p.Y-sccen
		x := cr*qx - sr*qy + oc + shx
		y := sr*qx + cr*qy + oc + shy
		lm[i] = face.Point{
			X: x + common.X + r.NormFloat64()*sc.lmJitter*ff.IOD(),
			Y: y + common.Y + r.NormFloat64()*sc.lmJitter*ff.IOD(),
		}
	}
	return img, lm
}

// shooter takes a rendering's frames one at a time: the motion and the
// light's drift from frame to frame, the camera's state and, for a naive
// renderer, its stock of pre-rendered pictures. Render and LiveCamera
// both take their frames with it, so that they share one camera.
type shooter struct {
	sc    *scene
	r     *rand.Rand
	cam   *camera
	mot   *motion
	drift float64 // the face-only room-light drift
	// static: no head or hand motion. variants > 0: a renderer that keeps
	// that many pictures per light and cycles them, with fixed gains and
	// no drift.
	static   bool
	variants int
	stock    map[shotKey]*shotStock
}

// shotKey identifies what a naive renderer draws: the subject's light
// maps under one screen light.
type shotKey struct {
	ls              *lightState
	light, mul, add [3]float64
}

type shotStock struct {
	frames []liveness.Frame
	next   int
}

func newShooter(sc *scene, r *rand.Rand, ls *lightState, static bool, variants int) *shooter {
	s := &shooter{sc: sc, r: r, static: static, variants: variants}
	s.cam = newCamera(sc, r, ls)
	s.mot = newMotion(r, sc.motion)
	if variants > 0 {
		s.stock = map[shotKey]*shotStock{}
	}
	return s
}

// advance moves the scene on by one frame period dt.
func (s *shooter) advance(dt time.Duration) {
	if !s.static {
		s.mot.step(s.r, dt)
	}
	if s.variants > 0 {
		// A renderer's still photo has no light of its own to drift.
		return
	}
	// Slow random walks, a step per frame, each with a stationary spread
	// of its scale.
	s.drift = s.drift*0.9 + s.r.NormFloat64()*s.sc.drift*0.44
	s.cam.room = s.cam.room*0.95 + s.r.NormFloat64()*s.sc.roomDrift*0.31
}

// shoot takes a frame of the subject's light maps ls under screen light l
// (camera channels), with the multiplicative tint mul, the additive glare
// add and the pattern pat of develop. T is left to the caller.
func (s *shooter) shoot(ls *lightState, l, mul, add [3]float64, pat []float32) liveness.Frame {
	if s.variants > 0 && pat == nil {
		key := shotKey{ls, l, mul, add}
		st := s.stock[key]
		if st == nil {
			st = &shotStock{}
			s.stock[key] = st
		}
		if len(st.frames) < s.variants {
			// Rendered once, at the gains the camera started with: a
			// renderer has no auto-exposure.
			st.frames = append(st.frames, s.develop(ls, l, mul, add, nil))
		}
		f := st.frames[st.next%len(st.frames)]
		st.next++
		// A detector finds the same landmarks in the same picture; the
		// copy only keeps callers from sharing one Face.
		fc := *f.Face
		f.Face = &fc
		return f
	}
	s.cam.meter(s.sc, ls, l, mul, add)
	return s.develop(ls, l, mul, add, pat)
}

func (s *shooter) develop(ls *lightState, l, mul, add [3]float64, pat []float32) liveness.Frame {
	img, lm := s.cam.develop(s.sc, s.r, ls, l, mul, add, s.drift, s.mot, pat)
	f := &face.Face{Score: 1, Quality: ls.sub.qual, Landmarks: lm}
	f.Box = landmarkBox(&lm)
	return liveness.Frame{Img: img, Face: f, Faces: 1, Source: pictureDigest(img.Pix)}
}

// pictureDigest is a frame's Source: FNV-1a over its pixels, never zero
// (zero means unknown).
func pictureDigest(pix []byte) uint64 {
	h := fnv.New64a()
	h.Write(pix)
	return max(h.Sum64(), 1)
}

// Challenge draws a challenge of n colours from r: the same r gives the
// same challenge, so that simulated sequences can be reproduced from a
// seed.
func Challenge(r *rand.Rand, n int) liveness.Challenge {
	return liveness.NewChallenge(pcgReader{r}, n)
}

// pcgReader adapts a math/rand/v2 generator to io.Reader, liveness.NewChallenge's
// source of randomness.
type pcgReader struct{ r *rand.Rand }

func (p pcgReader) Read(b []byte) (int, error) {
	for i := 0; i < len(b); i += 8 {
		v := p.r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return len(b), nil
}
