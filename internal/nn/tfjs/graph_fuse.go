package tfjs

import (
	"fmt"
	"slices"

	"github.com/glint-id/glint/internal/nn"
)

// The kinds of node that become an nn layer with bias and activation.
const (
	notLayer = iota
	convLayer
	depthwiseLayer
	denseLayer
)

func layerKind(op string) int {
	switch op {
	case "Conv2D", "_FusedConv2D":
		return convLayer
	case "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		return depthwiseLayer
	case "MatMul", "_FusedMatMul":
		return denseLayer
	}
	return notLayer
}

// fusedOps reads what a _Fused* node applies after its convolution or
// product: a bias and then at most one activation, which is all TF.js
// supports too.
func fusedOps(n *node) (bias bool, act string, err error) {
	if n.op != "_FusedConv2D" && n.op != "FusedDepthwiseConv2dNative" && n.op != "_FusedMatMul" {
		return false, "", nil
	}
	ops, err := n.attr.strs("fused_ops")
	if err != nil {
		return false, "", err
	}
	for i, op := range ops {
		switch {
		case op == "BiasAdd" && i == 0:
			bias = true
		case i == len(ops)-1 && isActivation(op):
			act = op
		default:
			return false, "", fmt.Errorf("fused ops %q are not supported", ops)
		}
	}
	return bias, act, nil
}

func isActivation(op string) bool {
	switch op {
	case "Relu", "Relu6", "Prelu", "LeakyRelu", "Sigmoid", "Tanh":
		return true
	}
	return false
}

// layerShape returns the output channels and output rank of the layer a
// node builds and the activation it already applies; ok is false when the
// node is malformed, which compiling it will report.
func (b *builder) layerShape(n *node) (outC, rank int, act string, ok bool) {
	if len(n.ins) < 2 {
		return 0, 0, "", false
	}
	f := b.consts[n.ins[1]]
	if f == nil {
		return 0, 0, "", false
	}
	switch layerKind(n.op) {
	case convLayer, depthwiseLayer:
		if len(f.Shape) != 4 {
			return 0, 0, "", false
		}
		outC, rank = f.Shape[3], 4
		if layerKind(n.op) == depthwiseLayer {
			outC = f.Shape[2] * f.Shape[3]
		}
	case denseLayer:
		if len(f.Shape) != 2 {
			return 0, 0, "", false
		}
		tb, err := n.attr.boolean("transpose_b", false)
		if err != nil {
			return 0, 0, "", false
		}
		outC, rank = f.Shape[1], 2
		if tb {
			outC = f.Shape[0]
		}
	default:
		return 0, 0, "", false
	}
	_, act, err := fusedOps(n)
	return outC, rank, act, err == nil
}

// fuse folds into each convolution and matrix product the nodes that only
// rescale, shift or activate its output (batch norms left as Mul/Add, bias
// adds, ReLU, clip-to-6, PReLU), and a zero Pad before a VALID convolution.
// A node is folded only when it is the sole reader of the layer's value and
// that value is not a model output, so nothing else can observe the
// difference.
func (b *builder) fuse() {
	for _, n := range b.list {
		kind := layerKind(n.op)
		if n.dead || kind == notLayer {
			continue
		}
		outC, rank, act, ok := b.layerShape(n)
		if !ok {
			continue
		}
		if kind != denseLayer {
			b.foldPad(n)
		}
		for {
			t := n.out
			us := b.users[t]
			if b.pinned[t] || len(us) != 1 || us[0].dead {
				break
			}
			f := us[0]
			next, ok := b.absorbable(f, t, outC, rank, act)
			if !ok {
				break
			}
			n.post = append(n.post, f)
			f.dead = true
			n.out = f.name
			act = next
		}
	}
}

// constOther returns the constant operand of a two-input node that reads
// the value t, and t's position; c is nil when there is none.
func (b *builder) constOther(f *node, t string) (c *nn.Tensor, pos int) {
	if len(f.ins) != 2 || f.ins[0] == f.ins[1] {
		return nil, -1
	}
	pos = slices.Index(f.ins, t)
	if pos < 0 {
		return nil, -1
	}
	return b.consts[f.ins[1-pos]], pos
}

// perChannel reports whether c broadcasts against a layer output of the
// given rank and channel count without changing its shape, with one value
// for all channels or one per channel.
func perChannel(c *nn.Tensor, outC, rank int) bool {
	if c == nil || len(c.Shape) > rank {
		return false
	}
	if c.Size() == 1 {
		return true
	}
	return c.Size() == outC && len(c.Shape) > 0 && c.Shape[len(c.Shape)-1] == outC
}

