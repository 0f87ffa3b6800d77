package face

import (
	"math"
	"slices"
)

// Occlusion says whether something covers a face's eyes or mouth: a mask
// over the nose and mouth, sunglasses, a hand. It is measured from the
// pixels around the landmarks (see MeasureOcclusion), not by a network.
type Occlusion struct {
	// Eyes is set when both eye regions are covered.
	Eyes bool `json:"eyes"`
	// Mouth is set when the nose, mouth and chin are covered.
	Mouth bool `json:"mouth"`
	// MouthScore is the mouth classifier's score: positive means
	// covered, and its size is how far from the boundary.
	MouthScore float64 `json:"mouth_score"`
	// EyeContrast is the eyes' luma spread (10th to 90th percentile)
	// over the reference skin's luma, and EyeDark the fraction of eye
	// pixels darker than half the reference skin's luma.
	EyeContrast float64 `json:"eye_contrast"`
	EyeDark     float64 `json:"eye_dark"`
}

// Occluded reports whether either part is covered.
func (o Occlusion) Occluded() bool { return o.Eyes || o.Mouth }

// occlusionFeatures are the mouth classifier's inputs, measured in a
// frame set by the eyes: u along the line from the left eye's centre to
// the right's, v perpendicular to it pointing down, both in units of the
// distance between the eyes, origin midway between them. The reference
// skin is the forehead and the cheeks just under the eyes, which a mask
// leaves bare; the lower face is three bands (below the nose tip, the
// mouth, the chin), and the lower cheeks beside the mouth.
//
// The features say what a mask is: a region of one colour (uniformity),
// not skin's (skin locus, distance from the cheeks), without lips, ending
// in an edge. Distances from the cheeks are taken in units of the lower
// face's own colour spread, so a light that tints the lower face unlike
// the forehead (a warm lamp above, a blue screen below), which also
// spreads its colours, does not read as a cover.
type occlusionFeatures struct {
	// jump is log((d+1)/(spread+2)), d the chroma distance (Cb, Cr) of
	// the lower face's median colour from the cheeks' and spread the
	// lower face's median chroma distance from its own median; sideJump
	// the same for the lower cheeks beside the mouth.
	jump, sideJump float64
	// skinLocus is the fraction of lower-face samples inside the usual
	// skin box of YCbCr (Cb 77–127, Cr 133–173; Chai and Ngan 1999).
	skinLocus float64
	// lip is log(1+x), x how much redder (Cr) the reddest tenth of the
	// mouth band is than the band's median: lips show, a mask hides them.
	lip float64
	// spread is log(1+spread) with spread as in jump: a mask is of one
	// colour.
	spread float64
	// texture is the lower face's luma spread (10th to 90th percentile)
	// over the reference luma.
	texture float64
	// lumaRatio is the log of the lower face's median luma over the
	// reference's.
	lumaRatio float64
}

// vector returns the features in the order of mouthWeights.
func (f occlusionFeatures) vector() []float64 {
	return []float64{f.jump, f.sideJump, f.skinLocus, f.lip, f.spread, f.texture, f.lumaRatio}
}

// Mouth classifier: a logistic regression over the standardised features,
// fitted on half of the occlusion development set (see
// TestDevsetOcclusion and docs/liveness.md, "Occlusion"). The face is
// covered when the score exceeds mouthThreshold.
var (
	mouthMean    = []float64{0.2647, 0.2568, 0.5644, 1.683, 1.524, 0.5656, -0.1184}
	mouthScale   = []float64{1.062, 1.090, 0.4447, 0.9544, 0.6711, 0.5002, 0.5651}
	mouthWeights = []float64{1.527, 0.7062, -1.342, -0.3395, 0.3241, 0.2615, 1.116}
	mouthBias    = 0.1011
)

