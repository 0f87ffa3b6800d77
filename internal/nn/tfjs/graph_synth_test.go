package tfjs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/glint-id/glint/internal/nn"
)

// testModel assembles a small model.json and its shard in memory, so each
// op and each fusion can be checked against the nn functions directly.
type testModel struct {
	nodes   []map[string]any
	weights []WeightSpec
	data    []byte
	sig     map[string]any
	rng     *rand.Rand
}

func newModel() *testModel { return &testModel{rng: rand.New(rand.NewPCG(7, 9))} }

func aS(s string) map[string]any {
	return map[string]any{"s": base64.StdEncoding.EncodeToString([]byte(s))}
}
func aF(f float64) map[string]any { return map[string]any{"f": f} }
func aB(b bool) map[string]any    { return map[string]any{"b": b} }
func aI(v ...int) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}
func aSs(v ...string) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = base64.StdEncoding.EncodeToString([]byte(x))
	}
	return map[string]any{"list": map[string]any{"s": s}}
}

func (m *testModel) node(name, op string, attr map[string]any, inputs ...string) {
	n := map[string]any{"name": name, "op": op, "input": inputs}
	if attr != nil {
		n["attr"] = attr
	}
	m.nodes = append(m.nodes, n)
}

func (m *testModel) placeholder(name string, shape ...int) {
	dims := make([]map[string]any, len(shape))
	for i, d := range shape {
		dims[i] = map[string]any{"size": strconv.Itoa(d)}
	}
	m.node(name, "Placeholder", map[string]any{"shape": map[string]any{"shape": map[string]any{"dim": dims}}})
}

// constant adds a float32 Const node holding vals (random when nil) and
// returns its tensor.
func (m *testModel) constant(name string, vals []float32, shape ...int) *nn.Tensor {
	t := nn.New(shape...)
	if vals != nil {
		copy(t.Data, vals)
	} else {
		for i := range t.Data {
			t.Data[i] = float32(m.rng.NormFloat64())
		}
	}
	m.node(name, "Const", nil)
	m.weights = append(m.weights, WeightSpec{Name: name, Shape: shape, DType: "float32"})
	for _, v := range t.Data {
		m.data = binary.LittleEndian.AppendUint32(m.data, math.Float32bits(v))
	}
	return t
}

// intConst adds an int32 Const node.
func (m *testModel) intConst(name string, vals []int32, shape ...int) {
	m.node(name, "Const", nil)
	m.weights = append(m.weights, WeightSpec{Name: name, Shape: shape, DType: "int32"})
	for _, v := range vals {
		m.data = binary.LittleEndian.AppendUint32(m.data, uint32(v))
	}
}

func (m *testModel) outputs(names ...string) {
	outs := map[string]any{}
	for _, n := range names {
		outs[n] = map[string]any{"name": n + ":0"}
	}
	m.sig = map[string]any{"outputs": outs}
}

func (m *testModel) json() []byte {
	doc := map[string]any{
		"format":          "graph-model",
		"modelTopology":   map[string]any{"node": m.nodes},
		"weightsManifest": []Group{{Paths: []string{"m.bin"}, Weights: m.weights}},
	}
	if m.sig != nil {
		doc["signature"] = m.sig
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func (m *testModel) fs() fstest.MapFS {
	return fstest.MapFS{
		"m/model.json": {Data: m.json()},
		"m/m.bin":      {Data: m.data},
	}
}

func (m *testModel) load(t *testing.T) *Graph {
	t.Helper()
	g, err := LoadGraph(m.fs(), "m/model.json")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func randTensor(seed uint64, shape ...int) *nn.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	t := nn.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func sameTensor(t *testing.T, name string, got, want *nn.Tensor, tol float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing", name)
		return
	}
	if !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape, want.Shape)
		return
	}
	for i := range want.Data {
		g, w := float64(got.Data[i]), float64(want.Data[i])
		if math.Abs(g-w) > tol*(1+math.Abs(w)) {
			t.Errorf("%s[%d] = %v, want %v", name, i, g, w)
			return
		}
	}
}

