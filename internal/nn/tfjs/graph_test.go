package tfjs

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/nn"
)

// findHumanModels returns the folder holding the models/human files: under
// $GLINT_MODELS when set, else under models/ at the module root.
func findHumanModels() (string, error) {
	root := os.Getenv("GLINT_MODELS")
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", fmt.Errorf("no go.mod above the test's folder")
			}
			dir = parent
		}
		root = filepath.Join(dir, "models")
	}
	dir := filepath.Join(root, "human")
	if _, err := os.Stat(filepath.Join(dir, "blazeface.json")); err != nil {
		return "", fmt.Errorf("models missing in %s: run make models (%v)", dir, err)
	}
	return dir, nil
}

// humanModels is findHumanModels for tests, which fail without the models.
func humanModels(tb testing.TB) string {
	tb.Helper()
	dir, err := findHumanModels()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// synthetic builds the input gen.mjs feeds TF.js: value at (n, y, x, c) is
// sin(0.1·y + 0.2·x + c)·0.5 + 0.5.
func synthetic(shape []int) *nn.Tensor {
	t := nn.New(shape...)
	n, h, w, c := t.NHWC()
	i := 0
	for range n {
		for y := range h {
			for x := range w {
				for k := range c {
					t.Data[i] = float32(math.Sin(0.1*float64(y)+0.2*float64(x)+float64(k))*0.5 + 0.5)
					i++
				}
			}
		}
	}
	return t
}

// expected is one testdata/<model>.expected.json written by gen.mjs.
type expected struct {
	Model   string           `json:"model"`
	Inputs  map[string][]int `json:"inputs"`
	Outputs []struct {
		Name   string    `json:"name"`
		Shape  []int     `json:"shape"`
		Sum    float64   `json:"sum"`
		SumAbs float64   `json:"sumAbs"`
		SumSq  float64   `json:"sumSq"`
		Head   []float64 `json:"head"`
		Spread []float64 `json:"spread"`
	} `json:"outputs"`
}

func readExpected(tb testing.TB) []expected {
	tb.Helper()
	files, err := filepath.Glob("testdata/*.expected.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no expected outputs in testdata (%v)", err)
	}
	var out []expected
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var e expected
		if err := json.Unmarshal(raw, &e); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		out = append(out, e)
	}
	return out
}

// Float32 arithmetic in a different order (and folded batch norms) moves
// results by a few ulps per layer; these bounds leave room for that over
// the deepest model while catching any real mistake.
const (
	relTol = 1e-4
	absTol = 1e-4
)

func near(got, want float64) bool {
	return math.Abs(got-want) <= absTol+relTol*math.Abs(want)
}