const (
	// mouthThreshold sits just above the highest score of an unmasked
	// face in the fitting half (1.49), so none of them is flagged; the
	// sample photos' bare faces score at most 0.92.
	mouthThreshold = 1.5

	// An eye region is covered when its luma spread is below
	// eyeMinContrast of the skin's luma (paint, a hand, a uniform
	// cover) or when more than eyeMaxDark of it is darker than half the
	// skin (dark glasses). Neither is measured on data: see
	// docs/liveness.md.
	eyeMinContrast = 0.10
	eyeMaxDark     = 0.85
)

// MeasureOcclusion judges whether f's eyes and mouth are covered in img.
func MeasureOcclusion(img *RGB, f Face) Occlusion {
	fr, ok := newFaceFrame(&f.Landmarks)
	if !ok {
		return Occlusion{}
	}
	feat, refY := fr.mouthFeatures(img)
	var o Occlusion
	o.MouthScore = mouthScore(feat)
	o.Mouth = o.MouthScore > mouthThreshold
	o.EyeContrast, o.EyeDark = fr.eyeMeasures(img, refY)
	o.Eyes = o.EyeContrast < eyeMinContrast || o.EyeDark > eyeMaxDark
	return o
}

func mouthScore(f occlusionFeatures) float64 {
	s := mouthBias
	for i, x := range f.vector() {
		s += mouthWeights[i] * (x - mouthMean[i]) / mouthScale[i]
	}
	return s
}

// faceFrame maps eye-frame coordinates (see occlusionFeatures) to image
// pixels.
type faceFrame struct {
	o, ex, ey Point
}

func newFaceFrame(lm *[68]Point) (faceFrame, bool) {
	l, r := LeftEye.Centroid(lm), RightEye.Centroid(lm)
	ex := Point{r.X - l.X, r.Y - l.Y}
	if math.Hypot(ex.X, ex.Y) < 4 {
		return faceFrame{}, false
	}
	return faceFrame{o: Point{(l.X + r.X) / 2, (l.Y + r.Y) / 2}, ex: ex, ey: Point{-ex.Y, ex.X}}, true
}

// ycc is one sample in JPEG's YCbCr (full range).
type ycc struct{ y, cb, cr float64 }

// samples returns an n×n grid of samples over the box [u0,u1]×[v0,v1],
// each the mean of the 2×2 pixels around its point; points outside the
// image are skipped.
func (fr faceFrame) samples(img *RGB, u0, u1, v0, v1 float64, n int, out []ycc) []ycc {
	for j := 0; j < n; j++ {
		v := v0 + (v1-v0)*(float64(j)+0.5)/float64(n)
		for i := 0; i < n; i++ {
			u := u0 + (u1-u0)*(float64(i)+0.5)/float64(n)
			x := int(math.Floor(fr.o.X + u*fr.ex.X + v*fr.ey.X - 0.5))
			y := int(math.Floor(fr.o.Y + u*fr.ex.Y + v*fr.ey.Y - 0.5))
			if x < 0 || y < 0 || x+1 >= img.W || y+1 >= img.H {
				continue
			}
			var r, g, b float64
			for _, d := range [4]int{0, 1, img.W, img.W + 1} {
				p := img.Pix[3*(y*img.W+x+d):]
				r, g, b = r+float64(p[0]), g+float64(p[1]), b+float64(p[2])
			}
			r, g, b = r/4, g/4, b/4
			out = append(out, ycc{
				y:  0.299*r + 0.587*g + 0.114*b,
				cb: 128 - 0.168736*r - 0.331264*g + 0.5*b,
				cr: 128 + 0.5*r - 0.418688*g - 0.081312*b,
			})
		}
	}
	return out
}

// medianYCC is the per-channel median of s.
func medianYCC(s []ycc) ycc {
	if len(s) == 0 {
		return ycc{}
	}
	return ycc{
		y:  quantile(s, 0.5, func(c ycc) float64 { return c.y }),
		cb: quantile(s, 0.5, func(c ycc) float64 { return c.cb }),
		cr: quantile(s, 0.5, func(c ycc) float64 { return c.cr }),
	}
}

