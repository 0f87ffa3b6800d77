package tfjs

import (
	"fmt"
	"math"
	"slices"

	"github.com/glint-id/glint/internal/nn"
)

// opSpec says how to compile one GraphDef op.
type opSpec struct {
	compile func(b *builder, n *node, args []operand) (kernel, error)
	alias   bool // the result shares its first input's data
	fold    bool // cheap and bounded: evaluate at load when inputs are constant
}

// opTable lists every op LoadGraph accepts; anything else is rejected at
// load.
var opTable map[string]opSpec

func init() {
	bin := func(op nn.BinOp) opSpec { return opSpec{compile: compileBinary(op), fold: true} }
	un := func(op nn.UnaryOp) opSpec { return opSpec{compile: compileUnary(op), fold: true} }
	conv := opSpec{compile: compileConv}
	matmul := opSpec{compile: compileMatMul}
	opTable = map[string]opSpec{
		"Const":       {},
		"Placeholder": {},

		"Identity":   {compile: compileIdentity, alias: true, fold: true},
		"Reshape":    {compile: compileReshape, alias: true, fold: true},
		"Squeeze":    {compile: compileSqueeze, alias: true, fold: true},
		"ExpandDims": {compile: compileExpandDims, alias: true, fold: true},

		"Conv2D":                     conv,
		"_FusedConv2D":               conv,
		"DepthwiseConv2dNative":      conv,
		"FusedDepthwiseConv2dNative": conv,
		"MatMul":                     matmul,
		"_FusedMatMul":               matmul,

		"Add":     bin(nn.OpAdd),
		"AddV2":   bin(nn.OpAdd),
		"BiasAdd": bin(nn.OpAdd),
		"Sub":     bin(nn.OpSub),
		"Mul":     bin(nn.OpMul),
		"RealDiv": bin(nn.OpDiv),
		"Div":     bin(nn.OpDiv),
		"Maximum": bin(nn.OpMax),
		"Minimum": bin(nn.OpMin),

		"Relu":    un(nn.OpRelu),
		"Relu6":   un(nn.OpRelu6),
		"Sigmoid": un(nn.OpSigmoid),
		"Tanh":    un(nn.OpTanh),
		"Abs":     un(nn.OpAbs),
		"Square":  un(nn.OpSquare),
		"Rsqrt":   un(nn.OpRsqrt),
		"Exp":     un(nn.OpExp),
		"Neg":     un(nn.OpNeg),

		"Prelu":     {compile: compilePrelu, fold: true},
		"LeakyRelu": {compile: compileLeakyRelu, fold: true},
		"Softmax":   {compile: compileSoftmax, fold: true},
		"Mean":      {compile: compileReduce(true), fold: true},
		"Sum":       {compile: compileReduce(false), fold: true},
		"MaxPool":   {compile: compilePool(true)},
		"AvgPool":   {compile: compilePool(false)},
		"Pad":       {compile: compilePad},
		"PadV2":     {compile: compilePad},
		"ConcatV2":  {compile: compileConcat, fold: true},
		"Transpose": {compile: compileTranspose, fold: true},
		"Slice":     {compile: compileSlice, fold: true},

		"ResizeBilinear":        {compile: compileResize(false)},
		"ResizeNearestNeighbor": {compile: compileResize(true)},
	}
}

// foldSmall reports whether evaluating an op on constant inputs at load
// stays within the size of those inputs; a broadcast of two large constants
// could otherwise build a huge tensor from a small file.
func foldSmall(args []operand) bool {
	if len(args) == 2 {
		if shape, ok := nn.BroadcastShape(args[0].c.Shape, args[1].c.Shape); ok {
			n, err := checkedSize(shape)
			return err == nil && n <= max(args[0].c.Size(), args[1].c.Size())
		}
	}
	return true
}

func wantArgs(args []operand, n int) error {
	if len(args) != n {
		return fmt.Errorf("has %d inputs, want %d: %w", len(args), n, ErrFormat)
	}
	return nil
}

// constInts reads a small integer constant (a shape, an axis list, the
// paddings) that the op needs at load.
func constInts(a operand, what string) ([]int, error) {
	if a.c == nil {
		return nil, fmt.Errorf("%s must be a constant", what)
	}
	out := make([]int, len(a.c.Data))
	for i, v := range a.c.Data {
		if v != float32(math.Trunc(float64(v))) || v < -maxAttrInt || v > maxAttrInt {
			return nil, fmt.Errorf("%s holds %v, not a small integer: %w", what, v, ErrFormat)
		}
		out[i] = int(v)
	}
	return out, nil
}

