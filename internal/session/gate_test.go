package session

import (
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/store"
)

func TestGateTips(t *testing.T) {
	g := Gate{}.withDefaults()
	good := face.Face{
		Box:     face.Rect{X: 200, Y: 120, W: 200, H: 220},
		Quality: face.Quality{Size: 210, Yaw: 3, Pitch: -4, Brightness: 130, Sharpness: 300},
	}
	with := func(mod func(*face.Face)) []face.Face {
		f := good
		mod(&f)
		return []face.Face{f}
	}
	for _, tc := range []struct {
		name  string
		faces []face.Face
		want  string
	}{
		{"good", []face.Face{good}, ""},
		{"none", nil, TipNoFace},
		{"two", []face.Face{good, good}, TipMultipleFaces},
		{"cut off", with(func(f *face.Face) { f.Box.X = -40 }), TipOutOfImage},
		{"far", with(func(f *face.Face) { f.Quality.Size = 80 }), TipTooFar},
		{"close", with(func(f *face.Face) { f.Quality.Size = 400 }), TipTooClose},
		{"turned", with(func(f *face.Face) { f.Quality.Yaw = -30 }), TipYaw},
		{"nodding", with(func(f *face.Face) { f.Quality.Pitch = 25 }), TipPitch},
		{"dark", with(func(f *face.Face) { f.Quality.Brightness = 40 }), TipTooDark},
		{"bright", with(func(f *face.Face) { f.Quality.Brightness = 240 }), TipTooBright},
		{"blurred", with(func(f *face.Face) { f.Quality.Sharpness = 5 }), TipBlur},
		{"far and turned: the distance first", with(func(f *face.Face) { f.Quality.Size = 80; f.Quality.Yaw = 40 }), TipTooFar},
	} {
		if got := g.check(640, 480, tc.faces); got != tc.want {
			t.Errorf("%s: tip %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTipCountersAndTexts(t *testing.T) {
	var d store.LivenessDetails
	for _, tip := range []string{TipNoFace, TipNoFace, TipMultipleFaces, TipOutOfImage, TipTooFar, TipTooClose, TipYaw, TipPitch, TipTooDark, TipBlur, TipKeepStill, TipMouth, TipEyeOcclusion, TipMouth} {
		countTip(&d, tip)
	}
	want := store.LivenessDetails{FaceNotFound: 2, MultipleFaces: 1, OutOfImage: 1, AwayFromCamera: 1, CloseToCamera: 1, SideFace: 1, UpdownFace: 1, MouthOcclusion: 2, EyeOcclusion: 1}
	if d != want {
		t.Errorf("counters %+v, want %+v", d, want)
	}
	for _, code := range []string{TipNoFace, TipMultipleFaces, TipTooFar, TipTooClose, TipYaw, TipPitch, TipTooDark,
		TipTooBright, TipBlur, TipOutOfImage, TipKeepStill, TipEyeOcclusion, TipMouth, CodeSuccess, CodeLivenessFailed, CodeMoreRetryTimes,
		CodeMirrorTimeout, CodeTokenInvalid, CodeTokenExpired, CodeTokenFinished, CodeInternalError, CodeSuperseded, CodeNetworkError} {
		if text("0", code) == "" || text("1", code) == "" || text("0", code) == text("1", code) {
			t.Errorf("%s: texts %q / %q", code, text("0", code), text("1", code))
		}
	}
	if text("9", TipNoFace) != text("0", TipNoFace) {
		t.Error("an unknown language does not fall back to English")
	}
}
