// Package sessiontest provides test doubles and fixtures for the capture
// channel: a face analyzer that "finds" the faces a test registered for
// a frame's exact pixels, and the liveness simulator's subjects rendered
// from the sample photos. It is imported by tests only.
package sessiontest

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/liveness/flashsim"
)

// Model names the fake descriptors.
const Model = "sessiontest-v1"

// Calibration maps the fake descriptors' distances to confidences.
var Calibration = face.Calibration{Model: Model, Threshold: 0.6, Scale: 0.05}

type entry struct {
	faces []face.Face
	id    []float32
}

// Analyzer is a session.FaceAnalyzer whose Detect returns the faces
// registered for an image's pixels (none for an unknown image), and whose
// descriptors are the identity vectors registered with them.
type Analyzer struct {
	mu      sync.Mutex
	entries map[uint64]entry

	// DetectCalls and TrackCalls count the calls, to check how often the
	// session runs the expensive one.
	DetectCalls, TrackCalls atomic.Int64
}

// NewAnalyzer returns an empty Analyzer.
func NewAnalyzer() *Analyzer { return &Analyzer{entries: map[uint64]entry{}} }

func pixelHash(img *face.RGB) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:4], uint32(img.W))
	binary.LittleEndian.PutUint32(b[4:], uint32(img.H))
	h.Write(b[:])
	h.Write(img.Pix)
	return h.Sum64()
}

// Register makes img (by its pixels) hold faces of identity id.
func (a *Analyzer) Register(img *face.RGB, faces []face.Face, id []float32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries[pixelHash(img)] = entry{faces: faces, id: id}
}

func (a *Analyzer) lookup(img *face.RGB) (entry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[pixelHash(img)]
	return e, ok
}

// Detect implements session.FaceAnalyzer.
func (a *Analyzer) Detect(img *face.RGB) []face.Face {
	a.DetectCalls.Add(1)
	e, _ := a.lookup(img)
	return append([]face.Face(nil), e.faces...)
}

// Track implements session.FaceAnalyzer: the registered face's landmarks
// wherever box is (an unknown image yields all-zero landmarks, as a
// landmark network fed no face yields nonsense).
func (a *Analyzer) Track(img *face.RGB, box face.Rect) face.Face {
	a.TrackCalls.Add(1)
	e, ok := a.lookup(img)
	if !ok || len(e.faces) == 0 {
		return face.Face{Box: box}
	}
	f := e.faces[0]
	f.Quality = face.Quality{Size: math.Sqrt(box.W * box.H)}
	return f
}

// Embed implements session.FaceAnalyzer.
func (a *Analyzer) Embed(img *face.RGB, f face.Face) face.Descriptor {
	e, _ := a.lookup(img)
	return face.Descriptor{Model: Model, Vector: append([]float32(nil), e.id...)}
}

// Compare implements session.FaceAnalyzer.
func (a *Analyzer) Compare(x, y face.Descriptor) (face.Match, error) {
	if x.Model != y.Model || len(x.Vector) != len(y.Vector) {
		return face.Match{}, face.ErrModelMismatch
	}
	var s float64
	for i := range x.Vector {
		d := float64(x.Vector[i] - y.Vector[i])
		s += d * d
	}
	d := math.Sqrt(s)
	return face.Match{Distance: d, Confidence: Calibration.Confidence(d)}, nil
}

// Thresholds implements session.FaceAnalyzer.
func (a *Analyzer) Thresholds() map[string]float64 { return Calibration.Thresholds() }

