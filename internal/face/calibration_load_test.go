package face

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testCalibrationDoc returns a valid calibration document as a generic
// JSON object, for the tests to break.
func testCalibrationDoc(t *testing.T) map[string]any {
	t.Helper()
	c, err := Calibrate(resnetModelName, gridImpostors(5000, expTail), CalibrationSource{Data: "test", Date: "2026-01-02"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestParseCalibration(t *testing.T) {
	t.Parallel()
	th := func(doc map[string]any, k string) map[string]any {
		return doc["thresholds"].(map[string]any)[k].(map[string]any)
	}
	tests := []struct {
		name   string
		change func(doc map[string]any)
		want   string // in the error; "" for none
	}{
		{"valid", func(map[string]any) {}, ""},
		{"other format", func(d map[string]any) { d["format"] = "glint-calibration/9" }, "format"},
		{"no model", func(d map[string]any) { delete(d, "model") }, "no model"},
		{"unknown field", func(d map[string]any) { d["thresholdz"] = 1 }, "unknown field"},
		{"missing FAR", func(d map[string]any) { delete(d["thresholds"].(map[string]any), "1e-5") }, "no threshold for FAR 1e-5"},
		{"unknown FAR", func(d map[string]any) { d["thresholds"].(map[string]any)["1e-2"] = th(d, "1e-3") }, `unknown FAR "1e-2"`},
		{"other mapping", func(d map[string]any) { d["confidence"].(map[string]any)["function"] = "linear" }, "confidence function"},
		{"zero scale", func(d map[string]any) { d["confidence"].(map[string]any)["scale"] = 0 }, "scale > 0"},
		{"confidence off the mapping", func(d map[string]any) { th(d, "1e-4")["confidence"] = 75.5 }, "FAR 1e-4: confidence 75.5, but the mapping gives"},
		{"more lenient", func(d map[string]any) {
			th(d, "1e-5")["distance"], th(d, "1e-5")["confidence"] = th(d, "1e-3")["distance"], th(d, "1e-3")["confidence"]
		}, "FAR 1e-5: threshold (distance"},
		{"empirical claim from few pairs", func(d map[string]any) { th(d, "1e-3")["method"] = MethodEmpirical }, `"empirical" from 5000 impostor pairs expects 5.0`},
		{"unknown method", func(d map[string]any) { th(d, "1e-6")["method"] = "guessed" }, `method "guessed"`},
		{"extrapolated without tail", func(d map[string]any) { delete(d, "tail") }, "no tail fit"},
		{"accepted beyond pairs", func(d map[string]any) { th(d, "1e-3")["impostors_accepted"] = 6000 }, "6000 of 5000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := testCalibrationDoc(t)
			tt.change(doc)
			data, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseCalibration(data)
			if tt.want == "" {
				if err != nil || c.Model != resnetModelName || c.Source.Date != "2026-01-02" {
					t.Fatalf("got %+v, %v", c, err)
				}
				return
			}
			if !errors.Is(err, ErrCalibration) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrCalibration mentioning %q", err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "{", `{"format": 1}`, "[]", string(mustMarshal(t, testCalibrationDoc(t))) + "{}"} {
		if _, err := ParseCalibration([]byte(bad)); !errors.Is(err, ErrCalibration) {
			t.Errorf("%q: error %v, want ErrCalibration", bad, err)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCalibrationJSON: encoding/json reads a Calibration with the same
// checks, so it round-trips and refuses a broken document.
func TestCalibrationJSON(t *testing.T) {
	t.Parallel()
	var c Calibration
	if err := json.Unmarshal(mustMarshal(t, resnetCalibration), &c); err != nil || c.Scale != resnetCalibration.Scale || c.FAR["1e-6"].Distance != resnetCalibration.FAR["1e-6"].Distance {
		t.Errorf("round trip: %+v, %v", c, err)
	}
	if err := json.Unmarshal([]byte(`{"model": "x"}`), &c); !errors.Is(err, ErrCalibration) {
		t.Errorf("broken document: %v", err)
	}
}

func TestLoadCalibration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := LoadCalibration(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(path, []byte(`{"format": "glint-calibration/1"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCalibration(path); !errors.Is(err, ErrCalibration) || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: %v, want ErrCalibration naming the file", err)
	}
	data, err := json.Marshal(testCalibrationDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "ok.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCalibration(path)
	if err != nil || c.Model != resnetModelName {
		t.Fatalf("%+v, %v", c, err)
	}

	// Installing it: only on an engine of the same model, and without
	// touching the engine it was derived from.
	e := &Engine{calib: resnetCalibration}
	e2, err := e.WithCalibration(c)
	if err != nil || e2.Calibration().Threshold != c.Threshold || e.Calibration().Threshold != resnetCalibration.Threshold {
		t.Errorf("WithCalibration: %v; new %v, old %v", err, e2, e.Calibration().Threshold)
	}
	if _, err := (&Engine{calib: faceresCalibration}).WithCalibration(c); !errors.Is(err, ErrCalibrationModel) {
		t.Errorf("FaceRes engine, ResNet calibration: %v, want ErrCalibrationModel", err)
	}
}

// TestEmbeddedCalibrations checks the shipped documents: they parse, carry
// the model names descriptors are tagged with, publish rising thresholds,
// and say what data they come from.
func TestEmbeddedCalibrations(t *testing.T) {
	t.Parallel()
	want := map[string]string{EmbedderResNet: resnetModelName, EmbedderFaceRes: faceresModelName}
	for _, emb := range Embedders() {
		c, err := DefaultCalibration(emb)
		if err != nil {
			t.Fatal(err)
		}
		if c.Model != want[emb] {
			t.Errorf("%s: model %q, want %q", emb, c.Model, want[emb])
		}
		if s := c.Source; s == nil || s.ImpostorPairs < MinCalibrationImpostors || s.GenuinePairs == 0 || s.Date == "" || s.Command == "" {
			t.Fatalf("%s: source %+v", emb, s)
		}
		for _, k := range FARs {
			if th := c.FAR[k]; th.ImpostorPairs != c.Source.ImpostorPairs {
				t.Errorf("%s %s: %d impostor pairs, source says %d", emb, k, th.ImpostorPairs, c.Source.ImpostorPairs)
			}
		}
	}
	if _, err := DefaultCalibration("mobileface"); err == nil {
		t.Error("unknown embedder: no error")
	}
	if d, _ := DefaultCalibration(""); d.Model != resnetModelName {
		t.Errorf("default embedder's calibration is %q", d.Model)
	}
	// Every embedded file is one of the embedders'.
	files, err := fs.Glob(embeddedCalibrations, "calibration/*.json")
	if err != nil || len(files) != len(Embedders()) {
		t.Errorf("embedded files %v (%v), want one per embedder", files, err)
	}

}
