package session

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/liveness"
)

// Errors of frame decoding.
var (
	// ErrFrameFormat means a frame is not a JPEG the server decodes.
	ErrFrameFormat = errors.New("session: frame is not a decodable JPEG")
	// ErrFrameSize means a frame is larger than the server accepts.
	ErrFrameSize = errors.New("session: frame too large")
)

// decodeFrame decodes a client frame: JPEG only, at most maxBytes long and
// maxSide pixels on either side (checked from the header before any pixel
// is decoded).
func decodeFrame(data []byte, maxBytes, maxSide int) (*face.RGB, error) {
	if len(data) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrFrameSize, len(data))
	}
	h, err := imaging.Sniff(data)
	if err != nil || h.Format != imaging.JPEG {
		return nil, ErrFrameFormat
	}
	img, _, err := imaging.Decode(data, maxSide)
	if errors.Is(err, imaging.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrFrameSize, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFrameFormat, err)
	}
	return face.FromImage(img), nil
}

// captured is one processed frame of an attempt, ready to become a
// liveness.Frame once the client clock is mapped.
type captured struct {
	captureMs  float64
	arrival    time.Time
	colorIndex int
	// win is the analysis window around the face (see AnalysisWindow),
	// its Img nil when the frame has no usable face.
	win liveness.Frame
	// faces is the number of significant faces, from this frame's
	// detection or the last one before it.
	faces int
}

// candidate is a detected frame that may become the best image.
type candidate struct {
	captureMs float64
	// baseline is set for frames captured before any colour was painted:
	// their colours are the room's, which is what the references and the
	// passive model expect.
	baseline bool
	score    float64
	jpeg     []byte
	// img and f are kept for the best candidate only (full resolution).
	img *face.RGB
	f   face.Face
}

// better ranks candidates: baseline frames first, then by score.
func (c *candidate) better(o *candidate) bool {
	if c.baseline != o.baseline {
		return c.baseline
	}
	return c.score > o.score
}

// candidateScore rates a face for comparison as liveness.Analyze rates its
// best frame: sharp, large, frontal.
func candidateScore(q face.Quality) float64 {
	return q.Sharpness * math.Min(q.Size, 200) * math.Cos(q.Yaw*math.Pi/180) * math.Cos(q.Pitch*math.Pi/180)
}

// tracker processes the frames of one attempt in arrival order. Full
// detection (about 100 ms a frame on one core) runs on a frame every
// DetectEvery of capture time, and whenever the face was lost; the frames
// between get landmarks only (a few ms), from the last detection's box
// moved with the landmarks. Each processed frame keeps only the window
// the analysis reads, shrunk to a fixed face scale, so an attempt's
// frames take a few megabytes whatever the camera resolution.
type tracker struct {
	an     FaceAnalyzer
	detect time.Duration
	retry  time.Duration
	limits frameLimits

	haveBox    bool
	box        face.Rect
	boxW, boxH int        // size of the frame box was found in
	detCentre  face.Point // landmark centre at the last detection
	lastCentre face.Point // landmark centre of the last frame
	lastDetMs  float64
	detected   bool // any detection ran
	detections int
	faces      int

	frames        []captured
	candidates    []*candidate
	bestIdx       int
	maxFrames     int
	maxDetections int
	dropped       int
}

// frameLimits bound what a frame may cost to decode.
type frameLimits struct {
	maxBytes, maxSide int
}

func newTracker(an FaceAnalyzer, p *Params) *tracker {
	return &tracker{
		an:            an,
		detect:        p.DetectEvery,
		retry:         p.DetectEvery / 2,
		limits:        frameLimits{p.MaxFrameBytes, p.MaxFrameSide},
		maxFrames:     p.MaxAttemptFrames,
		maxDetections: max(8, p.MaxAttemptFrames/4),
		bestIdx:       -1,
	}
}

// trackResult is what processing one frame tells the session.
type trackResult struct {
	// detected says a full detection ran; faces is what it found.
	detected bool
	faces    int
	err      error
}

