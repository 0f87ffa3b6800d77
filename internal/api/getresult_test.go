package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

// clock is a controllable Config.Now. It starts at the real time so that
// request_id seconds look plausible.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newResultEnv is an env whose handler runs on clk.
func newResultEnv(t *testing.T, eng *fakeEngine, clk *clock) *env {
	t.Helper()
	return newEnv(t, eng, func(c *api.Config) { c.Now = clk.Now })
}

// token issues a token with get_token and returns it.
func (e *env) token(p params) string {
	e.t.Helper()
	r := e.post(p)
	if r.status != 200 {
		e.t.Fatalf("get_token: %d %s", r.status, r.raw)
	}
	return r.str("token")
}

// getResult sends get_result as a GET with p in the query string.
func (e *env) getResult(p params) reply {
	e.t.Helper()
	q := url.Values{}
	for _, f := range p {
		q.Add(f.name, string(f.value))
	}
	req, err := http.NewRequest("GET", e.srv.URL+"/faceid/lite/raw/get_result?"+q.Encode(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

// postResult sends get_result as a multipart POST form.
func (e *env) postResult(p params) reply {
	e.t.Helper()
	body, ct := p.multipart(e.t)
	req, err := http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/get_result", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return e.do(req)
}

func (e *env) resultParams(token string) params {
	return params{
		{name: "api_key", value: []byte(e.key)},
		{name: "api_secret", value: []byte(e.secret)},
		{name: "token", value: []byte(token)},
	}
}

var (
	bestJPEG  = []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9}
	best2JPEG = []byte{0xff, 0xd8, 0xff, 0xe0, 4, 5, 6, 0xff, 0xd9}
)

func livenessOf(result string) *store.LivenessResult {
	return &store.LivenessResult{
		Result: result,
		Details: store.LivenessDetails{
			SideFace: 1, AwayFromCamera: 2, MultipleFaces: 1, EyeOcclusion: 0, UploadTimes: 1,
		},
		Transport: store.TransportRTC,
	}
}

var verifyOK = &store.VerifyResult{Refs: []store.RefMatch{{
	Index: 1, Confidence: 81.25,
	Thresholds: map[string]float64{"1e-3": 62.5, "1e-4": 69.25, "1e-5": 74.5, "1e-6": 78},
}}}

// begin moves a token to PROCESSING through the store.
func (e *env) begin(token string, now time.Time) {
	e.t.Helper()
	if _, err := e.db.BeginCapture(context.Background(), token, now); err != nil {
		e.t.Fatal(err)
	}
}

// finish moves a token to a terminal status through the store.
func (e *env) finish(token string, o *store.Outcome) {
	e.t.Helper()
	if err := e.db.FinishVerification(context.Background(), token, o); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) finishOK(token string, at time.Time) {
	e.t.Helper()
	e.begin(token, at)
	e.finish(token, &store.Outcome{
		Status: store.StatusOK, Liveness: livenessOf(store.LivenessPass), Verify: verifyOK,
		Images: [][]byte{bestJPEG, best2JPEG}, At: at,
	})
}

// checkResult checks a get_result reply's envelope, status code and
// error_message, and that it has only the fields of spec §2.2.
func checkResult(t *testing.T, r reply, status int, wantErr string) {
	t.Helper()
	if r.status != status || r.str("error_message") != wantErr {
		t.Fatalf("got %d %q, want %d %q (body %s)", r.status, r.str("error_message"), status, wantErr, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if !requestIDRe.MatchString(r.str("request_id")) {
		t.Errorf("request_id %q", r.str("request_id"))
	}
	if tu, ok := r.fields["time_used"].(float64); !ok || tu < 0 {
		t.Errorf("time_used %v", r.fields["time_used"])
	}
	allowed := map[string]bool{"request_id": true, "time_used": true, "biz_no": true}
	if wantErr == "" {
		for _, k := range []string{"status", "liveness_result", "verify_result", "images"} {
			allowed[k] = true
		}
	} else {
		allowed["error_message"] = true
	}
	for k := range r.fields {
		if !allowed[k] {
			t.Errorf("unexpected field %q in %s", k, r.raw)
		}
	}
}

// TestGetResultConformance walks get_result's errors (spec §0.1, §2.2) in
// the validation order of §0.
func TestGetResultConformance(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	tok := e.token(e.valid())

	otherKey, otherSecret := e.newKey(auth.KeyOptions{Name: "other"})
	otherTok := e.token(e.valid().set("api_key", otherKey).set("api_secret", otherSecret))
	disabledKey, disabledSecret := e.newKey(auth.KeyOptions{Name: "disabled"})
	disabledTok := e.token(e.valid().set("api_key", disabledKey).set("api_secret", disabledSecret))
	if err := e.db.SetKeyDisabled(context.Background(), disabledKey, true); err != nil {
		t.Fatal(err)
	}
	farKey, farSecret := e.newKey(auth.KeyOptions{Name: "far", AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	// A key whose call limit its get_token used up can still read.
	limKey, limSecret := e.newKey(auth.KeyOptions{Name: "limited", CallLimit: 1})
	limTok := e.token(e.valid().set("api_key", limKey).set("api_secret", limSecret))

	as := func(p params, key, secret string) params { return p.set("api_key", key).set("api_secret", secret) }
	v := e.resultParams(tok)
	tests := []struct {
		name   string
		p      params
		status int
		want   string
	}{
		{"OK", v, 200, ""},
		{"OKAllOptional", v.set("return_image", "2").set("face_occlusion_detection", "1"), 200, ""},
		{"OKReturnImage0", v.set("return_image", "0"), 200, ""},
		{"OKEmptyOptional", v.set("return_image", "").set("face_occlusion_detection", ""), 200, ""},
		{"CallLimitDoesNotApply", as(e.resultParams(limTok), limKey, limSecret), 200, ""},

		{"MissingAPIKey", v.del("api_key"), 400, "MISSING_ARGUMENTS:api_key"},
		{"MissingAPISecret", v.del("api_secret"), 400, "MISSING_ARGUMENTS:api_secret"},
		{"MissingEverything", params{}, 400, "MISSING_ARGUMENTS:api_key"},
		{"WrongSecret", v.set("api_secret", "nope"), 403, "AUTHENTICATION_ERROR"},
		{"UnknownKey", v.set("api_key", "nope"), 403, "AUTHENTICATION_ERROR"},
		{"AuthBeatsMissingToken", v.set("api_secret", "nope").del("token"), 403, "AUTHENTICATION_ERROR"},
		{"Disabled", as(e.resultParams(disabledTok), disabledKey, disabledSecret), 403, "AUTHORIZATION_ERROR:API_KEY_BE_DISCONTINUED"},
		{"IPNotAllowed", as(v, farKey, farSecret), 403, "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},
		{"PermissionBeatsMissingToken", as(v.del("token"), farKey, farSecret), 403, "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},

		{"MissingToken", v.del("token"), 400, "MISSING_ARGUMENTS:token"},
		{"EmptyToken", v.set("token", ""), 400, "MISSING_ARGUMENTS:token"},
		{"MissingBeatsBad", v.del("token").set("return_image", "9"), 400, "MISSING_ARGUMENTS:token"},
		{"BadReturnImage", v.set("return_image", "3"), 400, "BAD_ARGUMENTS:return_image"},
		{"BadReturnImageWord", v.set("return_image", "yes"), 400, "BAD_ARGUMENTS:return_image"},
		{"BadOcclusion", v.set("face_occlusion_detection", "2"), 400, "BAD_ARGUMENTS:face_occlusion_detection"},
		{"BadInTableOrder", v.set("face_occlusion_detection", "2").set("return_image", "x"), 400, "BAD_ARGUMENTS:return_image"},
		{"BadBeatsInvalidToken", v.set("token", "junk").set("return_image", "7"), 400, "BAD_ARGUMENTS:return_image"},

		{"MalformedToken", v.set("token", "junk"), 400, "INVALID_TOKEN"},
		{"MalformedTokenLong", v.set("token", strings.Repeat("A", 33)), 400, "INVALID_TOKEN"},
		{"MalformedTokenChars", v.set("token", strings.Repeat("*", 32)), 400, "INVALID_TOKEN"},
		{"UnknownToken", v.set("token", strings.Repeat("A", 32)), 400, "INVALID_TOKEN"},
		{"AnotherKeysToken", v.set("token", otherTok), 400, "INVALID_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.getResult(tt.p)
			checkResult(t, r, tt.status, tt.want)
			if tt.want != "" {
				if _, ok := r.fields["biz_no"]; ok {
					t.Errorf("biz_no on a failure that is not the caller's token: %s", r.raw)
				}
			}
		})
	}

	// Another key's attempts did not use the owner's reads up.
	e.finishOK(otherTok, clk.Now())
	for range 3 {
		checkResult(t, e.getResult(as(e.resultParams(otherTok), otherKey, otherSecret)), 200, "")
	}
}

func TestGetResultStatuses(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)

	type want struct {
		status                   string
		liveness, verify, images bool
		best2                    bool
	}
	tests := []struct {
		name        string
		returnImage string
		prepare     func(tok string)
		want        want
	}{
		{"NotStarted", "2", func(string) {}, want{status: "NOT_STARTED"}},
		{"Processing", "2", func(tok string) { e.begin(tok, clk.Now()) }, want{status: "PROCESSING"}},
		{"ProcessingHidesInterim", "1", func(tok string) {
			e.begin(tok, clk.Now())
			if err := e.db.SaveLiveness(context.Background(), tok, livenessOf(store.LivenessFail)); err != nil {
				t.Fatal(err)
			}
		}, want{status: "PROCESSING"}},
		{"OKNoImages", "", func(tok string) { e.finishOK(tok, clk.Now()) }, want{status: "OK", liveness: true, verify: true}},
		{"OKImage0", "0", func(tok string) { e.finishOK(tok, clk.Now()) }, want{status: "OK", liveness: true, verify: true}},
		{"OKImage1", "1", func(tok string) { e.finishOK(tok, clk.Now()) }, want{status: "OK", liveness: true, verify: true, images: true}},
		{"OKImage2", "2", func(tok string) { e.finishOK(tok, clk.Now()) }, want{status: "OK", liveness: true, verify: true, images: true, best2: true}},
		{"FailedLivenessNoImages", "2", func(tok string) {
			e.begin(tok, clk.Now())
			e.finish(tok, &store.Outcome{Status: store.StatusFailed, Liveness: livenessOf(store.LivenessFail),
				Images: [][]byte{bestJPEG}, At: clk.Now()})
		}, want{status: "FAILED", liveness: true}},
		{"FailedNoEvaluation", "1", func(tok string) {
			e.begin(tok, clk.Now())
			e.finish(tok, &store.Outcome{Status: store.StatusFailed, At: clk.Now()})
		}, want{status: "FAILED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := e.token(e.valid().set("biz_no", "ord-"+tt.name))
			tt.prepare(tok)
			p := e.resultParams(tok)
			if tt.returnImage != "" {
				p = p.set("return_image", tt.returnImage)
			}
			r := e.getResult(p)
			checkResult(t, r, 200, "")
			if r.str("status") != tt.want.status || r.str("biz_no") != "ord-"+tt.name {
				t.Fatalf("status %q biz_no %q, want %q (body %s)", r.str("status"), r.str("biz_no"), tt.want.status, r.raw)
			}
			_, hasL := r.fields["liveness_result"]
			_, hasV := r.fields["verify_result"]
			imgs, hasI := r.fields["images"].(map[string]any)
			if hasL != tt.want.liveness || hasV != tt.want.verify || hasI != tt.want.images {
				t.Fatalf("liveness %v verify %v images %v, want %+v (body %s)", hasL, hasV, hasI, tt.want, r.raw)
			}
			if hasI {
				if imgs["image_best"] != "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(bestJPEG) {
					t.Errorf("image_best = %v", imgs["image_best"])
				}
				_, has2 := imgs["image_best_2"]
				if has2 != tt.want.best2 || (has2 && imgs["image_best_2"] != "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(best2JPEG)) {
					t.Errorf("image_best_2 = %v, want present %v", imgs["image_best_2"], tt.want.best2)
				}
			}
			if hasV {
				var got struct {
					Verify map[string]struct {
						Confidence float64            `json:"confidence"`
						Thresholds map[string]float64 `json:"thresholds"`
					} `json:"verify_result"`
				}
				json.Unmarshal(r.raw, &got)
				ref1 := got.Verify["result_ref1"]
				if ref1.Confidence != 81.25 || len(ref1.Thresholds) != 4 || ref1.Thresholds["1e-6"] != 78 {
					t.Errorf("verify_result = %+v", got.Verify)
				}
			}
			if hasL {
				lr := r.fields["liveness_result"].(map[string]any)
				details, _ := lr["details"].(map[string]any)
				if lr["result"] == nil || details["SIDE_FACE"] != 1.0 || details["AWAY_FROM_CAMERA"] != 2.0 {
					t.Errorf("liveness_result = %v", lr)
				}
				for _, k := range []string{"multiple_faces", "face_occlusion"} {
					if _, ok := lr[k]; ok {
						t.Errorf("%s shown without being asked for: %v", k, lr)
					}
				}
			}
		})
	}
}

// A token whose life_time passes without a terminal status reads FAILED,
// with no liveness_result, and that read counts.
func TestGetResultLifeTimeExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	tok := e.token(e.valid().set("life_time", "5"))
	started := e.token(e.valid().set("life_time", "5"))
	e.begin(started, clk.Now())

	clk.advance(5*time.Minute - time.Second)
	for _, tk := range []string{tok, started} {
		r := e.getResult(e.resultParams(tk))
		checkResult(t, r, 200, "")
		if s := r.str("status"); s == "FAILED" {
			t.Fatalf("FAILED before life_time ended")
		}
	}
	clk.advance(time.Second)
	for _, tk := range []string{tok, started} {
		for i := range 4 {
			r := e.getResult(e.resultParams(tk).set("return_image", "1"))
			if i == 3 {
				checkResult(t, r, 400, "RESULT_NOT_FOUND")
				continue
			}
			checkResult(t, r, 200, "")
			if r.str("status") != "FAILED" {
				t.Fatalf("status %q after life_time", r.str("status"))
			}
			for _, k := range []string{"liveness_result", "verify_result", "images"} {
				if _, ok := r.fields[k]; ok {
					t.Errorf("%s in an expired result: %s", k, r.raw)
				}
			}
		}
	}
}

func TestGetResultReadLimit(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	tok := e.token(e.valid())
	p := e.resultParams(tok).set("return_image", "1")

	// Polling before the end is free.
	for range 10 {
		if r := e.getResult(p); r.status != 200 || r.str("status") != "NOT_STARTED" {
			t.Fatalf("poll: %d %s", r.status, r.raw)
		}
	}
	e.begin(tok, clk.Now())
	for range 10 {
		if r := e.getResult(p); r.status != 200 || r.str("status") != "PROCESSING" {
			t.Fatalf("poll: %d %s", r.status, r.raw)
		}
	}
	e.finish(tok, &store.Outcome{Status: store.StatusOK, Liveness: livenessOf(store.LivenessPass), Verify: verifyOK,
		Images: [][]byte{bestJPEG}, At: clk.Now()})
	// Errors found before the token is read do not use reads up.
	checkResult(t, e.getResult(p.set("return_image", "5")), 400, "BAD_ARGUMENTS:return_image")
	checkResult(t, e.getResult(p.set("api_secret", "x")), 403, "AUTHENTICATION_ERROR")
	for i := range 3 {
		r := e.getResult(p)
		checkResult(t, r, 200, "")
		if _, ok := r.fields["images"]; !ok || r.str("status") != "OK" {
			t.Fatalf("read %d: %s", i+1, r.raw)
		}
	}
	for range 2 {
		checkResult(t, e.getResult(p), 400, "RESULT_NOT_FOUND")
	}
	if n := resultUsage(t, e, e.key, "OK"); n != 23 {
		t.Errorf("ledger has %d OK get_result rows, want 23", n)
	}
	if n := resultUsage(t, e, e.key, "RESULT_NOT_FOUND"); n != 2 {
		t.Errorf("ledger has %d RESULT_NOT_FOUND rows, want 2", n)
	}
}

func TestGetResultRetention(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	a, b := e.token(e.valid()), e.token(e.valid())
	e.finishOK(a, clk.Now())
	e.finishOK(b, clk.Now())

	clk.advance(24*time.Hour - time.Second)
	checkResult(t, e.getResult(e.resultParams(a)), 200, "")
	clk.advance(time.Second)
	checkResult(t, e.getResult(e.resultParams(a)), 400, "RESULT_NOT_FOUND")
	// Unread results expire too.
	checkResult(t, e.getResult(e.resultParams(b)), 400, "RESULT_NOT_FOUND")
}

// The multifaces and occlusion flags appear only when asked for (spec
// §4.2); get_result's face_occlusion_detection overrides get_token's.
func TestGetResultOptionalFlags(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	tests := []struct {
		name          string
		tokenParams   params
		occlusion     string // get_result's face_occlusion_detection
		multi, occl   bool
		wantMultiFlag float64
	}{
		{"Neither", e.valid(), "", false, false, 0},
		{"Multifaces", e.valid().set("return_multifaces_tag", "1"), "", true, false, 1},
		{"MultifacesOff", e.valid().set("return_multifaces_tag", "0"), "", false, false, 0},
		{"OcclusionAtToken", e.valid().set("face_occlusion_detection", "1"), "", false, true, 0},
		{"OcclusionOffAtResult", e.valid().set("face_occlusion_detection", "1"), "0", false, false, 0},
		{"OcclusionOnAtResult", e.valid(), "1", false, true, 0},
		{"Both", e.valid().set("return_multifaces_tag", "1").set("face_occlusion_detection", "1"), "", true, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := e.token(tt.tokenParams)
			e.finishOK(tok, clk.Now())
			p := e.resultParams(tok)
			if tt.occlusion != "" {
				p = p.set("face_occlusion_detection", tt.occlusion)
			}
			r := e.getResult(p)
			checkResult(t, r, 200, "")
			lr := r.fields["liveness_result"].(map[string]any)
			mf, hasMulti := lr["multiple_faces"]
			fo, hasOccl := lr["face_occlusion"]
			if hasMulti != tt.multi || hasOccl != tt.occl {
				t.Fatalf("multiple_faces %v face_occlusion %v, want %v %v: %v", hasMulti, hasOccl, tt.multi, tt.occl, lr)
			}
			if hasMulti && mf != tt.wantMultiFlag {
				t.Errorf("multiple_faces = %v", mf)
			}
			if hasOccl && fo != 0.0 {
				t.Errorf("face_occlusion = %v", fo)
			}
		})
	}
}

// A flag the capture stored wins over the one derived from the counters.
func TestGetResultStoredFlags(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	tok := e.token(e.valid().set("return_multifaces_tag", "1").set("face_occlusion_detection", "1"))
	e.begin(tok, clk.Now())
	lr := livenessOf(store.LivenessFail)
	zero, one := 0, 1
	lr.MultipleFaces, lr.FaceOcclusion = &zero, &one
	e.finish(tok, &store.Outcome{Status: store.StatusFailed, Liveness: lr, At: clk.Now()})
	r := e.getResult(e.resultParams(tok))
	checkResult(t, r, 200, "")
	got := r.fields["liveness_result"].(map[string]any)
	if got["multiple_faces"] != 0.0 || got["face_occlusion"] != 1.0 || got["result"] != "FAIL" {
		t.Fatalf("liveness_result = %v", got)
	}
}

// The POST form (multipart and urlencoded) answers as the GET does.
func TestGetResultPOST(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	tok := e.token(e.valid().set("biz_no", "ord-77"))
	p := e.resultParams(tok).set("return_image", "2")

	r := e.postResult(p)
	checkResult(t, r, 200, "")
	if r.str("status") != "NOT_STARTED" || r.str("biz_no") != "ord-77" {
		t.Fatalf("POST: %s", r.raw)
	}
	checkResult(t, e.postResult(p.del("token")), 400, "MISSING_ARGUMENTS:token")
	checkResult(t, e.postResult(p.set("return_image", "9")), 400, "BAD_ARGUMENTS:return_image")
	checkResult(t, e.postResult(p.set("token", strings.Repeat("x", 32))), 400, "INVALID_TOKEN")

	e.finishOK(tok, clk.Now())
	get := e.getResult(p)
	post := e.postResult(p)
	form := url.Values{}
	for _, f := range p {
		form.Set(f.name, string(f.value))
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/get_result", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	encoded := e.do(req)
	for _, r := range []reply{get, post, encoded} {
		checkResult(t, r, 200, "")
	}
	strip := func(r reply) string {
		delete(r.fields, "request_id")
		delete(r.fields, "time_used")
		b, _ := json.Marshal(r.fields)
		return string(b)
	}
	if g, p, u := strip(get), strip(post), strip(encoded); g != p || g != u {
		t.Fatalf("GET and POST differ:\n%s\n%s\n%s", g, p, u)
	}
	// The three reads above used the token up, whatever the method.
	checkResult(t, e.postResult(p), 400, "RESULT_NOT_FOUND")

	// A POST's query string is not read: its fields belong in the body.
	req, _ = http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/get_result?api_key="+e.key, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	checkResult(t, e.do(req), 400, "MISSING_ARGUMENTS:api_key")

	// Other methods are unknown, as for every FaceID path.
	req, _ = http.NewRequest("PUT", e.srv.URL+"/faceid/lite/raw/get_result", nil)
	if r := e.do(req); r.status != 404 || r.str("error_message") != "API_NOT_FOUND" {
		t.Errorf("PUT: %d %s", r.status, r.raw)
	}
}

// 50 concurrent reads of a terminal result: exactly 3 get it.
func TestGetResultConcurrentReads(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newResultEnv(t, nil, clk)
	key, secret := e.newKey(auth.KeyOptions{Name: "busy", Concurrency: 64})
	tok := e.token(e.valid().set("api_key", key).set("api_secret", secret))
	e.finishOK(tok, clk.Now())
	p := e.resultParams(tok).set("api_key", key).set("api_secret", secret)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[string]int{}
	)
	for range 50 {
		wg.Go(func() {
			r := e.getResult(p)
			mu.Lock()
			defer mu.Unlock()
			results[r.str("error_message")+"/"+r.str("status")]++
		})
	}
	wg.Wait()
	if results["/OK"] != 3 || results["RESULT_NOT_FOUND/"] != 47 || len(results) != 2 {
		t.Fatalf("results %v, want 3 OK and 47 RESULT_NOT_FOUND", results)
	}
}

// get_result shares the key's concurrency slots with the other endpoints.
func TestGetResultConcurrencyLimit(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	clk := newClock()
	e := newResultEnv(t, eng, clk)
	key, secret := e.newKey(auth.KeyOptions{Concurrency: 1})
	tp := e.valid().set("api_key", key).set("api_secret", secret)
	tok := e.token(tp)
	p := e.resultParams(tok).set("api_key", key).set("api_secret", secret)

	done := make(chan struct{})
	go func() {
		defer close(done)
		e.post(tp.setFile("image_ref1", whitePNG))
	}()
	<-eng.entered
	checkResult(t, e.getResult(p), 403, "CONCURRENCY_LIMIT_EXCEEDED")
	close(eng.gate)
	<-done
	checkResult(t, e.getResult(p), 200, "")
}

func resultUsage(t *testing.T, e *env, key, outcome string) int64 {
	t.Helper()
	counts, err := e.db.Usage(context.Background(), key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range counts {
		if c.Endpoint == "get_result" && c.Outcome == outcome {
			if c.Billed {
				t.Errorf("get_result billed: %+v", c)
			}
			n += c.Count
		}
	}
	return n
}
