package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// maxUnexpectedExamples bounds the distinct unexpected outcomes listed.
const maxUnexpectedExamples = 8

// Report is the result of a run. Its JSON form (field tags below) is what
// `glint loadtest --json` prints; WriteText renders it for people. Figures
// are rounded to hundredths.
type Report struct {
	URL            string  `json:"url"`
	Mix            string  `json:"mix"` // as the caller wrote it (Mix.String)
	Concurrency    int     `json:"concurrency"`
	RequestLimit   int     `json:"request_limit"`
	DurationLimitS float64 `json:"duration_limit_s"`
	Images         int     `json:"images"`
	Interrupted    bool    `json:"interrupted"`

	ElapsedS float64 `json:"elapsed_s"`
	// Requests counts the requests that got a reply or failed in
	// transport; ones abandoned on interruption are Canceled.
	Requests      int     `json:"requests"`
	ThroughputRPS float64 `json:"throughput_rps"`
	// Endpoints has one row per kind of request (get_token, get_result,
	// bad); Overall is all of them together.
	Endpoints []EndpointReport `json:"endpoints"`
	Overall   EndpointReport   `json:"overall"`

	Statuses   map[string]int  `json:"statuses"`    // HTTP status → replies
	ErrorCodes map[string]int  `json:"error_codes"` // error_message before ':' → replies
	BadCases   []BadCaseReport `json:"bad_cases"`

	// Unexpected counts outcomes other than the expected one, 5xx and
	// transport errors included; ServerErrors and TransportErrors count
	// those two among them.
	Unexpected         int      `json:"unexpected"`
	ServerErrors       int      `json:"server_errors"`
	TransportErrors    int      `json:"transport_errors"`
	Canceled           int      `json:"canceled"`
	UnexpectedExamples []string `json:"unexpected_examples,omitempty"`
	TokensIssued       int      `json:"tokens_issued"`

	// cause is why the run was interrupted, for Err.
	cause error
}

// EndpointReport covers one kind of request. Latencies are over the
// requests that got a reply, from sending to the end of the reply body.
type EndpointReport struct {
	Endpoint      string    `json:"endpoint"`
	Requests      int       `json:"requests"`
	ThroughputRPS float64   `json:"throughput_rps"`
	Unexpected    int       `json:"unexpected"`
	LatencyMs     LatencyMs `json:"latency_ms"`
}

// LatencyMs summarises latencies in milliseconds; percentiles are by the
// nearest-rank method, so each is one of the samples.
type LatencyMs struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// BadCaseReport says how often one malformed call was answered as
// documented.
type BadCaseReport struct {
	Name       string `json:"name"`
	WantStatus int    `json:"want_status"`
	WantError  string `json:"want_error"`
	Sent       int    `json:"sent"`
	AsExpected int    `json:"as_expected"`
}

