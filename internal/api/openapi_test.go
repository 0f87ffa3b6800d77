package api

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The API reference (api/openapi.yaml, docs/api.md) is held to the code
// here: the routes server.go registers, the error messages the package can
// send, and the fields the handlers read are read from the source, so that
// a route, error or parameter added to one and not the other fails.

const (
	openAPIPath = "../../api/openapi.yaml"
	apiDocPath  = "../../docs/api.md"
	sessionDir  = "../session"
	goldenDir   = "../faceid/testdata"
)

// loadOpenAPI returns the document as JSON values (maps, slices, strings,
// float64, bool, nil).
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	m, ok := jsonValue(t, doc).(map[string]any)
	if !ok {
		t.Fatalf("%s: not a mapping", openAPIPath)
	}
	return m
}

// jsonValue turns a decoded YAML value into what encoding/json would
// decode from the same document.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("openapi value not representable as JSON: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// parsePackage parses the non-test Go files of dir.
func parsePackage(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// stringConsts returns the package's string constants whose names start
// with prefix followed by an upper-case letter, by name.
func stringConsts(files []*ast.File, prefix string) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					rest, ok := strings.CutPrefix(n.Name, prefix)
					if !ok || rest == "" || rest[0] < 'A' || rest[0] > 'Z' || i >= len(vs.Values) {
						continue
					}
					if v, ok := stringLit(vs.Values[i]); ok {
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}

func funcDecl(files []*ast.File, name string) *ast.FuncDecl {
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name {
				return fd
			}
		}
	}
	return nil
}

// servedRoutes returns the "METHOD /path" patterns the route table
// registers with a literal pattern (the SDK's static files and the
// SDK-host alias of the channel are built from variables and left out).
func servedRoutes(t *testing.T, files []*ast.File) []string {
	t.Helper()
	fd := funcDecl(files, "New")
	if fd == nil {
		t.Fatal("no func New in package api")
	}
	var out []string
	ast.Inspect(fd, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		if p, ok := stringLit(call.Args[0]); ok && strings.Contains(p, " ") {
			out = append(out, p)
		}
		return true
	})
	slices.Sort(out)
	return out
}

var httpStatus = map[string]int{
	"StatusBadRequest": 400, "StatusForbidden": 403, "StatusNotFound": 404,
	"StatusInternalServerError": 500,
}

// codeErrors returns every error_message the package can send with its
// status; a detail that depends on a parameter is written "<param>" or
// "<image_refN>". The messages are found where apiError values are made.
func codeErrors(t *testing.T, files, session []*ast.File) map[string]int {
	t.Helper()
	out := map[string]int{}
	add := func(msg string, status int) {
		if s, ok := out[msg]; ok && s != status {
			t.Errorf("%s is sent with statuses %d and %d", msg, s, status)
		}
		out[msg] = status
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, _ := d.(*ast.FuncDecl)
			ast.Inspect(d, func(n ast.Node) bool {
				cl, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != "apiError" || len(cl.Elts) != 2 {
					return true
				}
				sel, ok := cl.Elts[0].(*ast.SelectorExpr)
				status := 0
				if ok {
					status = httpStatus[sel.Sel.Name]
				}
				if status == 0 {
					t.Errorf("apiError with status %s: add it to httpStatus", types(cl.Elts[0]))
					return true
				}
				if msg, ok := stringLit(cl.Elts[1]); ok {
					add(msg, status)
					return true
				}
				fn := ""
				if fd != nil {
					fn = fd.Name.Name
				}
				switch fn {
				case "errAuthorization":
					for _, r := range stringConsts(files, "reason") {
						add("AUTHORIZATION_ERROR:"+r, status)
					}
				case "errMissing":
					add("MISSING_ARGUMENTS:<param>", status)
				case "errBad":
					add("BAD_ARGUMENTS:<param>", status)
				case "errImage":
					for _, c := range stringConsts(files, "code") {
						add(c+":<image_refN>", status)
					}
				case "flashError":
					// The session's refusals of an upload's frames.
					for _, c := range stringConsts(session, "Upload") {
						add(c, status)
					}
				default:
					t.Errorf("apiError with a computed message in %q: teach codeErrors what it sends", fn)
				}
				return true
			})
		}
	}
	// The catch-all's reply, written without an apiError.
	add(notFoundCode, 404)
	return out
}

