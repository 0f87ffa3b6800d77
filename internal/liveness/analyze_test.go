package liveness_test

import (
	"bytes"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
)

// renderSeq renders sequence seed of species with a six-colour challenge;
// the subject and, for a swap, the second person follow from the seed.
func renderSeq(t *testing.T, species string, seed uint64) flashsim.Sequence {
	t.Helper()
	subs := testSubjects(t)
	r := rand.New(rand.NewPCG(seed, 7))
	ch := flashsim.Challenge(r, 6)
	s := subs[int(seed)%len(subs)]
	other := subs[(int(seed)+7)%len(subs)]
	seq, err := flashsim.Render(r, species, ch, s, other)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func checkOf(t *testing.T, v liveness.Verdict, name string) liveness.Check {
	t.Helper()
	c, ok := v.Check(name)
	if !ok {
		t.Fatalf("verdict has no %s check", name)
	}
	return c
}

// Each attack species must fail, and fail the check aimed at it; a
// genuine presentation must pass every check.
func TestAnalyzeSpecies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		species      string
		check        string // the check that must fail ("" for genuine)
		screenReplay bool   // must be flagged as a screen or print
		faceReplaced bool   // must be flagged as replaced, and only then
	}{
		{flashsim.Genuine, "", false, false},
		{flashsim.Replay, liveness.CheckReflection, false, false},
		{flashsim.WrongSequence, liveness.CheckColor, false, false},
		{flashsim.Late, liveness.CheckTiming, false, false},
		{flashsim.ScreenTint, liveness.CheckTint, true, false},
		{flashsim.FlatPrint, liveness.CheckRelief, true, false},
		{flashsim.FaceSwap, liveness.CheckIdentity, false, true},
	} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(tc.species, func(t *testing.T) {
				t.Parallel()
				seq := renderSeq(t, tc.species, seed)
				v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{})
				if tc.check == "" {
					if !v.Pass || v.Score < 0.5 || v.ScreenReplay || v.FaceReplaced {
						t.Fatalf("seed %d: genuine rejected: %+v", seed, v)
					}
					for _, c := range v.Checks {
						if !c.Pass {
							t.Errorf("seed %d: %s failed: %+v", seed, c.Name, c)
						}
					}
					return
				}
				if v.Pass || v.Score >= 0.5 {
					t.Fatalf("seed %d: attack accepted: %+v", seed, v)
				}
				if c := checkOf(t, v, tc.check); c.Pass {
					t.Errorf("seed %d: %s passed: %+v (verdict %s)", seed, tc.check, c, v.Reason)
				}
				if tc.screenReplay && !v.ScreenReplay {
					t.Errorf("seed %d: screen_replay not set", seed)
				}
				if v.FaceReplaced != tc.faceReplaced {
					t.Errorf("seed %d: face_replaced %v, want %v", seed, v.FaceReplaced, tc.faceReplaced)
				}
			})
		}
	}
}

// The decision rule: pass exactly when every check passes, and the score
// is the lowest check score, at least 0.5 exactly on a pass.
func TestVerdictRule(t *testing.T) {
	t.Parallel()
	for _, sp := range []string{flashsim.Genuine, flashsim.Late, flashsim.FlatPrint} {
		t.Run(sp, func(t *testing.T) {
			t.Parallel()
			seq := renderSeq(t, sp, 4)
			v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{})
			all := true
			low := 1.0
			for _, c := range v.Checks {
				all = all && c.Pass
				low = math.Min(low, c.Score)
				if c.Pass != (c.Score >= 0.5) {
					t.Errorf("%s: pass %v but score %.3f", c.Name, c.Pass, c.Score)
				}
			}
			if v.Pass != all || v.Pass != (v.Score >= 0.5) {
				t.Fatalf("pass %v, every check %v, score %.3f", v.Pass, all, v.Score)
			}
			if !v.Pass && (v.Reason == "" || checkOf(t, v, v.Reason).Pass) {
				t.Errorf("reason %q does not name a failed check", v.Reason)
			}
			if math.Abs(v.Score-low) > 1e-3 && !(v.Pass && low < 0.5) {
				t.Errorf("score %.4f, lowest check %.4f", v.Score, low)
			}
		})
	}
}

func TestAnalyzePassive(t *testing.T) {
	t.Parallel()
	seq := renderSeq(t, flashsim.Genuine, 5)
	for _, tc := range []struct {
		p    float64
		pass bool
	}{{0.9, true}, {0.51, true}, {0.3, false}, {0, false}} {
		p := tc.p
		v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{Passive: &p})
		c := checkOf(t, v, liveness.CheckPassive)
		if v.Pass != tc.pass || c.Pass != tc.pass {
			t.Errorf("passive %.2f: verdict %v, check %v; want %v", p, v.Pass, c.Pass, tc.pass)
		}
		if !tc.pass && v.Reason != liveness.CheckPassive {
			t.Errorf("passive %.2f: reason %q", p, v.Reason)
		}
	}
	if _, ok := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{}).Check(liveness.CheckPassive); ok {
		t.Error("passive check without a passive score")
	}
}

