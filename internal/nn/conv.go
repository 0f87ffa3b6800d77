package nn

import "fmt"

// PadMode says how a convolution or pooling window treats the borders.
type PadMode uint8

const (
	// PadValid uses no padding: windows lie wholly inside the input.
	PadValid PadMode = iota
	// PadSame is TensorFlow's SAME: out = ceil(in/stride), the padding
	// split with the odd pixel at the bottom/right.
	PadSame
	// PadExplicit uses the Padding given in ConvParams.Pad.
	PadExplicit
)

// Padding is an explicit border in pixels, filled with zeros.
type Padding struct{ Top, Bottom, Left, Right int }

// ConvParams describes the geometry of a 2-D convolution or pooling window.
// Zero strides and dilations mean 1.
type ConvParams struct {
	KH, KW               int
	InC, OutC            int
	StrideH, StrideW     int
	DilationH, DilationW int
	Mode                 PadMode
	Pad                  Padding // used when Mode is PadExplicit
}

func (p ConvParams) norm() ConvParams {
	if p.StrideH == 0 {
		p.StrideH = 1
	}
	if p.StrideW == 0 {
		p.StrideW = 1
	}
	if p.DilationH == 0 {
		p.DilationH = 1
	}
	if p.DilationW == 0 {
		p.DilationW = 1
	}
	return p
}

// Geometry returns the output size and the padding used for an input of
// h×w pixels.
func (p ConvParams) Geometry(h, w int) (oh, ow int, pad Padding) {
	p = p.norm()
	ekh := (p.KH-1)*p.DilationH + 1
	ekw := (p.KW-1)*p.DilationW + 1
	switch p.Mode {
	case PadSame:
		oh = (h + p.StrideH - 1) / p.StrideH
		ow = (w + p.StrideW - 1) / p.StrideW
		ph := max((oh-1)*p.StrideH+ekh-h, 0)
		pw := max((ow-1)*p.StrideW+ekw-w, 0)
		pad = Padding{Top: ph / 2, Bottom: ph - ph/2, Left: pw / 2, Right: pw - pw/2}
	case PadExplicit:
		pad = p.Pad
		fallthrough
	default:
		oh = (h+pad.Top+pad.Bottom-ekh)/p.StrideH + 1
		ow = (w+pad.Left+pad.Right-ekw)/p.StrideW + 1
	}
	if oh < 0 {
		oh = 0
	}
	if ow < 0 {
		ow = 0
	}
	return oh, ow, pad
}

// Conv2D is a 2-D convolution with bias and fused activation.
type Conv2D struct {
	P   ConvParams
	Act Activation

	filter []float32 // HWIO: [KH][KW][InC][OutC]; kept only for tests (keepReference)
	bias   []float32 // OutC
	packed *packedB  // filter as B[KH·KW·InC × OutC] for the GEMM
}

// keepReference keeps each layer's unpacked weights beside the packed ones
// so that tests can run the reference implementations on them. Models would
// otherwise hold every weight twice.
var keepReference = false

// NewConv2D builds a convolution from a filter in TensorFlow's HWIO layout
// ([KH][KW][InC][OutC]) and an optional bias (nil means zero). The slices
// are copied.
func NewConv2D(p ConvParams, filter, bias []float32, act Activation) *Conv2D {
	p = p.norm()
	if len(filter) != p.KH*p.KW*p.InC*p.OutC {
		panic(fmt.Sprintf("nn: conv filter has %d values, want %d", len(filter), p.KH*p.KW*p.InC*p.OutC))
	}
	b := make([]float32, p.OutC)
	if bias != nil {
		if len(bias) != p.OutC {
			panic("nn: conv bias length")
		}
		copy(b, bias)
	}
	c := &Conv2D{P: p, Act: act, bias: b, packed: packB(filter, p.KH*p.KW*p.InC, p.OutC, b)}
	if keepReference {
		c.filter = append([]float32(nil), filter...)
	}
	return c
}

// Forward applies the convolution to an NHWC tensor.
func (c *Conv2D) Forward(x *Tensor) *Tensor { return c.forward(x, kernels) }

