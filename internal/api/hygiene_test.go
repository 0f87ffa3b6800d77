package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
)

// Every reply says its Content-Type is not to be sniffed: JSON, the 413
// and 408 texts, the 404, /healthz.
func TestNoSniff(t *testing.T) {
	t.Parallel()
	e := budgetEnv(t, nil, func(c *api.Config) { c.BodyReadTimeout = 200 * time.Millisecond })
	body, ct := e.valid().multipart(t)
	post := func(b []byte, ct string) *http.Request {
		req, _ := http.NewRequest("POST", e.srv.URL+getTokenPath, bytes.NewReader(b))
		req.Header.Set("Content-Type", ct)
		return req
	}
	get := func(path string) *http.Request {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		return req
	}
	for _, tt := range []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"Success", post(body, ct), 200},
		{"Error", post(nil, ct), 400},
		{"TooLarge", post(make([]byte, 2<<20), ct), 413},
		{"NotFound", get("/nope"), 404},
		{"WrongMethod", get(getTokenPath), 404},
		{"GetResult", get("/faceid/lite/raw/get_result"), 400},
		{"Healthz", get("/healthz"), 200},
	} {
		r := e.do(tt.req)
		if r.status != tt.status || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d, X-Content-Type-Options %q", tt.name, r.status, r.header.Get("X-Content-Type-Options"))
		}
	}
	s := e.stream(getTokenPath, "")
	s.send(mpField("uuid", "u"))
	r := s.wait(t)
	s.end()
	if r.status != 408 || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("timeout: %d %v", r.status, r.header)
	}
}

// A client that hangs up before its reply is logged at info as
// CLIENT_CLOSED with 499, counted so, and writes no ledger row: not a
// 500 INTERNAL_ERROR.
func TestClientClosed(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	e := newEnv(t, eng, nil)
	defer close(eng.gate)

	// Hanging up while the engine works on the photo.
	body, ct := e.valid().setFile("image_ref1", whitePNG).multipart(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+getTokenPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	done := make(chan error, 1)
	go func() {
		resp, err := e.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-eng.entered
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the canceled call got an answer")
	}
	waitFor(t, "the hang-up logged", func() bool { return len(requestLogs(e, "CLIENT_CLOSED")) == 1 })

	// Hanging up in the middle of the body.
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	half := body[:len(body)/2]
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", getTokenPath, ct, len(body))
	conn.Write(half)
	time.Sleep(50 * time.Millisecond)
	conn.Close()
	waitFor(t, "the second hang-up logged", func() bool { return len(requestLogs(e, "CLIENT_CLOSED")) == 2 })

	for _, l := range requestLogs(e, "CLIENT_CLOSED") {
		if l["level"] != "INFO" || l["status"] != float64(499) || l["endpoint"] != "get_token" {
			t.Errorf("logged as %v", l)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, "INTERNAL_ERROR") || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("an error logged:\n%s", logs)
	}
	if n := requestCount(t, e, "get_token", "499", "CLIENT_CLOSED"); n != 2 {
		t.Errorf("glint_http_requests_total{code=CLIENT_CLOSED} = %v", n)
	}
	counts, err := e.db.Usage(context.Background(), e.key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Errorf("ledger rows for calls whose client hung up: %+v", counts)
	}
}
