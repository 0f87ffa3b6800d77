// Package tfjs reads TensorFlow.js model files: weight manifests (a JSON list
// of shard groups plus .bin shards) and graph models (model.json holding a
// GraphDef topology and a weight manifest). Quantised weights (uint8/uint16
// affine, float16) are dequantised to float32 at load.
package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
)

// ErrFormat reports a model file that does not follow the TF.js format.
var ErrFormat = errors.New("tfjs: malformed model file")

// Group is one entry of a weights manifest: shard files read in order and
// concatenated, holding the listed weights back to back.
type Group struct {
	Paths   []string     `json:"paths"`
	Weights []WeightSpec `json:"weights"`
}

// WeightSpec describes one stored tensor.
type WeightSpec struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	DType        string        `json:"dtype"` // float32, int32, bool
	Quantization *Quantization `json:"quantization,omitempty"`
}

// Quantization says how a weight is stored when not as its dtype.
type Quantization struct {
	DType string  `json:"dtype"` // uint8, uint16, float16
	Scale float64 `json:"scale"`
	Min   float64 `json:"min"`
}

// Weight is a loaded tensor. Float weights are in F32, int32 and bool
// weights in I32.
type Weight struct {
	Name  string
	Shape []int
	DType string
	F32   []float32
	I32   []int32
}

// Weights maps weight names to tensors.
type Weights map[string]*Weight

// Float returns the float32 values of the named weight, checking its shape
// when want is non-nil.
func (w Weights) Float(name string, want ...int) ([]float32, error) {
	t, ok := w[name]
	if !ok {
		return nil, fmt.Errorf("tfjs: weight %q: %w", name, fs.ErrNotExist)
	}
	if t.F32 == nil {
		return nil, fmt.Errorf("tfjs: weight %q has dtype %s, want float32: %w", name, t.DType, ErrFormat)
	}
	if want != nil && !sameShape(t.Shape, want) {
		return nil, fmt.Errorf("tfjs: weight %q has shape %v, want %v: %w", name, t.Shape, want, ErrFormat)
	}
	return t.F32, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ReadManifest reads a standalone weights manifest (face-api's
// *-weights_manifest.json) and the shards it names, relative to the
// manifest's folder in fsys.
func ReadManifest(fsys fs.FS, name string) (Weights, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var groups []Group
	if err := json.Unmarshal(raw, &groups); err != nil {
		return nil, fmt.Errorf("tfjs: %s: %w: %v", name, ErrFormat, err)
	}
	return ReadGroups(fsys, path.Dir(name), groups)
}

// ReadGroups loads the weights of a manifest whose shard paths are relative
// to dir in fsys.
func ReadGroups(fsys fs.FS, dir string, groups []Group) (Weights, error) {
	out := Weights{}
	for _, g := range groups {
		var buf []byte
		for _, p := range g.Paths {
			b, err := fs.ReadFile(fsys, path.Join(dir, p))
			if err != nil {
				return nil, err
			}
			buf = append(buf, b...)
		}
		for _, spec := range g.Weights {
			w, n, err := decode(spec, buf)
			if err != nil {
				return nil, err
			}
			buf = buf[n:]
			out[spec.Name] = w
		}
		if len(buf) != 0 {
			return nil, fmt.Errorf("tfjs: %d bytes left over in shards %v: %w", len(buf), g.Paths, ErrFormat)
		}
	}
	return out, nil
}

// decode turns one weight's bytes at the head of buf into a Weight and
// reports how many bytes it used.
func decode(spec WeightSpec, buf []byte) (*Weight, int, error) {
	count := 1
	for _, d := range spec.Shape {
		if d < 0 {
			return nil, 0, fmt.Errorf("tfjs: weight %q: negative dimension: %w", spec.Name, ErrFormat)
		}
		// No weight can hold more values than its shard has bytes; checking
		// here also keeps the product from overflowing.
		if d > 0 && count > len(buf)/d {
			return nil, 0, fmt.Errorf("tfjs: weight %q: shape %v larger than its shard: %w", spec.Name, spec.Shape, ErrFormat)
		}
		count *= d
	}
	w := &Weight{Name: spec.Name, Shape: append([]int{}, spec.Shape...), DType: spec.DType}
	short := func(need int) error {
		if len(buf) < need {
			return fmt.Errorf("tfjs: weight %q needs %d bytes, shard has %d: %w", spec.Name, need, len(buf), ErrFormat)
		}
		return nil
	}
	if q := spec.Quantization; q != nil {
		var vals []float32
		var n int
		switch q.DType {
		case "uint8":
			n = count
			if err := short(n); err != nil {
				return nil, 0, err
			}
			vals = make([]float32, count)
			for i := range vals {
				vals[i] = float32(q.Min + float64(buf[i])*q.Scale)
			}
		case "uint16":
			n = 2 * count
			if err := short(n); err != nil {
				return nil, 0, err
			}
			vals = make([]float32, count)
			for i := range vals {
				vals[i] = float32(q.Min + float64(binary.LittleEndian.Uint16(buf[2*i:]))*q.Scale)
			}
		case "float16":
			n = 2 * count
			if err := short(n); err != nil {
				return nil, 0, err
			}
			vals = make([]float32, count)
			for i := range vals {
				vals[i] = Float16(binary.LittleEndian.Uint16(buf[2*i:]))
			}
		default:
			return nil, 0, fmt.Errorf("tfjs: weight %q: quantisation %q: %w", spec.Name, q.DType, ErrFormat)
		}
		if spec.DType == "int32" {
			w.I32 = make([]int32, count)
			for i, v := range vals {
				w.I32[i] = int32(math.Round(float64(v)))
			}
		} else {
			w.F32 = vals
		}
		return w, n, nil
	}
	n := 4 * count
	switch spec.DType {
	case "float32":
		if err := short(n); err != nil {
			return nil, 0, err
		}
		w.F32 = make([]float32, count)
		for i := range w.F32 {
			w.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	case "int32":
		if err := short(n); err != nil {
			return nil, 0, err
		}
		w.I32 = make([]int32, count)
		for i := range w.I32 {
			w.I32[i] = int32(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	case "bool":
		n = count
		if err := short(n); err != nil {
			return nil, 0, err
		}
		w.I32 = make([]int32, count)
		for i := range w.I32 {
			w.I32[i] = int32(buf[i])
		}
	default:
		return nil, 0, fmt.Errorf("tfjs: weight %q: dtype %q: %w", spec.Name, spec.DType, ErrFormat)
	}
	return w, n, nil
}

// Float16 converts an IEEE 754 half-precision value to float32.
func Float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: renormalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | e<<23 | frac<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
