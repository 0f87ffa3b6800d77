package face

import (
	"math"
	"time"
)

// MaxUprightRoll is the largest head roll, in degrees either way, of a face
// that stands upright. Every face has exactly one quarter turn of its photo
// that brings its roll within ±45°, so 45° is the largest bound under which
// "upright" names a single orientation; a smaller one would refuse faces
// that no turn can help. The genuine rolls of the 22 faces of the sample
// photos (models/face-api/sample1–6.jpg, measured by TestUprightSamples)
// reach 42.9°, a head resting on a shoulder, so a bound below that would
// refuse real photos taken as they were held.
const MaxUprightRoll = 45

// mirrorSlack is how much less mirror-consistent than in its best quarter
// turn a face may be as it lies and still count as upright (see
// UprightTurn). On the sample photos turned by every quarter
// (TestUprightSamples), a face lying turned was at least 2.0 times less
// consistent as it lay than turned upright, but for the face that leans
// 42.9°: turned a quarter back it leans −47°, as consistent either way,
// and the roll bound decides. A face upright was the most consistent as
// it lay, or within 1.1 of a neighbouring quarter when leaning about 45°
// (both then count as upright), or within 1.3 for the one face hidden by
// hair and looking down.
const mirrorSlack = 1.6

// orientSide bounds the longer side of the face crop UprightTurn examines:
// twice the landmark network's input is detail enough, and turning and
// mirroring a crop of a large photo then costs little.
const orientSide = 2 * landmarksSize

// UprightTurn tells how face f of img stands: it returns the clockwise
// quarter turn of img (0, 90, 180 or 270 degrees) after which the face is
// upright, and the face's roll then, in degrees. A face counts as upright
// as it lies (turn 0) when its roll is within ±MaxUprightRoll and its
// landmarks are about as trustworthy as in any other orientation.
//
// The roll alone cannot tell a face turned on its side or upside down: the
// landmark network, trained on upright faces, answers such a face with
// landmarks of an upright face that are not there, whose roll is small. So
// the face is looked at in the four orientations, and in each the
// landmarks are compared with those of the mirror image, mirrored back. A
// face in an orientation the network knows is left-right symmetric to it,
// and the two sets agree; in another orientation the network guesses, and
// its two guesses disagree. The orientation with the best agreement is the
// one whose landmarks are believed, and its roll decides the quarter turn:
// a face tilted by more than 45° there is turned one quarter further.
//
// It costs eight runs of the landmark network on a small crop: get_token
// of a 2-megapixel photo went from 134 to 174 ms (median,
// BenchmarkGetTokenRealEngine on two cores).
func (e *Engine) UprightTurn(img *RGB, f Face, tm *Timings) (turn int, roll float64) {
	t0 := time.Now()
	defer func() {
		if tm != nil {
			tm.Landmarks += time.Since(t0)
		}
	}()
	asym, rolls, ok := e.orientations(img, f.Box)
	if !ok {
		return 0, f.Quality.Roll
	}
	best := 0
	for k := range asym {
		if asym[k] < asym[best] {
			best = k
		}
	}
	if math.Abs(f.Quality.Roll) <= MaxUprightRoll && asym[0] <= mirrorSlack*asym[best] {
		return 0, f.Quality.Roll
	}
	// The face leans rolls[best] degrees clockwise in the orientation
	// whose landmarks are believed: turn back the nearest whole quarters.
	q := int(math.Round(rolls[best] / 90))
	turn = ((90*(best-q))%360 + 360) % 360
	return turn, rolls[best] - 90*float64(q)
}