// forward is Forward with the kernel set given, so that tests can
// run every twin through the whole layer.
func (c *Conv2D) forward(x *Tensor, kern *kernelImpl) *Tensor {
	p := c.P.norm()
	n, h, w, ic := x.NHWC()
	checkData(x, "conv")
	if ic != p.InC {
		panic(fmt.Sprintf("nn: conv input has %d channels, want %d", ic, p.InC))
	}
	if c.packed == nil || c.packed.k != p.KH*p.KW*p.InC || c.packed.n != p.OutC {
		panic("nn: Conv2D not built by NewConv2D, or its shape changed since")
	}
	oh, ow, pad := p.Geometry(h, w)
	y := New(n, oh, ow, p.OutC)
	if len(y.Data) == 0 {
		return y
	}
	a := &aSource{m: n * oh * ow}
	if p.KH == 1 && p.KW == 1 && oh == h && ow == w && pad == (Padding{}) {
		// A 1×1 stride-1 convolution is a plain GEMM on the input rows.
		a.x, a.lda = x.Data, ic
	} else {
		a.im = newIm2col(p, x, oh, ow, pad)
	}
	gemm(kern, c.packed, a, y.Data, c.Act)
	return y
}

// conv2DRef is the direct convolution that the fast paths are tested
// against.
func conv2DRef(p ConvParams, filter, bias []float32, act Activation, x *Tensor) *Tensor {
	n, h, w, ic := x.NHWC()
	if ic != p.InC {
		panic(fmt.Sprintf("nn: conv input has %d channels, want %d", ic, p.InC))
	}
	oh, ow, pad := p.Geometry(h, w)
	y := New(n, oh, ow, p.OutC)
	oc := p.OutC
	Parallel(n*oh, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			for ox := 0; ox < ow; ox++ {
				out := y.Data[((b*oh+oy)*ow+ox)*oc:][:oc]
				copy(out, bias)
				for ky := 0; ky < p.KH; ky++ {
					iy := oy*p.StrideH - pad.Top + ky*p.DilationH
					if iy < 0 || iy >= h {
						continue
					}
					for kx := 0; kx < p.KW; kx++ {
						ix := ox*p.StrideW - pad.Left + kx*p.DilationW
						if ix < 0 || ix >= w {
							continue
						}
						in := x.Data[((b*h+iy)*w+ix)*ic:][:ic]
						f := filter[(ky*p.KW+kx)*ic*oc:]
						for ci, v := range in {
							fr := f[ci*oc:][:oc]
							for co := range out {
								out[co] += v * fr[co]
							}
						}
					}
				}
				act.Apply(out, 0, oc)
			}
		}
	})
	return y
}

// DepthwiseConv2D convolves each input channel with its own Multiplier
// filters; output channel c·Multiplier+m comes from input channel c.
type DepthwiseConv2D struct {
	P          ConvParams // OutC = InC·Multiplier
	Multiplier int
	Act        Activation

	filter []float32 // [KH][KW][InC][Multiplier]
	bias   []float32
}

// NewDepthwiseConv2D builds a depthwise convolution from a filter in
// TensorFlow's layout [KH][KW][InC][Multiplier]; bias may be nil. The slices
// are copied.
func NewDepthwiseConv2D(p ConvParams, multiplier int, filter, bias []float32, act Activation) *DepthwiseConv2D {
	p = p.norm()
	if multiplier < 1 {
		multiplier = 1
	}
	p.OutC = p.InC * multiplier
	if len(filter) != p.KH*p.KW*p.OutC {
		panic(fmt.Sprintf("nn: depthwise filter has %d values, want %d", len(filter), p.KH*p.KW*p.OutC))
	}
	b := make([]float32, p.OutC)
	if bias != nil {
		if len(bias) != p.OutC {
			panic("nn: depthwise bias length")
		}
		copy(b, bias)
	}
	return &DepthwiseConv2D{P: p, Multiplier: multiplier, Act: act, filter: append([]float32(nil), filter...), bias: b}
}

// Forward applies the depthwise convolution to an NHWC tensor.
func (d *DepthwiseConv2D) Forward(x *Tensor) *Tensor { return d.forward(x, kernels) }

