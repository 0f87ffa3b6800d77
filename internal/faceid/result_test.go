package faceid_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/faceid"
	"github.com/glint-id/glint/internal/store"
)

// stored is a terminal result with every field set: both optional flags
// recorded and asked for at get_token, two references, two images, and a
// biz_no that HTML escaping would change.
func stored() *store.Result {
	biz := `ord-<77>&"x"`
	zero, one := 0, 1
	return &store.Result{
		Token: "tok", KeyID: "key", BizNo: &biz, ReturnMultifacesTag: true, FaceOcclusionDetection: true,
		Status: store.StatusOK, Attempts: 2, Fetches: 1, TerminalAt: time.Unix(1712000000, 0),
		Liveness: &store.LivenessResult{
			Result: store.LivenessPass,
			Details: store.LivenessDetails{FaceNotFound: 1, SideFace: 2, UpdownFace: 3, EyeOcclusion: 4, MouthOcclusion: 5,
				AwayFromCamera: 6, CloseToCamera: 7, OutOfImage: 8, MultipleFaces: 9, UploadTimes: 2},
			FaceGenuineness: &store.FaceGenuineness{ScreenReplayConfidence: 0.125, ScreenReplayThreshold: 0.5,
				SyntheticFaceConfidence: 0.0625, SyntheticFaceThreshold: 0.75,
				InjectionSuspected: 1, InjectionSignals: []string{"flat_noise", "exact_timing"}},
			Transport: store.TransportRTC, MultipleFaces: &zero, FaceOcclusion: &one,
		},
		Verify: &store.VerifyResult{Refs: []store.RefMatch{
			{Index: 2, Confidence: 12.5, Thresholds: map[string]float64{"1e-3": 62.2, "1e-4": 69.3, "1e-5": 74.4, "1e-6": 78}},
			{Index: 1, Confidence: 81.2, Thresholds: map[string]float64{"1e-6": 78, "1e-3": 62.2, "1e-4": 69.3, "1e-5": 74.4}},
		}},
		Images: [][]byte{{0xff, 0xd8, 1, 2, 3, 0xff, 0xd9}, {0xff, 0xd8, 4, 5, 0xff, 0xd9}},
	}
}

// TestGolden holds the bodies to testdata/<case>.json byte for byte: they
// are what integrators parse and what notification signatures cover, so a
// change must be made there, on purpose. The files were written by the
// code this package replaced (api's get_result and ResultJSON).
func TestGolden(t *testing.T) {
	on, off := true, false
	tests := []struct {
		name string
		r    func(r *store.Result)
		o    faceid.Options
		// timeUsed is set after NewResult: api fills time_used once the
		// body is shaped, through the shared envelope.
		timeUsed int64
	}{
		{"ok_two_images", nil, faceid.Options{ReturnImage: 2}, 35},
		{"flags_derived", func(r *store.Result) {
			r.Liveness.MultipleFaces, r.Liveness.FaceOcclusion = nil, nil
		}, faceid.Options{}, 0},
		{"flags_derived_none", func(r *store.Result) {
			r.Liveness = &store.LivenessResult{Result: store.LivenessPass, Details: store.LivenessDetails{UploadTimes: 1}}
		}, faceid.Options{}, 0},
		{"flags_not_asked", func(r *store.Result) {
			r.ReturnMultifacesTag, r.FaceOcclusionDetection = false, false
		}, faceid.Options{}, 0},
		{"occlusion_on_at_result", func(r *store.Result) {
			r.ReturnMultifacesTag, r.FaceOcclusionDetection = false, false
		}, faceid.Options{Occlusion: &on}, 0},
		{"occlusion_off_at_result", nil, faceid.Options{Occlusion: &off}, 0},
		{"one_image_of_two_asked", func(r *store.Result) {
			r.Images, r.BizNo = r.Images[:1], nil
		}, faceid.Options{ReturnImage: 2}, 0},
		{"failed_liveness", func(r *store.Result) {
			r.Status, r.Verify, r.Liveness.Result = store.StatusFailed, nil, store.LivenessFail
		}, faceid.Options{ReturnImage: 2}, 0},
		{"failed_no_evaluation", func(r *store.Result) {
			*r = store.Result{Token: "tok", Status: store.StatusFailed, Images: [][]byte{{1}}}
		}, faceid.Options{ReturnImage: 1}, 0},
		{"processing_hides_interim", func(r *store.Result) {
			r.Status = store.StatusProcessing
		}, faceid.Options{ReturnImage: 2}, 0},
		{"verify_empty", func(r *store.Result) {
			r.Verify, r.Liveness.Details = &store.VerifyResult{}, store.LivenessDetails{}
		}, faceid.Options{}, 0},
		{"upload", func(r *store.Result) {
			r.Liveness.Result, r.Liveness.Transport = store.LivenessPassUpload, store.TransportUpload
			r.Liveness.FaceGenuineness.InjectionSignals = nil
		}, faceid.Options{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := stored()
			if tt.r != nil {
				tt.r(r)
			}
			m := &faceid.Meta{RequestID: "1712000100,req", BizNo: r.BizNo}
			res := faceid.NewResult(m, r, tt.o)
			m.TimeUsed = tt.timeUsed
			got, err := faceid.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, got)
		})
	}
}

// A notification is get_result's body with no images and get_token's
// flags, whatever the stored result holds.
func TestResultJSONGolden(t *testing.T) {
	got, err := faceid.ResultJSON(stored(), "1712000100,note")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "notification", got)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if want = bytes.TrimSuffix(want, []byte("\n")); !bytes.Equal(got, want) {
		t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
	}
}