func types(e ast.Expr) string { return fmt.Sprintf("%T", e) }

// paramErrors returns the MISSING_ARGUMENTS and BAD_ARGUMENTS messages
// whose parameter the code names literally: errMissing("x") and
// errBad("x"); get_token's enum, flag and intRange checks ("x"); and the
// literal lists ranged over by a loop that calls errMissing.
func paramErrors(files []*ast.File) map[string]bool {
	out := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				id, ok := n.Fun.(*ast.Ident)
				if !ok || len(n.Args) == 0 {
					return true
				}
				p, ok := stringLit(n.Args[0])
				if !ok {
					return true
				}
				switch id.Name {
				case "errMissing":
					out["MISSING_ARGUMENTS:"+p] = true
				case "errBad", "enum", "flag", "intRange":
					out["BAD_ARGUMENTS:"+p] = true
				}
			case *ast.RangeStmt:
				calls := false
				ast.Inspect(n.Body, func(m ast.Node) bool {
					if c, ok := m.(*ast.CallExpr); ok {
						if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "errMissing" {
							calls = true
						}
					}
					return true
				})
				if !calls {
					return true
				}
				cl, ok := n.X.(*ast.CompositeLit)
				if !ok {
					return true
				}
				for _, e := range cl.Elts {
					if inner, ok := e.(*ast.CompositeLit); ok && len(inner.Elts) > 0 {
						e = inner.Elts[0] // {"name", present}
					}
					if p, ok := stringLit(e); ok {
						out["MISSING_ARGUMENTS:"+p] = true
					}
				}
			}
			return true
		})
	}
	return out
}