// newReport tallies the outcomes of a run that took elapsed; the caller
// fills in the run's settings.
func newReport(outcomes []outcome, elapsed time.Duration) *Report {
	rep := &Report{
		ElapsedS:   hundredths(elapsed.Seconds()),
		Statuses:   map[string]int{},
		ErrorCodes: map[string]int{},
	}
	var lat [numKinds][]time.Duration
	var all []time.Duration
	var count, unexpected [numKinds]int
	bad := make([]BadCaseReport, len(badCases))
	for i, bc := range badCases {
		bad[i] = BadCaseReport{Name: bc.name, WantStatus: bc.wantStatus, WantError: bc.wantError}
	}
	seen := map[string]bool{}
	var examples []outcome
	for _, o := range outcomes {
		if o.canceled {
			rep.Canceled++
			continue
		}
		rep.Requests++
		count[o.kind]++
		if o.bad >= 0 {
			bad[o.bad].Sent++
			if o.unexpected == "" {
				bad[o.bad].AsExpected++
			}
		}
		if o.unexpected != "" {
			rep.Unexpected++
			unexpected[o.kind]++
			if !seen[o.unexpected] {
				seen[o.unexpected] = true
				examples = append(examples, o)
			}
		}
		if o.transport != nil {
			rep.TransportErrors++
			continue
		}
		if o.status >= 500 {
			rep.ServerErrors++
		}
		rep.Statuses[strconv.Itoa(o.status)]++
		if o.code != "" {
			rep.ErrorCodes[o.code]++
		}
		lat[o.kind] = append(lat[o.kind], o.latency)
		all = append(all, o.latency)
	}
	// Transport errors first, then 5xx, then the rest: the list is short
	// and those are what an operator must see.
	severity := func(o outcome) int {
		switch {
		case o.transport != nil:
			return 0
		case o.status >= 500:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(examples, func(a, b outcome) int { return severity(a) - severity(b) })
	for _, o := range examples[:min(len(examples), maxUnexpectedExamples)] {
		rep.UnexpectedExamples = append(rep.UnexpectedExamples, o.unexpected)
	}
	rate := func(n int) float64 { return hundredths(float64(n) / max(elapsed.Seconds(), 1e-9)) }
	rep.ThroughputRPS = rate(rep.Requests)
	for k := range numKinds {
		if count[k] == 0 {
			continue
		}
		rep.Endpoints = append(rep.Endpoints, EndpointReport{
			Endpoint:      kindEndpoints[k],
			Requests:      count[k],
			ThroughputRPS: rate(count[k]),
			Unexpected:    unexpected[k],
			LatencyMs:     latencyStats(lat[k]),
		})
	}
	rep.Overall = EndpointReport{
		Endpoint:      "all",
		Requests:      rep.Requests,
		ThroughputRPS: rep.ThroughputRPS,
		Unexpected:    rep.Unexpected,
		LatencyMs:     latencyStats(all),
	}
	for _, b := range bad {
		if b.Sent > 0 {
			rep.BadCases = append(rep.BadCases, b)
		}
	}
	return rep
}

// latencyStats sorts d in place and summarises it in milliseconds.
func latencyStats(d []time.Duration) LatencyMs {
	if len(d) == 0 {
		return LatencyMs{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	ms := func(v time.Duration) float64 { return hundredths(float64(v) / float64(time.Millisecond)) }
	return LatencyMs{
		P50:  ms(percentile(d, 50)),
		P95:  ms(percentile(d, 95)),
		P99:  ms(percentile(d, 99)),
		Max:  ms(d[len(d)-1]),
		Mean: ms(sum / time.Duration(len(d))),
	}
}

// percentile returns the p-th percentile (0–100) of sorted by the
// nearest-rank method: the smallest sample that at least p percent of the
// samples do not exceed. It is exact and always one of the samples, so a
// p99 over 40 requests is simply the slowest one. 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// p*n before the division keeps whole ranks exact in floating point.
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}

// WriteText prints the report for people: a header line, a table of the
// endpoints, the statuses and error codes seen, the malformed calls
// answered as documented, and up to eight unexpected replies, transport
// errors and 5xx first.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "loadtest %s: %d requests in %.2fs, %.2f req/s (concurrency %d, mix %s, %d images)",
		rep.URL, rep.Requests, rep.ElapsedS, rep.ThroughputRPS, rep.Concurrency, rep.Mix, rep.Images)
	if rep.Interrupted {
		fmt.Fprintf(&b, ", interrupted (%d abandoned)", rep.Canceled)
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-10s\trequests\treq/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tunexpected\t\n", "endpoint")
	for _, e := range append(slices.Clone(rep.Endpoints), rep.Overall) {
		l := e.LatencyMs
		fmt.Fprintf(tw, "%-10s\t%d\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t\n", e.Endpoint, e.Requests, e.ThroughputRPS, l.P50, l.P95, l.P99, l.Max, e.Unexpected)
	}
	tw.Flush()
	b.WriteString("\n")
	fmt.Fprintf(&b, "HTTP status:  %s\n", countList(rep.Statuses))
	if len(rep.ErrorCodes) > 0 {
		fmt.Fprintf(&b, "error codes:  %s\n", countList(rep.ErrorCodes))
	}
	if len(rep.BadCases) > 0 {
		parts := make([]string, len(rep.BadCases))
		for i, bc := range rep.BadCases {
			parts[i] = fmt.Sprintf("%s %d/%d", bc.Name, bc.AsExpected, bc.Sent)
		}
		fmt.Fprintf(&b, "bad requests answered as documented: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "tokens issued: %d (with the preflight one)\n", rep.TokensIssued)
	fmt.Fprintf(&b, "unexpected: %d (5xx %d, transport errors %d)\n", rep.Unexpected, rep.ServerErrors, rep.TransportErrors)
	for _, ex := range rep.UnexpectedExamples {
		fmt.Fprintf(&b, "  %s\n", ex)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// countList formats counts as "k n, k n" in key order.
func countList(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Err says whether the run, once reported, should count as failed: it is
// not nil when the server failed (a 5xx), requests failed in transport, or
// the run was interrupted (wrapping the context's cause). Unexpected 4xx
// replies are in the report but are not an error: the server answered.
func (rep *Report) Err() error {
	var errs []error
	if rep.ServerErrors > 0 || rep.TransportErrors > 0 {
		errs = append(errs, fmt.Errorf("%d replies with a 5xx status, %d transport errors", rep.ServerErrors, rep.TransportErrors))
	}
	if rep.Interrupted {
		cause := rep.cause
		if cause == nil {
			cause = context.Canceled
		}
		errs = append(errs, fmt.Errorf("loadtest interrupted after %d requests: %w", rep.Requests, cause))
	}
	return errors.Join(errs...)
}

// hundredths rounds v to two decimal places: the report's figures are
// measured far less finely, and the JSON stays short.
func hundredths(v float64) float64 { return math.Round(v*100) / 100 }
