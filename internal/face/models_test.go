package face

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadModels loads the models folder as serve does, and checks what
// an operator sees when it or the calibration is wrong.
func TestLoadModels(t *testing.T) {
	models := filepath.Join(repoRoot(t), "models")
	if _, err := os.Stat(SamplePhoto(models, 1)); err != nil {
		t.Skipf("models not available (make models): %v", err)
	}
	m, err := LoadModels(models, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Engine == nil || m.AntiSpoof == nil {
		t.Fatalf("engine %v, anti-spoof %v: want both", m.Engine, m.AntiSpoof)
	}
	if got, want := m.Engine.Calibration().Model, resnetCalibration.Model; got != want {
		t.Errorf("calibration of %q, want the embedded one of %q", got, want)
	}
	if m.Engine.Landmarks() == nil {
		t.Error("no landmark network")
	}

	empty := t.TempDir()
	if _, err := LoadModels(empty, Options{}); err == nil || !strings.Contains(err.Error(), "run `make models`") {
		t.Errorf("empty folder: %v, want an error telling to run make models", err)
	}
	missing := filepath.Join(empty, "calibration.json")
	if _, err := LoadModels(models, Options{Calibration: missing}); err == nil {
		t.Errorf("missing calibration file: no error")
	}
	for n := 1; n <= SamplePhotos; n++ {
		if _, err := os.Stat(SamplePhoto(models, n)); err != nil {
			t.Errorf("sample photo %d: %v", n, err)
		}
	}
}
