package session

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store"
)

var real struct {
	once sync.Once
	an   *EngineAnalyzer
	as   *face.AntiSpoof
	err  error
}

// realEngine loads the face engine and the anti-spoof model once, or
// skips the test when they are not installed or -short is set.
func realEngine(t *testing.T) (*EngineAnalyzer, *face.AntiSpoof) {
	t.Helper()
	models := sessiontest.ModelsDir()
	if models == "" {
		t.Skip("face models not installed (make models)")
	}
	if testing.Short() {
		t.Skip("the real engine takes seconds per sequence")
	}
	real.once.Do(func() {
		m, err := face.LoadModels(models, face.Options{})
		if err != nil {
			real.err = err
			return
		}
		if m.AntiSpoof == nil {
			real.err = errors.New("the passive anti-spoof model is missing (make models)")
			return
		}
		real.an, real.as = NewEngineAnalyzer(m.Engine), m.AntiSpoof
	})
	if real.err != nil {
		t.Fatal(real.err)
	}
	return real.an, real.as
}

// TestRealEngine runs a genuine verification through the real detector,
// landmark tracker, anti-spoof model and embedder, on the simulator's
// frames enlarged to 288 px (the detector misses faces at 144).
func TestRealEngine(t *testing.T) {
	an, as := realEngine(t)
	h := newHarness(t, func(c *Config) { c.Analyzer, c.Passive = an, as })
	h.scale = 2
	s := h.render(flashsim.Genuine, h.nextChallenge(6), 31)

	// The reference: the subject's face in a pre-flash frame.
	img, err := decodeFrame(s.jpegs[s.baseline[0]], 1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	faces := an.Detect(img)
	if len(faces) != 1 {
		t.Fatalf("%d faces in a rendered frame", len(faces))
	}
	d := an.Embed(img, faces[0])
	tok := h.tokenWithRef(3, store.Reference{Index: 1, Model: d.Model, Embedding: d.Vector, Crop: []byte{1}})

	c := h.connect("")
	c.hello(tok)
	if !c.toGate(s, 10*time.Second) {
		t.Fatalf("the gate did not pass; messages %v", c.all())
	}
	pr := c.play(s, 0)
	if pr.result == nil || !pr.result.Success {
		t.Fatalf("result %+v", pr.result)
	}
	r := h.result(tok)
	if r.Status != store.StatusOK || r.Verify == nil || r.Verify.Refs[0].Confidence < 90 {
		t.Fatalf("stored %+v, verify %+v", r, r.Verify)
	}
	g := r.Liveness.FaceGenuineness
	if g == nil || g.SyntheticFaceConfidence <= 0 || g.SyntheticFaceConfidence >= g.SyntheticFaceThreshold || g.FaceReplaced != 0 {
		t.Fatalf("face_genuineness %+v", g)
	}
	if th := r.Verify.Refs[0].Thresholds; len(th) != 4 || th["1e-6"] <= th["1e-3"] {
		t.Fatalf("thresholds %v", th)
	}
}
