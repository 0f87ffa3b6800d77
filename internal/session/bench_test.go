package session

import (
	"bytes"
	"context"
	"image/jpeg"
	"math"
	"os"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store"
)

// BenchmarkAttempt measures what one attempt costs the server with the
// real engine on camera-sized frames: 640×480 JPEGs (quality 85) with a
// face about 230 px wide, 20 fps over a 6-colour sequence plus the
// pre-flash baseline (about 75 frames), processed as the channel does
// (sparse detection, landmarks in between), then evaluated (passive
// score, reflection analysis, embedding and comparison). Run with
// -cpu 1 for the one-core figure:
//
//	go test ./internal/session -run '^$' -bench Attempt -cpu 1 -benchtime 3x
//
// GLINT_BENCH_DETECT_EVERY (a duration) overrides Params.DetectEvery, to
// see what detection costs against decoding and landmarks.
func BenchmarkAttempt(b *testing.B) {
	models := sessiontest.ModelsDir()
	if models == "" {
		b.Skip("face models not installed (make models)")
	}
	loaded, err := face.LoadModels(models, face.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if loaded.AntiSpoof == nil {
		b.Fatal("the passive anti-spoof model is missing (make models)")
	}
	eng, as := loaded.Engine, loaded.AntiSpoof
	an := NewEngineAnalyzer(eng)
	data, err := os.ReadFile(face.SamplePhoto(models, 3))
	if err != nil {
		b.Fatal(err)
	}
	img, _, err := imaging.Decode(data, 4096)
	if err != nil {
		b.Fatal(err)
	}
	photo := face.FromImage(img)
	faces := eng.Significant(eng.Detect(photo, nil))
	var f0 face.Face
	for _, f := range faces {
		if math.Abs(f.Quality.Yaw) < 16 && math.Abs(f.Quality.Pitch) < 16 {
			f0 = f
			break
		}
	}
	// Camera frames: a 640×480 window around the face, moving a little.
	const n = 75
	cx, cy := f0.Box.X+f0.Box.W/2, f0.Box.Y+f0.Box.H/2
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	frames := make([]*Frame, n)
	for i := range frames {
		dx := 6 * math.Sin(float64(i)/7)
		win := photo.Crop(face.Rect{X: math.Round(cx - 320 + dx), Y: math.Round(cy - 240), W: 640, H: 480})
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, win.RGBA(), &jpeg.Options{Quality: 85}); err != nil {
			b.Fatal(err)
		}
		kind, at := KindPreview, start.Add(time.Duration(i)*50*time.Millisecond)
		if i >= 12 {
			kind = KindFlash
		}
		frames[i] = &Frame{Kind: kind, CaptureMs: ms(at), JPEG: buf.Bytes(), Arrival: at}
	}
	ch := liveness.NewChallenge(nil, 6)
	ch.Start = start.Add(600 * time.Millisecond)
	shown := ch.Schedule(ch.Start)
	m, err := NewManager(Config{Store: nopStore{}, Analyzer: an, Passive: as})
	if err != nil {
		b.Fatal(err)
	}
	v := &store.Verification{Refs: []store.Reference{{Index: 1, Model: eng.Calibration().Model, Embedding: make([]float32, 128)}}}

	if d := os.Getenv("GLINT_BENCH_DETECT_EVERY"); d != "" {
		m.cfg.Params.DetectEvery, _ = time.ParseDuration(d)
	}
	var track, eval time.Duration
	var detections int64
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		tr := newTracker(an, &m.cfg.Params)
		for _, f := range frames {
			tr.add(f)
		}
		t1 := time.Now()
		if _, err := m.evaluate(context.Background(), evalInput{v: v, ch: ch, shown: shown, tr: tr, mapT: clientTime}); err != nil {
			b.Fatal(err)
		}
		// The comparison runs on a pass only; time it either way.
		best, _ := tr.best(0)
		d := an.Embed(best.img, best.f)
		an.Compare(d, face.Descriptor{Model: d.Model, Vector: v.Refs[0].Embedding})
		track += t1.Sub(t0)
		eval += time.Since(t1)
		detections += int64(tr.detections)
	}
	b.ReportMetric(float64(track.Milliseconds())/float64(b.N), "track-ms/attempt")
	b.ReportMetric(float64(eval.Milliseconds())/float64(b.N), "eval-ms/attempt")
	b.ReportMetric(float64(detections)/float64(b.N), "detections/attempt")
}

// nopStore satisfies Store for code paths that do not touch it.
type nopStore struct{ Store }
