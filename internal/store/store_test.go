package store_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/glint-id/glint/internal/store"
)

// The backends store verify results as this JSON, so rows written by
// earlier versions must keep reading back.
func TestVerifyResultRowEncoding(t *testing.T) {
	v := store.VerifyResult{Refs: []store.RefMatch{
		{Index: 2, Confidence: 12.5, Thresholds: map[string]float64{"1e-3": 62.2}},
		{Index: 1, Confidence: 81.2, Thresholds: map[string]float64{"1e-3": 62.2, "1e-6": 78}},
	}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"result_ref1":{"confidence":81.2,"thresholds":{"1e-3":62.2,"1e-6":78}},"result_ref2":{"confidence":12.5,"thresholds":{"1e-3":62.2}}}`
	if string(b) != want {
		t.Fatalf("JSON %s\nwant %s", b, want)
	}
	var back store.VerifyResult
	if err := json.Unmarshal([]byte(want[:len(want)-1]+`,"error_message":null}`), &back); err != nil {
		t.Fatal(err)
	}
	wantBack := []store.RefMatch{v.Refs[1], v.Refs[0]}
	if !reflect.DeepEqual(back.Refs, wantBack) {
		t.Fatalf("round trip %+v, want %+v", back.Refs, wantBack)
	}
}

// Liveness results are stored as JSON too (see TestVerifyResultRowEncoding).
func TestLivenessResultRowEncoding(t *testing.T) {
	b, err := json.Marshal(store.LivenessResult{Result: store.LivenessPass, Details: store.LivenessDetails{SideFace: 1, UploadTimes: 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"result":"PASS","details":{"FACE_NOT_FOUND":0,"SIDE_FACE":1,"UPDOWN_FACE":0,"EYE_OCCLUSION":0,"MOUTH_OCCLUSION":0,"AWAY_FROM_CAMERA":0,"CLOSE_TO_CAMERA":0,"OUT_OF_IMAGE":0,"MULTIPLE_FACES":0,"UPLOAD_TIMES":2}}`
	if string(b) != want {
		t.Fatalf("JSON %s\nwant %s", b, want)
	}
}