func depthwiseRef(p ConvParams, mult int, filter, bias []float32, act Activation, x *Tensor) *Tensor {
	n, h, w, ic := x.NHWC()
	if ic != p.InC {
		panic(fmt.Sprintf("nn: depthwise input has %d channels, want %d", ic, p.InC))
	}
	oh, ow, pad := p.Geometry(h, w)
	oc := p.OutC
	y := New(n, oh, ow, oc)
	Parallel(n*oh, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			for ox := 0; ox < ow; ox++ {
				out := y.Data[((b*oh+oy)*ow+ox)*oc:][:oc]
				copy(out, bias)
				for ky := 0; ky < p.KH; ky++ {
					iy := oy*p.StrideH - pad.Top + ky*p.DilationH
					if iy < 0 || iy >= h {
						continue
					}
					for kx := 0; kx < p.KW; kx++ {
						ix := ox*p.StrideW - pad.Left + kx*p.DilationW
						if ix < 0 || ix >= w {
							continue
						}
						in := x.Data[((b*h+iy)*w+ix)*ic:][:ic]
						f := filter[(ky*p.KW+kx)*oc:][:oc]
						for ci, v := range in {
							for m := 0; m < mult; m++ {
								out[ci*mult+m] += v * f[ci*mult+m]
							}
						}
					}
				}
				act.Apply(out, 0, oc)
			}
		}
	})
	return y
}

// Dense is a fully connected layer y = act(x·W + b) over the last dimension.
type Dense struct {
	In, Out int
	Act     Activation

	weights []float32 // [In][Out]; kept only for tests (keepReference)
	bias    []float32
	packed  *packedB // weights as B[In × Out] for the GEMM
}

// NewDense builds a fully connected layer from weights laid out [In][Out]
// (TensorFlow's MatMul right-hand side); bias may be nil. Slices are copied.
func NewDense(in, out int, weights, bias []float32, act Activation) *Dense {
	if len(weights) != in*out {
		panic(fmt.Sprintf("nn: dense weights have %d values, want %d", len(weights), in*out))
	}
	b := make([]float32, out)
	if bias != nil {
		if len(bias) != out {
			panic("nn: dense bias length")
		}
		copy(b, bias)
	}
	d := &Dense{In: in, Out: out, Act: act, bias: b, packed: packB(weights, in, out, b)}
	if keepReference {
		d.weights = append([]float32(nil), weights...)
	}
	return d
}

// Forward applies the layer to every row of x's last dimension.
func (d *Dense) Forward(x *Tensor) *Tensor { return d.forward(x, kernels) }

// forward is Forward with the kernel set given.
func (d *Dense) forward(x *Tensor, kern *kernelImpl) *Tensor {
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != d.In {
		panic(fmt.Sprintf("nn: dense input shape %v, want last dim %d", x.Shape, d.In))
	}
	checkData(x, "dense")
	if d.packed == nil || d.packed.k != d.In || d.packed.n != d.Out {
		panic("nn: Dense not built by NewDense, or its shape changed since")
	}
	shape := append([]int(nil), x.Shape...)
	shape[len(shape)-1] = d.Out
	y := New(shape...)
	rows := numel(x.Shape[:len(x.Shape)-1])
	gemm(kern, d.packed, &aSource{m: rows, x: x.Data, lda: d.In}, y.Data, d.Act)
	return y
}

func denseRef(d *Dense, x *Tensor) *Tensor {
	if len(x.Shape) == 0 || x.Shape[len(x.Shape)-1] != d.In {
		panic(fmt.Sprintf("nn: dense input shape %v, want last dim %d", x.Shape, d.In))
	}
	rows := x.Size() / d.In
	shape := append([]int(nil), x.Shape...)
	shape[len(shape)-1] = d.Out
	y := New(shape...)
	for r := 0; r < rows; r++ {
		out := y.Data[r*d.Out:][:d.Out]
		copy(out, d.bias)
		for k, v := range x.Data[r*d.In:][:d.In] {
			wr := d.weights[k*d.Out:][:d.Out]
			for j := range out {
				out[j] += v * wr[j]
			}
		}
		d.Act.Apply(out, 0, d.Out)
	}
	return y
}

// FoldAffine folds a per-output-channel affine map y' = y·scale + shift
// (a batch norm at inference, or a learned scale layer) into an HWIO filter
// and its bias, in place. bias must have one entry per output channel.
func FoldAffine(filter, bias []float32, outC int, scale, shift []float32) {
	for i := range filter {
		filter[i] *= scale[i%outC]
	}
	for c := range bias {
		bias[c] = bias[c]*scale[c] + shift[c]
	}
}
