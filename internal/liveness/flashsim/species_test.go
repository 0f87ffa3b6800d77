package flashsim

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
)

var (
	engineOnce sync.Once
	engineAll  *face.Engine
	engineErr  error
)

// testEngine loads the face engine once per test binary, skipping like
// testSubjects when the models are not installed.
func testEngine(tb testing.TB) *face.Engine {
	tb.Helper()
	testSubjects(tb) // skips without models
	engineOnce.Do(func() {
		engineAll, engineErr = face.Load(os.DirFS(filepath.Join(repoRoot(tb), "models")), face.Config{})
	})
	if engineErr != nil {
		tb.Fatal(engineErr)
	}
	return engineAll
}

// The species table names every species once, genuine first and then in
// AttackSpecies' order, and says for each attack either which checks
// catch it or which defence applies instead.
func TestSpeciesTable(t *testing.T) {
	t.Parallel()
	var names []string
	for _, s := range Species {
		names = append(names, s.Name)
		switch {
		case s.Name == Genuine:
			if s.Attack || s.Caught {
				t.Errorf("genuine marked as an attack: %+v", s)
			}
		case s.Caught && (len(s.Checks) == 0 || s.Defence != ""):
			t.Errorf("%s: caught needs checks and no other defence: %+v", s.Name, s)
		case !s.Caught && s.Defence == "":
			t.Errorf("%s: not caught needs a defence: %+v", s.Name, s)
		}
		if _, ok := SpeciesInfoOf(s.Name); !ok {
			t.Errorf("%s not found", s.Name)
		}
	}
	if want := append([]string{Genuine}, AttackSpecies...); !slices.Equal(names, want) {
		t.Fatalf("species %v, want %v", names, want)
	}
}

// Each new attack species renders and is rejected by a check its table
// entry claims; the ones the analysis cannot catch pass it.
func TestNewSpeciesVerdicts(t *testing.T) {
	t.Parallel()
	for _, sp := range []string{GlossyPrint, CurvedPrint, FoldedPrint, ScreenMoire, RenderStatic, Mask, InjectedRender} {
		info, _ := SpeciesInfoOf(sp)
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(sp, func(t *testing.T) {
				t.Parallel()
				seq := renderSeq(t, sp, seed)
				if len(seq.Frames) == 0 {
					t.Fatal("no frames")
				}
				v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{})
				if !info.Caught {
					if !v.Pass {
						t.Fatalf("seed %d: rejected (%s), expected to pass the analysis: %+v", seed, v.Reason, v.Checks)
					}
					return
				}
				if v.Pass {
					t.Fatalf("seed %d: accepted: %+v", seed, v.Checks)
				}
				caught := false
				for _, name := range info.Checks {
					c := checkOf(t, v, name)
					caught = caught || !c.Pass
				}
				if !caught {
					t.Errorf("seed %d: none of %v failed (rejected by %s): %+v", seed, info.Checks, v.Reason, v.Checks)
				}
			})
		}
	}
}

// Every rendered frame carries the digest of its pixels; only the naive
// renderer repeats a picture.
func TestRenderSource(t *testing.T) {
	t.Parallel()
	for _, sp := range []string{Genuine, RenderStatic, ScreenMoire, GlossyPrint} {
		t.Run(sp, func(t *testing.T) {
			t.Parallel()
			seq := renderSeq(t, sp, 21)
			seen := map[uint64]int{}
			for i, f := range seq.Frames {
				if f.Source == 0 || f.Source != pictureDigest(f.Img.Pix) {
					t.Fatalf("frame %d: source %x, pixels %x", i, f.Source, pictureDigest(f.Img.Pix))
				}
				if f.Scale != 0 || f.Origin != (face.Point{}) {
					t.Fatalf("frame %d: placed at %+v ×%v, want the whole picture", i, f.Origin, f.Scale)
				}
				seen[f.Source]++
			}
			repeats := len(seq.Frames) - len(seen)
			if sp == RenderStatic {
				// Three pictures per light, each light held for many frames.
				if len(seen) > 3*(len(seq.Challenge.Colors)+2) || repeats == 0 {
					t.Fatalf("%d frames, %d distinct pictures", len(seq.Frames), len(seen))
				}
			} else if repeats != 0 {
				t.Fatalf("%d repeated pictures", repeats)
			}
		})
	}
}

