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
// mouth, the chin).
type occlusionFeatures struct {
	// Chroma distance (Cb, Cr) of the lower bands' median colour from the
	// reference skin's median colour.
	noseDist, mouthDist, chinDist float64
	// skinFrac is the fraction of lower-face samples whose colour is
	// within skinRadius of the reference skin's and whose luma is within
	// a factor 1.6 of it.
	skinFrac float64
	// lumaRatio is the log of the lower face's median luma over the
	// reference's.
	lumaRatio float64
	// lip is how much redder (Cr) than the skin the reddest tenth of the
	// mouth band is: lips show, a mask hides them.
	lip float64
	// texture is the lower face's luma spread (10th to 90th percentile)
	// over the reference luma.
	texture float64
}

// vector returns the features in the order of mouthWeights.
func (f occlusionFeatures) vector() []float64 {
	return []float64{f.noseDist, f.mouthDist, f.chinDist, f.skinFrac, f.lumaRatio, f.lip, f.texture}
}

// Mouth classifier: a logistic regression over the standardised features,
// fitted on half of the occlusion development set (see
// TestDevsetOcclusion and docs/liveness.md, "Occlusion"). The face is
// covered when the score exceeds mouthThreshold.
var (
	mouthMean    = []float64{14.08, 14.72, 41.39, 0.4275, -0.1184, 4.559, 0.5656}
	mouthScale   = []float64{12.75, 14.75, 62.67, 0.3466, 0.5651, 21.40, 0.5002}
	mouthWeights = []float64{0.3272, 1.875, -0.6326, -1.372, 1.190, -1.262, -0.7108}
	mouthBias    = 0.4437
)

const (
	mouthThreshold = 0.0
	skinRadius     = 12.0 // in Cb/Cr units (0–255 scale)

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
	var ref []ycc
	ref = fr.samples(img, -0.35, 0.35, -0.75, -0.45, 8, ref) // forehead
	ref = fr.samples(img, -0.65, -0.3, 0.15, 0.35, 6, ref)   // left cheek
	ref = fr.samples(img, 0.3, 0.65, 0.15, 0.35, 6, ref)     // right cheek
	nose := fr.samples(img, -0.25, 0.25, 0.45, 0.7, 8, nil)
	mouth := fr.samples(img, -0.4, 0.4, 0.9, 1.25, 10, nil)
	chin := fr.samples(img, -0.3, 0.3, 1.35, 1.6, 8, nil)
	var f occlusionFeatures
	if len(ref) == 0 || len(nose)+len(mouth)+len(chin) == 0 {
		return f, 0
	}
	skin := medianYCC(ref)
	refY := math.Max(skin.y, 1)
	f.noseDist = chromaDist(medianYCC(nose), skin)
	f.mouthDist = chromaDist(medianYCC(mouth), skin)
	f.chinDist = chromaDist(medianYCC(chin), skin)
	lower := slices.Concat(nose, mouth, chin)
	near := 0
	for _, c := range lower {
		if chromaDist(c, skin) < skinRadius && c.y < 1.6*refY && c.y > refY/1.6 {
			near++
		}
	}
	f.skinFrac = float64(near) / float64(len(lower))
	f.lumaRatio = math.Log(math.Max(medianYCC(lower).y, 1) / refY)
	if len(mouth) > 0 {
		f.lip = quantile(mouth, 0.9, func(c ycc) float64 { return c.cr }) - skin.cr
	}
	f.texture = (quantile(lower, 0.9, func(c ycc) float64 { return c.y }) -
		quantile(lower, 0.1, func(c ycc) float64 { return c.y })) / refY
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
