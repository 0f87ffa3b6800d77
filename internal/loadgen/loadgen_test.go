package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/imaging/imagingtest"
)

const (
	testKey    = "k"
	testSecret = "sekrit-value"
)

// fakeGlint answers get_token and get_result as the FaceID contract says
// Glint does for the calls the generator sends, without a face engine or a
// store: the checks each malformed call is meant to trip, and tokens it
// issued. It is not Glint; cmd/glint's TestLoadtest runs the generator
// against the real server.
type fakeGlint struct {
	mu     sync.Mutex
	tokens map[string]bool
	n      atomic.Int64
}

func newFakeGlint(t *testing.T) *httptest.Server {
	f := &fakeGlint{tokens: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"request_id":"1,x","time_used":0,"error_message":%q}`, msg)
}

func (f *fakeGlint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/faceid/lite/raw/get_token":
		f.getToken(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/faceid/lite/raw/get_result":
		f.getResult(w, r)
	default:
		fail(w, http.StatusNotFound, "API_NOT_FOUND")
	}
}

func (f *fakeGlint) getToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		fail(w, http.StatusBadRequest, "BAD_ARGUMENTS:body")
		return
	}
	if r.FormValue("api_key") == "" {
		fail(w, http.StatusBadRequest, "MISSING_ARGUMENTS:api_key")
		return
	}
	if r.FormValue("api_key") != testKey || r.FormValue("api_secret") != testSecret {
		fail(w, http.StatusForbidden, "AUTHENTICATION_ERROR")
		return
	}
	if lt, err := strconv.Atoi(r.FormValue("life_time")); err != nil || lt < 5 || lt > 1440 {
		fail(w, http.StatusBadRequest, "BAD_ARGUMENTS:life_time")
		return
	}
	file, _, err := r.FormFile("image_ref1")
	if err != nil {
		fail(w, http.StatusBadRequest, "MISSING_ARGUMENTS:image_ref1")
		return
	}
	data, _ := io.ReadAll(file)
	file.Close()
	if ct := http.DetectContentType(data); ct != "image/jpeg" && ct != "image/png" {
		fail(w, http.StatusBadRequest, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1")
		return
	}
	tok := fmt.Sprintf("tok%029d", f.n.Add(1))
	f.mu.Lock()
	f.tokens[tok] = true
	f.mu.Unlock()
	fmt.Fprintf(w, `{"request_id":"1,x","time_used":1,"token":%q}`, tok)
}

func (f *fakeGlint) getResult(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("api_key") != testKey || q.Get("api_secret") != testSecret {
		fail(w, http.StatusForbidden, "AUTHENTICATION_ERROR")
		return
	}
	tok := q.Get("token")
	if tok == "" {
		fail(w, http.StatusBadRequest, "MISSING_ARGUMENTS:token")
		return
	}
	f.mu.Lock()
	known := f.tokens[tok]
	f.mu.Unlock()
	if !known {
		fail(w, http.StatusBadRequest, "INVALID_TOKEN")
		return
	}
	w.Write([]byte(`{"request_id":"1,x","time_used":0,"status":"WAITING"}`))
}

// writeImages writes two small photos and a file that is not one to a
// new directory.
func writeImages(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"a.jpg":     imagingtest.JPEG(t, imagingtest.Gradient(64, 48)),
		"b.PNG":     imagingtest.PNG(t, imagingtest.Quadrants(40, 40)),
		"empty.png": nil,
		"notes.txt": []byte("not a photo"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testConfig(t *testing.T, url, mix string) Config {
	t.Helper()
	images, err := ReadImages(writeImages(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMix(mix)
	if err != nil {
		t.Fatal(err)
	}
	return Config{URL: url, APIKey: testKey, APISecret: testSecret, Images: images,
		Requests: 40, Concurrency: 4, Mix: m, Timeout: 10 * time.Second}
}

func TestReadImages(t *testing.T) {
	t.Parallel()
	images, err := ReadImages(writeImages(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 2 || images[0].Name != "a.jpg" || images[1].Name != "b.PNG" || len(images[0].Data) == 0 {
		t.Errorf("images %v", images)
	}
	if _, err := ReadImages(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .jpg") {
		t.Errorf("empty directory: %v", err)
	}
	if _, err := ReadImages(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory: no error")
	}
}

// TestRun checks that every request is counted, the mix is followed, each
// malformed call is built so that it trips the check it is named for, and
// nothing is unexpected.
func TestRun(t *testing.T) {
	t.Parallel()
	srv := newFakeGlint(t)
	// token=2,result=1,bad=2 over 40 requests: 16, 8, 16, each of the
	// eight bad cases twice.
	cfg := testConfig(t, srv.URL+"/", " token=2,result=1,bad=2")
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 40 || rep.Overall.Requests != 40 || rep.Unexpected != 0 || rep.ServerErrors != 0 ||
		rep.TransportErrors != 0 || rep.Canceled != 0 || rep.Interrupted || rep.Images != 2 || rep.Err() != nil {
		t.Fatalf("report %+v", rep)
	}
	if rep.URL != srv.URL || rep.Mix != " token=2,result=1,bad=2" || rep.Concurrency != 4 || rep.RequestLimit != 40 {
		t.Errorf("settings: url %q, mix %q, concurrency %d, limit %d", rep.URL, rep.Mix, rep.Concurrency, rep.RequestLimit)
	}
	want := map[string]int{"get_token": 16, "get_result": 8, "bad": 16}
	if len(rep.Endpoints) != 3 {
		t.Fatalf("endpoints %+v", rep.Endpoints)
	}
	for _, e := range rep.Endpoints {
		l := e.LatencyMs
		if e.Requests != want[e.Endpoint] || e.Unexpected != 0 || e.ThroughputRPS <= 0 ||
			!(0 <= l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("endpoint %+v, want %d requests", e, want[e.Endpoint])
		}
	}
	if len(rep.BadCases) != len(badCases) {
		t.Fatalf("bad cases %+v", rep.BadCases)
	}
	for _, bc := range rep.BadCases {
		if bc.Sent != 2 || bc.AsExpected != 2 {
			t.Errorf("bad case %+v", bc)
		}
	}
	wantStatuses := map[string]int{"200": 24, "400": 12, "403": 2, "404": 2}
	if !maps.Equal(rep.Statuses, wantStatuses) {
		t.Errorf("statuses %v, want %v", rep.Statuses, wantStatuses)
	}
	wantCodes := map[string]int{"MISSING_ARGUMENTS": 6, "AUTHENTICATION_ERROR": 2, "BAD_ARGUMENTS": 2,
		"IMAGE_ERROR_UNSUPPORTED_FORMAT": 2, "INVALID_TOKEN": 2, "API_NOT_FOUND": 2}
	if !maps.Equal(rep.ErrorCodes, wantCodes) {
		t.Errorf("error codes %v, want %v", rep.ErrorCodes, wantCodes)
	}
	if rep.TokensIssued != 17 {
		t.Errorf("tokens issued %d, want 16 and the preflight one", rep.TokensIssued)
	}
}

// TestRunDuration: with no count bound, only the duration ends the run.
func TestRunDuration(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, newFakeGlint(t).URL, DefaultMix)
	cfg.Requests, cfg.Duration, cfg.Concurrency = 0, 300*time.Millisecond, 3
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Unexpected != 0 || rep.ElapsedS < 0.3 || rep.DurationLimitS != 0.3 || rep.Err() != nil {
		t.Fatalf("report %+v", rep)
	}
}

// TestRunInterrupt: a run ended by its context still reports, and Err
// carries the context's cause.
func TestRunInterrupt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := errors.New("operator pressed ^C")
	f := &fakeGlint{tokens: map[string]bool{}}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.ServeHTTP(w, r)
		if served.Add(1) == 20 {
			cancel(stop)
		}
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL, DefaultMix)
	cfg.Requests, cfg.Duration = 0, time.Minute
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Requests+rep.Canceled < 19 || rep.TransportErrors != 0 {
		t.Fatalf("report %+v", rep)
	}
	if err := rep.Err(); !errors.Is(err, stop) || !strings.Contains(err.Error(), "loadtest interrupted after ") {
		t.Errorf("Err() = %v, want the context's cause", err)
	}
}

// TestRunFailures points the generator at a broken server: get_result
// answers 500, or drops the connection when polling the unknown token, and
// bad requests are accepted. Each is counted as unexpected, the 5xx and
// transport errors make Err fail, and the secret in get_result's query
// stays out of the report.
func TestRunFailures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("token") == unknownToken:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
				conn.Close()
			}
		case r.URL.Path == "/faceid/lite/raw/get_result":
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"request_id":"1,x","time_used":0,"error_message":"INTERNAL_ERROR"}`))
		default:
			w.Write([]byte(`{"request_id":"1,x","time_used":0,"token":"tok"}`))
		}
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL, "token=1,result=1,bad=1")
	cfg.Requests, cfg.Concurrency = 30, 2
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "11 replies with a 5xx status, 1 transport errors") {
		t.Fatalf("Err() = %v", err)
	}
	// 10 get_result polls answered 500; 10 bad requests (cases 0–7, then
	// 0–1), none answered as documented: of the two get_result ones, one
	// is answered 500 too and the other dropped.
	if rep.Requests != 30 || rep.ServerErrors != 11 || rep.TransportErrors != 1 || rep.Unexpected != 20 ||
		rep.Statuses["500"] != 11 || rep.ErrorCodes["INTERNAL_ERROR"] != 11 || len(rep.UnexpectedExamples) < 2 {
		t.Fatalf("report %+v", rep)
	}
	out, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if ex := rep.UnexpectedExamples; !strings.HasPrefix(ex[0], "bad result-unknown-token: Get: ") ||
		!strings.Contains(ex[1], ": got 500 INTERNAL_ERROR") || strings.Contains(string(out), "sekrit") {
		t.Errorf("report leaks the secret or lacks the examples:\n%s", out)
	}
}