// add processes one frame.
func (t *tracker) add(f *Frame) trackResult {
	if len(t.frames) >= t.maxFrames {
		t.dropped++
		return trackResult{err: errors.New("too many frames in one attempt")}
	}
	img, err := decodeFrame(f.JPEG, t.limits.maxBytes, t.limits.maxSide)
	if err != nil {
		t.dropped++
		return trackResult{err: err}
	}
	c := captured{captureMs: f.CaptureMs, arrival: f.Arrival, colorIndex: f.ColorIndex}
	c.win.Source = pictureDigest(f.JPEG)
	since := time.Duration((f.CaptureMs - t.lastDetMs) * float64(time.Millisecond))
	// Detect on the first frame, then every DetectEvery of capture time
	// (every half of it while the face is lost), never for a frame
	// stamped before the last detection, and at most maxDetections times:
	// the client chooses the timestamps, not how much CPU it gets.
	need := !t.detected
	if t.detected && since >= 0 && t.detections < t.maxDetections {
		need = (t.haveBox && since >= t.detect) || (!t.haveBox && since >= t.retry)
	}
	if t.haveBox && (img.W != t.boxW || img.H != t.boxH) {
		// The client changed its capture size (the last preview frames of
		// the mirror stage arrive after the flash-size ones start): a box
		// from the other size would track the wrong pixels.
		if t.detections < t.maxDetections {
			need = true
		} else {
			t.rescale(img.W, img.H)
		}
	}
	var res trackResult
	var fc face.Face
	switch {
	case need:
		faces := t.an.Detect(img)
		t.detected, t.lastDetMs = true, f.CaptureMs
		t.detections++
		t.faces = len(faces)
		res = trackResult{detected: true, faces: len(faces)}
		if len(faces) == 0 {
			t.haveBox = false
			break
		}
		fc = faces[0]
		t.haveBox, t.box = true, fc.Box
		t.boxW, t.boxH = img.W, img.H
		t.detCentre = face.Centroid(fc.Landmarks[:])
		t.lastCentre = t.detCentre
		t.consider(f, img, fc)
	case t.haveBox:
		// Follow the face: the detection box moved by how far the
		// landmarks have moved since.
		b := t.box
		b.X += t.lastCentre.X - t.detCentre.X
		b.Y += t.lastCentre.Y - t.detCentre.Y
		fc = t.an.Track(img, b)
		t.lastCentre = face.Centroid(fc.Landmarks[:])
	}
	c.faces = t.faces
	if t.haveBox {
		if w, ok := AnalysisWindow(img, fc); ok {
			w.Source = c.win.Source
			c.win = w
		}
	}
	t.frames = append(t.frames, c)
	return res
}

// rescale moves the tracked box and landmark centres to a frame of w×h
// pixels, assuming the same view at another resolution.
func (t *tracker) rescale(w, h int) {
	sx, sy := float64(w)/float64(t.boxW), float64(h)/float64(t.boxH)
	t.box = face.Rect{X: t.box.X * sx, Y: t.box.Y * sy, W: t.box.W * sx, H: t.box.H * sy}
	t.detCentre = face.Point{X: t.detCentre.X * sx, Y: t.detCentre.Y * sy}
	t.lastCentre = face.Point{X: t.lastCentre.X * sx, Y: t.lastCentre.Y * sy}
	t.boxW, t.boxH = w, h
}

// consider offers a detected frame as a best-image candidate.
func (t *tracker) consider(f *Frame, img *face.RGB, fc face.Face) {
	if fc.Quality.Sharpness == 0 && fc.Quality.Size == 0 {
		return
	}
	c := &candidate{
		captureMs: f.CaptureMs,
		baseline:  f.ColorIndex == 0,
		score:     candidateScore(fc.Quality),
		jpeg:      f.JPEG,
	}
	t.candidates = append(t.candidates, c)
	if t.bestIdx < 0 || c.better(t.candidates[t.bestIdx]) {
		if t.bestIdx >= 0 {
			prev := t.candidates[t.bestIdx]
			prev.img = nil
		}
		c.img, c.f = img, fc
		t.bestIdx = len(t.candidates) - 1
	}
}

