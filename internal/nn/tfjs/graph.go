package tfjs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/glint-id/glint/internal/nn"
)

// Graph is a TF.js graph model compiled for execution: its nodes sorted so
// that every node follows its inputs, each turned once into a step that
// holds its built layer, with constants folded and convolutions merged with
// the bias, scale and activation nodes that follow them. A Graph is never
// modified after LoadGraph, so Run may be called from several goroutines at
// once.
type Graph struct {
	steps   []step
	nslots  int
	maxArgs int
	inputs  []graphInput
	outputs []graphOutput
	inKeys  map[string]int // input name, tensor name or signature key → inputs index
}

type graphInput struct {
	name  string
	slot  int
	shape []int // -1 for a free dimension; nil when the rank is unknown
}

type graphOutput struct {
	name  string
	src   operand
	clone bool // the value belongs to the graph or the caller: copy it out
}

// operand is a step input: a slot filled while running, or a constant.
type operand struct {
	slot int // -1 for a constant
	c    *nn.Tensor
}

// kernel computes one node. reuse[i] says that args[i] is read by nobody
// else afterwards, so the kernel may overwrite it and return it.
type kernel func(args []*nn.Tensor, reuse []bool) (*nn.Tensor, error)

type step struct {
	name, op string
	args     []operand
	reuse    []bool
	out      int
	alias    bool  // out shares args[0]'s data
	free     []int // slots nobody reads after this step
	run      kernel
}

// maxElems bounds the size of any tensor a graph builds (1 GiB of
// float32), so that a corrupt model or a mistaken input fails with an error
// instead of exhausting memory; real face models stay far below it.
const maxElems = 1 << 28

// node is a NodeDef while the graph is being built.
type node struct {
	name  string
	op    string
	attr  attrs
	ins   []string    // data inputs (node names)
	out   string      // the value this node yields once followers are fused in
	post  []*node     // followers folded into this layer, in order
	padIn *nn.Padding // padding taken over from a folded Pad input
	dead  bool        // folded into another node
}

type builder struct {
	nodes  map[string]*node
	list   []*node
	consts map[string]*nn.Tensor // value name → constant
	users  map[string][]*node    // value name → consumers, once per input
	pinned map[string]bool       // values the caller reads
}

// LoadGraph reads a TF.js graph model (model.json and the weight shards it
// names, relative to its folder in fsys) and compiles it. Unsupported ops
// are reported here, naming the node, rather than when running.
func LoadGraph(fsys fs.FS, name string) (*Graph, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var mf modelFile
	if err := json.Unmarshal(raw, &mf); err != nil {
		return nil, fmt.Errorf("tfjs: %s: %w: %v", name, ErrFormat, err)
	}
	if len(mf.ModelTopology.Node) == 0 {
		return nil, fmt.Errorf("tfjs: %s: no graph nodes (format %q, want graph-model): %w", name, mf.Format, ErrFormat)
	}
	if err := checkManifest(mf.WeightsManifest); err != nil {
		return nil, fmt.Errorf("tfjs: %s: %w", name, err)
	}
	weights, err := ReadGroups(fsys, path.Dir(name), mf.WeightsManifest)
	if err != nil {
		return nil, err
	}
	g, err := build(&mf, weights)
	if err != nil {
		return nil, fmt.Errorf("tfjs: %s: %w", name, err)
	}
	return g, nil
}

// checkManifest rejects weight shapes whose size overflows before the
// shards are decoded.
func checkManifest(groups []Group) error {
	for _, g := range groups {
		for _, w := range g.Weights {
			if _, err := checkedSize(w.Shape); err != nil {
				return fmt.Errorf("weight %q: %w", w.Name, err)
			}
		}
	}
	return nil
}

// checkedSize is the element count of shape, or an error when a dimension
// is negative or the count exceeds maxElems.
func checkedSize(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v: negative dimension: %w", shape, ErrFormat)
		}
		if d != 0 && n > maxElems/d {
			return 0, fmt.Errorf("shape %v is too large: %w", shape, ErrFormat)
		}
		n *= d
	}
	return n, nil
}

