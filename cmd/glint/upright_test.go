package main

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
)

// TestGetTokenTurnedReference sends the sample photos turned by 90, 180
// and 270 degrees to a running server with the real engine: without
// multi_oriented_detection they are NO_FACE_FOUND, since the detector's
// finding a face on its side is no reason to embed it so; with it they
// are accepted, and the embedding stored for each matches the one stored
// for the photo as it was taken above the FAR 1e-5 threshold.
func TestGetTokenTurnedReference(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine on 42 photos")
	}
	models := repoModels(t)
	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": models, "GLINT_LISTEN": "127.0.0.1:0"}
	k := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "turned"))
	base := serveInProcess(t, env).base

	eng, err := loadEngine(models, face.Options{})
	if err != nil {
		t.Fatal(err)
	}
	threshold := eng.Calibration().Thresholds()["1e-5"]
	ctx := context.Background()
	d, err := openData(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// stored is the embedding get_token kept for the photo.
	stored := func(token string) face.Descriptor {
		t.Helper()
		v, err := d.db.Verification(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		return face.Descriptor{Model: v.Refs[0].Model, Vector: v.Refs[0].Embedding}
	}
	getToken := func(jpg []byte, multiOriented string) (int, map[string]any) {
		t.Helper()
		fields := map[string]string{"api_key": k["api_key"], "api_secret": k["api_secret"], "comparison_type": "0",
			"uuid": "turned", "max_upload_times": "3", "life_time": "60",
			// The sample photos show groups: the largest face is the reference.
			"fail_when_ref_multiple_faces": "0", "multi_oriented_detection": multiOriented}
		return postForm(t, base+"/faceid/lite/raw/get_token", fields, map[string][]byte{"image_ref1": jpg})
	}

	for n := 1; n <= 6; n++ {
		raw, err := os.ReadFile(face.SamplePhoto(models, n))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imaging.Decode(raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		status, reply := getToken(raw, "0")
		if status != 200 {
			t.Fatalf("sample%d as taken: %d %v", n, status, reply)
		}
		upright := stored(reply["token"].(string))
		rgb := face.FromImage(img)
		faces := eng.Detect(rgb, nil)
		if len(faces) == 0 {
			t.Fatalf("sample%d: no face", n)
		}
		roll := faces[0].Quality.Roll
		for _, deg := range []int{90, 180, 270} {
			turned := imagingtest.JPEG(t, rgb.Rotate(deg).RGBA())
			// The lean of the face in the turned photo. The largest face of
			// sample1 leans 42.9°, so turned by 270° it leans −47°: at the
			// bound within what the landmarks can tell, and upright either
			// way, so it may be taken as it lies if it then matches.
			lean := math.Remainder(roll+float64(deg), 360)
			onBound := math.Abs(lean) <= face.MaxUprightRoll+5
			status, reply := getToken(turned, "0")
			switch {
			case status == 200 && onBound:
				m, _ := eng.Compare(upright, stored(reply["token"].(string)))
				t.Logf("sample%d turned %3d°, leaning %.1f°: taken as it lies without multi_oriented_detection; confidence %.1f", n, deg, lean, m.Confidence)
				if m.Confidence < threshold {
					t.Errorf("sample%d turned %d°: taken as it lies, and matches the photo as taken with confidence %.1f only", n, deg, m.Confidence)
				}
			case status != 400 || reply["error_message"] != "NO_FACE_FOUND:image_ref1":
				t.Errorf("sample%d turned %d° (face leaning %.1f°) without multi_oriented_detection: %d %v, want 400 NO_FACE_FOUND:image_ref1",
					n, deg, lean, status, reply)
			}
			status, reply = getToken(turned, "1")
			if status != 200 {
				t.Errorf("sample%d turned %d° with multi_oriented_detection: %d %v, want 200", n, deg, status, reply)
				continue
			}
			m, err := eng.Compare(upright, stored(reply["token"].(string)))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("sample%d turned %3d°: distance %.3f, confidence %.1f to the photo as taken", n, deg, m.Distance, m.Confidence)
			if m.Confidence < threshold {
				t.Errorf("sample%d turned %d°: the stored reference matches the upright one with confidence %.1f, below the FAR 1e-5 threshold %.1f",
					n, deg, m.Confidence, threshold)
			}
		}
	}
}
