package liveness

import (
	"math"

	"github.com/glint-id/glint/internal/face"
)

// linearLUT maps an 8-bit sRGB value to linear light. Cameras deliver
// gamma-encoded pixels; reflected light adds, and gains multiply, only in
// linear units.
var linearLUT = func() (t [256]float64) {
	for i := range t {
		t[i] = srgbToLinear(uint8(i))
	}
	return t
}()

// Linear is the linear light of the 8-bit sRGB value v.
func Linear(v uint8) float64 { return linearLUT[v] }

func srgbToLinear(v uint8) float64 {
	c := float64(v) / 255
	if c <= 0.04045 {
		return c / 12.92
	}
	return math.Pow((c+0.055)/1.055, 2.4)
}

// Skin regions. The first five are the
// regions the spec names; the two outer cheeks face further sideways and
// give the 3-D check the spread of orientations a curved face has.
const (
	regForehead = iota
	regNose
	regLeftCheek
	regRightCheek
	regChin
	regLeftOuter
	regRightOuter
	nRegions
)

// coreRegions are the regions pooled into "the face" for colour and
// timing: the larger, flatter patches whose mean is steadiest.
var coreRegions = []int{regForehead, regNose, regLeftCheek, regRightCheek, regChin}

// FaceFrame is a face's own coordinate system, built from the landmarks:
// origin between the eye centres, u along the eye line (image left to
// right), v perpendicular to it towards the mouth, both in units of the
// inter-ocular distance, so that region placement does not depend on
// image size or roll.
type FaceFrame struct {
	origin face.Point
	ex, ey face.Point // image-pixel vectors of one unit along u and v
	iod    float64
}

// NewFaceFrame returns the frame of a face with landmarks lm, or false
// when its eyes are too close together (under 2 pixels) to orient it.
// The simulator (flashsim) places its faces with it, so that a rendered
// face is laid out as the analysis reads it.
func NewFaceFrame(lm *[68]face.Point) (FaceFrame, bool) {
	l, r := face.LeftEye.Centroid(lm), face.RightEye.Centroid(lm)
	dx, dy := r.X-l.X, r.Y-l.Y
	iod := math.Hypot(dx, dy)
	if !(iod > 2) {
		return FaceFrame{}, false
	}
	return FaceFrame{
		origin: face.Point{X: (l.X + r.X) / 2, Y: (l.Y + r.Y) / 2},
		ex:     face.Point{X: dx, Y: dy},
		ey:     face.Point{X: -dy, Y: dx},
		iod:    iod,
	}, true
}

// ToImage maps face coordinates to image pixels.
func (f FaceFrame) ToImage(u, v float64) face.Point {
	return face.Point{X: f.origin.X + u*f.ex.X + v*f.ey.X, Y: f.origin.Y + u*f.ex.Y + v*f.ey.Y}
}

// ToFace maps image pixels to face coordinates: ToImage's inverse.
func (f FaceFrame) ToFace(p face.Point) (u, v float64) {
	dx, dy := p.X-f.origin.X, p.Y-f.origin.Y
	n := f.iod * f.iod
	return (dx*f.ex.X + dy*f.ex.Y) / n, (dx*f.ey.X + dy*f.ey.Y) / n
}

// IOD is the inter-ocular distance in image pixels: the frame's unit.
func (f FaceFrame) IOD() float64 { return f.iod }

func lerp(a, b face.Point, t float64) face.Point {
	return face.Point{X: a.X + (b.X-a.X)*t, Y: a.Y + (b.Y-a.Y)*t}
}

