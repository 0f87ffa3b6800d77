package flashsim

import (
	"math"
	"math/rand/v2"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
)

// Prints other than the flat one. A print is the subject's photo on paper,
// cut out round the head (as FlatPrint), held 25–40 cm from the screen and
// tilted up to ±20° about each axis. Paper bends but does not stretch, so
// the bent prints are developable surfaces: a cylinder or two planes
// meeting at a fold, both with vertical rulings. The camera's view of the
// paper is orthographic, as for the face: a bend squeezes the picture
// horizontally (the camera sees a point of the paper where the bend puts
// it), the tilt turns normals and adds depth but does not foreshorten the
// picture (as for FlatPrint, where it changes the light by under 6 %).

// printSheet is the shape and finish of one print.
type printSheet struct {
	kind string
	// rot turns the paper's normals by the tilt; plane is the tilted
	// plane's normal, which sets the depth of each point.
	rot   [3][3]float64
	plane [3]float64
	// axis is where the bend is, in face coordinates along the eye line
	// (inter-ocular units): the cylinder's line nearest to (convex) or
	// furthest from (concave) the camera, or the fold.
	axis float64
	// radius is the cylinder's, in inter-ocular units.
	radius float64
	convex bool
	// foldL and foldR are the angles, radians, by which the halves left
	// and right of the fold are turned; mountain folds bring the fold
	// line towards the camera, valley folds take it away.
	foldL, foldR float64
	mountain     bool
	gloss        *gloss
}

// gloss is a glossy finish: a coating that mirrors a few per cent of the
// light, slightly blurred, besides the paper's diffuse reflection.
type gloss struct {
	rs   float64 // specular reflectance
	blur float64 // angular spread of the mirror image, radians
	// env is the reflectance of what the print mirrors of the room
	// (walls, ceiling, the attacker), grad its change per inter-ocular
	// unit downwards (ceilings are brighter than floors).
	env, grad float64
}

// drawSheet draws the shape of a print of species kind (GlossyPrint,
// CurvedPrint or FoldedPrint) of subject s, tilted by (tiltX, tiltY)
// radians.
//
// Ranges. Curved: a radius of 6–15 cm, about a face's own horizontal
// curvature (a bottle, a hand, a bent card), convex or concave, its axis
// within ±0.3 inter-ocular distances of the nose. Folded: a fold within
// ±0.3 inter-ocular distances of the nose, each half turned 10–40°
// (beyond, the far half of the face turns out of view), mountain or
// valley. Glossy: the specular reflectance of coated photo paper is
// Fresnel's 4 % for a polymer of index 1.5, of which a high gloss keeps
// most in a sharp lobe: 2–5 %, blurred by 1–4°; the mirrored room has a
// reflectance of 0.2–0.8 (a bright or dark room, the attacker's clothes),
// ±30 % per inter-ocular distance from top to bottom.
func drawSheet(r *rand.Rand, kind string, s *Subject, tiltX, tiltY float64) *printSheet {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	cx, sx := math.Cos(tiltX), math.Sin(tiltX)
	cy, sy := math.Cos(tiltY), math.Sin(tiltY)
	// Ry(tiltX) then Rx(tiltY): the normal (0, 0, 1) becomes
	// (sin tiltX, −cos tiltX·sin tiltY, cos tiltX·cos tiltY), FlatPrint's
	// plane.
	ry := [3][3]float64{{cx, 0, sx}, {0, 1, 0}, {-sx, 0, cx}}
	rx := [3][3]float64{{1, 0, 0}, {0, cy, -sy}, {0, sy, cy}}
	p := &printSheet{kind: kind, rot: matMul(rx, ry)}
	p.plane = matVec(p.rot, [3]float64{0, 0, 1})
	ff, _ := liveness.NewFaceFrame(&s.lm)
	var nose float64
	for _, i := range []int{27, 28, 29, 30} {
		nu, _ := ff.ToFace(s.lm[i])
		nose += nu / 4
	}
	switch kind {
	case CurvedPrint:
		p.axis = nose + u(-0.3, 0.3)
		p.radius = u(6, 15) / cmPerIOD
		p.convex = r.IntN(2) == 0
	case FoldedPrint:
		p.axis = nose + u(-0.3, 0.3)
		p.foldL = u(10, 40) * math.Pi / 180
		p.foldR = u(10, 40) * math.Pi / 180
		p.mountain = r.IntN(2) == 0
	case GlossyPrint:
		p.gloss = &gloss{
			rs:   u(0.02, 0.05),
			blur: u(1, 4) * math.Pi / 180,
			env:  u(0.2, 0.8),
			grad: u(-0.3, 0.3),
		}
	}
	return p
}

