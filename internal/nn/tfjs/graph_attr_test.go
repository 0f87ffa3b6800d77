package tfjs

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestAttrs(t *testing.T) {
	const doc = `{
		"padding": {"s": "U0FNRQ=="},
		"bad64": {"s": "%%%"},
		"strides": {"list": {"i": ["1", "2", 3, "1"]}},
		"empty": {"list": {}},
		"fused_ops": {"list": {"s": ["Qmlhc0FkZA==", "UHJlbHU="]}},
		"num_args": {"i": "2"},
		"huge": {"i": "99999999999"},
		"alpha": {"f": 0.25},
		"nan": {"f": "NaN"},
		"inf": {"f": "-Infinity"},
		"keep_dims": {"b": true},
		"falsy": {},
		"T": {"type": "DT_FLOAT"},
		"shape": {"shape": {"dim": [{"size": "-1"}, {"size": "64"}, {"size": 3}]}},
		"norank": {"shape": {"unknownRank": true}}
	}`
	var a attrs
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		t.Fatal(err)
	}
	if s, err := a.str("padding", ""); err != nil || s != "SAME" {
		t.Errorf("padding = %q, %v", s, err)
	}
	if s, err := a.str("missing", "VALID"); err != nil || s != "VALID" {
		t.Errorf("default string = %q, %v", s, err)
	}
	if _, err := a.str("bad64", ""); !errors.Is(err, ErrFormat) {
		t.Errorf("bad base64: %v", err)
	}
	if _, err := a.str("strides", ""); err == nil {
		t.Error("list read as string")
	}
	if v, err := a.ints("strides"); err != nil || !slices.Equal(v, []int{1, 2, 3, 1}) {
		t.Errorf("strides = %v, %v", v, err)
	}
	if v, err := a.ints("empty"); err != nil || len(v) != 0 {
		t.Errorf("empty list = %v, %v", v, err)
	}
	if v, err := a.ints("missing"); err != nil || v != nil {
		t.Errorf("missing list = %v, %v", v, err)
	}
	if v, err := a.strs("fused_ops"); err != nil || !slices.Equal(v, []string{"BiasAdd", "Prelu"}) {
		t.Errorf("fused_ops = %q, %v", v, err)
	}
	if v, err := a.int("num_args", 0); err != nil || v != 2 {
		t.Errorf("num_args = %d, %v", v, err)
	}
	if _, err := a.int("huge", 0); !errors.Is(err, ErrFormat) {
		t.Errorf("huge int: %v", err)
	}
	if _, err := a.int("alpha", 0); err == nil {
		t.Error("float read as int")
	}
	if v, err := a.float("alpha", 0); err != nil || v != 0.25 {
		t.Errorf("alpha = %v, %v", v, err)
	}
	if v, _ := a.float("nan", 0); !math.IsNaN(v) {
		t.Errorf("NaN = %v", v)
	}
	if v, _ := a.float("inf", 0); !math.IsInf(v, -1) {
		t.Errorf("-Infinity = %v", v)
	}
	if v, err := a.boolean("keep_dims", false); err != nil || !v {
		t.Errorf("keep_dims = %v, %v", v, err)
	}
	if v, err := a.boolean("falsy", true); err != nil || v {
		t.Errorf("empty bool = %v, %v", v, err)
	}
	if _, err := a.boolean("T", false); err == nil {
		t.Error("type read as bool")
	}
	if d, known, err := a.shape("shape"); err != nil || !known || !slices.Equal(d, []int{-1, 64, 3}) {
		t.Errorf("shape = %v %v %v", d, known, err)
	}
	if _, known, err := a.shape("norank"); err != nil || known {
		t.Errorf("unknown rank = %v %v", known, err)
	}
}

func TestJSONNumbers(t *testing.T) {
	var v struct {
		I []jsonInt
		F []jsonFloat
	}
	if err := json.Unmarshal([]byte(`{"I": ["-3", 7], "F": [1.5, "2.5", "Infinity"]}`), &v); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.I, []jsonInt{-3, 7}) || v.F[0] != 1.5 || v.F[1] != 2.5 || !math.IsInf(float64(v.F[2]), 1) {
		t.Errorf("got %v %v", v.I, v.F)
	}
	for _, bad := range []string{`{"I": ["x"]}`, `{"I": [1.5]}`, `{"F": ["nan"]}`, `{"F": [true]}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestSplitInput(t *testing.T) {
	cases := []struct {
		in      string
		node    string
		index   int
		control bool
		bad     bool
	}{
		{in: "conv/Relu", node: "conv/Relu"},
		{in: "split:1", node: "split", index: 1},
		{in: "x:0", node: "x"},
		{in: "^init", node: "init", control: true},
		{in: "x:", bad: true},
		{in: "x:-1", bad: true},
		{in: ":0", bad: true},
		{in: "", bad: true},
	}
	for _, c := range cases {
		node, index, control, err := splitInput(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%q: error %v", c.in, err)
			continue
		}
		if !c.bad && (node != c.node || index != c.index || control != c.control) {
			t.Errorf("%q = %q %d %v", c.in, node, index, control)
		}
	}
}

func TestSignatureOrder(t *testing.T) {
	sig := json.RawMessage(`{"inputs": {"in": {"name": "x:0"}},
		"outputs": {"z": {"name": "Identity_3:0"}, "a": {"name": "Identity:0"}, "m": {}}}`)
	outs, err := signatureEntries(sig, "outputs")
	if err != nil {
		t.Fatal(err)
	}
	want := []sigEntry{{"z", "Identity_3:0"}, {"a", "Identity:0"}, {"m", "m"}}
	if !slices.Equal(outs, want) {
		t.Errorf("outputs %v, want %v (file order)", outs, want)
	}
	if ins, err := signatureEntries(sig, "inputs"); err != nil || len(ins) != 1 || ins[0].name != "x:0" {
		t.Errorf("inputs %v, %v", ins, err)
	}
	if e, err := signatureEntries(nil, "inputs"); err != nil || e != nil {
		t.Errorf("no signature: %v %v", e, err)
	}
	for _, bad := range []string{`[]`, `{"outputs": []}`, `{"outputs": {"a": 1}}`} {
		if _, err := signatureEntries(json.RawMessage(bad), "outputs"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