// EncodeFrame JPEG-encodes img and registers faces and id for the pixels
// the JPEG decodes to, so that the session finds them after its own
// decoding. Each face's Quality.Size is set from its box, in img's pixels
// (the simulator's faces carry their source photo's).
func (a *Analyzer) EncodeFrame(tb testing.TB, img *face.RGB, faces []face.Face, id []float32) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img.RGBA(), &jpeg.Options{Quality: 92}); err != nil {
		tb.Fatal(err)
	}
	dec, _, err := imaging.Decode(b.Bytes(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	fs := make([]face.Face, len(faces))
	for i, f := range faces {
		f.Quality.Size = math.Sqrt(f.Box.W * f.Box.H)
		fs[i] = f
	}
	a.Register(face.FromImage(dec), fs, id)
	return b.Bytes()
}

// Identity returns a fake descriptor for person n: unit vectors of
// different people are √2 apart, far beyond Calibration's threshold.
func Identity(n int) []float32 {
	v := make([]float32, 8)
	v[n%8] = 1
	return v
}

var (
	subjectsOnce sync.Once
	subjects     []*flashsim.Subject
	subjectsErr  error
	skip         string
)

// Subjects returns simulator subjects of at least two people, made from
// the near-frontal faces of a sample photo, loading the face engine once per test
// binary; it skips the test when the models are not installed (make
// models).
func Subjects(tb testing.TB) []*flashsim.Subject {
	tb.Helper()
	subjectsOnce.Do(func() {
		models := ModelsDir()
		if models == "" {
			skip = "face models not installed (make models)"
			return
		}
		eng, err := face.Load(os.DirFS(models), face.Config{})
		if err != nil {
			subjectsErr = err
			return
		}
		// Sample 3 is a group photo with two near-frontal faces: a
		// subject who passes the framing check and a second person.
		data, err := os.ReadFile(face.SamplePhoto(models, 3))
		if err != nil {
			subjectsErr = err
			return
		}
		img, _, err := imaging.Decode(data, 4096)
		if err != nil {
			subjectsErr = err
			return
		}
		photo := face.FromImage(img)
		for _, f := range eng.Significant(eng.Detect(photo, nil)) {
			if math.Abs(f.Quality.Yaw) > 16 || math.Abs(f.Quality.Pitch) > 16 {
				continue
			}
			s, err := flashsim.NewSubject(photo, f)
			if err != nil {
				subjectsErr = err
				return
			}
			subjects = append(subjects, s)
		}
	})
	if skip != "" {
		tb.Skip(skip)
	}
	if subjectsErr != nil {
		tb.Fatal(subjectsErr)
	}
	if len(subjects) < 2 {
		tb.Fatalf("%d subjects in the sample photos, want 2", len(subjects))
	}
	return subjects
}

var bareSubject struct {
	once sync.Once
	s    *flashsim.Subject
	err  error
}

// UncoveredSubject is a simulator subject whose rendered frames
// face.MeasureOcclusion finds uncovered: the near-frontal face of sample
// photo 1. (Sample 3's faces, Subjects, scored as covered mouths under the
// first mouth classifier; the photos are no longer flagged, their rendered
// frames are unchecked.) It skips the test when the models are not
// installed.
func UncoveredSubject(tb testing.TB) *flashsim.Subject {
	tb.Helper()
	models := ModelsDir()
	if models == "" {
		tb.Skip("face models not installed (make models)")
	}
	bareSubject.once.Do(func() {
		eng, err := face.Load(os.DirFS(models), face.Config{})
		if err != nil {
			bareSubject.err = err
			return
		}
		data, err := os.ReadFile(face.SamplePhoto(models, 1))
		if err != nil {
			bareSubject.err = err
			return
		}
		img, _, err := imaging.Decode(data, 4096)
		if err != nil {
			bareSubject.err = err
			return
		}
		photo := face.FromImage(img)
		for _, f := range eng.Significant(eng.Detect(photo, nil)) {
			if math.Abs(f.Quality.Yaw) <= 16 && math.Abs(f.Quality.Pitch) <= 16 {
				bareSubject.s, bareSubject.err = flashsim.NewSubject(photo, f)
				return
			}
		}
		bareSubject.err = os.ErrNotExist
	})
	if bareSubject.err != nil {
		tb.Fatal(bareSubject.err)
	}
	return bareSubject.s
}

// PaintFace recolours the box [u0,u1]×[v0,v1] of f's eye frame by
// multiplying each channel by k, as a cover of another albedo would: the
// screen's light still reflects from it, so the flashes' response
// survives. u runs from the left eye's centre (-0.5) to the right's
// (0.5), v perpendicular to it, downwards, in units of the eye distance
// (the frame face.MeasureOcclusion measures in).
func PaintFace(img *face.RGB, f *face.Face, u0, u1, v0, v1 float64, k [3]float64) {
	l, r := face.LeftEye.Centroid(&f.Landmarks), face.RightEye.Centroid(&f.Landmarks)
	ex := face.Point{X: r.X - l.X, Y: r.Y - l.Y}
	ey := face.Point{X: -ex.Y, Y: ex.X}
	o := face.Point{X: (l.X + r.X) / 2, Y: (l.Y + r.Y) / 2}
	done := make(map[int]bool)
	n := int(4 * math.Hypot(ex.X, ex.Y) * max(u1-u0, v1-v0))
	for j := 0; j <= n; j++ {
		v := v0 + (v1-v0)*float64(j)/float64(n)
		for i := 0; i <= n; i++ {
			u := u0 + (u1-u0)*float64(i)/float64(n)
			x := int(o.X + u*ex.X + v*ey.X)
			y := int(o.Y + u*ex.Y + v*ey.Y)
			if x < 0 || y < 0 || x >= img.W || y >= img.H || done[y*img.W+x] {
				continue
			}
			done[y*img.W+x] = true
			p := img.Pix[3*(y*img.W+x):]
			for c := range 3 {
				p[c] = uint8(min(255, float64(p[c])*k[c]))
			}
		}
	}
}

// Mask covers the face from below the nose bridge to past the chin in
// light blue (a surgical mask); Glasses cover both eyes in near black,
// stopping above the cheeks (which MeasureOcclusion takes for the
// reference skin: darkened, they make the mouth look covered too).
func Mask(img *face.RGB, f *face.Face) {
	PaintFace(img, f, -0.9, 0.9, 0.4, 1.9, [3]float64{0.8, 1.4, 1.9})
}

func Glasses(img *face.RGB, f *face.Face) {
	PaintFace(img, f, -0.85, 0.85, -0.22, 0.14, [3]float64{0.12, 0.12, 0.14})
}

// ModelsDir returns the repository's models folder, or "" if the face
// models are not installed.
func ModelsDir() string {
	root, err := repoRoot()
	if err != nil {
		return ""
	}
	models := filepath.Join(root, "models")
	// `make models` fetches the sample photos with the networks.
	if _, err := os.Stat(face.SamplePhoto(models, 1)); err != nil {
		return ""
	}
	return models
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
