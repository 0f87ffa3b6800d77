package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	seq := func(n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Duration(i+1) * time.Millisecond
		}
		return d
	}
	ms := time.Millisecond
	for _, tt := range []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"Empty", nil, 50, 0},
		{"OneP50", []time.Duration{7 * ms}, 50, 7 * ms},
		{"OneP99", []time.Duration{7 * ms}, 99, 7 * ms},
		{"TwoP50", seq(2), 50, 1 * ms},
		{"TenP0", seq(10), 0, 1 * ms},
		{"TenP50", seq(10), 50, 5 * ms},
		{"TenP90", seq(10), 90, 9 * ms},
		{"TenP95", seq(10), 95, 10 * ms},
		{"TwentyP95", seq(20), 95, 19 * ms}, // rank exactly 19: no float rounding up to 20
		{"FortyP99", seq(40), 99, 40 * ms},
		{"HundredP50", seq(100), 50, 50 * ms},
		{"HundredP95", seq(100), 95, 95 * ms},
		{"HundredP99", seq(100), 99, 99 * ms},
		{"HundredP100", seq(100), 100, 100 * ms},
		{"ThousandP99", seq(1000), 99, 990 * ms},
		{"ThousandP99.9", seq(1000), 99.9, 999 * ms},
		{"Ties", []time.Duration{ms, ms, ms, 5 * ms}, 75, ms},
		{"TiesTail", []time.Duration{ms, ms, ms, 5 * ms}, 76, 5 * ms},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := latencyPercentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tt.samples), tt.p, got, tt.want)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    [numKinds]int
		wantErr string
	}{
		{"token=60,result=30,bad=10", [numKinds]int{60, 30, 10}, ""},
		{" bad = 1 , token=2", [numKinds]int{2, 0, 1}, ""},
		{"result=5", [numKinds]int{0, 5, 0}, ""},
		{"token=1000,", [numKinds]int{1000, 0, 0}, ""},
		{"", [numKinds]int{}, "all weights are 0"},
		{"token=0,result=0", [numKinds]int{}, "all weights are 0"},
		{"verify=1", [numKinds]int{}, "unknown kind"},
		{"token", [numKinds]int{}, "NAME=WEIGHT"},
		{"token=-1", [numKinds]int{}, "not an integer"},
		{"token=1001", [numKinds]int{}, "not an integer"},
		{"token=x", [numKinds]int{}, "not an integer"},
		{"token=1,token=2", [numKinds]int{}, "twice"},
	} {
		got, err := parseMix(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseMix(%q): %v, want error %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseMix(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestMixCycle(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mix     [numKinds]int
		wantLen int
		maxRun  int // longest run of one kind allowed
	}{
		{[numKinds]int{60, 30, 10}, 10, 2},
		{[numKinds]int{1, 1, 1}, 3, 1},
		{[numKinds]int{0, 7, 0}, 1, 1},
		{[numKinds]int{2, 1, 2}, 5, 1},
		{[numKinds]int{999, 1, 0}, 1000, 999},
	} {
		cycle := mixCycle(tt.mix)
		if len(cycle) != tt.wantLen {
			t.Errorf("mixCycle(%v): length %d, want %d", tt.mix, len(cycle), tt.wantLen)
			continue
		}
		var count [numKinds]int
		run, longest := 0, 0
		for i, k := range cycle {
			count[k]++
			if i > 0 && cycle[i-1] == k {
				run++
			} else {
				run = 1
			}
			longest = max(longest, run)
		}
		g := 0
		for _, w := range tt.mix {
			g = mixGCD(g, w)
		}
		for k := range count {
			if count[k] != tt.mix[k]/g {
				t.Errorf("mixCycle(%v): %d of %s, want %d", tt.mix, count[k], kindNames[k], tt.mix[k]/g)
			}
		}
		if longest > tt.maxRun {
			t.Errorf("mixCycle(%v) = %v: a run of %d", tt.mix, cycle, longest)
		}
	}
}

func TestLoadtestTarget(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url         string
		allowRemote bool
		want        string // base URL, or the error's text
		ok          bool
	}{
		{"http://127.0.0.1:8080", false, "http://127.0.0.1:8080", true},
		{"http://localhost:8080/", false, "http://localhost:8080", true},
		{"https://[::1]:8443/glint/", false, "https://[::1]:8443/glint", true},
		{"http://127.3.2.1", false, "http://127.3.2.1", true},
		{"http://192.0.2.1:8080", false, "--allow-remote", false},
		{"http://0.0.0.0:8080", false, "--allow-remote", false},
		{"http://[::]:8080", false, "--allow-remote", false},
		{"http://glint.example", false, "--allow-remote", false},
		{"http://localhost.example.com", false, "--allow-remote", false},
		{"http://192.0.2.1:8080", true, "http://192.0.2.1:8080", true},
		{"ftp://127.0.0.1/", false, "want http(s)", false},
		{"127.0.0.1:8080", false, "--url", false},
		{"http://user:pw@127.0.0.1/", false, "want http(s)", false},
		{"http://127.0.0.1/?x=1", false, "want http(s)", false},
	} {
		got, err := loadtestTarget(tt.url, tt.allowRemote)
		switch {
		case tt.ok && (err != nil || got != tt.want):
			t.Errorf("loadtestTarget(%q, %v) = %q, %v; want %q", tt.url, tt.allowRemote, got, err, tt.want)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadtestTarget(%q, %v) = %q, %v; want an error with %q", tt.url, tt.allowRemote, got, err, tt.want)
		}
	}
}

// TestLoadtestRefusals checks the command line is refused before any
// request is sent.
func TestLoadtestRefusals(t *testing.T) {
	t.Parallel()
	creds := map[string]string{"GLINT_API_KEY": "k", "GLINT_API_SECRET": "s"}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"NonLoopback", creds, []string{"--url", "http://192.0.2.1:8080"}, "refusing to load non-loopback target 192.0.2.1:8080"},
		{"NonLoopbackName", creds, []string{"--url", "https://glint.example"}, "--allow-remote"},
		{"Unbounded", creds, []string{"--requests", "0", "--duration", "0"}, "usage error"},
		{"NoConcurrency", creds, []string{"--concurrency", "0"}, "usage error"},
		{"BadMix", creds, []string{"--mix", "token=1,verify=2"}, "usage error"},
		{"NoKey", nil, []string{"--url", "http://127.0.0.1:1"}, "usage error"},
		{"NoSecret", map[string]string{"GLINT_API_KEY": "k"}, nil, "usage error"},
		{"NoImages", creds, []string{"--url", "http://127.0.0.1:1", "--images", t.TempDir()}, "no .jpg"},
		{"Stray", creds, []string{"now"}, "usage error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.env, append([]string{"loadtest"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// loadtestStubEngine makes serve use stubEngine for the rest of the test; the
// package variable is shared, so such tests do not run in parallel.
func loadtestStubEngine(t *testing.T) {
	old := newEngine
	newEngine = func(string, string) (api.FaceEngine, error) { return stubEngine{}, nil }
	t.Cleanup(func() { newEngine = old })
}

// writeLoadImages writes two small photos and a file that is not one to a
// new directory.
func writeLoadImages(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"a.jpg":     imagingtest.JPEG(t, imagingtest.Gradient(64, 48)),
		"b.PNG":     imagingtest.PNG(t, imagingtest.Quadrants(40, 40)),
		"notes.txt": []byte("not a photo"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func parseLoadReport(t *testing.T, out string) loadReport {
	t.Helper()
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	return rep
}

// TestLoadtest runs the command against the real serve command, with the
// stub engine so that get_token is quick: every request is counted, the
// mix is followed, every bad request gets its documented code and nothing
// is unexpected.
func TestLoadtest(t *testing.T) {
	loadtestStubEngine(t)
	base, key, secret := startServe(t, "unused")
	env := map[string]string{"GLINT_API_KEY": key, "GLINT_API_SECRET": secret}
	images := writeLoadImages(t)

	// token=2,result=1,bad=2 over 40 requests: 16, 8, 16, each of the
	// eight bad cases twice.
	out, errOut, err := run(t, env, "loadtest", "--url", base, "--images", images,
		"--requests", "40", "--concurrency", "4", "--mix", "token=2,result=1,bad=2", "--json")
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errOut)
	}
	rep := parseLoadReport(t, out)
	if rep.Requests != 40 || rep.Overall.Requests != 40 || rep.Unexpected != 0 || rep.ServerErrors != 0 ||
		rep.TransportErrors != 0 || rep.Canceled != 0 || rep.Interrupted || rep.Images != 2 {
		t.Fatalf("report %+v", rep)
	}
	want := map[string]int{"get_token": 16, "get_result": 8, "bad": 16}
	if len(rep.Endpoints) != 3 {
		t.Fatalf("endpoints %+v", rep.Endpoints)
	}
	for _, e := range rep.Endpoints {
		l := e.LatencyMs
		if e.Requests != want[e.Endpoint] || e.Unexpected != 0 || e.ThroughputRPS <= 0 ||
			!(0 < l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("endpoint %+v, want %d requests", e, want[e.Endpoint])
		}
	}
	if len(rep.BadCases) != len(loadBadCases) {
		t.Fatalf("bad cases %+v", rep.BadCases)
	}
	for _, bc := range rep.BadCases {
		if bc.Sent != 2 || bc.AsExpected != 2 || bc.WantStatus < 400 || bc.WantStatus >= 500 {
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

	t.Run("Text", func(t *testing.T) {
		out, errOut, err := run(t, env, "loadtest", "--url", base, "--images", images, "--requests", "20", "--concurrency", "2")
		if err != nil {
			t.Fatalf("loadtest: %v\n%s", err, errOut)
		}
		for _, want := range []string{"loadtest " + base + ": 20 requests in ", "mix token=60,result=30,bad=10",
			"p50 ms", "p99 ms", "get_token", "get_result", "all", "HTTP status:  200 ",
			"unexpected: 0 (5xx 0, transport errors 0)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(errOut, "\r") {
			t.Errorf("progress bar drawn on a non-terminal:\n%q", errOut)
		}
	})

	t.Run("Duration", func(t *testing.T) {
		out, errOut, err := run(t, env, "loadtest", "--url", base, "--images", images, "--requests", "0",
			"--duration", "300ms", "--concurrency", "3", "--json")
		if err != nil {
			t.Fatalf("loadtest: %v\n%s", err, errOut)
		}
		// With no count limit, only the duration can have ended the run.
		if rep := parseLoadReport(t, out); rep.Requests == 0 || rep.Unexpected != 0 || rep.ElapsedS < 0.3 {
			t.Fatalf("run: %+v", rep)
		}
	})

	t.Run("Interrupt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		var stdout, stderr syncWriter
		m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
		err := (&loadtestCommand{Main: m}).Run(ctx, []string{"--url", base, "--images", images,
			"--requests", "0", "--duration", "1m", "--json"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the context's", err)
		}
		if rep := parseLoadReport(t, stdout.String()); !rep.Interrupted || rep.Requests == 0 || rep.TransportErrors != 0 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// TestLoadtestFailures points the command at a broken server: get_result
// answers 500, or drops the connection when polling the unknown token, and
// bad requests are accepted. Each is counted as unexpected, the 5xx and
// transport errors make the command fail after printing its report, and
// the secret in get_result's query stays out of the report.
func TestLoadtestFailures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("token") == loadUnknownToken:
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
	env := map[string]string{"GLINT_API_KEY": "k", "GLINT_API_SECRET": "sekrit-value"}
	out, _, err := run(t, env, "loadtest", "--url", srv.URL, "--images", writeLoadImages(t),
		"--requests", "30", "--concurrency", "2", "--mix", "token=1,result=1,bad=1", "--json")
	if err == nil || !strings.Contains(err.Error(), "11 replies with a 5xx status, 1 transport errors") {
		t.Fatalf("err %v", err)
	}
	rep := parseLoadReport(t, out)
	// 10 get_result polls answered 500; 10 bad requests (cases 0–7, then
	// 0–1), none answered as documented: of the two get_result ones, one
	// is answered 500 too and the other dropped.
	if rep.Requests != 30 || rep.ServerErrors != 11 || rep.TransportErrors != 1 || rep.Unexpected != 20 ||
		rep.Statuses["500"] != 11 || rep.ErrorCodes["INTERNAL_ERROR"] != 11 || len(rep.UnexpectedExamples) == 0 {
		t.Fatalf("report %+v", rep)
	}
	if ex := rep.UnexpectedExamples; !strings.HasPrefix(ex[0], "bad result-unknown-token: Get: ") ||
		!strings.Contains(ex[1], ": got 500 INTERNAL_ERROR") || strings.Contains(out, "sekrit") {
		t.Errorf("report leaks the secret or lacks the examples:\n%s", out)
	}
}

// TestLoadtestRealEngine loads the real engine with the pinned package's
// sample photos, found the way the command finds them by default.
func TestLoadtestRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	models, err := filepath.Abs(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(models, "face-api", "sample1.jpg")); err != nil {
		t.Skipf("models missing (run `make models`): %v", err)
	}
	base, key, secret := startServe(t, models)
	env := map[string]string{"GLINT_API_KEY": key, "GLINT_API_SECRET": secret, "GLINT_MODELS": models}
	out, errOut, err := run(t, env, "loadtest", "--url", base, "--requests", "10", "--concurrency", "2", "--json")
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errOut)
	}
	rep := parseLoadReport(t, out)
	if rep.Requests != 10 || rep.Unexpected != 0 || rep.Images != 6 || rep.Endpoints[0].Requests != 6 {
		t.Fatalf("report %+v\n%s", rep, out)
	}
	t.Logf("real engine: %s", out)
}