// handlerFields returns, by operationId, the fields each handler reads.
func handlerFields(t *testing.T, files []*ast.File) map[string][]string {
	t.Helper()
	out := map[string][]string{
		"getToken":      slices.Sorted(maps.Keys(tokenFields)),
		"getResult":     slices.Sorted(maps.Keys(resultFields)),
		"getResultForm": slices.Sorted(maps.Keys(resultFields)),
	}
	// start_flash keeps the fields its wanted func compares with.
	fd := funcDecl(files, "startFlash")
	if fd == nil {
		t.Fatal("no startFlash")
	}
	ast.Inspect(fd, func(n ast.Node) bool {
		if b, ok := n.(*ast.BinaryExpr); ok && b.Op == token.EQL {
			if s, ok := stringLit(b.Y); ok {
				out["startFlash"] = append(out["startFlash"], s)
			}
		}
		return true
	})
	// validate_flash keeps the parts upload.read switches on.
	fd = funcDecl(files, "read")
	if fd == nil {
		t.Fatal("no (*upload).read")
	}
	seen := map[string]bool{}
	ast.Inspect(fd, func(n ast.Node) bool {
		if cc, ok := n.(*ast.CaseClause); ok {
			for _, e := range cc.List {
				if s, ok := stringLit(e); ok && !seen[s] {
					seen[s] = true
					out["validateFlash"] = append(out["validateFlash"], s)
				}
			}
		}
		return true
	})
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns the document's operations by "METHOD /path".
func operations(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range methods {
			if op, ok := item[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	return out
}

// resolve follows a local $ref.
func resolve(doc map[string]any, v any) map[string]any {
	m, _ := v.(map[string]any)
	for i := 0; i < 8 && m != nil; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			c, _ := cur.(map[string]any)
			cur = c[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

// docFields returns the parameters an operation documents: its query
// parameters and the properties of each request body schema, which must
// agree.
func docFields(t *testing.T, doc map[string]any, name string, op map[string]any) []string {
	t.Helper()
	var sets [][]string
	if ps, ok := op["parameters"].([]any); ok {
		var names []string
		for _, p := range ps {
			names = append(names, resolve(doc, p)["name"].(string))
		}
		sets = append(sets, names)
	}
	if rb := resolve(doc, op["requestBody"]); rb != nil {
		content, _ := rb["content"].(map[string]any)
		for _, ct := range slices.Sorted(maps.Keys(content)) {
			mt, _ := content[ct].(map[string]any)
			schema := resolve(doc, mt["schema"])
			props, _ := schema["properties"].(map[string]any)
			sets = append(sets, slices.Collect(maps.Keys(props)))
		}
	}
	if len(sets) == 0 {
		return nil
	}
	for i := range sets {
		slices.Sort(sets[i])
		if i > 0 && !slices.Equal(sets[i], sets[0]) {
			t.Errorf("%s: its content types document different fields: %v and %v", name, sets[0], sets[i])
		}
	}
	return sets[0]
}

// docErrors returns x-glint-errors by message.
func docErrors(t *testing.T, doc map[string]any) map[string]int {
	t.Helper()
	out := map[string]int{}
	list, _ := doc["x-glint-errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		msg, _ := m["message"].(string)
		st, _ := m["status"].(float64)
		if _, dup := out[msg]; dup {
			t.Errorf("x-glint-errors lists %s twice", msg)
		}
		out[msg] = int(st)
	}
	return out
}

// walk calls fn for every mapping in v, with its JSON pointer.
func walk(v any, ptr string, fn func(ptr string, m map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(ptr, v)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			walk(v[k], ptr+"/"+k, fn)
		}
	case []any:
		for i, e := range v {
			walk(e, ptr+"/"+strconv.Itoa(i), fn)
		}
	}
}

// docParamErrors returns every x-errors message of the document.
func docParamErrors(doc map[string]any) map[string]bool {
	out := map[string]bool{}
	walk(doc, "", func(_ string, m map[string]any) {
		list, _ := m["x-errors"].([]any)
		for _, e := range list {
			s, _ := e.(string)
			out[s] = true
		}
	})
	return out
}

// errorCode is the part of a message that names the error, as
// apiError.code, except that an AUTHORIZATION_ERROR keeps its reason.
func errorCode(msg string) string {
	if strings.HasPrefix(msg, "AUTHORIZATION_ERROR:") {
		return msg
	}
	c, _, _ := strings.Cut(msg, ":")
	return c
}

func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	served := servedRoutes(t, parsePackage(t, "."))
	documented := slices.Sorted(maps.Keys(operations(doc)))
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is served but not in %s", r, openAPIPath)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("route %q is in %s but not served", r, openAPIPath)
		}
	}
	if !slices.Contains(served, "POST /faceid/lite/raw/get_token") {
		t.Errorf("servedRoutes found %v: it no longer reads the route table", served)
	}
	md := readDoc(t)
	for _, r := range served {
		_, p, _ := strings.Cut(r, " ")
		if !strings.Contains(md, p) {
			t.Errorf("route %q is not in %s", r, apiDocPath)
		}
	}
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(apiDocPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOpenAPIErrors(t *testing.T) {
	doc := loadOpenAPI(t)
	files := parsePackage(t, ".")
	sent := codeErrors(t, files, parsePackage(t, sessionDir))
	documented := docErrors(t, doc)
	if len(sent) < 10 {
		t.Fatalf("codeErrors found only %v: it no longer reads the package", sent)
	}
	for msg, st := range sent {
		switch ds, ok := documented[msg]; {
		case !ok:
			t.Errorf("%s (HTTP %d) can be sent but is not in x-glint-errors", msg, st)
		case ds != st:
			t.Errorf("%s is sent with HTTP %d, documented with %d", msg, st, ds)
		}
	}
	for msg := range documented {
		if _, ok := sent[msg]; !ok {
			t.Errorf("x-glint-errors lists %s, which the code never sends", msg)
		}
	}

	// The messages naming a parameter, both ways.
	codes := map[string]bool{}
	for msg := range sent {
		codes[errorCode(msg)] = true
	}
	literal := paramErrors(files)
	inDoc := docParamErrors(doc)
	for msg := range literal {
		if !inDoc[msg] {
			t.Errorf("%s can be sent but no parameter lists it in x-errors", msg)
		}
	}
	// Messages whose parameter the code computes rather than names.
	computed := map[string]bool{"BAD_ARGUMENTS:image_ref3": true}
	for msg := range inDoc {
		if !codes[errorCode(msg)] {
			t.Errorf("x-errors lists %s, whose code is not in the error table", msg)
		}
		c := errorCode(msg)
		if (c == "MISSING_ARGUMENTS" || c == "BAD_ARGUMENTS") && !literal[msg] && !computed[msg] {
			t.Errorf("x-errors lists %s, which the code never sends", msg)
		}
	}

	md := readDoc(t)
	for msg, st := range sent {
		c := errorCode(msg)
		if !strings.Contains(md, c) {
			t.Errorf("%s (HTTP %d) is not in %s", c, st, apiDocPath)
		}
	}
	for msg := range literal {
		if !strings.Contains(md, msg) {
			t.Errorf("%s is not in %s", msg, apiDocPath)
		}
	}
	for _, body := range []string{tooLargeBody, timeoutBody} {
		if !strings.Contains(md, body) || !strings.Contains(fmt.Sprint(doc), body) {
			t.Errorf("the plain-text reply %q is not documented in both files", body)
		}
	}
}

func TestOpenAPIParameters(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := operations(doc)
	byID := map[string]map[string]any{}
	for name, op := range ops {
		id, _ := op["operationId"].(string)
		byID[id] = op
		if id == "" {
			t.Errorf("%s has no operationId", name)
		}
	}
	md := readDoc(t)
	for id, want := range handlerFields(t, parsePackage(t, ".")) {
		op, ok := byID[id]
		if !ok {
			t.Errorf("no operation %s in %s", id, openAPIPath)
			continue
		}
		got := docFields(t, doc, id, op)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the handler reads %v, %s documents %v", id, want, openAPIPath, got)
		}
		for _, f := range want {
			if !strings.Contains(md, "`"+f+"`") {
				t.Errorf("%s: field %s is not in %s", id, f, apiDocPath)
			}
		}
	}
}

// TestAPIDocCloseCodes holds docs/api.md to the channel's close codes.
func TestAPIDocCloseCodes(t *testing.T) {
	md := readDoc(t)
	session := parsePackage(t, sessionDir)
	n := 0
	for _, f := range session {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Close") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.INT {
						continue
					}
					n++
					if !strings.Contains(md, "`"+lit.Value+"`") {
						t.Errorf("close code %s (%s) is not in %s", lit.Value, name.Name, apiDocPath)
					}
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("found %d close codes: the test no longer reads them", n)
	}
}

// TestOpenAPIExamples validates every example against its schema, and
// holds the get_result examples taken from golden files to those files.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	check := func(ptr string, schema, v any) {
		n++
		for _, err := range validate(doc, schema, v, ptr) {
			t.Error(err)
		}
	}
	walk(doc, "", func(ptr string, m map[string]any) {
		if strings.HasPrefix(ptr, "/components/schemas/") && strings.Count(ptr, "/") == 3 {
			if ex, ok := m["example"]; ok {
				check(ptr+"/example", m, ex)
			}
			return
		}
		schema, ok := m["schema"]
		if !ok {
			return
		}
		if ex, ok := m["example"]; ok {
			check(ptr+"/example", schema, ex)
		}
		exs, _ := m["examples"].(map[string]any)
		for name, e := range exs {
			e := resolve(doc, e)
			v, ok := e["value"]
			if !ok {
				t.Errorf("%s/examples/%s has no value", ptr, name)
				continue
			}
			check(ptr+"/examples/"+name, schema, v)
			if g, ok := e["x-golden"].(string); ok {
				b, err := os.ReadFile(filepath.Join(goldenDir, g+".json"))
				if err != nil {
					t.Error(err)
					continue
				}
				var want any
				if err := json.Unmarshal(b, &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(v, want) {
					t.Errorf("%s/examples/%s differs from %s.json", ptr, name, g)
				}
			}
		}
	})
	if n < 15 {
		t.Errorf("only %d examples validated: the walk no longer finds them", n)
	}
}

