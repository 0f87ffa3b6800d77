package liveness_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness/flashsim"
)

var (
	subjectsOnce sync.Once
	subjectsAll  []*flashsim.Subject
	subjectsErr  error
	skipReason   string
)

// repoRoot walks up from the working directory to the folder holding
// go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// testSubjects returns every face of the six sample photos, prepared for
// rendering, loading the engine once per test binary.
func testSubjects(tb testing.TB) []*flashsim.Subject {
	tb.Helper()
	root := repoRoot(tb)
	subjectsOnce.Do(func() {
		models := filepath.Join(root, "models")
		if _, err := os.Stat(face.SamplePhoto(models, 1)); err != nil {
			skipReason = "face-api models not available (make models)"
			return
		}
		subjectsAll, subjectsErr = flashsim.SampleSubjects(models)
	})
	if skipReason != "" {
		tb.Skip(skipReason)
	}
	if subjectsErr != nil {
		tb.Fatal(subjectsErr)
	}
	return subjectsAll
}