func loadHuman(tb testing.TB, model string) *Graph {
	tb.Helper()
	g, err := LoadGraph(os.DirFS(humanModels(tb)), model+".json")
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func inputsFor(e expected) map[string]*nn.Tensor {
	in := map[string]*nn.Tensor{}
	for name, shape := range e.Inputs {
		in[name] = synthetic(shape)
	}
	return in
}

// compare checks outputs against TF.js's, reporting every mismatch.
func compare(t *testing.T, e expected, got map[string]*nn.Tensor) {
	t.Helper()
	if len(got) != len(e.Outputs) {
		t.Errorf("%d outputs, want %d", len(got), len(e.Outputs))
	}
	for _, w := range e.Outputs {
		y := got[w.Name]
		if y == nil {
			t.Errorf("output %q missing", w.Name)
			continue
		}
		if !slices.Equal(y.Shape, w.Shape) {
			t.Errorf("%s: shape %v, want %v", w.Name, y.Shape, w.Shape)
			continue
		}
		var sum, sumAbs, sumSq float64
		for _, v := range y.Data {
			f := float64(v)
			sum += f
			sumAbs += math.Abs(f)
			sumSq += f * f
		}
		n := float64(len(y.Data))
		// Element errors of absTol+relTol·|v| add up to these bounds.
		if d := math.Abs(sum - w.Sum); d > absTol*n+relTol*w.SumAbs {
			t.Errorf("%s: sum %g, want %g", w.Name, sum, w.Sum)
		}
		if d := math.Abs(sumAbs - w.SumAbs); d > absTol*n+relTol*w.SumAbs {
			t.Errorf("%s: sum of |v| %g, want %g", w.Name, sumAbs, w.SumAbs)
		}
		if d := math.Abs(sumSq - w.SumSq); d > 2*(absTol*w.SumAbs+relTol*w.SumSq)+absTol*n {
			t.Errorf("%s: sum of squares %g, want %g", w.Name, sumSq, w.SumSq)
		}
		worst := 0.0 // largest error in units of the tolerance
		check := func(i int, v float64) {
			g := float64(y.Data[i])
			worst = max(worst, math.Abs(g-v)/(absTol+relTol*math.Abs(v)))
			if !near(g, v) {
				t.Errorf("%s[%d] = %v, want %v", w.Name, i, g, v)
			}
		}
		for i, v := range w.Head {
			check(i, v)
		}
		for k, v := range w.Spread {
			check(k*len(y.Data)/len(w.Spread), v)
		}
		t.Logf("%s: worst sampled error %.3f of the tolerance; sum %g (TF.js %g)", w.Name, worst, sum, w.Sum)
	}
}

// TestGraphModels runs every model of models/human on the synthetic input
// and compares with what TensorFlow.js computed (testdata/gen.mjs).
func TestGraphModels(t *testing.T) {
	for _, e := range readExpected(t) {
		t.Run(e.Model, func(t *testing.T) {
			g := loadHuman(t, e.Model)
			var names []string
			for _, o := range e.Outputs {
				names = append(names, o.Name)
			}
			if !slices.Equal(g.Outputs(), names) {
				t.Errorf("outputs %q, want %q (TF.js order)", g.Outputs(), names)
			}
			for name, shape := range e.Inputs {
				want := g.InputShape(name)
				if len(want) != len(shape) {
					t.Errorf("input %q declared as %v, fed %v", name, want, shape)
				}
			}
			got, err := g.Run(inputsFor(e))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d steps", len(g.steps))
			compare(t, e, got)
		})
	}
}

// TestGraphConcurrent runs one Graph from several goroutines at once; each
// must get the single-threaded result exactly.
func TestGraphConcurrent(t *testing.T) {
	var e expected
	for _, x := range readExpected(t) {
		if x.Model == "blazeface-front" {
			e = x
		}
	}
	g := loadHuman(t, e.Model)
	want, err := g.Run(inputsFor(e))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				got, err := g.Run(inputsFor(e))
				if err != nil {
					errs <- err
					return
				}
				for name, w := range want {
					if !slices.Equal(got[name].Data, w.Data) {
						errs <- fmt.Errorf("output %s differs between runs", name)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestGraphInputs checks that inputs are validated and left untouched.
func TestGraphInputs(t *testing.T) {
	g := loadHuman(t, "iris")
	if got := g.Inputs(); !slices.Equal(got, []string{"input_1"}) {
		t.Fatalf("inputs %q", got)
	}
	x := synthetic([]int{1, 64, 64, 3})
	orig := x.Clone()
	for _, key := range []string{"input_1", "input_1:0"} {
		if _, err := g.Run(map[string]*nn.Tensor{key: x}); err != nil {
			t.Errorf("input %q: %v", key, err)
		}
	}
	if !slices.Equal(x.Data, orig.Data) {
		t.Error("Run modified its input")
	}
	bad := []map[string]*nn.Tensor{
		{},
		{"nope": x},
		{"input_1": synthetic([]int{1, 32, 32, 3})},
		{"input_1": synthetic([]int{64, 64, 3})},
		{"input_1": {Shape: []int{1, 64, 64, 3}, Data: make([]float32, 5)}},
		{"input_1": nil},
	}
	for i, in := range bad {
		if _, err := g.Run(in); err == nil {
			t.Errorf("bad input %d accepted", i)
		}
	}
	// The batch dimension is free.
	out, err := g.Run(map[string]*nn.Tensor{"input_1": synthetic([]int{2, 64, 64, 3})})
	if err != nil {
		t.Fatal(err)
	}
	y := out["Identity"]
	if !slices.Equal(y.Shape, []int{2, 1, 1, 228}) || !slices.Equal(y.Data[:228], y.Data[228:]) {
		t.Errorf("batch of two: shape %v, halves equal %v", y.Shape, slices.Equal(y.Data[:228], y.Data[228:]))
	}
}

// BenchmarkGraph times Run for each model and reports its load time too.
func BenchmarkGraph(b *testing.B) {
	dir := humanModels(b)
	for _, e := range readExpected(b) {
		b.Run(e.Model, func(b *testing.B) {
			start := time.Now()
			g, err := LoadGraph(os.DirFS(dir), e.Model+".json")
			if err != nil {
				b.Fatal(err)
			}
			load := time.Since(start)
			in := inputsFor(e)
			for b.Loop() {
				if _, err := g.Run(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(load.Microseconds())/1000, "load-ms")
		})
	}
}

// BenchmarkLoadGraph times LoadGraph alone.
func BenchmarkLoadGraph(b *testing.B) {
	dir := humanModels(b)
	for _, e := range readExpected(b) {
		b.Run(e.Model, func(b *testing.B) {
			for b.Loop() {
				if _, err := LoadGraph(os.DirFS(dir), e.Model+".json"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