// TestValidatorRefusesWrongExamples shows that the validator catches each
// kind of mistake it claims to.
func TestValidatorRefusesWrongExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	result := map[string]any{"$ref": "#/components/schemas/GetResultResponse"}
	good := `{"request_id":"1,x","time_used":0,"status":"OK","verify_result":{},"images":{"image_best":"data:image/jpeg;base64,AA"}}`
	tests := []struct{ name, json, want string }{
		{"good", good, ""},
		{"enum", `{"request_id":"1,x","time_used":0,"status":"DONE"}`, "not one of"},
		{"required", `{"request_id":"1,x","status":"OK"}`, "time_used is required"},
		{"additional", `{"request_id":"1,x","time_used":0,"status":"OK","extra":1}`, "extra is not allowed"},
		{"type", `{"request_id":"1,x","time_used":"0","status":"OK"}`, "want integer"},
		{"integer", `{"request_id":"1,x","time_used":1.5,"status":"OK"}`, "want integer"},
		{"nested", `{"request_id":"1,x","time_used":0,"status":"OK","liveness_result":{"result":"PASS","details":"none"}}`, "want object"},
		{"items", `{"request_id":"1,x","time_used":0,"status":"OK","liveness_result":{"result":"PASS","details":{"FACE_NOT_FOUND":0,"SIDE_FACE":0,"UPDOWN_FACE":0,"EYE_OCCLUSION":0,"MOUTH_OCCLUSION":0,"AWAY_FROM_CAMERA":0,"CLOSE_TO_CAMERA":0,"OUT_OF_IMAGE":0,"MULTIPLE_FACES":0,"UPLOAD_TIMES":0},"face_genuineness":{"screen_replay_confidence":0,"screen_replay_threshold":0,"synthetic_face_confidence":0,"synthetic_face_threshold":0,"face_replaced":0,"injection_suspected":0,"injection_signals":[1]}}}`, "want string"},
		{"pattern", `{"request_id":"1,x","time_used":0,"status":"OK","images":{"image_best":"AA"}}`, "does not match"},
		{"maximum", `{"request_id":"1,x","time_used":0,"status":"OK","verify_result":{"result_ref1":{"confidence":101,"thresholds":{"1e-3":1,"1e-4":1,"1e-5":1,"1e-6":1}}}}`, "above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
				t.Fatal(err)
			}
			errs := validate(doc, result, v, "")
			if tt.want == "" {
				if len(errs) > 0 {
					t.Errorf("refused a good value: %v", errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), tt.want) {
				t.Errorf("errors %v, want one saying %q", errs, tt.want)
			}
		})
	}
	// oneOf, and a keyword the validator does not know.
	one := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"enum": []any{"a"}}}}
	if errs := validate(doc, one, "a", ""); len(errs) == 0 {
		t.Error("oneOf: a value matching both alternatives was accepted")
	}
	if errs := validate(doc, one, "b", ""); len(errs) > 0 {
		t.Errorf("oneOf: %v", errs)
	}
	if errs := validate(doc, map[string]any{"minItems": 1.0}, []any{}, ""); len(errs) == 0 {
		t.Error("an unknown keyword was ignored")
	}
}