// quantile returns the q-quantile (nearest rank) of one channel of s.
func quantile(s []ycc, q float64, ch func(ycc) float64) float64 {
	if len(s) == 0 {
		return 0
	}
	v := make([]float64, len(s))
	for i, c := range s {
		v[i] = ch(c)
	}
	slices.Sort(v)
	return v[min(len(v)-1, int(q*float64(len(v))))]
}

func chromaDist(a, b ycc) float64 { return math.Hypot(a.cb-b.cb, a.cr-b.cr) }

// mouthFeatures measures the classifier's inputs and returns them with the
// reference skin's median luma.
func (fr faceFrame) mouthFeatures(img *RGB) (occlusionFeatures, float64) {
	var ref, cheeks, side []ycc
	ref = fr.samples(img, -0.35, 0.35, -0.75, -0.45, 8, ref)     // forehead
	cheeks = fr.samples(img, -0.65, -0.3, 0.15, 0.35, 6, cheeks) // left cheek
	cheeks = fr.samples(img, 0.3, 0.65, 0.15, 0.35, 6, cheeks)   // right cheek
	side = fr.samples(img, -0.75, -0.45, 0.6, 0.95, 6, side)     // lower left cheek
	side = fr.samples(img, 0.45, 0.75, 0.6, 0.95, 6, side)       // lower right cheek
	lower := fr.samples(img, -0.25, 0.25, 0.45, 0.7, 8, nil)     // under the nose
	nLower := len(lower)
	lower = fr.samples(img, -0.4, 0.4, 0.9, 1.25, 10, lower) // mouth
	mouth := lower[nLower:]
	lower = fr.samples(img, -0.3, 0.3, 1.35, 1.6, 8, lower) // chin
	ref = append(ref, cheeks...)
	var f occlusionFeatures
	if len(cheeks) == 0 || len(lower) == 0 {
		return f, 0
	}
	skin, cheek, low := medianYCC(ref), medianYCC(cheeks), medianYCC(lower)
	refY := math.Max(skin.y, 1)
	d := make([]ycc, len(lower))
	inLocus := 0
	for i, c := range lower {
		d[i].y = chromaDist(c, low)
		if c.cb > 77 && c.cb < 127 && c.cr > 133 && c.cr < 173 {
			inLocus++
		}
	}
	spread := quantile(d, 0.5, func(c ycc) float64 { return c.y })
	f.jump = math.Log((chromaDist(low, cheek) + 1) / (spread + 2))
	if len(side) > 0 {
		f.sideJump = math.Log((chromaDist(medianYCC(side), cheek) + 1) / (spread + 2))
	}
	f.skinLocus = float64(inLocus) / float64(len(lower))
	if len(mouth) > 0 {
		cr := func(c ycc) float64 { return c.cr }
		f.lip = math.Log1p(math.Max(0, quantile(mouth, 0.9, cr)-quantile(mouth, 0.5, cr)))
	}
	f.spread = math.Log1p(spread)
	f.texture = (quantile(lower, 0.9, func(c ycc) float64 { return c.y }) -
		quantile(lower, 0.1, func(c ycc) float64 { return c.y })) / refY
	f.lumaRatio = math.Log(math.Max(low.y, 1) / refY)
	return f, refY
}

// eyeMeasures returns the luma spread of the two eye regions over the
// skin's luma, and the fraction of their samples darker than half of it.
func (fr faceFrame) eyeMeasures(img *RGB, refY float64) (contrast, dark float64) {
	var eyes []ycc
	eyes = fr.samples(img, -0.72, -0.28, -0.14, 0.14, 10, eyes)
	eyes = fr.samples(img, 0.28, 0.72, -0.14, 0.14, 10, eyes)
	if len(eyes) == 0 || refY <= 0 {
		return 1, 0
	}
	luma := func(c ycc) float64 { return c.y }
	contrast = (quantile(eyes, 0.9, luma) - quantile(eyes, 0.1, luma)) / refY
	n := 0
	for _, c := range eyes {
		if c.y < refY/2 {
			n++
		}
	}
	return contrast, float64(n) / float64(len(eyes))
}