// column maps a point's face coordinate u along the eye line, as the
// camera sees it, to the paper: pu is the paper's coordinate there (the
// photo's u), z the bend's depth (inter-ocular units, towards the camera
// positive) and ang the angle by which the bend turns the normal about
// the vertical (towards +u positive). vis is how much of the pixel the
// paper covers: 0 beyond a cylinder's limb, where the camera sees past
// the print.
func (p *printSheet) column(u float64) (pu, z, ang, vis float64) {
	x := u - p.axis
	switch p.kind {
	case CurvedPrint:
		rad := p.radius
		if math.Abs(x) >= rad {
			// Past the limb: the room behind, which the photo's own
			// surroundings stand for, taken from beyond the cut-out.
			edge := math.Max(rad*math.Pi/2, printHalfWidth+0.1)
			return p.axis + math.Copysign(edge+math.Abs(x)-rad, x), 0, 0, 0
		}
		th := math.Asin(x / rad)
		pu = p.axis + rad*th
		// The paper near the limb is seen edge-on.
		vis = clampF((math.Pi/2-math.Abs(th))/(10*math.Pi/180), 0, 1)
		if p.convex {
			return pu, rad * (math.Cos(th) - 1), th, vis
		}
		return pu, rad * (1 - math.Cos(th)), -th, vis
	case FoldedPrint:
		phi, side := p.foldR, 1.0
		if x < 0 {
			phi, side = p.foldL, -1
		}
		pu = p.axis + x/math.Cos(phi)
		if p.mountain {
			return pu, -math.Abs(x) * math.Tan(phi), side * phi, 1
		}
		return pu, math.Abs(x) * math.Tan(phi), -side * phi, 1
	}
	return u, 0, 0, 1
}

// toImage is column's inverse for points on the paper: where the camera
// sees the paper's coordinate pu.
func (p *printSheet) toImage(pu float64) float64 {
	d := pu - p.axis
	switch p.kind {
	case CurvedPrint:
		th := clampF(d/p.radius, -math.Pi/2, math.Pi/2)
		return p.axis + p.radius*math.Sin(th)
	case FoldedPrint:
		phi := p.foldR
		if d < 0 {
			phi = p.foldL
		}
		return p.axis + d*math.Cos(phi)
	}
	return pu
}

// printHalfWidth is the cut-out's half-width, in inter-ocular units: the
// print is cut round the head, hair included, inside the background ring.
const printHalfWidth = 1.7

// printCut is how much of the cut-out print covers paper point (pu, v).
func printCut(pu, v float64) float64 {
	e := math.Hypot(pu/printHalfWidth, (v-0.5)/2.0)
	return clampF((1-e)/0.05, 0, 1)
}

// Screen size, cm (see screenSamples), and where the front camera sits:
// centred above the screen's top edge.
const (
	screenW, screenH = 6.5, 14.0
	cameraAbove      = screenH/2 + 0.8
)

