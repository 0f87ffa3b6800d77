package tfjs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// modelFile is the part of a TF.js graph model.json that Glint reads.
type modelFile struct {
	Format        string `json:"format"`
	ModelTopology struct {
		Node []nodeDef `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest     []Group         `json:"weightsManifest"`
	Signature           json.RawMessage `json:"signature"`
	UserDefinedMetadata json.RawMessage `json:"userDefinedMetadata"`
}

// nodeDef is a GraphDef NodeDef in the proto3 JSON mapping TF.js uses.
type nodeDef struct {
	Name  string               `json:"name"`
	Op    string               `json:"op"`
	Input []string             `json:"input"`
	Attr  map[string]attrValue `json:"attr"`
}

// attrValue is a NodeDef AttrValue; exactly one field is normally set.
// Strings are base64 (proto bytes), 64-bit integers are JSON strings.
type attrValue struct {
	S     *string     `json:"s"`
	I     *jsonInt    `json:"i"`
	F     *jsonFloat  `json:"f"`
	B     *bool       `json:"b"`
	Type  *string     `json:"type"`
	Shape *shapeProto `json:"shape"`
	List  *attrList   `json:"list"`
}

type attrList struct {
	S []string    `json:"s"`
	I []jsonInt   `json:"i"`
	F []jsonFloat `json:"f"`
	B []bool      `json:"b"`
}

type shapeProto struct {
	Dim []struct {
		Size jsonInt `json:"size"`
	} `json:"dim"`
	UnknownRank bool `json:"unknownRank"`
}

// maxAttrInt bounds the integers read from attributes and shape constants:
// anything larger is a corrupt file, and keeping them small means sizes
// computed from them cannot overflow.
const maxAttrInt = 1 << 24

// jsonInt accepts an int64 written as a JSON string (the proto3 mapping)
// or as a plain number.
type jsonInt int64

func (v *jsonInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", b, ErrFormat)
	}
	*v = jsonInt(n)
	return nil
}

// jsonFloat accepts a number or one of the strings proto3 uses for
// non-finite values.
type jsonFloat float64

func (v *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*v = jsonFloat(math.NaN())
		return nil
	case `"Infinity"`:
		*v = jsonFloat(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*v = jsonFloat(math.Inf(-1))
		return nil
	}
	f, err := strconv.ParseFloat(strings.Trim(string(b), `"`), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("number %s: %w", b, ErrFormat)
	}
	*v = jsonFloat(f)
	return nil
}

// attrs reads typed attributes of one node. Absent attributes give the
// supplied default; present ones of the wrong kind are errors.
type attrs map[string]attrValue

func decodeB64(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("string attribute %q is not base64: %w", s, ErrFormat)
	}
	return string(b), nil
}

func (a attrs) str(key, def string) (string, error) {
	v, ok := a[key]
	if !ok {
		return def, nil
	}
	if v.S == nil {
		return "", fmt.Errorf("attribute %s is not a string: %w", key, ErrFormat)
	}
	return decodeB64(*v.S)
}

func checkInt(key string, n jsonInt) (int, error) {
	if n < -maxAttrInt || n > maxAttrInt {
		return 0, fmt.Errorf("attribute %s: %d out of range: %w", key, n, ErrFormat)
	}
	return int(n), nil
}

func (a attrs) int(key string, def int) (int, error) {
	v, ok := a[key]
	if !ok {
		return def, nil
	}
	if v.I == nil {
		return 0, fmt.Errorf("attribute %s is not an integer: %w", key, ErrFormat)
	}
	return checkInt(key, *v.I)
}

func (a attrs) float(key string, def float64) (float64, error) {
	v, ok := a[key]
	if !ok {
		return def, nil
	}
	if v.F == nil {
		return 0, fmt.Errorf("attribute %s is not a float: %w", key, ErrFormat)
	}
	return float64(*v.F), nil
}

