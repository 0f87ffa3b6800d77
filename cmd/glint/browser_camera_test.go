package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
)

// The browser test's camera films a still photo of a real face, lit by the
// page. What makes it a fair stand-in for a person is how the page's light
// falls on it: the phone's screen is a near, extended light in front of
// the face, the room is a far light from above and one side, and the share
// of its light a point of skin gets from the screen depends on which way
// that skin faces. So the nose, the cheekbones and the hollows under the
// nose and lips each brighten by their own amount when the screen changes
// colour, and the wall behind, a metre further away, hardly at all. The
// map is computed here once (newCameraScene); the page's side of the
// camera (cameraJS) applies it to every frame, in linear light, with the
// colour the page shows at that moment.

// Camera frame size: a phone's front camera held upright, at the SDK's
// flash resolution.
const (
	camW = 480
	camH = 640
)

// The person the camera films is the woman on the right of the package's
// sample1.jpg, the one face of the picture turned less than the mirror
// gate's 20° limit. Her head is tilted by about 40°; the camera is held
// tilted the same way, so that she appears upright, and her reference
// photo is cut the same way, as an identity photo is taken.
//
// (Upright matters: the engine's face-api embedder does not undo roll, and
// the same face at 0° and 43° of roll compares at a confidence under 10.)
var camSubject = face.Point{X: 1577, Y: 320} // inside her face box

// Reference photo: 360×440, her eyes level at 40 % of its height, at 1.25
// photo pixels per pixel.
const (
	refW, refH, refStep = 360, 440, 1.25
)

// cameraScene is what the test camera films.
type cameraScene struct {
	frame *image.RGBA
	// gain is, per pixel, the screen's light relative to the room's at
	// full screen output: a pixel of linear value L shows L·(1 + gain·s)
	// when the screen emits s.
	gain []float32
	face face.Face
	// reference is the person's reference photo.
	reference *image.RGBA
	// relief is the spread of gain across the skin that a quadratic
	// surface does not explain, relative to its mean: what the server's
	// relief check looks for, measured here on the noiseless map.
	relief float64
}

// Lighting constants, in centimetres where they are lengths.
const (
	cmPerIOD = 6.3 // an adult's inter-ocular distance
	// screenDist and screenDrop place the phone's screen centre in front
	// of the face and below the eyes' level, as it is held.
	screenDist = 30.0
	screenDrop = 5.0
	screenW    = 7.0
	screenH    = 15.0
	// screenStrength is the screen's full white at the face centre
	// relative to the room light there: a phone at full brightness (about
	// 40 lux at 30 cm) in an ordinary indoor room (100–300 lux).
	screenStrength = 0.2
	// wallGain is the screen's share on the background, a metre or more
	// behind the head.
	wallGain = 0.01
)

// newCameraScene films the subject of photo: it finds her face with the
// engine, turns the view so that her eyes are level, finds the face again
// in that view and computes the screen-light map from a 3-D face shape
// fitted to the landmarks.
func newCameraScene(t testing.TB, e *face.Engine, photo *face.RGB) *cameraScene {
	t.Helper()
	var subject *face.Face
	for _, f := range e.Detect(photo, nil) {
		if b := f.Box; camSubject.X >= b.X && camSubject.X < b.X+b.W && camSubject.Y >= b.Y && camSubject.Y < b.Y+b.H {
			subject = &f
			break
		}
	}
	if subject == nil {
		t.Fatalf("no face at %v in the sample photo", camSubject)
	}
	frame := levelView(photo, &subject.Landmarks, camW, camH, 1)
	faces := e.Significant(e.Detect(face.FromImage(frame), nil))
	if len(faces) != 1 {
		t.Fatalf("camera view of the sample photo holds %d faces, want 1", len(faces))
	}
	sc := &cameraScene{frame: frame, face: faces[0], gain: make([]float32, camW*camH),
		reference: levelView(photo, &subject.Landmarks, refW, refH, refStep)}
	shape := fitShape(&sc.face.Landmarks)
	room := roomLight{dir: norm3([3]float64{-0.5, -0.7, 0.5}), sky: 0.55, lamp: 0.45, bounce: 0.12}
	scr := screenLight{centre: [3]float64{0, screenDrop, screenDist}}
	ref := scr.irradiance([3]float64{}, [3]float64{0, 0, 1}) / room.shading([3]float64{0, 0, 1})
	for y := 0; y < camH; y++ {
		for x := 0; x < camW; x++ {
			u, v := shape.toFace(float64(x)+0.5, float64(y)+0.5)
			w, p, n := shape.surface(u, v)
			g := wallGain
			if w > 0 {
				onFace := screenStrength * scr.irradiance(p, n) / room.shading(n) / ref
				g = w*onFace + (1-w)*wallGain
			}
			sc.gain[y*camW+x] = float32(g)
		}
	}
	sc.relief = shape.relief(sc.gain)
	return sc
}