// A mask has a live face's physics, so it passes the reflection
// analysis, but it is another person: its best frame does not match the
// victim's reference at the FAR 1e-3 threshold, while a genuine
// sequence's does.
func TestMaskComparison(t *testing.T) {
	t.Parallel()
	eng := testEngine(t)
	th := eng.Calibration().Thresholds()[compareFAR]
	subs := testSubjects(t)
	for _, tc := range []struct {
		species string
		match   bool
	}{{Genuine, true}, {Mask, false}} {
		for _, seed := range []uint64{2, 5} {
			seq := renderSeq(t, tc.species, seed)
			v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{})
			if !v.Pass || v.Best < 0 {
				t.Fatalf("%s seed %d: liveness rejected (%s)", tc.species, seed, v.Reason)
			}
			victim := subs[int(seed)%len(subs)]
			img, f := victim.Reference()
			ref := eng.Embed(img, f, nil)
			best := seq.Frames[v.Best]
			m, err := eng.Compare(eng.Embed(best.Img, *best.Face, nil), ref)
			if err != nil {
				t.Fatal(err)
			}
			if (m.Confidence >= th) != tc.match {
				t.Errorf("%s seed %d: confidence %.1f against the victim, threshold %.1f", tc.species, seed, m.Confidence, th)
			}
		}
	}
}

// Frame by frame, LiveCamera renders the same physics as Render: a
// genuine verification whose frames it takes as the colours come passes
// the analysis; a static camera never moves; a camera with noise
// variants repeats its pictures.
func TestLiveCamera(t *testing.T) {
	t.Parallel()
	subs := testSubjects(t)
	for _, tc := range []struct {
		name string
		opt  LiveOptions
	}{
		{"live", LiveOptions{}},
		{"static", LiveOptions{Static: true}},
		{"variants", LiveOptions{Static: true, NoiseVariants: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(31, 4))
			ch := Challenge(r, 6)
			cam := NewLiveCamera(r, subs[1], tc.opt)
			if fps := cam.FPS(); fps < 15 || fps > 30 {
				t.Fatalf("fps %v", fps)
			}
			epoch := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			first := epoch.Add(700 * time.Millisecond)
			shown := ch.Schedule(first)
			ch.Start = first
			end := shown[len(shown)-1].Add(ch.Holds[len(ch.Holds)-1])
			page := [3]float64{0.4, 0.4, 0.4}
			// The screen as a test client knows it: the colour announced
			// last, the page's grey before and after.
			screen := func(at time.Time) [3]float64 {
				if at.Before(first) || !at.Before(end) {
					return page
				}
				i := 0
				for i+1 < len(shown) && !at.Before(shown[i+1]) {
					i++
				}
				return ch.Colors[i].Linear()
			}
			period := time.Duration(float64(time.Second) / cam.FPS())
			var frames []liveness.Frame
			mot := *cam.sh.mot
			for at := epoch; at.Before(end.Add(250 * time.Millisecond)); at = at.Add(period) {
				frames = append(frames, cam.Frame(at, screen))
				if tc.opt.Static && *cam.sh.mot != mot {
					t.Fatalf("static camera moved: %+v → %+v", mot, *cam.sh.mot)
				}
			}
			seen := map[uint64]bool{}
			for _, f := range frames {
				if f.Source != pictureDigest(f.Img.Pix) {
					t.Fatal("source is not the pixels' digest")
				}
				seen[f.Source] = true
			}
			if repeats := len(frames) - len(seen); (repeats > 0) != (tc.opt.NoiseVariants > 0) {
				t.Fatalf("%d of %d frames repeat a picture", repeats, len(frames))
			}
			v := liveness.Analyze(ch, shown, frames, liveness.Options{})
			if tc.opt == (LiveOptions{}) {
				if !v.Pass {
					t.Fatalf("live camera rejected (%s): %+v", v.Reason, v.Checks)
				}
				return
			}
			// A still face is physically right; only the injection check
			// can tell.
			for _, c := range v.Checks {
				if c.Name != liveness.CheckInjection && !c.Pass {
					t.Errorf("%s failed: %+v", c.Name, c)
				}
			}
			if checkOf(t, v, liveness.CheckInjection).Pass {
				t.Error("a still face passed the injection check")
			}
		})
	}
}