// annotations are the keywords that do not constrain a value.
var annotations = map[string]bool{
	"description": true, "title": true, "default": true, "example": true, "examples": true,
	"format": true, "contentMediaType": true, "deprecated": true,
}

// validate checks v against the subset of JSON Schema the document uses:
// $ref (local), type, enum, properties, required, additionalProperties,
// items, oneOf, pattern, minimum, maximum. Any other keyword, except
// annotations and x- extensions, is an error, so that a schema cannot
// rely on a rule nothing checks.
func validate(doc map[string]any, schema, v any, ptr string) []error {
	s, ok := schema.(map[string]any)
	if !ok {
		return []error{fmt.Errorf("%s: schema is not an object", ptr)}
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{ptr}, args...)...))
	}
	for _, k := range slices.Sorted(maps.Keys(s)) {
		kw := s[k]
		switch {
		case k == "$ref":
			target := resolve(doc, map[string]any{"$ref": kw})
			if target == nil {
				fail("unresolved $ref %v", kw)
				continue
			}
			errs = append(errs, validate(doc, target, v, ptr)...)
		case k == "type":
			if !hasType(v, kw) {
				fail("%s, want %v", jsonType(v), kw)
			}
		case k == "enum":
			list, _ := kw.([]any)
			if !slices.ContainsFunc(list, func(e any) bool { return reflect.DeepEqual(e, v) }) {
				fail("%v is not one of %v", v, list)
			}
		case k == "properties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := kw.(map[string]any)
			for _, name := range slices.Sorted(maps.Keys(obj)) {
				if ps, ok := props[name]; ok {
					errs = append(errs, validate(doc, ps, obj[name], ptr+"/"+name)...)
				}
			}
		case k == "required":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			list, _ := kw.([]any)
			for _, r := range list {
				if _, ok := obj[r.(string)]; !ok {
					fail("%s is required", r)
				}
			}
		case k == "additionalProperties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := s["properties"].(map[string]any)
			for _, name := range slices.Sorted(maps.Keys(obj)) {
				if _, ok := props[name]; ok {
					continue
				}
				switch kw := kw.(type) {
				case bool:
					if !kw {
						fail("%s is not allowed", name)
					}
				default:
					errs = append(errs, validate(doc, kw, obj[name], ptr+"/"+name)...)
				}
			}
		case k == "items":
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			for i, e := range arr {
				errs = append(errs, validate(doc, kw, e, ptr+"/"+strconv.Itoa(i))...)
			}
		case k == "oneOf":
			list, _ := kw.([]any)
			matched := 0
			for _, alt := range list {
				if len(validate(doc, alt, v, ptr)) == 0 {
					matched++
				}
			}
			if matched != 1 {
				fail("matches %d of oneOf's %d schemas, want 1", matched, len(list))
			}
		case k == "pattern":
			str, ok := v.(string)
			if !ok {
				continue
			}
			re, err := regexp.Compile(kw.(string))
			if err != nil {
				fail("pattern: %v", err)
			} else if !re.MatchString(str) {
				fail("%q does not match %s", str, re)
			}
		case k == "minimum" || k == "maximum":
			f, ok := v.(float64)
			if !ok {
				continue
			}
			lim, _ := kw.(float64)
			if k == "minimum" && f < lim {
				fail("%v is below %v", f, lim)
			}
			if k == "maximum" && f > lim {
				fail("%v is above %v", f, lim)
			}
		case annotations[k] || strings.HasPrefix(k, "x-"):
		default:
			fail("keyword %q is not supported by this validator", k)
		}
	}
	return errs
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func hasType(v, want any) bool {
	var list []any
	switch w := want.(type) {
	case string:
		list = []any{w}
	case []any:
		list = w
	}
	got := jsonType(v)
	for _, w := range list {
		if w == got || (w == "number" && got == "integer") {
			return true
		}
	}
	return false
}