// levelView returns the w×h view of photo with the eyes of the face whose
// landmarks are lm level and at 40 % of the height, step photo pixels per
// pixel; beyond the photo's edges the picture is mirrored.
func levelView(photo *face.RGB, lm *[68]face.Point, w, h int, step float64) *image.RGBA {
	var l, r face.Point
	for i := 0; i < 6; i++ {
		l.X, l.Y = l.X+lm[36+i].X/6, l.Y+lm[36+i].Y/6
		r.X, r.Y = r.X+lm[42+i].X/6, r.Y+lm[42+i].Y/6
	}
	a := math.Atan2(r.Y-l.Y, r.X-l.X)
	ca, sa := math.Cos(a), math.Sin(a)
	cx, cy := (l.X+r.X)/2, (l.Y+r.Y)/2
	mirror := func(v, n int) int {
		for v < 0 || v >= n {
			if v < 0 {
				v = -v - 1
			} else {
				v = 2*n - v - 1
			}
		}
		return v
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := step*(float64(x)+0.5-float64(w)/2), step*(float64(y)+0.5-float64(h)*0.4)
			sx, sy := cx+dx*ca-dy*sa-0.5, cy+dx*sa+dy*ca-0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			var c [3]float64
			for j := 0; j < 2; j++ {
				for i := 0; i < 2; i++ {
					w := (1 - math.Abs(float64(i)-fx)) * (1 - math.Abs(float64(j)-fy))
					p := photo.Pix[3*(mirror(y0+j, photo.H)*photo.W+mirror(x0+i, photo.W)):]
					for k := range c {
						c[k] += w * float64(p[k])
					}
				}
			}
			o := out.Pix[4*(y*w+x):]
			o[0], o[1], o[2], o[3] = uint8(c[0]+0.5), uint8(c[1]+0.5), uint8(c[2]+0.5), 255
		}
	}
	return out
}

// faceShape is a height field over the face in face coordinates (u along
// the eye line, v towards the chin, both in inter-ocular distances from
// the eyes' midpoint): a head-sized ellipsoid with a nose, brows,
// cheekbones, lips and chin on it and eye sockets in it, each placed from
// the landmarks.
type faceShape struct {
	ox, oy, exx, exy, iod float64 // image frame: origin, unit u vector, scale
	uc, vc, a, b, depth   float64 // ellipsoid
	bridge, tip           [2]float64
	wings                 [2][2]float64
	eyes                  [2][2]float64
	brows                 [2][2]float64
	mouth, chin           [2]float64
	mouthW                float64
}