// onSheet renders subject s printed on sheet p: the picture the camera
// sees (the photo as the bend places it, plus the gloss's sheen of the
// room), its landmarks, and the light maps of the screen on the paper.
func (s *Subject) onSheet(sc *scene, p *printSheet) *lightState {
	ff, _ := liveness.NewFaceFrame(&s.lm)
	n := srcSide * srcSide
	d := &Subject{
		qual: s.qual, photo: s.photo, face: s.face, rot: s.rot,
		lin: make([]float32, 3*n), faceW: make([]float32, n), ell: make([]float32, n),
	}
	albedo := make([]float32, 3*n)
	mod := make([]float32, n)
	spec := make([]float32, n)
	cam := [3]float64{sc.screen[0], sc.screen[1] - cameraAbove, sc.screen[2]}
	// The screen's solid angle, weighted as screenIrradiance weighs it,
	// converts its irradiance on the face (strength, in units of the
	// room's) into its radiance, which a mirror shows as such.
	omega := sc.refIrradiance() * screenW * screenH / float64(len(screenSamples))
	for y := 0; y < srcSide; y++ {
		for x := 0; x < srcSide; x++ {
			i := y*srcSide + x
			u, v := ff.ToFace(face.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5})
			pu, z, ang, vis := p.column(u)
			q := ff.ToImage(pu, v)
			c, fw, el := s.sampleAt(q.X-0.5, q.Y-0.5)
			copy(d.lin[3*i:3*i+3], c[:])
			copy(albedo[3*i:3*i+3], c[:])
			d.faceW[i], d.ell[i] = fw, el
			w := vis * printCut(pu, v)
			bg := sc.strength * sc.spill * math.Min(1, math.Exp(-(float64(el)-1)/0.6))
			if w == 0 {
				mod[i] = float32(bg)
				continue
			}
			pt := [3]float64{u * cmPerIOD, (v - 0.55) * cmPerIOD, z * cmPerIOD}
			pt[2] -= (pt[0]*p.plane[0] + pt[1]*p.plane[1]) / p.plane[2]
			nrm := matVec(p.rot, [3]float64{math.Sin(ang), 0, math.Cos(ang)})
			m := sc.strength * sc.screenIrradiance(pt, nrm) / sc.roomShading(nrm)
			mod[i] = float32(w*m + (1-w)*bg)
			if g := p.gloss; g != nil {
				// In linear units of the photo (a print's reflectance is
				// 0.9 of its photo's linear value, paper white being
				// 0.9): the screen's radiance is strength·π/(0.9·Ω)
				// and the room's, mirrored, env/0.9.
				spec[i] = float32(w * g.rs * sc.strength * math.Pi / (0.9 * omega) * g.mirror(sc, pt, nrm, cam))
				sheen := float32(w * g.rs * math.Max(0, g.env*(1+g.grad*(v-0.5))) / 0.9)
				for k := 0; k < 3; k++ {
					d.lin[3*i+k] += sheen
				}
			}
		}
	}
	for j, l := range s.lm {
		pu, v := ff.ToFace(l)
		d.lm[j] = ff.ToImage(p.toImage(pu), v)
	}
	d.sums()
	return newLightState(d, albedo, mod, spec)
}

// sampleAt returns the subject's linear colour, face weight and outline
// radius at window point (x, y), pixel centres at integers, bilinearly
// (edges repeat).
func (s *Subject) sampleAt(x, y float64) (c [3]float32, fw, el float32) {
	x = clampF(x, 0, srcSide-1.001)
	y = clampF(y, 0, srcSide-1.001)
	x0, y0 := int(x), int(y)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	i := y0*srcSide + x0
	w := [4]float32{(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy}
	idx := [4]int{i, i + 1, i + srcSide, i + srcSide + 1}
	for j, k := range idx {
		for ch := 0; ch < 3; ch++ {
			c[ch] += w[j] * s.lin[3*k+ch]
		}
		fw += w[j] * s.faceW[k]
		el += w[j] * s.ell[k]
	}
	return c, fw, el
}

// mirror is the share of the screen a glossy point p of normal n shows
// the camera at cam: the mirror image of the screen rectangle, seen
// along the reflection of the line of sight, blurred by the gloss.
func (g *gloss) mirror(sc *scene, p, n, cam [3]float64) float64 {
	v := normalize3([3]float64{cam[0] - p[0], cam[1] - p[1], cam[2] - p[2]})
	c := dot3(n, v)
	if c <= 0 {
		return 0
	}
	rd := [3]float64{2*c*n[0] - v[0], 2*c*n[1] - v[1], 2*c*n[2] - v[2]}
	if rd[2] <= 1e-3 {
		return 0
	}
	t := (sc.screen[2] - p[2]) / rd[2]
	hx := p[0] + t*rd[0] - sc.screen[0]
	hy := p[1] + t*rd[1] - sc.screen[1]
	sigma := t * math.Tan(g.blur)
	return blurredBox(hx, screenW/2, sigma) * blurredBox(hy, screenH/2, sigma)
}

// blurredBox is a box of half-width h convolved with a Gaussian of
// standard deviation sigma, at d from its centre.
func blurredBox(d, h, sigma float64) float64 {
	k := 1 / (math.Sqrt2 * sigma)
	return 0.5 * (math.Erf((d+h)*k) - math.Erf((d-h)*k))
}