func compileIdentity(_ *builder, _ *node, args []operand) (kernel, error) {
	if len(args) < 1 {
		return nil, wantArgs(args, 1)
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) { return a[0], nil }, nil
}

func compileReshape(_ *builder, _ *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 2); err != nil {
		return nil, err
	}
	target, err := constInts(args[1], "shape")
	if err != nil {
		return nil, err
	}
	infer := -1
	for i, d := range target {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("bad target shape %v: %w", target, ErrFormat)
		}
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		x := a[0]
		shape := slices.Clone(target)
		known := 1
		for i, d := range shape {
			if i == infer {
				continue
			}
			if d != 0 && known > len(x.Data)/d+1 {
				return nil, fmt.Errorf("cannot reshape %v to %v", x.Shape, target)
			}
			known *= d
		}
		if infer >= 0 {
			if known == 0 || len(x.Data)%known != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", x.Shape, target)
			}
			shape[infer] = len(x.Data) / known
		} else if known != len(x.Data) {
			return nil, fmt.Errorf("cannot reshape %v to %v", x.Shape, target)
		}
		return &nn.Tensor{Shape: shape, Data: x.Data}, nil
	}, nil
}

func compileSqueeze(_ *builder, n *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	dims, err := n.attr.ints("squeeze_dims")
	if err != nil {
		return nil, err
	}
	if dims == nil {
		if dims, err = n.attr.ints("axis"); err != nil {
			return nil, err
		}
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		x := a[0]
		r := len(x.Shape)
		drop := make([]bool, r)
		for _, d := range dims {
			if d < 0 {
				d += r
			}
			if d < 0 || d >= r || x.Shape[d] != 1 {
				return nil, fmt.Errorf("cannot squeeze dimension %v of %v", dims, x.Shape)
			}
			drop[d] = true
		}
		var shape []int
		for i, s := range x.Shape {
			if drop[i] || len(dims) == 0 && s == 1 {
				continue
			}
			shape = append(shape, s)
		}
		return &nn.Tensor{Shape: shape, Data: x.Data}, nil
	}, nil
}

func compileExpandDims(_ *builder, _ *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 2); err != nil {
		return nil, err
	}
	axis, err := constInts(args[1], "axis")
	if err != nil {
		return nil, err
	}
	if len(axis) != 1 {
		return nil, fmt.Errorf("axis has %d values, want 1: %w", len(axis), ErrFormat)
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		x := a[0]
		d := axis[0]
		if d < 0 {
			d += len(x.Shape) + 1
		}
		if d < 0 || d > len(x.Shape) {
			return nil, fmt.Errorf("axis %d out of range for %v", axis[0], x.Shape)
		}
		shape := slices.Insert(slices.Clone(x.Shape), d, 1)
		return &nn.Tensor{Shape: shape, Data: x.Data}, nil
	}, nil
}

func compileBinary(op nn.BinOp) func(*builder, *node, []operand) (kernel, error) {
	return func(_ *builder, _ *node, args []operand) (kernel, error) {
		if err := wantArgs(args, 2); err != nil {
			return nil, err
		}
		return func(a []*nn.Tensor, reuse []bool) (*nn.Tensor, error) {
			x, y := a[0], a[1]
			shape, ok := nn.BroadcastShape(x.Shape, y.Shape)
			if !ok {
				return nil, fmt.Errorf("cannot broadcast %v and %v", x.Shape, y.Shape)
			}
			switch {
			case reuse[0] && slices.Equal(shape, x.Shape):
				nn.BinaryInto(op, x, x, y)
				return x, nil
			case reuse[1] && slices.Equal(shape, y.Shape):
				nn.BinaryInto(op, y, x, y)
				return y, nil
			}
			if _, err := checkedSize(shape); err != nil {
				return nil, err
			}
			return nn.Binary(op, x, y), nil
		}, nil
	}
}

func compileUnary(op nn.UnaryOp) func(*builder, *node, []operand) (kernel, error) {
	return func(_ *builder, _ *node, args []operand) (kernel, error) {
		if err := wantArgs(args, 1); err != nil {
			return nil, err
		}
		return func(a []*nn.Tensor, reuse []bool) (*nn.Tensor, error) {
			if reuse[0] {
				op.Apply(a[0].Data, a[0].Data)
				return a[0], nil
			}
			return op.Of(a[0]), nil
		}, nil
	}
}