func fitShape(lm *[68]face.Point) *faceShape {
	mean := func(ps []face.Point) face.Point {
		var x, y float64
		for _, p := range ps {
			x, y = x+p.X, y+p.Y
		}
		return face.Point{X: x / float64(len(ps)), Y: y / float64(len(ps))}
	}
	l, r := mean(face.LeftEye.Points(lm)), mean(face.RightEye.Points(lm))
	s := &faceShape{ox: (l.X + r.X) / 2, oy: (l.Y + r.Y) / 2}
	s.iod = math.Hypot(r.X-l.X, r.Y-l.Y)
	s.exx, s.exy = (r.X-l.X)/s.iod, (r.Y-l.Y)/s.iod
	uv := func(p face.Point) [2]float64 {
		u, v := s.toFace(p.X, p.Y)
		return [2]float64{u, v}
	}
	jl, jr, chin := uv(lm[0]), uv(lm[16]), uv(lm[8])
	const top = -1.5 // the hairline, above the brows
	s.uc = (jl[0] + jr[0]) / 2
	s.a = (jr[0] - jl[0]) / 2 * 1.05
	s.vc, s.b = (top+chin[1])/2, (chin[1]-top)/2
	s.depth = 0.8 * s.a
	s.bridge, s.tip = uv(lm[27]), uv(lm[30])
	s.wings = [2][2]float64{uv(lm[31]), uv(lm[35])}
	s.eyes = [2][2]float64{uv(l), uv(r)}
	s.brows = [2][2]float64{uv(mean(face.LeftBrow.Points(lm))), uv(mean(face.RightBrow.Points(lm)))}
	s.mouth = uv(mean(face.OuterLips.Points(lm)))
	s.mouthW = math.Abs(uv(lm[54])[0]-uv(lm[48])[0]) / 2
	s.chin = uv(lm[8])
	return s
}

// toFace maps image pixels to face coordinates.
func (s *faceShape) toFace(x, y float64) (u, v float64) {
	dx, dy := (x-s.ox)/s.iod, (y-s.oy)/s.iod
	return dx*s.exx + dy*s.exy, -dx*s.exy + dy*s.exx
}

func gauss2(u, v float64, c [2]float64, su, sv float64) float64 {
	du, dv := (u-c[0])/su, (v-c[1])/sv
	return math.Exp(-(du*du + dv*dv) / 2)
}

// height returns the surface height (towards the camera, inter-ocular
// units) and the ellipsoid's radius at (u, v), 1 on the outline.
func (s *faceShape) height(u, v float64) (z, rho float64) {
	du, dv := (u-s.uc)/s.a, (v-s.vc)/s.b
	rho = math.Hypot(du, dv)
	z = s.depth * math.Sqrt(math.Max(0.01, 1-rho*rho))
	// Nose: a ridge from the bridge to the tip, higher and wider towards
	// the tip, falling steeply to the lip below it.
	bu, bv := s.bridge[0], s.bridge[1]
	tu, tv := s.tip[0]-bu, s.tip[1]-bv
	l2 := tu*tu + tv*tv
	t := ((u-bu)*tu + (v-bv)*tv) / l2
	tc := math.Max(0, math.Min(1, t))
	pu, pv := bu+tc*tu, bv+tc*tv
	h, w := 0.12+0.3*tc, 0.08+0.1*tc
	if t > 1 {
		over := (t - 1) * math.Sqrt(l2)
		h *= math.Exp(-over * over / (2 * 0.08 * 0.08))
	}
	d2 := (u-pu)*(u-pu) + (v-pv)*(v-pv)
	z += h * math.Exp(-d2/(2*w*w))
	for _, c := range s.wings {
		z += 0.1 * gauss2(u, v, c, 0.09, 0.08)
	}
	for _, c := range s.eyes {
		z -= 0.16 * gauss2(u, v, c, 0.22, 0.16)
	}
	for _, c := range s.brows {
		z += 0.06 * gauss2(u, v, c, 0.3, 0.08)
	}
	for _, sign := range []float64{-1, 1} {
		z += 0.07 * gauss2(u, v, [2]float64{s.uc + sign*0.72, 0.45}, 0.22, 0.18)
	}
	z += 0.07 * gauss2(u, v, s.mouth, s.mouthW, 0.14)
	z -= 0.04 * gauss2(u, v, [2]float64{s.mouth[0], (s.mouth[1] + s.chin[1]) / 2}, 0.3, 0.06)
	z += 0.06 * gauss2(u, v, [2]float64{s.chin[0], s.chin[1] - 0.2}, 0.3, 0.15)
	return z, rho
}