func dist(a, b face.Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// disc is a circular sampling region in image pixels.
type disc struct {
	c face.Point
	r float64
}

// skinRegions places the sampling discs on the skin from the 68 landmarks
// (iBUG order, numbered in face.Part's documentation: 0–16 jaw, 17–26
// brows, 27–35 nose, 36–47 eyes, 48–67 mouth). Radii follow the local
// width where a turned head foreshortens one side, so that no disc reaches
// past the face outline, the eyes or the brows.
func skinRegions(lm *[68]face.Point, ff FaceFrame) [nRegions]disc {
	var d [nRegions]disc
	iod := ff.iod
	brow := lerp(lm[19], lm[24], 0.5)
	up := face.Point{X: -ff.ey.X / iod, Y: -ff.ey.Y / iod} // unit vector towards the forehead
	d[regForehead] = disc{face.Point{X: brow.X + up.X*0.38*iod, Y: brow.Y + up.Y*0.38*iod}, 0.22 * iod}
	d[regNose] = disc{lerp(lm[29], lm[30], 0.4), math.Min(0.13*iod, 0.3*dist(lm[31], lm[35]))}
	cheek := func(nostril, jaw, eye face.Point) disc {
		c := lerp(lerp(nostril, jaw, 0.5), eye, 0.25)
		return disc{c, math.Min(0.2*iod, 0.3*dist(nostril, jaw))}
	}
	d[regLeftCheek] = cheek(lm[31], lm[2], lm[40])
	d[regRightCheek] = cheek(lm[35], lm[14], lm[47])
	d[regChin] = disc{lerp(lm[57], lm[8], 0.5), math.Min(0.16*iod, 0.35*dist(lm[57], lm[8]))}
	outer := func(nostril, jaw face.Point) disc {
		return disc{lerp(nostril, jaw, 0.78), math.Min(0.1*iod, 0.12*dist(nostril, jaw))}
	}
	d[regLeftOuter] = outer(lm[31], lm[3])
	d[regRightOuter] = outer(lm[35], lm[13])
	return d
}

// maxSamples bounds the points read per region: means of a couple of
// hundred points are as steady as the camera allows, and Analyze stays
// fast on large frames.
const maxSamples = 200

// pointSet is a set of weighted sample points, in the reference shape's
// pixels.
type pointSet struct {
	pos []complex128
	w   []float64
}

// discPoints returns the sample points of d: a grid of at most about
// maxSamples points, weighted by a window that falls smoothly to zero at
// the rim, so that the mean moves smoothly with the placement and its
// sub-pixel errors do not show as a change of colour.
func discPoints(d disc) pointSet {
	var ps pointSet
	step := math.Max(0.5, d.r*math.Sqrt(math.Pi/maxSamples))
	r2 := d.r * d.r
	for dy := -d.r + step/2; dy < d.r; dy += step {
		for dx := -d.r + step/2; dx < d.r; dx += step {
			q := (dx*dx + dy*dy) / r2
			if q >= 1 {
				continue
			}
			ps.pos = append(ps.pos, complex(d.c.X+dx, d.c.Y+dy))
			ps.w = append(ps.w, (1-q)*(1-q))
		}
	}
	return ps
}

// ringPointSet returns the background ring's points around the face ff.
func ringPointSet(ff FaceFrame) pointSet {
	var ps pointSet
	for _, uv := range ringPoints {
		ps.pos = append(ps.pos, cpt(ff.ToImage(uv[0], uv[1])))
		ps.w = append(ps.w, 1)
	}
	return ps
}

// readPoints returns img's linear colour at sim(p) for every point, zero
// in the channels where the point is outside the picture, clipped or
// black.
func readPoints(img *face.RGB, sim similarity, pts []complex128) [][3]float32 {
	out := make([][3]float32, len(pts))
	for i, p := range pts {
		q := sim.a*p + sim.b
		c, in := linearAt(img, real(q), imag(q))
		if !in {
			continue
		}
		for k := range c {
			if c[k] <= linearHigh && c[k] >= linearLow {
				out[i][k] = float32(c[k])
			}
		}
	}
	return out
}

// linearAt returns the linear colour at (x, y) by bilinear interpolation
// between pixel centres, and whether the point lies inside the image.
func linearAt(img *face.RGB, x, y float64) ([3]float64, bool) {
	x -= 0.5
	y -= 0.5
	if x < 0 || y < 0 || x > float64(img.W-1) || y > float64(img.H-1) {
		return [3]float64{}, false
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, img.W-1), min(y0+1, img.H-1)
	fx, fy := x-float64(x0), y-float64(y0)
	w00, w01, w10, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
	p00, p01 := img.Pix[3*(y0*img.W+x0):], img.Pix[3*(y0*img.W+x1):]
	p10, p11 := img.Pix[3*(y1*img.W+x0):], img.Pix[3*(y1*img.W+x1):]
	var c [3]float64
	for k := range c {
		c[k] = w00*linearLUT[p00[k]] + w01*linearLUT[p01[k]] + w10*linearLUT[p10[k]] + w11*linearLUT[p11[k]]
	}
	return c, true
}

// Background ring geometry, in units of the inter-ocular distance around
// the face centre. The ring leaves out the sector below the jaw, where the
// neck and shoulders catch almost as much screen light as the face.
const (
	ringInner   = 2.0
	ringOuter   = 2.7
	ringSamples = 480
)

// ringPoints are the background ring's sample points in face
// coordinates: rings between ringInner and ringOuter inter-ocular
// distances around the face centre (half an eye distance below the eyes),
// stretched vertically like the face, without the sector below the jaw.
var ringPoints = func() (pts [][2]float64) {
	const rings = 4
	per := ringSamples / rings
	for ri := 0; ri < rings; ri++ {
		rad := ringInner + (ringOuter-ringInner)*float64(ri)/float64(rings-1)
		for i := 0; i < per; i++ {
			a := 2 * math.Pi * (float64(i) + 0.5*float64(ri%2)) / float64(per)
			u, v := rad*math.Cos(a), 0.5+rad*1.15*math.Sin(a)
			if v <= 1.6 {
				pts = append(pts, [2]float64{u, v})
			}
		}
	}
	return pts
}()

// similarity is the map p ↦ a·p + b of the plane, points as complex
// numbers: a scaled rotation and a shift.
type similarity struct{ a, b complex128 }

func cpt(p face.Point) complex128 { return complex(p.X, p.Y) }

func (s similarity) apply(p face.Point) face.Point {
	q := s.a*cpt(p) + s.b
	return face.Point{X: real(q), Y: imag(q)}
}

func cmplxAbs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }

// fitSimilarity returns the least-squares similarity taking the points of
// from onto those of to. Fitting all 68 landmarks averages out the jitter
// of each, so regions placed through it stay on the same skin from frame
// to frame.
func fitSimilarity(from, to *[68]face.Point) similarity {
	var mf, mt complex128
	for i := range from {
		mf += cpt(from[i])
		mt += cpt(to[i])
	}
	mf /= complex(float64(len(from)), 0)
	mt /= complex(float64(len(to)), 0)
	var num complex128
	var den float64
	for i := range from {
		f, t := cpt(from[i])-mf, cpt(to[i])-mt
		num += t * complex(real(f), -imag(f))
		den += real(f)*real(f) + imag(f)*imag(f)
	}
	if den == 0 {
		return similarity{a: 1, b: mt - mf}
	}
	a := num / complex(den, 0)
	return similarity{a: a, b: mt - a*mf}
}