// Analyze must survive whatever the channel hands it, and answer sensibly.
func TestAnalyzeRobustness(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(seq *flashsim.Sequence)
		pass  bool
		check string // a check that must fail when !pass
	}{
		{"unchanged", func(*flashsim.Sequence) {}, true, ""},
		{"shuffled", func(s *flashsim.Sequence) {
			rand.New(rand.NewPCG(1, 1)).Shuffle(len(s.Frames), func(i, j int) { s.Frames[i], s.Frames[j] = s.Frames[j], s.Frames[i] })
		}, true, ""},
		{"no shown times, schedule", func(s *flashsim.Sequence) { s.Shown = make([]time.Time, len(s.Shown)) }, true, ""},
		{"some shown times", func(s *flashsim.Sequence) { s.Shown[1], s.Shown[4] = time.Time{}, time.Time{} }, true, ""},
		{"nil shown", func(s *flashsim.Sequence) { s.Shown = nil }, true, ""},
		{"a few faces missed", func(s *flashsim.Sequence) {
			for i := 3; i < len(s.Frames); i += 11 {
				s.Frames[i].Face = nil
			}
		}, true, ""},
		{"large frames", func(s *flashsim.Sequence) {
			for i := range s.Frames {
				s.Frames[i] = upscaled(s.Frames[i], 3)
			}
		}, true, ""},
		{"no schedule at all", func(s *flashsim.Sequence) {
			s.Shown = nil
			s.Challenge.Start = time.Time{}
		}, false, liveness.CheckTiming},
		{"stretched holds", func(s *flashsim.Sequence) { s.Shown[3] = s.Shown[3].Add(200 * time.Millisecond) }, false, liveness.CheckTiming},
		{"wrong length shown", func(s *flashsim.Sequence) { s.Shown = s.Shown[:2] }, false, liveness.CheckTiming},
		{"no frames", func(s *flashsim.Sequence) { s.Frames = nil }, false, liveness.CheckContinuity},
		{"no faces", func(s *flashsim.Sequence) {
			for i := range s.Frames {
				s.Frames[i].Face = nil
			}
		}, false, liveness.CheckContinuity},
		{"nil images", func(s *flashsim.Sequence) {
			for i := range s.Frames {
				s.Frames[i].Img = nil
			}
		}, false, liveness.CheckContinuity},
		{"no baseline", func(s *flashsim.Sequence) {
			s.Frames = slices.DeleteFunc(s.Frames, func(f liveness.Frame) bool { return f.T.Before(s.Shown[0]) })
		}, false, liveness.CheckContinuity},
		{"gap over a transition", func(s *flashsim.Sequence) {
			t := s.Shown[2]
			s.Frames = slices.DeleteFunc(s.Frames, func(f liveness.Frame) bool {
				return f.T.After(t.Add(-150*time.Millisecond)) && f.T.Before(t.Add(150*time.Millisecond))
			})
		}, false, liveness.CheckContinuity},
		{"second face", func(s *flashsim.Sequence) { s.Frames[len(s.Frames)/2].Faces = 2 }, false, liveness.CheckContinuity},
		{"shown a second late", func(s *flashsim.Sequence) {
			for i := range s.Shown {
				s.Shown[i] = s.Shown[i].Add(time.Second)
			}
		}, false, liveness.CheckTiming},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seq := renderSeq(t, flashsim.Genuine, 6)
			tc.edit(&seq)
			v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{})
			if v.Pass != tc.pass {
				t.Fatalf("pass %v, want %v: %s %+v", v.Pass, tc.pass, v.Reason, v.Checks)
			}
			if !tc.pass {
				if c, ok := v.Check(tc.check); !ok || c.Pass {
					t.Errorf("%s did not fail: %+v", tc.check, v.Checks)
				}
			}
		})
	}
}