// surface returns how much of the point (u, v) is face (soft at the
// outline), and there its position in centimetres (face centre at the
// origin, camera axes: x right, y down, z towards the camera) and its
// normal.
func (s *faceShape) surface(u, v float64) (w float64, p, n [3]float64) {
	z, rho := s.height(u, v)
	w = math.Max(0, math.Min(1, (1-rho)/0.06))
	if w == 0 {
		return 0, p, n
	}
	const d = 0.005
	zu, _ := s.height(u+d, v)
	zv, _ := s.height(u, v+d)
	gu, gv := (zu-z)/d, (zv-z)/d
	// Face axes to camera axes: u is the image's eye line, turned by the
	// roll.
	nu, nv := -gu, -gv
	n = norm3([3]float64{nu*s.exx - nv*s.exy, nu*s.exy + nv*s.exx, 1})
	x, y := (u-s.uc)*cmPerIOD, (v-0.55)*cmPerIOD
	p = [3]float64{x*s.exx - y*s.exy, x*s.exy + y*s.exx, (z - s.depth) * cmPerIOD}
	// Where the surface turns away from the camera the skin is seen edge
	// on; let the background show through there too.
	w *= math.Max(0, math.Min(1, (n[2]-0.05)/0.2))
	return w, p, n
}

// relief measures, on a grid over the skin between the brows and the
// chin (eyes and mouth left out), how much of gain's spread a quadratic
// surface leaves unexplained, relative to gain's mean.
func (s *faceShape) relief(gain []float32) float64 {
	var rows [][6]float64
	var ys []float64
	for v := -0.4; v <= 1.5; v += 0.05 {
		for u := -1.0; u <= 1.0; u += 0.05 {
			if w, _, _ := s.surface(u, v); w < 1 {
				continue
			}
			near := false
			for _, c := range [][2]float64{s.eyes[0], s.eyes[1]} {
				near = near || math.Hypot(u-c[0], v-c[1]) < 0.3
			}
			if near || gauss2(u, v, s.mouth, s.mouthW*0.9, 0.12) > 0.5 {
				continue
			}
			x := s.ox + s.iod*(u*s.exx-v*s.exy)
			y := s.oy + s.iod*(u*s.exy+v*s.exx)
			xi, yi := int(x), int(y)
			if xi < 0 || yi < 0 || xi >= camW || yi >= camH {
				continue
			}
			rows = append(rows, [6]float64{1, u, v, u * u, u * v, v * v})
			ys = append(ys, float64(gain[yi*camW+xi]))
		}
	}
	var ata [6][6]float64
	var atb [6]float64
	var m float64
	for i, r := range rows {
		for j := range r {
			for k := range r {
				ata[j][k] += r[j] * r[k]
			}
			atb[j] += r[j] * ys[i]
		}
		m += ys[i]
	}
	m /= float64(len(ys))
	c := solve6(ata, atb)
	var res float64
	for i, r := range rows {
		var f float64
		for j := range r {
			f += c[j] * r[j]
		}
		res += (ys[i] - f) * (ys[i] - f)
	}
	return math.Sqrt(res/float64(len(ys)-6)) / m
}

func solve6(a [6][6]float64, b [6]float64) [6]float64 {
	for c := 0; c < 6; c++ {
		p := c
		for r := c + 1; r < 6; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p], b[c], b[p] = a[p], a[c], b[p], b[c]
		for r := c + 1; r < 6; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < 6; k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	var x [6]float64
	for r := 5; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < 6; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x
}

// screenLight is the phone's screen: a lit rectangle facing the face.
type screenLight struct{ centre [3]float64 }

// irradiance sums, over points of the screen, Lambert's cosine at the skin
// and at the screen over the squared distance.
func (l screenLight) irradiance(p, n [3]float64) float64 {
	var e float64
	for i := -1.0; i <= 1; i++ {
		for j := -1.5; j <= 1.5; j++ {
			q := [3]float64{l.centre[0] + i*screenW/3, l.centre[1] + j*screenH/4, l.centre[2]}
			d := [3]float64{q[0] - p[0], q[1] - p[1], q[2] - p[2]}
			r2 := dot3(d, d)
			r := math.Sqrt(r2)
			if c := dot3(n, d) / r; c > 0 {
				e += c * (d[2] / r) / r2
			}
		}
	}
	return e
}

