package api_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/session"
	"github.com/glint-id/glint/internal/session/sessiontest"
)

// Tests of the limits on reading request bodies: the memory budget, the
// per-address turns, the early refusal of wrong credentials and the body
// deadline. cmd/glint's TestMemoryUnderAttack measures the heap under the
// attack these stop.

const (
	getTokenPath  = "/faceid/lite/raw/get_token"
	testBoundary  = "glinttestboundary"
	testMultipart = "multipart/form-data; boundary=" + testBoundary
)

// mpField is a multipart text field; mpFileHead opens a file part, whose
// data the caller follows with "\r\n"; mpClose ends the body.
func mpField(name, value string) string {
	return "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

func mpFileHead(name string) string {
	return "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
		"\"; filename=\"f.jpg\"\r\nContent-Type: application/octet-stream\r\n\r\n"
}

const mpClose = "--" + testBoundary + "--\r\n"

// budgetEnv is an env with small limits: bodies of at most 1 MiB, a
// budget of 2 MiB (1 MiB for requests without a valid key yet), and
// client addresses taken from X-Forwarded-For.
func budgetEnv(t *testing.T, engine *fakeEngine, tweak func(*api.Config)) *env {
	return newEnv(t, engine, func(c *api.Config) {
		c.MaxBodyBytes = 1 << 20
		c.BodyBudget = 2 << 20
		c.BodyWait = 200 * time.Millisecond
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		if tweak != nil {
			tweak(c)
		}
	})
}

// streamed is a request whose body the test sends piece by piece.
type streamed struct {
	pieces chan string
	answer chan reply // status -1: no answer, the connection failed
}

// stream starts a POST to path from the client address from (sent as
// X-Forwarded-For), chunked, with a body sent by send.
func (e *env) stream(path, from string) *streamed {
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", e.srv.URL+path, pr)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", testMultipart)
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	s := &streamed{pieces: make(chan string, 16), answer: make(chan reply, 1)}
	go func() {
		// The writer: what the server does not read fails, ignored.
		for p := range s.pieces {
			pw.Write([]byte(p))
		}
		pw.Close()
	}()
	go func() {
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			pr.CloseWithError(err)
			s.answer <- reply{status: -1, raw: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		pr.CloseWithError(errors.New("answered"))
		r := reply{status: resp.StatusCode, raw: raw, header: resp.Header}
		if resp.Close {
			// The client takes the header out and says so here.
			r.header.Set("Connection", "close")
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			json.Unmarshal(raw, &r.fields)
		}
		s.answer <- r
	}()
	return s
}

// send queues pieces of the body; it never blocks on the server.
func (s *streamed) send(pieces ...string) {
	for _, p := range pieces {
		s.pieces <- p
	}
}

// end ends the body after the pieces sent.
func (s *streamed) end() { close(s.pieces) }

// wait returns the answer, failing the test if none comes in 10 s.
func (s *streamed) wait(t *testing.T) reply {
	t.Helper()
	select {
	case r := <-s.answer:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no answer in 10 s")
		return reply{}
	}
}

// noAnswerYet fails the test if the request was answered.
func (s *streamed) noAnswerYet(t *testing.T) {
	t.Helper()
	select {
	case r := <-s.answer:
		t.Fatalf("answered already: %d %s", r.status, r.raw)
	case <-time.After(100 * time.Millisecond):
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// bufferedBytes reads the gauge of body bytes held.
func bufferedBytes(t *testing.T, e *env) float64 {
	t.Helper()
	mfs, err := e.h.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "glint_http_body_buffered_bytes" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no glint_http_body_buffered_bytes")
	return 0
}

// requestCount reads glint_http_requests_total for endpoint, status, code.
func requestCount(t *testing.T, e *env, endpoint, status, code string) float64 {
	t.Helper()
	mfs, err := e.h.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "glint_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["endpoint"] == endpoint && l["status"] == status && l["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// requestLogs returns the "request" log lines whose code is code.
func requestLogs(e *env, code string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "request" && m["code"] == code {
			out = append(out, m)
		}
	}
	return out
}

// A request without a valid key yet cannot take more than its grace
// beyond the budget's anonymous share; one whose key was found valid can
// use the rest, so legitimate calls go through while attackers fill that
// share; and every byte comes back.
func TestBodyBudget(t *testing.T) {
	t.Parallel()
	e := budgetEnv(t, nil, nil)

	// A: the photo first, 900 KiB, then nothing for now.
	a := e.stream(getTokenPath, "198.51.100.1")
	a.send(mpFileHead("image_ref1"), strings.Repeat("x", 900<<10))
	waitFor(t, "A's photo in memory", func() bool { return bufferedBytes(t, e) >= 900<<10 })

	// B, the same from elsewhere, finds the anonymous share taken: it is
	// refused once it needs more than its grace, before its body ends.
	b := e.stream(getTokenPath, "198.51.100.2")
	b.send(mpFileHead("image_ref1"), strings.Repeat("x", 300<<10))
	if r := b.wait(t); r.status != -1 { // or the connection failed under the body still being sent
		checkReply(t, r, 403, "CONCURRENCY_LIMIT_EXCEEDED")
		if r.header.Get("Retry-After") != "1" || r.header.Get("Connection") != "close" {
			t.Errorf("headers %v", r.header)
		}
	}
	b.end()
	waitFor(t, "B's refusal logged", func() bool { return len(requestLogs(e, "CONCURRENCY_LIMIT_EXCEEDED")) == 1 })
	if l := requestLogs(e, "CONCURRENCY_LIMIT_EXCEEDED")[0]; !strings.Contains(l["err"].(string), "budget") {
		t.Errorf("refusal logged as %v", l)
	}

	// C, a legitimate call with a photo well beyond the grace: its key is
	// checked as soon as it is read, and the photo fits in the rest.
	big := mustBMP(solid(300, 300, gray)) // 270 KB
	checkReply(t, e.post(e.valid().setFile("image_ref1", big)), 200, "")

	// A ends, with its bogus credentials last: read, then refused.
	a.send("\r\n", mpField("api_key", "nosuchkey"), mpField("api_secret", "nosecret"), mpClose)
	a.end()
	checkReply(t, a.wait(t), 403, "AUTHENTICATION_ERROR")

	waitFor(t, "every byte given back", func() bool { return bufferedBytes(t, e) == 0 })
}

// The photos of wrong credentials are never kept: with the budget's
// anonymous share taken, a call whose credentials come first and are
// wrong is still answered in the validation order (and echoes its biz_no
// wherever it is), not refused for want of memory, since its photo is
// read past. Valid credentials' photos are read as usual.
func TestBodyEarlyRefusal(t *testing.T) {
	t.Parallel()
	e := budgetEnv(t, nil, nil)
	a := e.stream(getTokenPath, "198.51.100.1")
	a.send(mpFileHead("image_ref1"), strings.Repeat("x", 900<<10))
	waitFor(t, "A's photo in memory", func() bool { return bufferedBytes(t, e) >= 900<<10 })

	photo := mpFileHead("image_ref1") + strings.Repeat("x", 300<<10) + "\r\n"
	noCmpKey, noCmpSecret := e.newKey(auth.KeyOptions{Name: "no-compare", NoCompare: true})
	for _, tt := range []struct {
		name, path string
		body       string
		status     int
		want       string
	}{
		{"WrongSecret", getTokenPath,
			mpField("api_key", e.key) + mpField("api_secret", "wrong") + mpField("biz_no", "b-1") + photo,
			403, "AUTHENTICATION_ERROR"},
		{"UnknownKeySecretFirst", getTokenPath,
			mpField("api_secret", "s") + mpField("api_key", "nosuchkey") + photo + mpField("biz_no", "b-1"),
			403, "AUTHENTICATION_ERROR"},
		{"EmptyKey", getTokenPath,
			mpField("biz_no", "b-1") + mpField("api_key", "") + mpField("api_secret", "s") + photo,
			400, "MISSING_ARGUMENTS:api_key"},
		{"NoComparePermission", getTokenPath,
			mpField("api_key", noCmpKey) + mpField("api_secret", noCmpSecret) + photo + photo + mpField("biz_no", "b-1"),
			403, "AUTHORIZATION_ERROR:NO_VERIFY_PERMISSION"},
		{"GetResultPOST", "/faceid/lite/raw/get_result",
			mpField("api_key", "nosuchkey") + mpField("api_secret", "s") + photo, 403, "AUTHENTICATION_ERROR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := e.stream(tt.path, "")
			s.send(tt.body, mpClose)
			s.end()
			r := s.wait(t)
			checkReply(t, r, tt.status, tt.want)
			if tt.path == getTokenPath && r.str("biz_no") != "b-1" {
				t.Errorf("biz_no not echoed: %s", r.raw)
			}
		})
	}

	// Valid credentials: the photo is read, and the call waits for it.
	a.end()
	a.wait(t)
	s := e.stream(getTokenPath, "")
	s.send(mpField("api_key", e.key), mpField("api_secret", e.secret), mpField("comparison_type", "0"),
		mpField("uuid", "u"), mpField("max_upload_times", "5"), mpField("life_time", "60"),
		mpFileHead("image_ref1"))
	s.noAnswerYet(t)
	s.send(string(grayPNG), "\r\n", mpClose)
	s.end()
	checkReply(t, s.wait(t), 200, "")
	waitFor(t, "every byte given back", func() bool { return bufferedBytes(t, e) == 0 })
}

// A client address reads at most BodyReadersPerAddress bodies at once; an
// IPv6 address counts with its /64.
func TestBodyReadersPerAddress(t *testing.T) {
	t.Parallel()
	e := budgetEnv(t, nil, func(c *api.Config) { c.BodyReadersPerAddress = 2 })
	for _, tt := range []struct{ a, b, same, other string }{
		{"198.51.100.7", "198.51.100.7", "198.51.100.7", "198.51.100.8"},
		{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8:0:1::1"},
	} {
		var held []*streamed
		for _, from := range []string{tt.a, tt.b} {
			s := e.stream(getTokenPath, from)
			s.send(mpField("uuid", "u"))
			held = append(held, s)
		}
		waitFor(t, "the slow bodies being read", func() bool { return bufferedBytes(t, e) >= 2*512 })

		s := e.stream(getTokenPath, tt.same)
		s.send(mpField("uuid", "u"), mpClose)
		s.end()
		if r := s.wait(t); r.status != -1 {
			checkReply(t, r, 403, "CONCURRENCY_LIMIT_EXCEEDED")
		}
		s = e.stream(getTokenPath, tt.other)
		s.send(mpField("uuid", "u"), mpClose)
		s.end()
		checkReply(t, s.wait(t), 400, "MISSING_ARGUMENTS:api_key")

		for _, h := range held {
			h.send(mpClose)
			h.end()
			checkReply(t, h.wait(t), 400, "MISSING_ARGUMENTS:api_key")
		}
		// The turns are back.
		s = e.stream(getTokenPath, tt.same)
		s.send(mpField("uuid", "u"), mpClose)
		s.end()
		checkReply(t, s.wait(t), 400, "MISSING_ARGUMENTS:api_key")
	}
	if n := len(requestLogs(e, "CONCURRENCY_LIMIT_EXCEEDED")); n != 2 {
		t.Errorf("%d refusals logged, want 2", n)
	}
}

// A body not sent within BodyReadTimeout is answered 408 in plain text,
// like the 413, and its memory given back.
func TestBodyReadTimeout(t *testing.T) {
	t.Parallel()
	e := budgetEnv(t, nil, func(c *api.Config) { c.BodyReadTimeout = 300 * time.Millisecond })
	s := e.stream(getTokenPath, "")
	s.send(mpField("api_key", e.key), mpField("api_secret", e.secret), mpFileHead("image_ref1"), "xxxx")
	r := s.wait(t)
	s.end()
	if r.status != http.StatusRequestTimeout || string(r.raw) != "Request Timeout" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("got %d %q %v", r.status, r.raw, r.header)
	}
	if n := len(requestLogs(e, "REQUEST_TIMEOUT")); n != 1 {
		t.Errorf("%d REQUEST_TIMEOUT log lines", n)
	}
	waitFor(t, "every byte given back", func() bool { return bufferedBytes(t, e) == 0 })
}

// validate_flash reads its frames within the same budget, and a token
// whose key did not opt in to the fallback is refused before its frames.
func TestBodyBudgetValidateFlash(t *testing.T) {
	t.Parallel()
	e := budgetEnv(t, nil, func(c *api.Config) {
		m, err := session.NewManager(session.Config{Store: sqliteStore(c), Analyzer: sessiontest.NewAnalyzer(), Rand: newSeeded(7), Logger: c.Logger})
		if err != nil {
			t.Fatal(err)
		}
		c.Capture = &api.CaptureConfig{Sessions: m}
	})
	const path = "/faceid/lite/raw/validate_flash"

	// A fills the anonymous share.
	a := e.stream(getTokenPath, "198.51.100.1")
	a.send(mpFileHead("image_ref1"), strings.Repeat("x", 900<<10))
	waitFor(t, "A's photo in memory", func() bool { return bufferedBytes(t, e) >= 900<<10 })

	// An unknown token's frames are anonymous: refused.
	s := e.stream(path, "198.51.100.2")
	s.send(mpField("token", "unknown-token"), mpFileHead("frames"), strings.Repeat("x", 200<<10))
	if r := s.wait(t); r.status != -1 {
		checkReply(t, r, 403, "CONCURRENCY_LIMIT_EXCEEDED")
	}
	s.end()
	waitFor(t, "the refusal logged", func() bool { return len(requestLogs(e, "CONCURRENCY_LIMIT_EXCEEDED")) == 1 })

	// A token of a key without the fallback: refused as soon as read,
	// its frames not kept.
	tok := (&captureEnv{env: e}).captureToken(e.key, 2)
	s = e.stream(path, "198.51.100.3")
	s.send(mpField("token", tok), mpFileHead("frames"), strings.Repeat("x", 300<<10), "\r\n", mpClose)
	s.end()
	checkReply(t, s.wait(t), 403, "AUTHORIZATION_ERROR:DENIED")

	a.end()
	a.wait(t)
	waitFor(t, "every byte given back", func() bool { return bufferedBytes(t, e) == 0 })
}

// Config refuses a budget that could not hold two maximum-size bodies.
func TestBodyBudgetConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	_, err := api.New(api.Config{Store: e.db, Keys: e.keys, References: e.engine, MaxBodyBytes: 1 << 20, BodyBudget: 1 << 20})
	if err == nil {
		t.Fatal("a budget of one body accepted")
	}
	if _, err := api.New(api.Config{Store: e.db, Keys: e.keys, References: e.engine, MaxBodyBytes: 200 << 20}); err != nil {
		t.Fatalf("default budget with a large MaxBodyBytes: %v", err)
	}
}