// applyRows applies a fused-style activation to every channel row of y.
func applyRows(act nn.Activation, y *nn.Tensor) {
	c := 1
	if len(y.Shape) > 0 {
		c = y.Shape[len(y.Shape)-1]
	}
	if c == 0 {
		return
	}
	nn.Parallel(len(y.Data)/c, max(1, 16384/c), func(lo, hi int) {
		act.Apply(y.Data[lo*c:hi*c], 0, c)
	})
}

func compilePrelu(_ *builder, _ *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 2); err != nil {
		return nil, err
	}
	return func(a []*nn.Tensor, reuse []bool) (*nn.Tensor, error) {
		x, alpha := a[0], a[1]
		shape, ok := nn.BroadcastShape(x.Shape, alpha.Shape)
		if !ok {
			return nil, fmt.Errorf("cannot broadcast %v and alpha %v", x.Shape, alpha.Shape)
		}
		if slices.Equal(shape, x.Shape) {
			if act, ok := channelAct(alpha, x.Shape); ok {
				y := x
				if !reuse[0] {
					y = x.Clone()
				}
				applyRows(act, y)
				return y, nil
			}
		}
		// Any other broadcast: x where x > 0, else alpha·x.
		if _, err := checkedSize(shape); err != nil {
			return nil, err
		}
		neg := nn.Mul(nn.Minimum(x, nn.New()), alpha)
		return nn.Add(nn.Relu(x), neg), nil
	}, nil
}

// channelAct turns a PReLU alpha that is a scalar or one value per channel
// of a tensor of the given shape into an activation.
func channelAct(alpha *nn.Tensor, shape []int) (nn.Activation, bool) {
	if alpha.Size() == 1 {
		return nn.Activation{Kind: nn.ActLeaky, Alpha: alpha.Data[0]}, true
	}
	if len(shape) == 0 || len(alpha.Shape) == 0 || alpha.Shape[len(alpha.Shape)-1] != shape[len(shape)-1] ||
		alpha.Size() != shape[len(shape)-1] {
		return nn.Activation{}, false
	}
	return nn.Activation{Kind: nn.ActPrelu, Alphas: alpha.Data}, true
}

func compileLeakyRelu(_ *builder, n *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	alpha, err := n.attr.float("alpha", 0.2)
	if err != nil {
		return nil, err
	}
	act := nn.Activation{Kind: nn.ActLeaky, Alpha: float32(alpha)}
	return func(a []*nn.Tensor, reuse []bool) (*nn.Tensor, error) {
		y := a[0]
		if !reuse[0] {
			y = y.Clone()
		}
		applyRows(act, y)
		return y, nil
	}, nil
}

func compileSoftmax(_ *builder, _ *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		if len(a[0].Shape) == 0 {
			return nil, fmt.Errorf("softmax of a scalar")
		}
		return nn.Softmax(a[0], -1), nil
	}, nil
}

func compileReduce(mean bool) func(*builder, *node, []operand) (kernel, error) {
	return func(_ *builder, n *node, args []operand) (kernel, error) {
		if err := wantArgs(args, 2); err != nil {
			return nil, err
		}
		axes, err := constInts(args[1], "reduction axes")
		if err != nil {
			return nil, err
		}
		keep, err := n.attr.boolean("keep_dims", false)
		if err != nil {
			return nil, err
		}
		return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
			x := a[0]
			for _, ax := range axes {
				if ax < -len(x.Shape) || ax >= len(x.Shape) {
					return nil, fmt.Errorf("axis %d out of range for %v", ax, x.Shape)
				}
			}
			if mean {
				return nn.Mean(x, axes, keep), nil
			}
			return nn.Sum(x, axes, keep), nil
		}, nil
	}
}

// window reads the NHWC ksize/strides/dilations style attribute: four
// values with 1 for batch and channels.
func window(n *node, key string) (h, w int, err error) {
	v, err := n.attr.ints(key)
	if err != nil {
		return 0, 0, err
	}
	switch len(v) {
	case 0:
		return 1, 1, nil
	case 4:
		if v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 {
			return 0, 0, fmt.Errorf("%s %v: only NHWC windows over height and width are supported", key, v)
		}
		return v[1], v[2], nil
	}
	return 0, 0, fmt.Errorf("%s has %d values, want 4: %w", key, len(v), ErrFormat)
}