// roomLight is the room's light: diffuse from above (sky), a lamp in
// direction dir, and light bounced from everywhere.
type roomLight struct {
	dir               [3]float64
	sky, lamp, bounce float64
}

func (l roomLight) shading(n [3]float64) float64 {
	return l.sky*(1-n[1])/2 + l.lamp*math.Max(0, dot3(n, l.dir)) + l.bounce
}

func dot3(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func norm3(v [3]float64) [3]float64 {
	n := math.Sqrt(dot3(v, v))
	return [3]float64{v[0] / n, v[1] / n, v[2] / n}
}

// The camera's sensor and the page, for cameraJS.
const (
	// gainScale is the gain a map byte of 255 stands for.
	gainScale = 1.0
	// camNoise is the sensor noise, in 8-bit levels.
	camNoise = 1.5
	// camExposure leaves headroom for the screen's light: the brightest
	// skin under the white page must not clip.
	camExposure = 0.8
	// pageWhite is the page's light outside the flashes, relative to a
	// full white screen: a white page with a dark video circle and text.
	pageWhite = 0.85
)

// pngs returns the camera frame and the gain map (one byte per pixel,
// gainScale at 255) as base64 PNGs for the page.
func (sc *cameraScene) pngs(t testing.TB) (frame, gain string) {
	t.Helper()
	enc := func(img image.Image) string {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b.Bytes())
	}
	g := image.NewGray(image.Rect(0, 0, camW, camH))
	for i, v := range sc.gain {
		g.Pix[i] = uint8(math.Round(math.Min(255, float64(v)/gainScale*255)))
	}
	return enc(sc.frame), enc(g)
}

// gainImage renders the gain map for a person to look at.
func (sc *cameraScene) gainImage() image.Image {
	g := image.NewRGBA(image.Rect(0, 0, camW, camH))
	mx := float32(0)
	for _, v := range sc.gain {
		mx = max(mx, v)
	}
	for i, v := range sc.gain {
		c := uint8(255 * v / mx)
		g.Set(i%camW, i/camW, color.RGBA{c, c, c, 255})
	}
	return g
}

func (sc *cameraScene) String() string {
	q := sc.face.Quality
	return fmt.Sprintf("face %.0f px, yaw %.0f°, pitch %.0f°, brightness %.0f, sharpness %.0f; gain map relief %.3f",
		q.Size, q.Yaw, q.Pitch, q.Brightness, q.Sharpness, sc.relief)
}

