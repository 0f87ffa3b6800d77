package loadgen

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
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
			if got := percentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tt.samples), tt.p, got, tt.want)
			}
		})
	}
}

// sampleOutcomes is a run of nine requests in which every way of counting
// a request happens once or twice.
func sampleOutcomes() []outcome {
	ms := time.Millisecond
	return []outcome{
		{kind: kindToken, bad: -1, status: 200, latency: 30 * ms, token: "t1"},
		{kind: kindToken, bad: -1, status: 200, latency: 10 * ms, token: "t2"},
		{kind: kindResult, bad: -1, status: 200, latency: 2 * ms},
		{kind: kindResult, bad: -1, status: 500, code: "INTERNAL_ERROR", latency: 4 * ms,
			unexpected: "get_result: got 500 INTERNAL_ERROR, want 200 with a status"},
		{kind: kindBad, bad: 0, status: 400, code: "MISSING_ARGUMENTS", latency: 1 * ms},
		{kind: kindBad, bad: 1, status: 200, latency: 1 * ms,
			unexpected: "bad wrong-secret: got 200, want 403 AUTHENTICATION_ERROR"},
		{kind: kindBad, bad: 1, status: 200, latency: 1 * ms,
			unexpected: "bad wrong-secret: got 200, want 403 AUTHENTICATION_ERROR"},
		{kind: kindToken, bad: -1, transport: errors.New("Post: connection reset"),
			unexpected: "get_token a.jpg: Post: connection reset"},
		{kind: kindResult, bad: -1, canceled: true},
	}
}

// TestNewReport checks how outcomes are counted: canceled ones not at
// all, transport errors without a status or latency, unexpected ones once
// per distinct description with the worst first.
func TestNewReport(t *testing.T) {
	t.Parallel()
	rep := newReport(sampleOutcomes(), 2*time.Second)
	if rep.Requests != 8 || rep.Canceled != 1 || rep.Unexpected != 4 || rep.ServerErrors != 1 ||
		rep.TransportErrors != 1 || rep.ElapsedS != 2 || rep.ThroughputRPS != 4 {
		t.Errorf("totals %+v", rep)
	}
	if want := map[string]int{"200": 5, "400": 1, "500": 1}; !maps.Equal(rep.Statuses, want) {
		t.Errorf("statuses %v, want %v", rep.Statuses, want)
	}
	if want := map[string]int{"MISSING_ARGUMENTS": 1, "INTERNAL_ERROR": 1}; !maps.Equal(rep.ErrorCodes, want) {
		t.Errorf("error codes %v, want %v", rep.ErrorCodes, want)
	}
	wantExamples := []string{
		"get_token a.jpg: Post: connection reset",
		"get_result: got 500 INTERNAL_ERROR, want 200 with a status",
		"bad wrong-secret: got 200, want 403 AUTHENTICATION_ERROR",
	}
	if fmt.Sprint(rep.UnexpectedExamples) != fmt.Sprint(wantExamples) {
		t.Errorf("examples %q, want %q", rep.UnexpectedExamples, wantExamples)
	}
	wantEndpoints := []EndpointReport{
		{"get_token", 3, 1.5, 1, LatencyMs{P50: 10, P95: 30, P99: 30, Max: 30, Mean: 20}},
		{"get_result", 2, 1, 1, LatencyMs{P50: 2, P95: 4, P99: 4, Max: 4, Mean: 3}},
		{"bad", 3, 1.5, 2, LatencyMs{P50: 1, P95: 1, P99: 1, Max: 1, Mean: 1}},
	}
	if fmt.Sprint(rep.Endpoints) != fmt.Sprint(wantEndpoints) {
		t.Errorf("endpoints\n%+v, want\n%+v", rep.Endpoints, wantEndpoints)
	}
	if o := rep.Overall; o.Endpoint != "all" || o.Requests != 8 || o.Unexpected != 4 || o.LatencyMs.Max != 30 || o.LatencyMs.P50 != 2 {
		t.Errorf("overall %+v", o)
	}
	wantBad := []BadCaseReport{
		{badCases[0].name, badCases[0].wantStatus, badCases[0].wantError, 1, 1},
		{badCases[1].name, badCases[1].wantStatus, badCases[1].wantError, 2, 0},
	}
	if fmt.Sprint(rep.BadCases) != fmt.Sprint(wantBad) {
		t.Errorf("bad cases %+v, want %+v", rep.BadCases, wantBad)
	}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	rep := newReport(sampleOutcomes(), 2*time.Second)
	rep.URL, rep.Mix, rep.Concurrency, rep.Images, rep.TokensIssued = "http://127.0.0.1:8080", DefaultMix, 4, 6, 3
	rep.Interrupted = true
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `loadtest http://127.0.0.1:8080: 8 requests in 2.00s, 4.00 req/s (concurrency 4, mix token=60,result=30,bad=10, 6 images), interrupted (1 abandoned)

  endpoint    requests  req/s  p50 ms  p95 ms  p99 ms  max ms  unexpected
  get_token          3   1.50    10.0    30.0    30.0    30.0           1
  get_result         2   1.00     2.0     4.0     4.0     4.0           1
  bad                3   1.50     1.0     1.0     1.0     1.0           2
  all                8   4.00     2.0    30.0    30.0    30.0           4

HTTP status:  200 5, 400 1, 500 1
error codes:  INTERNAL_ERROR 1, MISSING_ARGUMENTS 1
bad requests answered as documented: missing-api-key 1/1, wrong-secret 0/2
tokens issued: 3 (with the preflight one)
unexpected: 4 (5xx 1, transport errors 1)
  get_token a.jpg: Post: connection reset
  get_result: got 500 INTERNAL_ERROR, want 200 with a status
  bad wrong-secret: got 200, want 403 AUTHENTICATION_ERROR
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestReportErr(t *testing.T) {
	t.Parallel()
	if err := (&Report{Requests: 5, Unexpected: 3}).Err(); err != nil {
		t.Errorf("unexpected 4xx only: %v, want nil", err)
	}
	err := (&Report{ServerErrors: 2, TransportErrors: 1}).Err()
	if err == nil || err.Error() != "2 replies with a 5xx status, 1 transport errors" {
		t.Errorf("5xx and transport: %v", err)
	}
	err = (&Report{Requests: 7, Interrupted: true, cause: context.DeadlineExceeded}).Err()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "loadtest interrupted after 7 requests") {
		t.Errorf("interrupted: %v", err)
	}
}