func weightTensor(w *Weight) (*nn.Tensor, error) {
	n, err := checkedSize(w.Shape)
	if err != nil {
		return nil, err
	}
	data := w.F32
	if data == nil {
		data = make([]float32, len(w.I32))
		for i, v := range w.I32 {
			data[i] = float32(v)
		}
	}
	if len(data) != n {
		return nil, fmt.Errorf("weight %q has %d values for shape %v: %w", w.Name, len(data), w.Shape, ErrFormat)
	}
	return &nn.Tensor{Shape: slices.Clone(w.Shape), Data: data}, nil
}

func build(mf *modelFile, weights Weights) (*Graph, error) {
	b := &builder{
		nodes:  map[string]*node{},
		consts: map[string]*nn.Tensor{},
		users:  map[string][]*node{},
		pinned: map[string]bool{},
	}
	for i := range mf.ModelTopology.Node {
		def := &mf.ModelTopology.Node[i]
		if def.Name == "" {
			return nil, fmt.Errorf("node %d has no name: %w", i, ErrFormat)
		}
		if _, dup := b.nodes[def.Name]; dup {
			return nil, fmt.Errorf("two nodes are named %q: %w", def.Name, ErrFormat)
		}
		if _, ok := opTable[def.Op]; !ok {
			return nil, fmt.Errorf("node %q: unsupported op %q", def.Name, def.Op)
		}
		n := &node{name: def.Name, op: def.Op, attr: def.Attr, out: def.Name}
		for _, in := range def.Input {
			src, idx, control, err := splitInput(in)
			if err != nil {
				return nil, fmt.Errorf("node %q: %w", def.Name, err)
			}
			if control {
				continue
			}
			if idx != 0 {
				return nil, fmt.Errorf("node %q reads output %d of %q; only single-output ops are supported", def.Name, idx, src)
			}
			n.ins = append(n.ins, src)
		}
		b.nodes[n.name] = n
		b.list = append(b.list, n)
	}
	for _, n := range b.list {
		for _, in := range n.ins {
			if _, ok := b.nodes[in]; !ok {
				return nil, fmt.Errorf("node %q reads unknown node %q: %w", n.name, in, ErrFormat)
			}
			b.users[in] = append(b.users[in], n)
		}
		if n.op == "Const" {
			w, ok := weights[n.name]
			if !ok {
				return nil, fmt.Errorf("const node %q has no weight: %w", n.name, ErrFormat)
			}
			t, err := weightTensor(w)
			if err != nil {
				return nil, err
			}
			b.consts[n.name] = t
		}
	}

	inputs, outputs, err := b.signature(mf)
	if err != nil {
		return nil, err
	}
	for _, o := range outputs {
		b.pinned[o] = true
	}
	b.fuse()

	// After fusion each live node yields one value, named n.out.
	producer := map[string]*node{}
	for _, n := range b.list {
		if !n.dead {
			producer[n.out] = n
		}
	}
	order, err := topoOrder(producer, outputs)
	if err != nil {
		return nil, err
	}

	g := &Graph{inKeys: map[string]int{}}
	slot := map[string]int{}
	for i, in := range inputs {
		n := b.nodes[in.name]
		shape, known, err := n.attr.shape("shape")
		if err != nil {
			return nil, fmt.Errorf("placeholder %q: %w", in.name, err)
		}
		if !known {
			shape = nil
		}
		g.inputs = append(g.inputs, graphInput{name: in.name, slot: i, shape: shape})
		for _, k := range []string{in.name, in.name + ":0", in.key} {
			g.inKeys[k] = i
		}
		slot[in.name] = i
	}
	g.nslots = len(inputs)
	for _, n := range order {
		switch n.op {
		case "Const":
			continue
		case "Placeholder":
			if _, ok := slot[n.name]; !ok {
				return nil, fmt.Errorf("placeholder %q is needed but is not a model input: %w", n.name, ErrFormat)
			}
			continue
		}
		args := make([]operand, len(n.ins))
		allConst := true
		for i, in := range n.ins {
			v := producer[in]
			if v == nil {
				return nil, fmt.Errorf("node %q reads %q, which was folded away", n.name, in)
			}
			if c, ok := b.consts[v.out]; ok {
				args[i] = operand{slot: -1, c: c}
				continue
			}
			s, ok := slot[v.out]
			if !ok {
				return nil, fmt.Errorf("node %q reads %q before it is computed", n.name, in)
			}
			args[i] = operand{slot: s}
			allConst = false
		}
		spec := opTable[n.op]
		k, err := spec.compile(b, n, args)
		if err != nil {
			return nil, fmt.Errorf("node %q (%s): %w", n.name, n.op, err)
		}
		if allConst && spec.fold && foldSmall(args) {
			t, err := evalConst(k, args)
			if err != nil {
				return nil, fmt.Errorf("node %q (%s): %w", n.name, n.op, err)
			}
			b.consts[n.out] = t
			continue
		}
		g.steps = append(g.steps, step{name: n.out, op: n.op, args: args, out: g.nslots, alias: spec.alias, run: k})
		g.maxArgs = max(g.maxArgs, len(args))
		slot[n.out] = g.nslots
		g.nslots++
	}
	for _, o := range outputs {
		if c, ok := b.consts[o]; ok {
			g.outputs = append(g.outputs, graphOutput{name: o, src: operand{slot: -1, c: c}, clone: true})
			continue
		}
		g.outputs = append(g.outputs, graphOutput{name: o, src: operand{slot: slot[o]}})
	}
	g.plan()
	return g, nil
}