// TestGraphFusion builds conv → Mul → Add → Relu → Minimum(6) →
// Maximum(0) after a zero Pad, the shape Keras batch norms and ReLU6 take
// once converted, and checks that it becomes one step computing the same.
func TestGraphFusion(t *testing.T) {
	m := newModel()
	m.placeholder("x", -1, 5, 6, 3)
	m.intConst("pads", []int32{0, 0, 1, 2, 2, 0, 0, 0}, 4, 2)
	m.node("pad", "Pad", nil, "x", "pads")
	filter := m.constant("w", nil, 3, 3, 3, 4)
	scale := m.constant("scale", nil, 4)
	shift := m.constant("shift", nil, 1, 1, 1, 4)
	m.constant("six", []float32{6}, 1)
	m.constant("zero", []float32{0})
	m.node("conv", "Conv2D", map[string]any{"strides": aI(1, 2, 1, 1), "padding": aS("EXPLICIT"),
		"explicit_paddings": aI(0, 0, 0, 1, 1, 0, 0, 0), "data_format": aS("NHWC")}, "pad", "w")
	m.node("bn/mul", "Mul", nil, "scale", "conv")
	m.node("bn/add", "AddV2", nil, "bn/mul", "shift")
	m.node("relu", "Relu", nil, "bn/add")
	m.node("min", "Minimum", nil, "relu", "six")
	m.node("clip", "Maximum", nil, "min", "zero")
	m.outputs("clip")
	g := m.load(t)
	if len(g.steps) != 1 {
		var ops []string
		for _, s := range g.steps {
			ops = append(ops, s.op)
		}
		t.Errorf("steps %v, want one fused convolution", ops)
	}
	x := randTensor(1, 2, 5, 6, 3)
	for i := range x.Data {
		x.Data[i] *= 4 // reach both ends of the clip
	}
	got, err := g.Run(map[string]*nn.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	p := nn.ConvParams{KH: 3, KW: 3, InC: 3, OutC: 4, StrideH: 2, Mode: nn.PadExplicit, Pad: nn.Padding{Bottom: 1, Left: 1}}
	y := nn.NewConv2D(p, filter.Data, nil, nn.Activation{}).Forward(nn.Pad(x, [][2]int{{0, 0}, {1, 2}, {2, 0}, {0, 0}}, 0))
	y = nn.Maximum(nn.Minimum(nn.Relu(nn.Add(nn.Mul(scale, y), shift)), nn.FromData([]float32{6}, 1)), nn.New())
	sameTensor(t, "clip", got["clip"], y, 1e-5)
}

// TestGraphNoFusion checks that a layer value read by two nodes, or
// returned, is not folded away.
func TestGraphNoFusion(t *testing.T) {
	m := newModel()
	m.placeholder("x", 1, 4, 4, 2)
	filter := m.constant("w", nil, 1, 1, 2, 2)
	bias := m.constant("b", nil, 2)
	c := m.constant("c", nil, 2)
	m.node("conv", "_FusedConv2D", map[string]any{"padding": aS("SAME"), "fused_ops": aSs("BiasAdd"), "num_args": map[string]any{"i": "1"}}, "x", "w", "b")
	m.node("mul", "Mul", nil, "conv", "c")
	m.node("add", "Add", nil, "conv", "mul")
	m.node("relu", "Relu", nil, "add")
	m.outputs("relu", "add")
	g := m.load(t)
	x := randTensor(2, 1, 4, 4, 2)
	got, err := g.Run(map[string]*nn.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	y := nn.NewConv2D(nn.ConvParams{KH: 1, KW: 1, InC: 2, OutC: 2, Mode: nn.PadSame}, filter.Data, bias.Data, nn.Activation{}).Forward(x)
	add := nn.Add(y, nn.Mul(y, c))
	sameTensor(t, "add", got["add"], add, 1e-6)
	sameTensor(t, "relu", got["relu"], nn.Relu(add), 1e-6)
	if got["add"] == got["relu"] || &got["add"].Data[0] == &got["relu"].Data[0] {
		t.Error("outputs share storage")
	}
}

// TestGraphOps runs most supported ops through one graph and compares each
// output with the nn function it maps to.
func TestGraphOps(t *testing.T) {
	m := newModel()
	m.placeholder("x", 1, 6, 6, 4)
	m.placeholder("v", -1, 8)
	alpha := m.constant("alpha", nil, 1, 1, 4)
	m.intConst("axes12", []int32{1, 2}, 2)
	m.intConst("axis-1", []int32{-1})
	m.intConst("shape", []int32{-1, 36, 4}, 3)
	m.intConst("perm", []int32{0, 3, 1, 2}, 4)
	m.intConst("begin", []int32{0, 1, 2, 0}, 4)
	m.intConst("size", []int32{-1, 3, 2, -1}, 4)
	m.intConst("hw", []int32{9, 4}, 2)
	m.intConst("pads", []int32{0, 0, 1, 0, 0, 1, 1, 1}, 4, 2)
	m.intConst("one", []int32{1})
	m.constant("padval", []float32{-2})
	m.constant("k", []float32{3})
	dw := m.constant("dw", nil, 3, 3, 4, 2)
	dwb := m.constant("dwb", nil, 8)
	mw := m.constant("mw", nil, 5, 8) // [out in]: transpose_b
	mb := m.constant("mb", nil, 5)
	ma := m.constant("ma", nil, 5)

	m.node("prelu", "Prelu", nil, "x", "alpha")
	m.node("leaky", "LeakyRelu", map[string]any{"alpha": aF(0.1)}, "x")
	m.node("mean", "Mean", map[string]any{"keep_dims": aB(true)}, "x", "axes12")
	m.node("sum", "Sum", nil, "x", "axis-1")
	m.node("reshape", "Reshape", nil, "x", "shape")
	m.node("softmax", "Softmax", nil, "reshape")
	m.node("transpose", "Transpose", nil, "x", "perm")
	m.node("slice", "Slice", nil, "x", "begin", "size")
	m.node("bilinear", "ResizeBilinear", map[string]any{"half_pixel_centers": aB(true)}, "x", "hw")
	m.node("nearest", "ResizeNearestNeighbor", map[string]any{"align_corners": aB(true)}, "x", "hw")
	m.node("padv2", "PadV2", nil, "x", "pads", "padval")
	m.node("avg", "AvgPool", map[string]any{"ksize": aI(1, 3, 3, 1), "strides": aI(1, 2, 2, 1), "padding": aS("SAME")}, "x")
	m.node("maxe", "MaxPool", map[string]any{"ksize": aI(1, 2, 2, 1), "strides": aI(1, 2, 2, 1), "padding": aS("EXPLICIT"),
		"explicit_paddings": aI(0, 0, 1, 0, 0, 1, 0, 0)}, "x")
	m.node("concat", "ConcatV2", map[string]any{"N": map[string]any{"i": "2"}}, "x", "prelu", "axis-1")
	m.node("dwconv", "FusedDepthwiseConv2dNative", map[string]any{"padding": aS("VALID"), "strides": aI(1, 1, 1, 1),
		"dilations": aI(1, 2, 2, 1), "fused_ops": aSs("BiasAdd", "Relu6")}, "x", "dw", "dwb")
	m.node("expand", "ExpandDims", nil, "v", "one")
	m.node("squeeze", "Squeeze", map[string]any{"squeeze_dims": aI(1)}, "expand")
	m.node("matmul", "_FusedMatMul", map[string]any{"transpose_b": aB(true), "fused_ops": aSs("BiasAdd", "Prelu")}, "squeeze", "mw", "mb", "ma")
	m.node("div", "RealDiv", nil, "k", "sum")
	m.node("rsqrt", "Rsqrt", nil, "mean")
	m.node("exp", "Exp", nil, "slice")
	m.node("tanh", "Tanh", nil, "slice")
	m.outputs("prelu", "leaky", "mean", "sum", "softmax", "transpose", "slice", "bilinear", "nearest", "padv2",
		"avg", "maxe", "concat", "dwconv", "matmul", "div", "rsqrt", "exp", "tanh")
	g := m.load(t)

	x := randTensor(3, 1, 6, 6, 4)
	for i := range x.Data {
		x.Data[i] = float32(math.Abs(float64(x.Data[i]))) - 0.3
	}
	v := randTensor(4, 3, 8)
	got, err := g.Run(map[string]*nn.Tensor{"x": x, "v": v})
	if err != nil {
		t.Fatal(err)
	}
	prelu := x.Clone()
	for i, val := range prelu.Data {
		if val < 0 {
			prelu.Data[i] = val * alpha.Data[i%4]
		}
	}
	leaky := nn.Unary(x, func(v float32) float32 { return max(v, 0.1*v) })
	mean := nn.Mean(x, []int{1, 2}, true)
	sum := nn.Sum(x, []int{-1}, false)
	slice := nn.Slice(x, []int{0, 1, 2, 0}, []int{-1, 3, 2, -1})
	trans := nn.Transpose(x, []int{0, 3, 1, 2})
	dwp := nn.ConvParams{KH: 3, KW: 3, InC: 4, DilationH: 2, DilationW: 2}
	dwconv := nn.NewDepthwiseConv2D(dwp, 2, dw.Data, dwb.Data, nn.Activation{Kind: nn.ActRelu6}).Forward(x)
	w := nn.Transpose(mw, []int{1, 0})
	matmul := nn.NewDense(8, 5, w.Data, mb.Data, nn.Activation{Kind: nn.ActPrelu, Alphas: ma.Data}).Forward(v)
	want := map[string]*nn.Tensor{
		"prelu":     prelu,
		"leaky":     leaky,
		"mean":      mean,
		"sum":       sum,
		"softmax":   nn.Softmax(x.Reshape(1, 36, 4), -1),
		"transpose": trans,
		"slice":     slice,
		"bilinear":  nn.ResizeBilinear(x, 9, 4, false, true),
		"nearest":   nn.ResizeNearest(x, 9, 4, true, false),
		"padv2":     nn.Pad(x, [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}}, -2),
		"avg":       nn.AvgPool2D(x, nn.ConvParams{KH: 3, KW: 3, StrideH: 2, StrideW: 2, Mode: nn.PadSame}),
		"maxe": nn.MaxPool2D(x, nn.ConvParams{KH: 2, KW: 2, StrideH: 2, StrideW: 2, Mode: nn.PadExplicit,
			Pad: nn.Padding{Top: 1, Right: 1}}),
		"concat": nn.Concat(-1, x, prelu),
		"dwconv": dwconv,
		"matmul": matmul,
		"div":    nn.Div(nn.FromData([]float32{3}, 1), sum),
		"rsqrt":  nn.Rsqrt(mean),
		"exp":    nn.Exp(slice),
		"tanh":   nn.Tanh(slice),
	}
	if len(got) != len(want) {
		t.Errorf("%d outputs, want %d", len(got), len(want))
	}
	for name, w := range want {
		sameTensor(t, name, got[name], w, 1e-6)
	}
	if !slices.Equal(g.Inputs(), []string{"x", "v"}) {
		t.Errorf("inputs %v", g.Inputs())
	}
	if s := g.InputShape("v"); !slices.Equal(s, []int{-1, 8}) {
		t.Errorf("input shape %v", s)
	}
}

// TestGraphInPlace checks that steps overwriting dead inputs never touch
// values still to be read, including through a Reshape sharing storage.
func TestGraphInPlace(t *testing.T) {
	m := newModel()
	m.placeholder("x", 2, 3)
	c := m.constant("c", nil, 3)
	m.intConst("flatshape", []int32{6}, 1)
	m.intConst("backshape", []int32{2, 3}, 2)
	m.node("a", "Relu", nil, "x")
	m.node("flat", "Reshape", nil, "a", "flatshape")
	m.node("neg", "Neg", nil, "flat")
	m.node("negback", "Reshape", nil, "neg", "backshape")
	m.node("mul", "Mul", nil, "a", "c")
	m.node("add", "AddV2", nil, "mul", "negback")
	m.node("sq", "Square", nil, "a")
	m.node("id", "Identity", nil, "x")
	m.node("cneg", "Neg", nil, "c") // folded at load
	m.node("sub", "Sub", nil, "sq", "cneg")
	m.outputs("add", "sub", "id", "cneg")
	g := m.load(t)
	x := randTensor(5, 2, 3)
	orig := x.Clone()
	for range 2 {
		got, err := g.Run(map[string]*nn.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		a := nn.Relu(orig)
		sameTensor(t, "add", got["add"], nn.Add(nn.Mul(a, c), nn.Neg(a)), 0)
		sameTensor(t, "sub", got["sub"], nn.Sub(nn.Square(a), nn.Neg(c)), 0)
		sameTensor(t, "id", got["id"], orig, 0)
		sameTensor(t, "cneg", got["cneg"], nn.Neg(c), 0)
		got["id"].Data[0] = 42 // must not reach x
		got["cneg"].Data[0] = 42
	}
	sameTensor(t, "x", x, orig, 0)
	for _, s := range g.steps {
		if s.op == "Neg" && s.name == "cneg" {
			t.Error("constant Neg was not folded")
		}
	}
}

func TestGraphErrors(t *testing.T) {
	base := func() *testModel {
		m := newModel()
		m.placeholder("x", 1, 4, 4, 2)
		m.constant("w", nil, 1, 1, 2, 3)
		return m
	}
	cases := []struct {
		name  string
		build func(m *testModel)
		want  string
	}{
		{"unknown op", func(m *testModel) { m.node("weird/node", "FancyOp", nil, "x") }, `node "weird/node": unsupported op "FancyOp"`},
		{"unknown input", func(m *testModel) { m.node("r", "Relu", nil, "nope") }, `unknown node "nope"`},
		{"second output", func(m *testModel) { m.node("r", "Relu", nil, "x:1") }, "output 1"},
		{"duplicate", func(m *testModel) { m.node("x", "Relu", nil, "w") }, "two nodes"},
		{"cycle", func(m *testModel) {
			m.node("a", "Relu", nil, "b")
			m.node("b", "Relu", nil, "a")
			m.outputs("b")
		}, "cycle"},
		{"missing weight", func(m *testModel) { m.node("k", "Const", nil); m.node("r", "Add", nil, "x", "k") }, "no weight"},
		{"runtime filter", func(m *testModel) { m.node("c", "Conv2D", nil, "x", "x") }, "filter must be a constant"},
		{"bad padding", func(m *testModel) { m.node("c", "Conv2D", map[string]any{"padding": aS("FULL")}, "x", "w") }, "padding"},
		{"nchw", func(m *testModel) { m.node("c", "Conv2D", map[string]any{"data_format": aS("NCHW")}, "x", "w") }, "NHWC"},
		{"fused ops", func(m *testModel) {
			m.node("c", "_FusedConv2D", map[string]any{"fused_ops": aSs("BiasAdd", "Elu")}, "x", "w", "w")
		}, "fused ops"},
		{"bias size", func(m *testModel) {
			m.node("c", "_FusedConv2D", map[string]any{"fused_ops": aSs("BiasAdd")}, "x", "w", "w")
		}, "bias has shape"},
		{"strides", func(m *testModel) { m.node("c", "Conv2D", map[string]any{"strides": aI(2, 2)}, "x", "w") }, "strides"},
		{"no outputs", func(m *testModel) {}, "no outputs"},
		{"layers model", func(m *testModel) { m.nodes = nil }, "no graph nodes"},
		{"bad signature", func(m *testModel) {
			m.node("r", "Relu", nil, "x")
			m.sig = map[string]any{"inputs": map[string]any{"in": map[string]any{"name": "r:0"}}}
		}, "not a Placeholder"},
	}
	for _, c := range cases {
		m := base()
		c.build(m)
		_, err := LoadGraph(m.fs(), "m/model.json")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	// Errors found while running name the node.
	m := base()
	m.node("c", "Conv2D", nil, "x", "w")
	m.outputs("c")
	g := m.load(t)
	if _, err := g.Run(map[string]*nn.Tensor{"x": nn.New(1, 4, 4, 2)}); err != nil {
		t.Fatal(err)
	}
	m = newModel()
	m.placeholder("x", -1, -1)
	m.constant("w", nil, 3, 2)
	m.node("mm", "MatMul", nil, "x", "w")
	g = m.load(t)
	if _, err := g.Run(map[string]*nn.Tensor{"x": nn.New(2, 4)}); err == nil || !strings.Contains(err.Error(), `node "mm"`) {
		t.Errorf("mismatched MatMul: %v", err)
	}
}

// FuzzLoadGraph feeds mutated model.json files to LoadGraph, which must
// fail cleanly rather than panic; graphs that do load are run once on a
// small input, which likewise must not panic.
func FuzzLoadGraph(f *testing.F) {
	m := newModel()
	m.placeholder("x", -1, 4, 4, 2)
	m.constant("w", nil, 3, 3, 2, 3)
	m.constant("b", nil, 3)
	m.constant("alpha", nil, 1, 1, 3)
	m.intConst("pads", []int32{0, 0, 1, 1, 1, 1, 0, 0}, 4, 2)
	m.intConst("shape", []int32{-1, 48}, 2)
	m.node("pad", "Pad", nil, "x", "pads")
	m.node("conv", "_FusedConv2D", map[string]any{"padding": aS("VALID"), "strides": aI(1, 1, 1, 1),
		"fused_ops": aSs("BiasAdd", "Prelu"), "num_args": map[string]any{"i": "2"}}, "pad", "w", "b", "alpha")
	m.node("pool", "MaxPool", map[string]any{"ksize": aI(1, 2, 2, 1), "strides": aI(1, 1, 1, 1), "padding": aS("SAME")}, "conv")
	m.node("flat", "Reshape", nil, "pool", "shape")
	m.node("out", "Softmax", nil, "flat")
	m.outputs("out")
	bin := m.data
	f.Add(m.json())
	f.Add([]byte(`{"modelTopology":{"node":[{"name":"x","op":"Placeholder"},{"name":"y","op":"Relu","input":["x"]}]},"weightsManifest":[]}`))
	f.Add([]byte(`{"modelTopology":{"node":[{"name":"y","op":"Relu","input":["y"]}]}}`))
	f.Add([]byte(`{"modelTopology":{"node":[{"name":"w","op":"Const"}]},"weightsManifest":[{"paths":["m.bin"],"weights":[{"name":"w","shape":[4611686018427387904,4],"dtype":"float32"}]}]}`))
	var live []byte
	if dir, err := findHumanModels(); err == nil {
		if raw, err := os.ReadFile(filepath.Join(dir, "liveness.json")); err == nil {
			live, _ = os.ReadFile(filepath.Join(dir, "liveness.bin"))
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		fsys := fstest.MapFS{
			"m/model.json":   {Data: doc},
			"m/m.bin":        {Data: bin},
			"m/liveness.bin": {Data: live},
			"m/other/m.bin":  {Data: bin[:len(bin)/2]},
		}
		g, err := LoadGraph(fsys, "m/model.json")
		if err != nil {
			if g != nil {
				t.Fatal("graph and error both returned")
			}
			return
		}
		in := map[string]*nn.Tensor{}
		for _, name := range g.Inputs() {
			shape := g.InputShape(name)
			if shape == nil {
				return
			}
			shape = slices.Clone(shape)
			size := 1
			for i, d := range shape {
				if d < 0 {
					shape[i] = 1
				}
				size *= shape[i]
			}
			if size > 1<<14 {
				return
			}
			in[name] = nn.New(shape...)
		}
		_, _ = g.Run(in)
	})
}