// upscaled returns f enlarged s times, as a higher-resolution camera would
// deliver it (bilinear, in the pixels' own encoding: a test fixture, not
// a camera model).
func upscaled(f liveness.Frame, s float64) liveness.Frame {
	if f.Img == nil {
		return f
	}
	src := f.Img
	out := face.NewRGB(int(float64(src.W)*s), int(float64(src.H)*s))
	for y := 0; y < out.H; y++ {
		sy := math.Max(0, (float64(y)+0.5)/s-0.5)
		y0 := min(int(sy), src.H-1)
		y1, fy := min(y0+1, src.H-1), sy-float64(int(sy))
		for x := 0; x < out.W; x++ {
			sx := math.Max(0, (float64(x)+0.5)/s-0.5)
			x0 := min(int(sx), src.W-1)
			x1, fx := min(x0+1, src.W-1), sx-float64(int(sx))
			for k := 0; k < 3; k++ {
				p := func(xi, yi int) float64 { return float64(src.Pix[3*(yi*src.W+xi)+k]) }
				v := (p(x0, y0)*(1-fx)+p(x1, y0)*fx)*(1-fy) + (p(x0, y1)*(1-fx)+p(x1, y1)*fx)*fy
				out.Pix[3*(y*out.W+x)+k] = uint8(v + 0.5)
			}
		}
	}
	f.Img = out
	if f.Face != nil {
		nf := *f.Face
		for i := range nf.Landmarks {
			nf.Landmarks[i].X *= s
			nf.Landmarks[i].Y *= s
		}
		f.Face = &nf
	}
	return f
}

// Frames travel as JPEG. At a selfie's resolution, compression must not
// make a flat print look curved nor a live face flat.
func TestAnalyzeJPEG(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		species string
		pass    bool
	}{{flashsim.Genuine, true}, {flashsim.FlatPrint, false}} {
		for _, seed := range []uint64{8, 9} {
			t.Run(tc.species, func(t *testing.T) {
				t.Parallel()
				seq := renderSeq(t, tc.species, seed)
				for i := range seq.Frames {
					f := upscaled(seq.Frames[i], 2.5)
					var b bytes.Buffer
					if err := jpeg.Encode(&b, f.Img.RGBA(), &jpeg.Options{Quality: 80}); err != nil {
						t.Fatal(err)
					}
					img, err := jpeg.Decode(&b)
					if err != nil {
						t.Fatal(err)
					}
					f.Img = face.FromImage(img)
					seq.Frames[i] = f
				}
				v := liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{})
				if v.Pass != tc.pass {
					t.Fatalf("seed %d: pass %v, want %v: %s %+v", seed, v.Pass, tc.pass, v.Reason, v.Checks)
				}
				if !tc.pass && checkOf(t, v, liveness.CheckRelief).Pass {
					t.Errorf("seed %d: relief passed a flat print", seed)
				}
			})
		}
	}
}

// With descriptors, identity compares them: a descriptor that jumps to
// another person's, and stays, replaces the face.
func TestAnalyzeDescriptors(t *testing.T) {
	t.Parallel()
	seq := renderSeq(t, flashsim.Genuine, 10)
	r := rand.New(rand.NewPCG(3, 3))
	person := func() []float32 {
		v := make([]float32, 128)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.09)
		}
		return v
	}
	a, b := person(), person()
	near := func(v []float32) *face.Descriptor {
		out := make([]float32, len(v))
		for i := range v {
			out[i] = v[i] + float32(r.NormFloat64()*0.01)
		}
		return &face.Descriptor{Model: "face-api-resnet128@1.7.15", Vector: out}
	}
	for _, tc := range []struct {
		name     string
		swapAt   int // frame index from which b is seen; -1 never
		replaced bool
	}{{"same person", -1, false}, {"swapped", len(seq.Frames) / 2, true}} {
		frames := slices.Clone(seq.Frames)
		for i := range frames {
			if i%4 != 0 {
				continue
			}
			if tc.swapAt >= 0 && i >= tc.swapAt {
				frames[i].Desc = near(b)
			} else {
				frames[i].Desc = near(a)
			}
		}
		v := liveness.Analyze(seq.Challenge, seq.Shown, frames, liveness.Options{})
		c := checkOf(t, v, liveness.CheckIdentity)
		if c.Pass == tc.replaced || v.FaceReplaced != tc.replaced || !c.Pass && v.Pass {
			t.Errorf("%s: identity %+v, face_replaced %v", tc.name, c, v.FaceReplaced)
		}
	}
}

func BenchmarkAnalyze(b *testing.B) {
	subs := testSubjects(b)
	r := rand.New(rand.NewPCG(1, 1))
	seq, err := flashsim.Render(r, flashsim.Genuine, flashsim.Challenge(r, 6), subs[0], nil)
	if err != nil {
		b.Fatal(err)
	}
	// Selfie-sized frames: the face's neighbourhood enlarged into 640×480.
	for i := range seq.Frames {
		seq.Frames[i] = upscaled(seq.Frames[i], 3)
	}
	b.ResetTimer()
	for b.Loop() {
		liveness.Analyze(seq.Challenge, seq.Shown, seq.Frames, liveness.Options{})
	}
	b.ReportMetric(float64(len(seq.Frames)), "frames")
}