// signature finds the model's inputs (Placeholder nodes) and outputs (node
// names), from the signature when the converter wrote one, else as the
// Placeholders and the nodes nobody reads.
func (b *builder) signature(mf *modelFile) (inputs []sigEntry, outputs []string, err error) {
	sig := mf.Signature
	if len(sig) == 0 && len(mf.UserDefinedMetadata) > 0 {
		var meta struct {
			Signature json.RawMessage `json:"signature"`
		}
		// Metadata is free-form; a shape we do not understand just means
		// there is no signature in it.
		if json.Unmarshal(mf.UserDefinedMetadata, &meta) == nil {
			sig = meta.Signature
		}
	}
	ins, err := signatureEntries(sig, "inputs")
	if err != nil {
		return nil, nil, err
	}
	outs, err := signatureEntries(sig, "outputs")
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, e := range ins {
		name, idx, control, err := splitInput(e.name)
		if err != nil || idx != 0 || control {
			return nil, nil, fmt.Errorf("signature input %q: bad tensor name %q: %w", e.key, e.name, ErrFormat)
		}
		n, ok := b.nodes[name]
		if !ok || n.op != "Placeholder" {
			return nil, nil, fmt.Errorf("signature input %q names %q, which is not a Placeholder: %w", e.key, name, ErrFormat)
		}
		if !seen[name] {
			seen[name] = true
			inputs = append(inputs, sigEntry{key: e.key, name: name})
		}
	}
	if len(ins) == 0 {
		for _, n := range b.list {
			if n.op == "Placeholder" {
				inputs = append(inputs, sigEntry{key: n.name, name: n.name})
			}
		}
	}
	seen = map[string]bool{}
	for _, e := range outs {
		name, idx, control, err := splitInput(e.name)
		if err != nil || idx != 0 || control {
			return nil, nil, fmt.Errorf("signature output %q: bad tensor name %q: %w", e.key, e.name, ErrFormat)
		}
		if _, ok := b.nodes[name]; !ok {
			return nil, nil, fmt.Errorf("signature output %q names unknown node %q: %w", e.key, name, ErrFormat)
		}
		if !seen[name] {
			seen[name] = true
			outputs = append(outputs, name)
		}
	}
	if len(outs) == 0 {
		for _, n := range b.list {
			if len(b.users[n.name]) == 0 && n.op != "Const" && n.op != "Placeholder" {
				outputs = append(outputs, n.name)
			}
		}
	}
	if len(outputs) == 0 {
		return nil, nil, fmt.Errorf("the graph has no outputs: %w", ErrFormat)
	}
	return inputs, outputs, nil
}