// cameraJS replaces navigator.mediaDevices.getUserMedia, before the page's
// own scripts run, with a camera that films the scene: every frame is the
// photo in linear light, plus on each pixel its gain times the light the
// screen emits at that moment, plus sensor noise. The screen's light is
// read from the page as it paints: the flash colour while <html
// data-color> is set, the white page otherwise (most of the page is white;
// the video circle and the text are not). A camera sees the light a
// little after the screen shows it (exposure and readout): the light used
// is the one painted LATENCY_MS before the frame.
//
// The page shows only the palette's colours, so the frames for each (three,
// with different noise, shown in turn) are rendered once, when the camera
// starts, and the camera then costs the page a copy per frame: the test
// must not starve the page it measures. The frame and the gain map reach the page
// as PNG bytes decoded by createImageBitmap, which the page's
// Content-Security-Policy (img-src 'self') does not govern.
//
// This camera is a real-time renderer: a still photo relit in software for
// each colour as the page shows it, which is the digital injection attack
// of docs/liveness.md. As such (DISGUISE false) it leaves every trace the
// server looks for: the picture never moves, its three noise patterns
// recur, its track is a canvas capture, getUserMedia is a page script's
// and the browser reports automation. DISGUISE true adds what an attacker
// must add to pass: the picture drifts by a smooth random walk of MOTION_PX
// (a hand-held phone), and the script hides itself (getUserMedia and
// toString that read as the browser's own, the track presented as a front
// camera's); the test browser is started without the automation flag.
// That a renderer so disguised passes is the limit the docs state.
const cameraJS = `(() => {
  const W = {{W}}, H = {{H}}, GAIN_SCALE = {{GAIN_SCALE}}, PALETTE = {{PALETTE}};
  const LATENCY_MS = {{LATENCY_MS}}, NOISE = {{NOISE}}, EXPOSURE = {{EXPOSURE}}, PAGE_WHITE = {{PAGE_WHITE}};
  const DISGUISE = {{DISGUISE}}, MOTION_PX = {{MOTION_PX}};
  const FPS = 30, VARIANTS = 3;
  const FRAME_PNG = '{{FRAME_PNG}}', GAIN_PNG = '{{GAIN_PNG}}';
  // Functions of this script that must read as the browser's own.
  const nativeToString = Function.prototype.toString;
  const masked = new WeakMap();
  const mask = (fn, name) => {
    if (DISGUISE) masked.set(fn, 'function ' + name + '() { [native code] }');
    return fn;
  };
  if (DISGUISE) {
    Function.prototype.toString = mask(function toString() {
      return masked.has(this) ? masked.get(this) : nativeToString.call(this);
    }, 'toString');
  }
  const decode = async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }),
      { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const c = new OffscreenCanvas(W, H);
    const g = c.getContext('2d');
    g.drawImage(bmp, 0, 0);
    return g.getImageData(0, 0, W, H).data;
  };
  const toLinear = (v) => (v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
  const LIN = new Float32Array(256);
  for (let i = 0; i < 256; i++) LIN[i] = toLinear(i / 255);
  // Linear light in [0, 1], in 4096 steps, back to sRGB levels.
  const SRGB = new Float32Array(4097);
  for (let i = 0; i <= 4096; i++) {
    const l = i / 4096;
    SRGB[i] = 255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * Math.pow(l, 1 / 2.4) - 0.055);
  }
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  const PAGE = 'page';
  const lightOf = (key) => key === PAGE ? [PAGE_WHITE, PAGE_WHITE, PAGE_WHITE]
    : [1, 3, 5].map((i) => toLinear(parseInt(key.substr(i, 2), 16) / 255));
  // What the screen showed, as painted: [time, key], oldest first.
  const painted = [[-Infinity, PAGE]];
  let lastHex;
  const watch = (now) => {
    const hex = document.documentElement.getAttribute('data-color');
    if (hex === lastHex) return;
    lastHex = hex;
    painted.push([now, hex && /^#[0-9a-fA-F]{6}$/.test(hex) ? hex.toUpperCase() : PAGE]);
    if (painted.length > 64) painted.splice(0, painted.length - 64);
  };
  const keyAt = (t) => {
    for (let i = painted.length - 1; i >= 0; i--) if (painted[i][0] <= t) return painted[i][1];
    return PAGE;
  };
  const md = navigator.mediaDevices;
  if (!md) return;
  // One camera per page: a retry asks for the camera again and gets a
  // new stream of the same canvas.
  let camera;
  const start = async () => {
    const [frame, gainPx] = await Promise.all([decode(FRAME_PNG), decode(GAIN_PNG)]);
    const lin = new Float32Array(3 * W * H), gain = new Float32Array(W * H);
    for (let i = 0; i < W * H; i++) {
      for (let k = 0; k < 3; k++) lin[3 * i + k] = EXPOSURE * LIN[frame[4 * i + k]];
      gain[i] = (gainPx[4 * i] / 255) * GAIN_SCALE;
    }
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const g = canvas.getContext('2d');
    // The moving camera draws each frame through a scratch canvas, at a
    // sub-pixel offset.
    const scratch = new OffscreenCanvas(W, H);
    const sg = scratch.getContext('2d');
    const render = (key) => {
      const [s0, s1, s2] = lightOf(key);
      const out = [];
      for (let v = 0; v < VARIANTS; v++) {
        const img = g.createImageData(W, H), px = img.data;
        for (let i = 0, j = 0, o = 0; i < W * H; i++, j += 3, o += 4) {
          const q = gain[i];
          px[o] = SRGB[Math.min(4096, (lin[j] * (1 + q * s0) * 4096) | 0)] + NOISE * gaussian();
          px[o + 1] = SRGB[Math.min(4096, (lin[j + 1] * (1 + q * s1) * 4096) | 0)] + NOISE * gaussian();
          px[o + 2] = SRGB[Math.min(4096, (lin[j + 2] * (1 + q * s2) * 4096) | 0)] + NOISE * gaussian();
          px[o + 3] = 255;
        }
        out.push(img);
      }
      return out;
    };
    const frames = new Map();
    for (const key of [PAGE, ...PALETTE]) frames.set(key, render(key));
    let last = -Infinity, n = 0, mx = 0, my = 0;
    const draw = (now) => {
      requestAnimationFrame(draw);
      watch(now);
      if (now - last < 1000 / FPS - 4) return;
      const dt = Math.min(200, now - last);
      last = now;
      const key = keyAt(now - LATENCY_MS);
      if (!frames.has(key)) frames.set(key, render(key));
      const img = frames.get(key)[n++ % VARIANTS];
      if (MOTION_PX <= 0) {
        g.putImageData(img, 0, 0);
        return;
      }
      // A smooth random walk with a half-second time constant and a
      // spread of MOTION_PX, as the simulator moves a hand-held phone.
      const a = Math.exp(-dt / 500), b = Math.sqrt(1 - a * a);
      mx = a * mx + b * MOTION_PX * gaussian();
      my = a * my + b * MOTION_PX * gaussian();
      sg.putImageData(img, 0, 0);
      g.fillStyle = '#808080';
      g.fillRect(0, 0, W, H);
      g.drawImage(scratch, mx, my);
    };
    requestAnimationFrame(draw);
    return canvas;
  };
  // The disguise of the track: a front camera's prototype, name and
  // settings instead of a canvas capture's.
  const hide = (track) => {
    const settings = MediaStreamTrack.prototype.getSettings;
    Object.setPrototypeOf(track, MediaStreamTrack.prototype);
    Object.defineProperty(track, 'label', { value: 'Front Camera', configurable: true });
    track.getSettings = mask(function getSettings() {
      return Object.assign({}, settings.call(track), { deviceId: 'f00dcafe', groupId: 'cafef00d', facingMode: 'user' });
    }, 'getSettings');
  };
  md.getUserMedia = mask(async function getUserMedia() {
    const stream = (await (camera = camera || start())).captureStream(FPS);
    if (DISGUISE) hide(stream.getVideoTracks()[0]);
    return stream;
  }, 'getUserMedia');
})();`

