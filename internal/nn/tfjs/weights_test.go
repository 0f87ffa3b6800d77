package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"testing/fstest"
)

func TestFloat16(t *testing.T) {
	t.Parallel()
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.33325195},
		{0x7bff, 65504},
		{0x0001, 5.9604645e-8}, // smallest subnormal
		{0x03ff, 6.097555e-5},  // largest subnormal
		{0x0400, 6.1035156e-5}, // smallest normal
	}
	for _, tt := range tests {
		if got := Float16(tt.h); got != tt.want {
			t.Errorf("Float16(%#04x) = %g, want %g", tt.h, got, tt.want)
		}
	}
	if got := Float16(0x7c00); !math.IsInf(float64(got), 1) {
		t.Errorf("Float16(inf) = %g", got)
	}
	if got := Float16(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("Float16(nan) = %g", got)
	}
}

func TestReadManifest(t *testing.T) {
	t.Parallel()
	groups := []Group{{
		Paths: []string{"a.bin", "b.bin"},
		Weights: []WeightSpec{
			{Name: "q8", Shape: []int{2, 2}, DType: "float32", Quantization: &Quantization{DType: "uint8", Scale: 0.5, Min: -1}},
			{Name: "f32", Shape: []int{2}, DType: "float32"},
			{Name: "f16", Shape: []int{1}, DType: "float32", Quantization: &Quantization{DType: "float16"}},
			{Name: "i32", Shape: []int{3}, DType: "int32"},
		},
	}}
	var bin []byte
	bin = append(bin, 0, 1, 2, 255)
	bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(1.5))
	bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(-3))
	bin = binary.LittleEndian.AppendUint16(bin, 0x3c00)
	for _, v := range []int32{7, -1, 1 << 20} {
		bin = binary.LittleEndian.AppendUint32(bin, uint32(v))
	}
	manifest, _ := json.Marshal(groups)
	fsys := fstest.MapFS{
		"m/w.json": {Data: manifest},
		"m/a.bin":  {Data: bin[:5]}, // shards split mid-weight on purpose
		"m/b.bin":  {Data: bin[5:]},
	}
	w, err := ReadManifest(fsys, "m/w.json")
	if err != nil {
		t.Fatal(err)
	}
	q8, err := w.Float("q8", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{-1, -0.5, 0, 126.5}; !equal(q8, want) {
		t.Errorf("q8 = %v, want %v", q8, want)
	}
	if f, _ := w.Float("f32"); !equal(f, []float32{1.5, -3}) {
		t.Errorf("f32 = %v", f)
	}
	if f, _ := w.Float("f16"); !equal(f, []float32{1}) {
		t.Errorf("f16 = %v", f)
	}
	if got := w["i32"].I32; len(got) != 3 || got[0] != 7 || got[1] != -1 || got[2] != 1<<20 {
		t.Errorf("i32 = %v", got)
	}
	if _, err := w.Float("q8", 4); !errors.Is(err, ErrFormat) {
		t.Errorf("wrong shape: err = %v, want ErrFormat", err)
	}
	if _, err := w.Float("i32"); !errors.Is(err, ErrFormat) {
		t.Errorf("int as float: err = %v, want ErrFormat", err)
	}

	short := fstest.MapFS{"m/w.json": {Data: manifest}, "m/a.bin": {Data: bin[:5]}, "m/b.bin": {Data: bin[5:20]}}
	if _, err := ReadManifest(short, "m/w.json"); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated shard: err = %v, want ErrFormat", err)
	}
	long := fstest.MapFS{"m/w.json": {Data: manifest}, "m/a.bin": {Data: bin[:5]}, "m/b.bin": {Data: append(append([]byte{}, bin[5:]...), 0)}}
	if _, err := ReadManifest(long, "m/w.json"); !errors.Is(err, ErrFormat) {
		t.Errorf("extra bytes: err = %v, want ErrFormat", err)
	}
}

func FuzzReadManifest(f *testing.F) {
	f.Add([]byte(`[{"paths":["a.bin"],"weights":[{"name":"x","shape":[2],"dtype":"float32","quantization":{"dtype":"uint8","scale":1,"min":0}}]}]`), []byte{1, 2})
	f.Add([]byte(`[{"paths":["a.bin"],"weights":[{"name":"x","shape":[1],"dtype":"int32"}]}]`), []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, manifest, bin []byte) {
		fsys := fstest.MapFS{"w.json": {Data: manifest}, "a.bin": {Data: bin}}
		w, err := ReadManifest(fsys, "w.json")
		if err == nil && w == nil {
			t.Fatal("nil weights without error")
		}
	})
}

func equal(a, b []float32) bool {
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
