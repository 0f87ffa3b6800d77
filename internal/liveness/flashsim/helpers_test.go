package flashsim

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
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
		if _, err := os.Stat(face.SamplePhoto(models, 1)); err != nil {
			skipReason = "face-api models not available (make models)"
			return
		}
		subjectsAll, subjectsErr = SampleSubjects(models)
	})
	if skipReason != "" {
		tb.Skip(skipReason)
	}
	if subjectsErr != nil {
		tb.Fatal(subjectsErr)
	}
	return subjectsAll
}

// renderSeq renders sequence seed of species with a six-colour challenge;
// the subject and, for a swap, the second person follow from the seed.
func renderSeq(t *testing.T, species string, seed uint64) Sequence {
	t.Helper()
	subs := testSubjects(t)
	r := rand.New(rand.NewPCG(seed, 7))
	ch := Challenge(r, 6)
	s := subs[int(seed)%len(subs)]
	other := subs[(int(seed)+7)%len(subs)]
	seq, err := Render(r, species, ch, s, other)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// checkOf returns v's check called name, failing the test if it has none.
func checkOf(t *testing.T, v liveness.Verdict, name string) liveness.Check {
	t.Helper()
	c, ok := v.Check(name)
	if !ok {
		t.Fatalf("verdict has no %s check", name)
	}
	return c
}