// cameraMotion is the disguised camera's drift, in pixels of the 480×640
// frame (its face is about 100 px between the eyes): 1.5 px is a few
// hundredths of the eye distance, a steady hand.
const cameraMotion = 1.5

// cameraScript returns cameraJS for the scene: the disguised, moving
// camera, or the naive renderer that leaves its traces.
func (sc *cameraScene) cameraScript(t testing.TB, latency time.Duration, disguise bool) string {
	frame, gain := sc.pngs(t)
	var hex []string
	for _, c := range liveness.Palette {
		hex = append(hex, c.Hex())
	}
	palette, _ := json.Marshal(hex)
	motion := 0.0
	if disguise {
		motion = cameraMotion
	}
	return strings.NewReplacer(
		"{{W}}", strconv.Itoa(camW), "{{H}}", strconv.Itoa(camH),
		"{{GAIN_SCALE}}", strconv.FormatFloat(gainScale, 'g', -1, 64), "{{PALETTE}}", string(palette),
		"{{LATENCY_MS}}", strconv.FormatInt(latency.Milliseconds(), 10),
		"{{NOISE}}", fmt.Sprint(camNoise), "{{EXPOSURE}}", fmt.Sprint(camExposure), "{{PAGE_WHITE}}", fmt.Sprint(pageWhite),
		"{{FRAME_PNG}}", frame, "{{GAIN_PNG}}", gain,
		"{{DISGUISE}}", strconv.FormatBool(disguise), "{{MOTION_PX}}", fmt.Sprint(motion),
	).Replace(cameraJS)
}
