package liveness_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
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
		eng, err := face.Load(os.DirFS(models), face.Config{})
		if err != nil {
			subjectsErr = err
			return
		}
		var photos []*face.RGB
		for n := 1; n <= face.SamplePhotos; n++ {
			data, err := os.ReadFile(face.SamplePhoto(models, n))
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
		subjectsAll = flashsim.Subjects(eng, photos)
	})
	if skipReason != "" {
		tb.Skip(skipReason)
	}
	if subjectsErr != nil {
		tb.Fatal(subjectsErr)
	}
	return subjectsAll
}

// pcgReader adapts a math/rand/v2 generator to io.Reader, so that
// NewChallenge draws reproducible challenges.
type pcgReader struct{ r *rand.Rand }

func (p pcgReader) Read(b []byte) (int, error) {
	for i := 0; i < len(b); i += 8 {
		v := p.r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return len(b), nil
}