// absorbable says whether follower f of the layer value t can be folded
// into the layer, given the activation act the layer applies so far, and
// returns the activation after folding.
func (b *builder) absorbable(f *node, t string, outC, rank int, act string) (string, bool) {
	c, pos := b.constOther(f, t)
	switch f.op {
	case "Mul", "Add", "AddV2":
		return "", act == "" && perChannel(c, outC, rank)
	case "BiasAdd", "Sub":
		if f.op == "BiasAdd" {
			if df, err := f.attr.str("data_format", "NHWC"); err != nil || df != "NHWC" {
				return "", false
			}
		}
		return "", act == "" && pos == 0 && perChannel(c, outC, rank)
	case "Relu", "Relu6", "Sigmoid", "Tanh":
		return f.op, act == "" && len(f.ins) == 1
	case "LeakyRelu":
		_, err := f.attr.float("alpha", 0.2)
		return f.op, act == "" && len(f.ins) == 1 && err == nil
	case "Prelu":
		return f.op, act == "" && pos == 0 && perChannel(c, outC, rank)
	case "Minimum":
		// min(relu(x), 6) is relu6(x).
		ok := act == "Relu" && c != nil && c.Size() == 1 && len(c.Shape) <= rank && c.Data[0] == 6
		return "Relu6", ok
	case "Maximum":
		// max(relu(x), c) is relu(x) for any c ≤ 0; Keras writes its
		// clip as min then max(·, 0).
		ok := (act == "Relu" || act == "Relu6") && c != nil && c.Size() == 1 && len(c.Shape) <= rank && c.Data[0] <= 0
		return act, ok
	}
	return "", false
}

// foldPad lets a VALID or explicitly padded convolution read through a
// Pad node that adds zeros around height and width only, by widening the
// convolution's own padding.
func (b *builder) foldPad(n *node) {
	if len(n.ins) == 0 {
		return
	}
	p := b.nodes[n.ins[0]]
	if p == nil || p.dead || (p.op != "Pad" && p.op != "PadV2") || b.pinned[p.name] || len(b.users[p.name]) != 1 {
		return
	}
	mode, pad, err := padding(n)
	if err != nil || mode == nn.PadSame {
		return
	}
	switch {
	case p.op == "Pad" && len(p.ins) == 2:
	case p.op == "PadV2" && len(p.ins) == 3:
		v := b.consts[p.ins[2]]
		if v == nil || v.Size() != 1 || v.Data[0] != 0 {
			return
		}
	default:
		return
	}
	pc := b.consts[p.ins[1]]
	if pc == nil {
		return
	}
	pads, err := constPads(operand{slot: -1, c: pc})
	if err != nil || len(pads) != 4 || pads[0] != [2]int{} || pads[3] != [2]int{} {
		return
	}
	n.padIn = &nn.Padding{
		Top: pad.Top + pads[1][0], Bottom: pad.Bottom + pads[1][1],
		Left: pad.Left + pads[2][0], Right: pad.Right + pads[2][1],
	}
	p.dead = true
	src := p.ins[0]
	n.ins[0] = src
	us := b.users[src]
	if i := slices.Index(us, p); i >= 0 {
		us[i] = n
	}
}

// activation builds the nn activation named by a TF op. alpha is the PReLU
// slope tensor; attrNode holds LeakyRelu's alpha under key.
func activation(name string, alpha *nn.Tensor, attrNode *node, key string, outC int) (nn.Activation, error) {
	switch name {
	case "":
		return nn.Activation{}, nil
	case "Relu":
		return nn.Activation{Kind: nn.ActRelu}, nil
	case "Relu6":
		return nn.Activation{Kind: nn.ActRelu6}, nil
	case "Sigmoid":
		return nn.Activation{Kind: nn.ActSigmoid}, nil
	case "Tanh":
		return nn.Activation{Kind: nn.ActTanh}, nil
	case "LeakyRelu":
		a, err := attrNode.attr.float(key, 0.2)
		return nn.Activation{Kind: nn.ActLeaky, Alpha: float32(a)}, err
	case "Prelu":
		if alpha == nil {
			return nn.Activation{}, fmt.Errorf("PReLU alpha must be a constant")
		}
		switch alpha.Size() {
		case 1:
			return nn.Activation{Kind: nn.ActLeaky, Alpha: alpha.Data[0]}, nil
		case outC:
			return nn.Activation{Kind: nn.ActPrelu, Alphas: slices.Clone(alpha.Data)}, nil
		}
		return nn.Activation{}, fmt.Errorf("PReLU alpha has shape %v for %d channels: %w", alpha.Shape, outC, ErrFormat)
	}
	return nn.Activation{}, fmt.Errorf("activation %q is not supported", name)
}

// channelValues spreads a per-channel constant (one value, or one per
// channel) over outC channels.
func channelValues(c *nn.Tensor, outC int) []float32 {
	v := make([]float32, outC)
	if c.Size() == 1 {
		for i := range v {
			v[i] = c.Data[0]
		}
		return v
	}
	copy(v, c.Data)
	return v
}