// best returns the best candidate and a second one captured at least
// apart from it (image_best_2 shows another moment), either nil if none.
func (t *tracker) best(apart time.Duration) (best, second *candidate) {
	if t.bestIdx < 0 {
		return nil, nil
	}
	best = t.candidates[t.bestIdx]
	for _, c := range t.candidates {
		if c == best || math.Abs(c.captureMs-best.captureMs) < float64(apart)/float64(time.Millisecond) {
			continue
		}
		if second == nil || c.better(second) {
			second = c
		}
	}
	return best, second
}

// Geometry of the analysis window, in inter-ocular distances (IOD):
// liveness.Analyze reads the skin inside the face and a background ring
// reaching 2.7 IOD (3.1 vertically) from a centre half an IOD below the
// eyes, so a square of half-side windowHalf around that centre holds
// everything it reads. windowIOD is the eye distance the window is shrunk
// to: more than the simulator's 24 px, where the analysis is tuned, and
// region means of a few hundred samples are as steady at that scale as at
// full resolution. A window is then about 210 px square, 130 KB.
const (
	windowHalf = 3.3
	windowIOD  = 32.0
)

// AnalysisWindow cuts the window the liveness analysis reads out of img
// and shrinks it by area averaging (which keeps region means exact) so
// that the eyes are about windowIOD apart. It returns a frame holding the
// window, the face in its pixels and where the window lies in img
// (Origin, Scale), or false when the landmarks are degenerate.
func AnalysisWindow(img *face.RGB, f face.Face) (liveness.Frame, bool) {
	l, r := face.LeftEye.Centroid(&f.Landmarks), face.RightEye.Centroid(&f.Landmarks)
	dx, dy := r.X-l.X, r.Y-l.Y
	iod := math.Hypot(dx, dy)
	if !(iod > 2) {
		return liveness.Frame{}, false
	}
	// The centre: half an IOD below the eye midpoint, along the face's
	// own vertical.
	cx := (l.X+r.X)/2 - 0.5*dy
	cy := (l.Y+r.Y)/2 + 0.5*dx
	half := windowHalf * iod
	x0 := math.Max(0, math.Floor(cx-half))
	y0 := math.Max(0, math.Floor(cy-half))
	x1 := math.Min(float64(img.W), math.Ceil(cx+half))
	y1 := math.Min(float64(img.H), math.Ceil(cy+half))
	if x1-x0 < 8 || y1-y0 < 8 {
		return liveness.Frame{}, false
	}
	win := img.Crop(face.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0})
	sx, sy := 1.0, 1.0
	if iod > windowIOD*1.25 {
		long := max(win.W, win.H)
		small, _ := win.Downscale(int(math.Ceil(float64(long) * windowIOD / iod)))
		sx, sy = float64(small.W)/float64(win.W), float64(small.H)/float64(win.H)
		win = small
	}
	out := f
	for i, p := range f.Landmarks {
		out.Landmarks[i] = face.Point{X: (p.X - x0) * sx, Y: (p.Y - y0) * sy}
	}
	out.Box = face.Rect{X: (f.Box.X - x0) * sx, Y: (f.Box.Y - y0) * sy, W: f.Box.W * sx, H: f.Box.H * sy}
	return liveness.Frame{Img: win, Face: &out, Origin: face.Point{X: x0, Y: y0}, Scale: (sx + sy) / 2}, true
}

// pictureDigest identifies a camera picture by its bytes: an encoder
// given the same picture twice writes the same bytes, and the analysis
// flags a picture that recurs (liveness.SignalRepeatedFrames).
func pictureDigest(jpeg []byte) uint64 {
	h := fnv.New64a()
	h.Write(jpeg)
	return max(h.Sum64(), 1)
}
