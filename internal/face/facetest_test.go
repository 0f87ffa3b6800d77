package face

import (
	"encoding/json"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// goldenFace is one face of a reference file (see
// shared/golden/face-api/README.md).
type goldenFace struct {
	Score          float64      `json:"score"`
	Box            goldenRect   `json:"box"`
	LandmarkCrop   goldenRect   `json:"landmarkCrop"`
	Landmarks68    [][2]float64 `json:"landmarks68"`
	DescriptorCrop goldenRect   `json:"descriptorCrop"`
	Descriptor     []float64    `json:"descriptor"`
}

type goldenRect struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

func (r goldenRect) rect() Rect { return Rect{r.X, r.Y, r.Width, r.Height} }

// golden is one sampleN.json.
type golden struct {
	Image     string       `json:"image"`
	Width     int          `json:"width"`
	Height    int          `json:"height"`
	RGBSha256 string       `json:"rgbSha256"`
	Faces     []goldenFace `json:"faces"`
}

const numSamples = SamplePhotos

var (
	rootOnce sync.Once
	rootDir  string

	sampleMu    sync.Mutex
	sampleCache = map[int]*RGB{}

	modelMu    sync.Mutex
	modelError = map[string]error{}
)

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	if rootDir == "" {
		tb.Fatal("go.mod not found above the working directory")
	}
	return rootDir
}

// goldenDir is the reference outputs' folder, a sibling of the repository.
func goldenDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(repoRoot(tb), "..", "shared", "golden", "face-api")
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("reference outputs not available: %v", err)
	}
	return dir
}

// modelFS is the folder of face-api's model files and sample photos.
func modelFS(tb testing.TB) fs.FS {
	tb.Helper()
	dir := filepath.Join(repoRoot(tb), "models", faceAPIDir)
	if _, err := os.Stat(filepath.Join(dir, "ssd_mobilenetv1_model.bin")); err != nil {
		tb.Skipf("face-api models not available (make models): %v", err)
	}
	return os.DirFS(dir)
}

func loadGolden(tb testing.TB, n int) *golden {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir(tb), "sample"+strconv.Itoa(n)+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		tb.Fatal(err)
	}
	return &g
}

// loadSample decodes sampleN.jpg once per test binary.
func loadSample(tb testing.TB, n int) *RGB {
	tb.Helper()
	fsys := modelFS(tb)
	sampleMu.Lock()
	defer sampleMu.Unlock()
	if m, ok := sampleCache[n]; ok {
		return m
	}
	f, err := fsys.Open("sample" + strconv.Itoa(n) + ".jpg")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	m := FromImage(img)
	sampleCache[n] = m
	return m
}

// loadModel loads a network once per test binary.
func loadModel[T any](tb testing.TB, slot **T, name string, load func(fs.FS) (*T, error)) *T {
	tb.Helper()
	fsys := modelFS(tb)
	modelMu.Lock()
	defer modelMu.Unlock()
	if *slot == nil && modelError[name] == nil {
		*slot, modelError[name] = load(fsys)
	}
	if err := modelError[name]; err != nil {
		tb.Fatal(err)
	}
	return *slot
}

var ssdModel *SSD

func testSSD(tb testing.TB) *SSD { return loadModel(tb, &ssdModel, "ssd", LoadSSD) }

var lmModel *Landmarks68

func testLandmarks(tb testing.TB) *Landmarks68 {
	return loadModel(tb, &lmModel, "landmarks", LoadLandmarks68)
}

var resModel *ResNet

func testResNet(tb testing.TB) *ResNet { return loadModel(tb, &resModel, "resnet", LoadResNet) }

var tinyModel *Tiny

func testTiny(tb testing.TB) *Tiny { return loadModel(tb, &tinyModel, "tiny", LoadTiny) }

// reportMs adds the mean time per iteration in milliseconds, the unit the
// network timings are quoted in.
func reportMs(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/op")
}