// TestRunPreflight: a wrong key fails before the run with a
// *PreflightError, an unreachable server with a transport error, and
// neither returns a report.
func TestRunPreflight(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, newFakeGlint(t).URL, DefaultMix)
	cfg.APISecret = "wrong"
	rep, err := Run(context.Background(), cfg)
	var pe *PreflightError
	if !errors.As(err, &pe) || rep != nil ||
		err.Error() != "preflight get_token a.jpg: got 403 AUTHENTICATION_ERROR, want 200 with a token" {
		t.Errorf("wrong secret: %v, %v", rep, err)
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	cfg = testConfig(t, srv.URL, DefaultMix)
	rep, err = Run(context.Background(), cfg)
	if err == nil || errors.As(err, &pe) || rep != nil || !strings.HasPrefix(err.Error(), "preflight get_token to "+srv.URL+": ") {
		t.Errorf("closed server: %v, %v", rep, err)
	}
}

// TestRunConfig: a config no run can be made of is refused before any
// request.
func TestRunConfig(t *testing.T) {
	t.Parallel()
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent.Add(1) }))
	defer srv.Close()
	for _, tt := range []struct {
		name string
		edit func(*Config)
	}{
		{"NoURL", func(c *Config) { c.URL = "" }},
		{"NoSecret", func(c *Config) { c.APISecret = "" }},
		{"NoImages", func(c *Config) { c.Images = nil }},
		{"Unbounded", func(c *Config) { c.Requests, c.Duration = 0, 0 }},
		{"NegativeDuration", func(c *Config) { c.Duration = -time.Second }},
		{"NoConcurrency", func(c *Config) { c.Concurrency = 0 }},
		{"TooConcurrent", func(c *Config) { c.Concurrency = MaxConcurrency + 1 }},
		{"NoTimeout", func(c *Config) { c.Timeout = 0 }},
		{"EmptyMix", func(c *Config) { c.Mix = Mix{} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, srv.URL, DefaultMix)
			tt.edit(&cfg)
			if rep, err := Run(context.Background(), cfg); err == nil || rep != nil {
				t.Errorf("Run: %v, %v; want an error", rep, err)
			}
		})
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestProgress: on a writer that is not a terminal, the progress line is
// plain text, without the bar's carriage returns.
func TestProgress(t *testing.T) {
	t.Parallel()
	r := newRunner(Config{Requests: 10, Duration: time.Minute, Mix: Mix{Token: 1}})
	r.done.Store(4)
	r.unexpected.Store(1)
	line := r.progressLine(time.Now(), false)
	if !strings.HasPrefix(line, "4/10 done  ") || !strings.Contains(line, "1 unexpected  0 5xx/transport") {
		t.Errorf("plain line %q", line)
	}
	bar := r.progressLine(time.Now(), true)
	if !strings.HasPrefix(bar, "[############..................]  40%  4/10 done") {
		t.Errorf("bar %q", bar)
	}
	var b strings.Builder
	stop := r.startProgress(&b, time.Now())
	stop()
	if strings.Contains(b.String(), "\r") {
		t.Errorf("bar drawn on a non-terminal: %q", b.String())
	}
}
