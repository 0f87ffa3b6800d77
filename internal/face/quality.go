package face

import "math"

// Quality holds the measures the capture stage checks before it trusts a
// frame.
type Quality struct {
	// Size is the face box's geometric mean side, in pixels.
	Size float64 `json:"size"`
	// Yaw, Pitch and Roll are head angles in degrees estimated from the
	// landmarks: yaw positive when the face turns to the image's right,
	// pitch positive when it looks up, roll positive when it tilts
	// clockwise. Landmark geometry gives a rough estimate (±10°), enough
	// to tell a frontal face from a turned one.
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
	// Brightness is the mean luma (0–255) inside the face box.
	Brightness float64 `json:"brightness"`
	// Sharpness is the variance of the Laplacian of the face's luma after
	// scaling the face to 64 px: low values mean blur. Frames from a sharp
	// camera score in the hundreds; a defocused face below about 20.
	Sharpness float64 `json:"sharpness"`
}

// Frontal-face proportions, used as the zero points of the pose estimates:
// where the nose tip sits between the eyes and the mouth, measured on
// frontal faces of the landmark model's output.
const (
	frontalNoseRatio = 0.55
	pitchGain        = 150 // degrees per unit of nose-ratio change
)

func measureQuality(img *RGB, f Face) Quality {
	lm := &f.Landmarks
	q := Quality{Size: math.Sqrt(f.Box.W * f.Box.H)}
	leftEye, rightEye := LeftEye.Centroid(lm), RightEye.Centroid(lm)
	mouth := Mouth.Centroid(lm)
	nose := lm[30]
	q.Roll = landmarkRoll(lm)

	// Yaw: where the nose tip falls between the jaw's outer points, in a
	// frame rotated to undo roll.
	c, s := math.Cos(-q.Roll*math.Pi/180), math.Sin(-q.Roll*math.Pi/180)
	rx := func(p Point) float64 { return p.X*c - p.Y*s }
	ry := func(p Point) float64 { return p.X*s + p.Y*c }
	l, r := rx(lm[0]), rx(lm[16])
	if r-l > 1e-6 {
		t := (rx(nose)-l)/(r-l)*2 - 1
		q.Yaw = math.Asin(math.Max(-1, math.Min(1, t))) * 180 / math.Pi
	}
	eyeY := (ry(leftEye) + ry(rightEye)) / 2
	if d := ry(mouth) - eyeY; d > 1e-6 {
		q.Pitch = (frontalNoseRatio - (ry(nose)-eyeY)/d) * pitchGain
	}
	q.Brightness, q.Sharpness = lumaStats(img, f.Box)
	return q
}

// landmarkRoll is the roll of the line through the eyes' centres, in
// degrees, positive when it tilts clockwise (see Quality.Roll).
func landmarkRoll(lm *[68]Point) float64 {
	l, r := LeftEye.Centroid(lm), RightEye.Centroid(lm)
	return math.Atan2(r.Y-l.Y, r.X-l.X) * 180 / math.Pi
}

// lumaStats returns the mean luma of box and the variance of the Laplacian
// of the box scaled to 64×64 (nearest neighbour: resampling with a filter
// would itself blur).
func lumaStats(img *RGB, box Rect) (mean, lapVar float64) {
	g := clipFloor(box, img.W, img.H)
	if g.w < 3 || g.h < 3 {
		return 0, 0
	}
	const n = 64
	var lum [n][n]float64
	var sum float64
	for y := 0; y < n; y++ {
		sy := g.y + y*g.h/n
		for x := 0; x < n; x++ {
			sx := g.x + x*g.w/n
			p := img.Pix[3*(sy*img.W+sx):]
			v := 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
			lum[y][x] = v
			sum += v
		}
	}
	mean = sum / (n * n)
	var s, s2 float64
	for y := 1; y < n-1; y++ {
		for x := 1; x < n-1; x++ {
			l := lum[y-1][x] + lum[y+1][x] + lum[y][x-1] + lum[y][x+1] - 4*lum[y][x]
			s += l
			s2 += l * l
		}
	}
	m := float64((n - 2) * (n - 2))
	return mean, s2/m - (s/m)*(s/m)
}