// layerTail builds a layer's bias and activation from its fused arguments
// (the inputs after the filter) and from the followers fuse folded into
// it, scaling filter in place where a follower multiplies.
func (b *builder) layerTail(n *node, extra []operand, filter []float32, outC int) ([]float32, nn.Activation, error) {
	hasBias, actName, err := fusedOps(n)
	if err != nil {
		return nil, nn.Activation{}, err
	}
	need := 0
	if hasBias {
		need++
	}
	if actName == "Prelu" {
		need++
	}
	if len(extra) != need {
		return nil, nn.Activation{}, fmt.Errorf("has %d inputs after the filter, want %d: %w", len(extra), need, ErrFormat)
	}
	for _, e := range extra {
		if e.c == nil {
			return nil, nn.Activation{}, fmt.Errorf("fused bias and PReLU alpha must be constants")
		}
	}
	bias := make([]float32, outC)
	if hasBias {
		if extra[0].c.Size() != outC {
			return nil, nn.Activation{}, fmt.Errorf("bias has shape %v for %d channels: %w", extra[0].c.Shape, outC, ErrFormat)
		}
		copy(bias, extra[0].c.Data)
		extra = extra[1:]
	}
	var alpha *nn.Tensor
	if len(extra) > 0 {
		alpha = extra[0].c
	}
	act, err := activation(actName, alpha, n, "leakyrelu_alpha", outC)
	if err != nil {
		return nil, nn.Activation{}, err
	}
	t := n.name
	for _, f := range n.post {
		c, _ := b.constOther(f, t)
		switch f.op {
		case "Mul":
			nn.FoldAffine(filter, bias, outC, channelValues(c, outC), make([]float32, outC))
		case "Add", "AddV2", "BiasAdd":
			for i, v := range channelValues(c, outC) {
				bias[i] += v
			}
		case "Sub":
			for i, v := range channelValues(c, outC) {
				bias[i] -= v
			}
		case "Minimum":
			act = nn.Activation{Kind: nn.ActRelu6}
		case "Maximum":
		default:
			if act, err = activation(f.op, c, f, "alpha", outC); err != nil {
				return nil, nn.Activation{}, fmt.Errorf("folded %s %q: %w", f.op, f.name, err)
			}
		}
		t = f.name
	}
	return bias, act, nil
}

func compileConv(b *builder, n *node, args []operand) (kernel, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("has %d inputs, want at least 2: %w", len(args), ErrFormat)
	}
	f := args[1].c
	if f == nil {
		return nil, fmt.Errorf("filter must be a constant")
	}
	if len(f.Shape) != 4 || slices.Min(f.Shape) < 1 {
		return nil, fmt.Errorf("filter shape %v is not [height width in out]: %w", f.Shape, ErrFormat)
	}
	sh, sw, err := window(n, "strides")
	if err != nil {
		return nil, err
	}
	dh, dw, err := window(n, "dilations")
	if err != nil {
		return nil, err
	}
	mode, pad, err := padding(n)
	if err != nil {
		return nil, err
	}
	if n.padIn != nil {
		mode, pad = nn.PadExplicit, *n.padIn
	}
	depthwise := layerKind(n.op) == depthwiseLayer
	p := nn.ConvParams{
		KH: f.Shape[0], KW: f.Shape[1], InC: f.Shape[2], OutC: f.Shape[3],
		StrideH: sh, StrideW: sw, DilationH: dh, DilationW: dw, Mode: mode, Pad: pad,
	}
	mult := f.Shape[3]
	if depthwise {
		p.OutC = p.InC * mult
	}
	filter := slices.Clone(f.Data)
	bias, act, err := b.layerTail(n, args[2:], filter, p.OutC)
	if err != nil {
		return nil, err
	}
	var forward func(*nn.Tensor) *nn.Tensor
	if depthwise {
		forward = nn.NewDepthwiseConv2D(p, mult, filter, bias, act).Forward
	} else {
		forward = nn.NewConv2D(p, filter, bias, act).Forward
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		if err := checkImage(a[0], p.InC, p); err != nil {
			return nil, err
		}
		return forward(a[0]), nil
	}, nil
}

func compileMatMul(b *builder, n *node, args []operand) (kernel, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("has %d inputs, want at least 2: %w", len(args), ErrFormat)
	}
	w := args[1].c
	if w == nil {
		return nil, fmt.Errorf("the right operand must be a constant (the weights)")
	}
	if len(w.Shape) != 2 {
		return nil, fmt.Errorf("weights have shape %v, want a matrix: %w", w.Shape, ErrFormat)
	}
	ta, err := n.attr.boolean("transpose_a", false)
	if err != nil {
		return nil, err
	}
	tb, err := n.attr.boolean("transpose_b", false)
	if err != nil {
		return nil, err
	}
	in, out := w.Shape[0], w.Shape[1]
	weights := slices.Clone(w.Data)
	if tb {
		in, out = out, in
		weights = nn.Transpose(w, []int{1, 0}).Data
	}
	bias, act, err := b.layerTail(n, args[2:], weights, out)
	if err != nil {
		return nil, err
	}
	dense := nn.NewDense(in, out, weights, bias, act)
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		x := a[0]
		if len(x.Shape) != 2 {
			return nil, fmt.Errorf("input shape %v is not a matrix", x.Shape)
		}
		if ta {
			x = nn.Transpose(x, []int{1, 0})
		}
		if x.Shape[1] != in {
			return nil, fmt.Errorf("input shape %v does not match weights [%d %d]", x.Shape, in, out)
		}
		return dense.Forward(x), nil
	}, nil
}