// topoOrder lists the nodes the outputs depend on, each after its inputs,
// in depth-first order (which keeps a value's producer close to its
// readers, so intermediates die young).
func topoOrder(producer map[string]*node, outputs []string) ([]*node, error) {
	const (
		unseen = iota
		open
		done
	)
	state := map[*node]int{}
	var order []*node
	type frame struct {
		n    *node
		next int
	}
	for _, o := range outputs {
		root := producer[o]
		if root == nil {
			return nil, fmt.Errorf("output %q was folded into another node", o)
		}
		if state[root] != unseen {
			continue
		}
		stack := []frame{{n: root}}
		state[root] = open
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(top.n.ins) {
				state[top.n] = done
				order = append(order, top.n)
				stack = stack[:len(stack)-1]
				continue
			}
			in := top.n.ins[top.next]
			top.next++
			m := producer[in]
			if m == nil {
				return nil, fmt.Errorf("node %q reads %q, which was folded away", top.n.name, in)
			}
			switch state[m] {
			case open:
				return nil, fmt.Errorf("the graph has a cycle through %q: %w", m.name, ErrFormat)
			case unseen:
				state[m] = open
				stack = append(stack, frame{n: m})
			}
		}
	}
	return order, nil
}

// evalConst runs a kernel whose inputs are all constants, at load time.
func evalConst(k kernel, args []operand) (t *nn.Tensor, err error) {
	vals := make([]*nn.Tensor, len(args))
	for i, a := range args {
		vals[i] = a.c
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v: %w", r, ErrFormat)
		}
	}()
	return k(vals, make([]bool, len(args)))
}

// plan works out, for every step, which slots can be dropped after it and
// which inputs it may overwrite. Values that share data (a Reshape and its
// input) are tracked as one root: a root may be overwritten only by the
// last step that reads it, and never when it is a graph input or output.
func (g *Graph) plan() {
	root := make([]int, g.nslots)
	for i := range root {
		root[i] = i
	}
	for _, s := range g.steps {
		if s.alias && len(s.args) > 0 && s.args[0].slot >= 0 {
			root[s.out] = root[s.args[0].slot]
		}
	}
	pinned := make([]bool, g.nslots)
	isOut := make([]bool, g.nslots)
	for _, in := range g.inputs {
		pinned[in.slot] = true
	}
	seenRoot := make([]bool, g.nslots)
	for i := range g.outputs {
		o := &g.outputs[i]
		if o.src.slot < 0 {
			continue
		}
		r := root[o.src.slot]
		// Outputs sharing data with an input or with another output are
		// copied so the caller gets tensors it can modify freely.
		if r < len(g.inputs) || seenRoot[r] {
			o.clone = true
		}
		seenRoot[r] = true
		pinned[r] = true
		isOut[o.src.slot] = true
	}
	lastRoot := make([]int, g.nslots)
	lastSlot := make([]int, g.nslots)
	for i := range lastRoot {
		lastRoot[i], lastSlot[i] = -1, -1
	}
	for si, s := range g.steps {
		for _, a := range s.args {
			if a.slot >= 0 {
				lastRoot[root[a.slot]] = si
				lastSlot[a.slot] = si
			}
		}
	}
	for si := range g.steps {
		s := &g.steps[si]
		s.reuse = make([]bool, len(s.args))
		for i, a := range s.args {
			if a.slot < 0 || s.alias {
				continue
			}
			r := root[a.slot]
			if pinned[r] || lastRoot[r] != si {
				continue
			}
			shared := false
			for j, b := range s.args {
				if j != i && b.slot >= 0 && root[b.slot] == r {
					shared = true
				}
			}
			s.reuse[i] = !shared
		}
		for _, a := range s.args {
			if a.slot >= 0 && lastSlot[a.slot] == si && !isOut[a.slot] && !slices.Contains(s.free, a.slot) {
				s.free = append(s.free, a.slot)
			}
		}
		if lastSlot[s.out] < 0 && !isOut[s.out] {
			s.free = append(s.free, s.out)
		}
	}
}