// padding reads the padding attribute (SAME, VALID or EXPLICIT with
// explicit_paddings) and checks the data format is NHWC.
func padding(n *node) (nn.PadMode, nn.Padding, error) {
	if f, err := n.attr.str("data_format", "NHWC"); err != nil {
		return 0, nn.Padding{}, err
	} else if f != "NHWC" && f != "" {
		return 0, nn.Padding{}, fmt.Errorf("data format %q: only NHWC is supported", f)
	}
	mode, err := n.attr.str("padding", "VALID")
	if err != nil {
		return 0, nn.Padding{}, err
	}
	switch mode {
	case "SAME":
		return nn.PadSame, nn.Padding{}, nil
	case "VALID":
		return nn.PadValid, nn.Padding{}, nil
	case "EXPLICIT":
		p, err := n.attr.ints("explicit_paddings")
		if err != nil {
			return 0, nn.Padding{}, err
		}
		if len(p) != 8 || p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 {
			return 0, nn.Padding{}, fmt.Errorf("explicit paddings %v: want 8 values padding only height and width: %w", p, ErrFormat)
		}
		for _, v := range p {
			if v < 0 {
				return 0, nn.Padding{}, fmt.Errorf("negative explicit padding %v: %w", p, ErrFormat)
			}
		}
		return nn.PadExplicit, nn.Padding{Top: p[2], Bottom: p[3], Left: p[4], Right: p[5]}, nil
	}
	return 0, nn.Padding{}, fmt.Errorf("padding %q: %w", mode, ErrFormat)
}

// checkImage verifies that x is an NHWC tensor with c channels (any c when
// c < 0) and that the window p leaves at least one output pixel.
func checkImage(x *nn.Tensor, c int, p nn.ConvParams) error {
	if len(x.Shape) != 4 {
		return fmt.Errorf("input shape %v is not NHWC", x.Shape)
	}
	if c >= 0 && x.Shape[3] != c {
		return fmt.Errorf("input shape %v has %d channels, want %d", x.Shape, x.Shape[3], c)
	}
	if oh, ow, _ := p.Geometry(x.Shape[1], x.Shape[2]); oh < 1 || ow < 1 {
		return fmt.Errorf("input shape %v is smaller than the %dx%d window", x.Shape, p.KH, p.KW)
	}
	return nil
}

func compilePool(isMax bool) func(*builder, *node, []operand) (kernel, error) {
	return func(_ *builder, n *node, args []operand) (kernel, error) {
		if err := wantArgs(args, 1); err != nil {
			return nil, err
		}
		kh, kw, err := window(n, "ksize")
		if err != nil {
			return nil, err
		}
		sh, sw, err := window(n, "strides")
		if err != nil {
			return nil, err
		}
		mode, pad, err := padding(n)
		if err != nil {
			return nil, err
		}
		p := nn.ConvParams{KH: kh, KW: kw, StrideH: sh, StrideW: sw, Mode: mode, Pad: pad}
		return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
			if err := checkImage(a[0], -1, p); err != nil {
				return nil, err
			}
			if isMax {
				return nn.MaxPool2D(a[0], p), nil
			}
			return nn.AvgPool2D(a[0], p), nil
		}, nil
	}
}

// constPads reads a paddings constant of shape [rank, 2].
func constPads(a operand) ([][2]int, error) {
	v, err := constInts(a, "paddings")
	if err != nil {
		return nil, err
	}
	if len(a.c.Shape) != 2 || a.c.Shape[1] != 2 {
		return nil, fmt.Errorf("paddings have shape %v, want [rank 2]: %w", a.c.Shape, ErrFormat)
	}
	pads := make([][2]int, len(v)/2)
	for i := range pads {
		pads[i] = [2]int{v[2*i], v[2*i+1]}
		if pads[i][0] < 0 || pads[i][1] < 0 {
			return nil, fmt.Errorf("negative paddings %v: %w", v, ErrFormat)
		}
	}
	return pads, nil
}