func (a attrs) boolean(key string, def bool) (bool, error) {
	v, ok := a[key]
	if !ok {
		return def, nil
	}
	if v.B == nil {
		// proto3 JSON omits false, so an empty value is false.
		if v.S == nil && v.I == nil && v.F == nil && v.List == nil && v.Type == nil && v.Shape == nil {
			return false, nil
		}
		return false, fmt.Errorf("attribute %s is not a bool: %w", key, ErrFormat)
	}
	return *v.B, nil
}

// ints returns an integer list attribute, or nil when it is absent.
func (a attrs) ints(key string) ([]int, error) {
	v, ok := a[key]
	if !ok {
		return nil, nil
	}
	if v.List == nil {
		return nil, fmt.Errorf("attribute %s is not a list: %w", key, ErrFormat)
	}
	out := make([]int, len(v.List.I))
	for i, n := range v.List.I {
		var err error
		if out[i], err = checkInt(key, n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// strs returns a string list attribute, decoded, or nil when absent.
func (a attrs) strs(key string) ([]string, error) {
	v, ok := a[key]
	if !ok {
		return nil, nil
	}
	if v.List == nil {
		return nil, fmt.Errorf("attribute %s is not a list: %w", key, ErrFormat)
	}
	out := make([]string, len(v.List.S))
	for i, s := range v.List.S {
		var err error
		if out[i], err = decodeB64(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// shape returns a shape attribute with -1 for unknown dimensions, and
// known=false when the rank itself is unknown or the attribute absent.
func (a attrs) shape(key string) (dims []int, known bool, err error) {
	v, ok := a[key]
	if !ok || v.Shape == nil || v.Shape.UnknownRank {
		return nil, false, nil
	}
	dims = make([]int, len(v.Shape.Dim))
	for i, d := range v.Shape.Dim {
		if dims[i], err = checkInt(key, d.Size); err != nil {
			return nil, false, err
		}
		if dims[i] < -1 {
			return nil, false, fmt.Errorf("attribute %s: dimension %d: %w", key, dims[i], ErrFormat)
		}
	}
	return dims, true, nil
}

// sigEntry is one input or output of a model signature.
type sigEntry struct {
	key  string // the signature's name for it
	name string // the tensor, "node" or "node:0"
}

// signatureEntries reads one side ("inputs" or "outputs") of a signature
// object, keeping the order of the JSON object: TF.js returns outputs in
// that order, and so do we.
func signatureEntries(sig json.RawMessage, side string) ([]sigEntry, error) {
	if len(bytes.TrimSpace(sig)) == 0 || string(bytes.TrimSpace(sig)) == "null" {
		return nil, nil
	}
	var halves map[string]json.RawMessage
	if err := json.Unmarshal(sig, &halves); err != nil {
		return nil, fmt.Errorf("signature: %w: %v", ErrFormat, err)
	}
	raw := bytes.TrimSpace(halves[side])
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("signature %s is not an object: %w", side, ErrFormat)
	}
	var out []sigEntry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("signature %s: %w: %v", side, ErrFormat, err)
		}
		key, _ := tok.(string)
		var info struct {
			Name string `json:"name"`
		}
		if err := dec.Decode(&info); err != nil {
			return nil, fmt.Errorf("signature %s %q: %w: %v", side, key, ErrFormat, err)
		}
		if info.Name == "" {
			info.Name = key
		}
		out = append(out, sigEntry{key: key, name: info.Name})
	}
	return out, nil
}

// splitInput parses a NodeDef input: "node", "node:1" or "^node" (a
// control dependency, which carries no data).
func splitInput(s string) (node string, index int, control bool, err error) {
	if strings.HasPrefix(s, "^") {
		return s[1:], 0, true, nil
	}
	node = s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		n, perr := strconv.Atoi(s[i+1:])
		if perr != nil || n < 0 {
			return "", 0, false, fmt.Errorf("input %q: bad output index: %w", s, ErrFormat)
		}
		node, index = s[:i], n
	}
	if node == "" {
		return "", 0, false, fmt.Errorf("empty input name: %w", ErrFormat)
	}
	return node, index, false, nil
}