// Inputs returns the names of the model's input nodes, in signature order.
// Run also accepts the signature keys and the "name:0" tensor names.
func (g *Graph) Inputs() []string {
	out := make([]string, len(g.inputs))
	for i, in := range g.inputs {
		out[i] = in.name
	}
	return out
}

// InputShape returns the declared shape of the named input, -1 marking a
// free dimension (usually the batch); nil when it is not declared.
func (g *Graph) InputShape(name string) []int {
	i, ok := g.inKeys[name]
	if !ok {
		return nil
	}
	return slices.Clone(g.inputs[i].shape)
}

// Outputs returns the names of the nodes Run returns, in the order of the
// model's signature (which is the order TF.js returns them in).
func (g *Graph) Outputs() []string {
	out := make([]string, len(g.outputs))
	for i, o := range g.outputs {
		out[i] = o.name
	}
	return out
}

// ErrInput reports inputs that do not match the model.
var ErrInput = errors.New("tfjs: bad graph input")

// Run executes the graph. inputs maps each input (by node name, tensor
// name or signature key) to a tensor of its declared shape; the tensors are
// only read. The result maps each name of Outputs to a tensor the caller
// owns.
func (g *Graph) Run(inputs map[string]*nn.Tensor) (out map[string]*nn.Tensor, err error) {
	vals := make([]*nn.Tensor, g.nslots)
	for key, t := range inputs {
		i, ok := g.inKeys[key]
		if !ok {
			return nil, fmt.Errorf("%w: unknown input %q (want %v)", ErrInput, key, g.Inputs())
		}
		in := g.inputs[i]
		if err := checkInput(in, t); err != nil {
			return nil, err
		}
		if vals[in.slot] != nil && vals[in.slot] != t {
			return nil, fmt.Errorf("%w: input %q given twice", ErrInput, in.name)
		}
		vals[in.slot] = t
	}
	for _, in := range g.inputs {
		if vals[in.slot] == nil {
			return nil, fmt.Errorf("%w: missing input %q", ErrInput, in.name)
		}
	}
	cur := -1
	defer func() {
		if r := recover(); r != nil {
			name, op := "", ""
			if cur >= 0 {
				name, op = g.steps[cur].name, g.steps[cur].op
			}
			out, err = nil, fmt.Errorf("tfjs: node %q (%s): %v", name, op, r)
		}
	}()
	args := make([]*nn.Tensor, g.maxArgs)
	for i := range g.steps {
		cur = i
		s := &g.steps[i]
		a := args[:len(s.args)]
		for j, o := range s.args {
			if o.slot < 0 {
				a[j] = o.c
			} else {
				a[j] = vals[o.slot]
			}
		}
		y, err := s.run(a, s.reuse)
		if err != nil {
			return nil, fmt.Errorf("tfjs: node %q (%s): %w", s.name, s.op, err)
		}
		vals[s.out] = y
		for _, f := range s.free {
			vals[f] = nil
		}
	}
	out = make(map[string]*nn.Tensor, len(g.outputs))
	for _, o := range g.outputs {
		t := o.src.c
		if o.src.slot >= 0 {
			t = vals[o.src.slot]
		}
		if o.clone {
			t = t.Clone()
		}
		out[o.name] = t
	}
	return out, nil
}

func checkInput(in graphInput, t *nn.Tensor) error {
	if t == nil {
		return fmt.Errorf("%w: input %q is nil", ErrInput, in.name)
	}
	n, err := checkedSize(t.Shape)
	if err != nil || n != len(t.Data) {
		return fmt.Errorf("%w: input %q has %d values for shape %v", ErrInput, in.name, len(t.Data), t.Shape)
	}
	if in.shape == nil {
		return nil
	}
	ok := len(t.Shape) == len(in.shape)
	for i := 0; ok && i < len(t.Shape); i++ {
		ok = in.shape[i] < 0 || in.shape[i] == t.Shape[i]
	}
	if !ok {
		return fmt.Errorf("%w: input %q has shape %v, want %v", ErrInput, in.name, t.Shape, in.shape)
	}
	return nil
}