func compilePad(_ *builder, n *node, args []operand) (kernel, error) {
	want := 2
	if n.op == "PadV2" {
		want = 3
	}
	if err := wantArgs(args, want); err != nil {
		return nil, err
	}
	pads, err := constPads(args[1])
	if err != nil {
		return nil, err
	}
	var value float32
	if want == 3 {
		if args[2].c == nil || args[2].c.Size() != 1 {
			return nil, fmt.Errorf("pad value must be a constant scalar")
		}
		value = args[2].c.Data[0]
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		x := a[0]
		if len(x.Shape) != len(pads) {
			return nil, fmt.Errorf("%d paddings for shape %v", len(pads), x.Shape)
		}
		shape := slices.Clone(x.Shape)
		for i, p := range pads {
			shape[i] += p[0] + p[1]
		}
		if _, err := checkedSize(shape); err != nil {
			return nil, err
		}
		return nn.Pad(x, pads, value), nil
	}, nil
}

func compileConcat(_ *builder, n *node, args []operand) (kernel, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("has %d inputs, want tensors and an axis: %w", len(args), ErrFormat)
	}
	axis, err := constInts(args[len(args)-1], "axis")
	if err != nil {
		return nil, err
	}
	if len(axis) != 1 {
		return nil, fmt.Errorf("axis has %d values, want 1: %w", len(axis), ErrFormat)
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		xs := a[:len(a)-1]
		r := len(xs[0].Shape)
		ax := axis[0]
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r {
			return nil, fmt.Errorf("axis %d out of range for %v", axis[0], xs[0].Shape)
		}
		for _, x := range xs[1:] {
			if len(x.Shape) != r {
				return nil, fmt.Errorf("cannot concatenate %v and %v", xs[0].Shape, x.Shape)
			}
			for d := range r {
				if d != ax && x.Shape[d] != xs[0].Shape[d] {
					return nil, fmt.Errorf("cannot concatenate %v and %v on axis %d", xs[0].Shape, x.Shape, ax)
				}
			}
		}
		return nn.Concat(ax, xs...), nil
	}, nil
}

func compileTranspose(_ *builder, _ *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 2); err != nil {
		return nil, err
	}
	perm, err := constInts(args[1], "perm")
	if err != nil {
		return nil, err
	}
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation: %w", perm, ErrFormat)
		}
		seen[p] = true
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		if len(a[0].Shape) != len(perm) {
			return nil, fmt.Errorf("perm %v for shape %v", perm, a[0].Shape)
		}
		return nn.Transpose(a[0], perm), nil
	}, nil
}

func compileSlice(_ *builder, _ *node, args []operand) (kernel, error) {
	if err := wantArgs(args, 3); err != nil {
		return nil, err
	}
	begin, err := constInts(args[1], "begin")
	if err != nil {
		return nil, err
	}
	size, err := constInts(args[2], "size")
	if err != nil {
		return nil, err
	}
	if len(begin) != len(size) {
		return nil, fmt.Errorf("begin %v and size %v differ in length: %w", begin, size, ErrFormat)
	}
	return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
		x := a[0]
		if len(x.Shape) != len(begin) {
			return nil, fmt.Errorf("slice %v+%v of %v", begin, size, x.Shape)
		}
		for d := range begin {
			s := size[d]
			if s == -1 {
				s = x.Shape[d] - begin[d]
			}
			if begin[d] < 0 || s < 0 || begin[d]+s > x.Shape[d] {
				return nil, fmt.Errorf("slice %v+%v out of %v", begin, size, x.Shape)
			}
		}
		return nn.Slice(x, begin, size), nil
	}, nil
}

func compileResize(nearest bool) func(*builder, *node, []operand) (kernel, error) {
	return func(_ *builder, n *node, args []operand) (kernel, error) {
		if err := wantArgs(args, 2); err != nil {
			return nil, err
		}
		size, err := constInts(args[1], "size")
		if err != nil {
			return nil, err
		}
		if len(size) != 2 || size[0] < 1 || size[1] < 1 {
			return nil, fmt.Errorf("size %v: %w", size, ErrFormat)
		}
		align, err := n.attr.boolean("align_corners", false)
		if err != nil {
			return nil, err
		}
		half, err := n.attr.boolean("half_pixel_centers", false)
		if err != nil {
			return nil, err
		}
		return func(a []*nn.Tensor, _ []bool) (*nn.Tensor, error) {
			x := a[0]
			if len(x.Shape) != 4 {
				return nil, fmt.Errorf("input shape %v is not NHWC", x.Shape)
			}
			if _, err := checkedSize([]int{x.Shape[0], size[0], size[1], x.Shape[3]}); err != nil {
				return nil, err
			}
			if nearest {
				return nn.ResizeNearest(x, size[0], size[1], align, half), nil
			}
			return nn.ResizeBilinear(x, size[0], size[1], align, half), nil
		}, nil
	}
}
