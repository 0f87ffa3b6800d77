package liveness

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
)

var (
	subjectsOnce sync.Once
	subjectsAll  []*Subject
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
func testSubjects(tb testing.TB) []*Subject {
	tb.Helper()
	root := repoRoot(tb)
	subjectsOnce.Do(func() {
		models := filepath.Join(root, "models")
		if _, err := os.Stat(filepath.Join(models, "face-api", "ssd_mobilenetv1_model.bin")); err != nil {
			skipReason = "face-api models not available (make models)"
			return
		}
		eng, err := face.Load(os.DirFS(models), face.Config{})
		if err != nil {
			subjectsErr = err
			return
		}
		var photos []*face.RGB
		for n := 1; n <= 6; n++ {
			data, err := os.ReadFile(filepath.Join(models, "face-api", "sample"+strconv.Itoa(n)+".jpg"))
			if err != nil {
				subjectsErr = err
				return
			}
			img, _, err := imaging.Decode(data, 4096)
			if err != nil {
				subjectsErr = err
				return
			}
			photos = append(photos, face.FromImage(img))
		}
		subjectsAll = Subjects(eng, photos)
	})
	if skipReason != "" {
		tb.Skip(skipReason)
	}
	if subjectsErr != nil {
		tb.Fatal(subjectsErr)
	}
	return subjectsAll
}
