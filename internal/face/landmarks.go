package face

import "strconv"

// Part names a group of the 68 landmarks (Face.Landmarks, Landmarks68): a
// half-open range of their indices (see Range). Points and Centroid read
// it out of a face's landmarks, so that code says which part of the face
// it means rather than which indices.
//
// The landmarks are in the order of the iBUG 300-W annotation, numbered
// here from 0:
//
//	 0–16  jaw line, from the image's left to its right (8: the chin)
//	17–21  left brow, from its outer end
//	22–26  right brow, from its inner end
//	27–30  nose bridge, top down (30: the tip)
//	31–35  lower nose, from the left wing to the right (33: below the tip)
//	36–41  left eye, from its outer corner (39: the inner corner)
//	42–47  right eye, from its inner corner (45: the outer corner)
//	48–59  outer lip contour, from the left corner (54: the right corner)
//	60–67  inner lip contour, from the left corner (64: the right corner)
//
// Left and right are the image's, for a face looking at the camera: the
// left eye is the person's right eye.
type Part int

// The parts of the face, in index order, then the unions of neighbouring
// ones.
const (
	Jaw        Part = iota // 0–16
	LeftBrow               // 17–21
	RightBrow              // 22–26
	NoseBridge             // 27–30
	LowerNose              // 31–35: the nostrils' base, wing to wing
	LeftEye                // 36–41
	RightEye               // 42–47
	OuterLips              // 48–59
	InnerLips              // 60–67
	Brows                  // 17–26: LeftBrow then RightBrow
	Nose                   // 27–35: NoseBridge then LowerNose
	Mouth                  // 48–67: OuterLips then InnerLips
)

var partRanges = [...]struct {
	start, end int
	name       string
}{
	Jaw:        {0, 17, "jaw"},
	LeftBrow:   {17, 22, "left brow"},
	RightBrow:  {22, 27, "right brow"},
	NoseBridge: {27, 31, "nose bridge"},
	LowerNose:  {31, 36, "lower nose"},
	LeftEye:    {36, 42, "left eye"},
	RightEye:   {42, 48, "right eye"},
	OuterLips:  {48, 60, "outer lips"},
	InnerLips:  {60, 68, "inner lips"},
	Brows:      {17, 27, "brows"},
	Nose:       {27, 36, "nose"},
	Mouth:      {48, 68, "mouth"},
}

// Range returns the part's landmark indices: start ≤ i < end.
func (p Part) Range() (start, end int) {
	r := partRanges[p]
	return r.start, r.end
}

// Points returns the part's landmarks, in index order. The slice shares
// lm's storage.
func (p Part) Points(lm *[68]Point) []Point {
	r := partRanges[p]
	return lm[r.start:r.end]
}

// Centroid returns the mean of the part's landmarks (see Centroid): the
// centre of an eye or of the mouth.
func (p Part) Centroid(lm *[68]Point) Point { return Centroid(p.Points(lm)) }

func (p Part) String() string {
	if p < 0 || int(p) >= len(partRanges) {
		return "Part(" + strconv.Itoa(int(p)) + ")"
	}
	return partRanges[p].name
}