// orientations returns, for the face in box of img turned clockwise by 0,
// 90, 180 and 270 degrees, the landmarks' disagreement with those of the
// mirror image (mirrorDisagreement) and their roll; false when the box
// holds too few pixels.
func (e *Engine) orientations(img *RGB, box Rect) (asym, rolls [4]float64, ok bool) {
	crop := img.Crop(box)
	if crop.W < 2 || crop.H < 2 {
		return asym, rolls, false
	}
	crop, _ = crop.Downscale(orientSide)
	for k := range asym {
		im := crop.Rotate(90 * k)
		whole := Rect{0, 0, float64(im.W), float64(im.H)}
		lm := e.marks.PredictCrop(im, whole, Point{})
		mirrored := e.marks.PredictCrop(im.Mirror(), whole, Point{})
		asym[k] = mirrorDisagreement(&lm, &mirrored, whole.W, math.Sqrt(whole.W*whole.H))
		rolls[k] = landmarkRoll(&lm)
	}
	return asym, rolls, true
}

// DetectUpright finds the faces of a reference photo, upright. Without
// search, the photo is taken as it lies: its faces are Detect's, but none
// at all when the largest one does not stand upright (UprightTurn), since
// a detector that tolerates a turned face would otherwise have it embedded
// on its side, where it matches nobody. With search, the photo is searched
// in its four orientations (DetectOriented) and then turned until its
// largest face stands upright; the faces, the clockwise turn applied and
// the turned image are returned. Either way a face is returned only with
// its roll within ±MaxUprightRoll.
func (e *Engine) DetectUpright(img *RGB, search bool, tm *Timings) (faces []Face, rotation int, upright *RGB) {
	rotation, upright = 0, img
	if search {
		faces, rotation, upright = e.DetectOriented(img, tm)
	} else {
		faces = e.Detect(img, tm)
	}
	if len(faces) == 0 {
		return nil, 0, img
	}
	turn, _ := e.UprightTurn(upright, faces[0], tm)
	switch {
	case turn == 0:
	case !search:
		return nil, 0, img
	default:
		upright = upright.Rotate(turn)
		rotation = (rotation + turn) % 360
		faces = e.Detect(upright, tm)
	}
	if len(faces) == 0 || math.Abs(faces[0].Quality.Roll) > MaxUprightRoll {
		return nil, 0, img
	}
	return faces, rotation, upright
}

// mirrorDisagreement is the mean distance, in units of side, between the
// inner landmarks (brows, eyes, nose, mouth) lm of an image w pixels wide
// and the landmarks mirrored found in its mirror image, mirrored back.
// The jaw line is left out: the network places it loosely even on upright
// faces.
func mirrorDisagreement(lm, mirrored *[68]Point, w, side float64) float64 {
	var d float64
	_, inner := Jaw.Range()
	for i := inner; i < len(lm); i++ {
		q := mirrored[mirrorIndex[i]]
		d += math.Hypot(w-q.X-lm[i].X, q.Y-lm[i].Y)
	}
	return d / float64(len(lm)-inner) / side
}

// mirrorIndex maps each of the 68 iBUG landmarks to its counterpart on the
// other side of the face: the image of point i in a mirrored face is point
// mirrorIndex[i] of the mirrored face's landmarks.
var mirrorIndex = func() (m [68]int) {
	pair := func(a, b int) { m[a], m[b] = b, a }
	for i := 0; i <= 8; i++ {
		pair(i, 16-i) // jaw
	}
	for i := 17; i <= 21; i++ {
		pair(i, 43-i) // brows 17–21 and 26–22
	}
	for i := 27; i <= 30; i++ {
		m[i] = i // nose bridge
	}
	for i := 31; i <= 33; i++ {
		pair(i, 66-i) // nostrils 31–35
	}
	pair(36, 45) // eyes: corners, then upper and lower lids
	pair(37, 44)
	pair(38, 43)
	pair(39, 42)
	pair(40, 47)
	pair(41, 46)
	for i := 48; i <= 51; i++ {
		pair(i, 102-i) // outer lip, upper 48–54
	}
	for i := 55; i <= 57; i++ {
		pair(i, 114-i) // outer lip, lower 55–59
	}
	for i := 60; i <= 62; i++ {
		pair(i, 124-i) // inner lip, upper 60–64
	}
	for i := 65; i <= 66; i++ {
		pair(i, 132-i) // inner lip, lower 65–67
	}
	return m
}()
