package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"golang.org/x/term"
)

// loadtestCommand drives a running Glint over HTTP with a mix of get_token
// calls carrying real face photos, get_result polls of the tokens issued
// during the run, and malformed calls that must be refused with their
// documented codes; it reports throughput, latency percentiles per
// endpoint and every status and error code seen.
type loadtestCommand struct {
	*Main
}

// loadKind is one class of request in the mix.
type loadKind int

const (
	kindToken loadKind = iota
	kindResult
	kindBad
	numKinds
)

// kindNames are the names --mix uses; kindEndpoints the report's rows.
var (
	kindNames     = [numKinds]string{"token", "result", "bad"}
	kindEndpoints = [numKinds]string{"get_token", "get_result", "bad"}
)

// Defaults of the loadtest flags.
const (
	defaultLoadURL      = "http://127.0.0.1:8080"
	defaultLoadMix      = "token=60,result=30,bad=10"
	defaultLoadRequests = 200
	defaultLoadDuration = 5 * time.Minute
	defaultLoadTimeout  = time.Minute
	// maxMixWeight keeps the dispatch cycle (sum of the reduced weights)
	// small enough to precompute.
	maxMixWeight = 1000
	// maxLoadConcurrency is far beyond what one Glint key allows (its
	// --concurrency, 10 by default) and stops a typo from opening
	// thousands of connections.
	maxLoadConcurrency = 1024
	// maxReplyBytes bounds what is read of a reply: get_result without
	// return_image is a few hundred bytes, errors less.
	maxReplyBytes = 1 << 20
	// maxTokenPool bounds the tokens kept for get_result polling; older
	// ones are overwritten, so a long run polls recent tokens.
	maxTokenPool = 4096
	// maxUnexpectedExamples bounds the distinct unexpected outcomes listed.
	maxUnexpectedExamples = 8
)

// Run implements command.
func (c *loadtestCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint loadtest", "glint loadtest [--url URL] [--requests N] [--duration D] [--concurrency C] [--mix MIX] [flags]")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: glint loadtest [--url URL] [--requests N] [--duration D] [--concurrency C] [--mix MIX] [flags]

Sends a mix of requests to a running Glint and reports throughput, latency
p50/p95/p99/max per endpoint, the HTTP statuses and error codes seen, and
the outcomes that were not the expected ones:

  token   POST get_token with a photo from --images (round robin); expects 200
          and a token. fail_when_ref_multiple_faces=0, since the sample
          photos show several people.
  result  GET get_result of a token issued earlier in the run; expects 200.
  bad     a rotation of malformed calls (missing api_key, wrong secret, bad
          life_time, missing image, non-image bytes, get_result without a
          token or with an unknown one, GET on get_token); each expects the
          status and error_message the FaceID contract documents.

The mix is followed exactly, in a fixed interleaving. One get_token before
the run checks the URL and the key and gives get_result a token; it is not
counted. The run stops after --requests or --duration, whichever comes
first (0 lifts that bound, not both); requests in flight then finish.
The key's own concurrency cap (glint keys create --concurrency, default
10) answers 403 CONCURRENCY_LIMIT_EXCEEDED beyond it.

Only a loopback target is accepted unless --allow-remote is given. Exit
status 1 when any reply was a 5xx or any request failed in transport
(refused, reset, timed out), or on SIGINT; unexpected 4xx replies are
reported but do not change it.

Flags:
`)
		fs.PrintDefaults()
	}
	target := fs.String("url", defaultLoadURL, "base `URL` of the Glint to load")
	apiKey := fs.String("api-key", "", "API `key` to call with (default env GLINT_API_KEY)")
	apiSecret := fs.String("api-secret", "", "API `secret` of the key (default env GLINT_API_SECRET)")
	imagesDir := fs.String("images", "", "`directory` of .jpg/.jpeg/.png/.bmp face photos for get_token (default: the face-api sample photos, $GLINT_MODELS/face-api or ./models/face-api)")
	requests := fs.Int("requests", defaultLoadRequests, "stop after `N` requests (0: no count bound)")
	duration := fs.Duration("duration", defaultLoadDuration, "stop sending after `D` (0: no time bound)")
	concurrency := fs.Int("concurrency", 4, "requests in flight at once")
	mixFlag := fs.String("mix", defaultLoadMix, "relative `weights` of token, result and bad requests")
	timeout := fs.Duration("timeout", defaultLoadTimeout, "give up on a request after `D`, counting it as a transport error")
	allowRemote := fs.Bool("allow-remote", false, "allow a target that is not a loopback address")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	// The secret is not a flag default: -h would print it.
	if *apiKey == "" {
		*apiKey = c.env("GLINT_API_KEY", "")
	}
	if *apiSecret == "" {
		*apiSecret = c.env("GLINT_API_SECRET", "")
	}
	switch {
	case *requests < 0 || *duration < 0:
		return usageError(fs, "--requests and --duration cannot be negative")
	case *requests == 0 && *duration == 0:
		return usageError(fs, "--requests and --duration cannot both be 0: the run must be bounded")
	case *concurrency < 1 || *concurrency > maxLoadConcurrency:
		return usageError(fs, "--concurrency must be between 1 and %d", maxLoadConcurrency)
	case *timeout <= 0:
		return usageError(fs, "--timeout must be positive")
	}
	mix, err := parseMix(*mixFlag)
	if err != nil {
		return usageError(fs, "--mix: %v", err)
	}
	base, err := loadtestTarget(*target, *allowRemote)
	if err != nil {
		return err
	}
	if *apiKey == "" || *apiSecret == "" {
		return usageError(fs, "--api-key and --api-secret (or GLINT_API_KEY and GLINT_API_SECRET) are required")
	}
	dir := *imagesDir
	if dir == "" {
		dir = filepath.Join(c.env("GLINT_MODELS", "./models"), "face-api")
	}
	images, err := loadImages(dir)
	if err != nil {
		if *imagesDir == "" {
			return fmt.Errorf("%w (run `make models`, or give --images DIR)", err)
		}
		return err
	}

	r := newLoadRunner(loadConfig{
		base:        base,
		apiKey:      *apiKey,
		apiSecret:   *apiSecret,
		images:      images,
		requests:    *requests,
		duration:    *duration,
		concurrency: *concurrency,
		mix:         mix,
		timeout:     *timeout,
	})
	defer r.close()
	if err := r.preflight(ctx); err != nil {
		return err
	}
	rep := r.run(ctx, c.Stderr)
	rep.URL = base
	rep.Mix = *mixFlag
	if *asJSON {
		if err := json.NewEncoder(c.Stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else if err := rep.writeText(c.Stdout); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return rep.exitError(ctx)
}

// loadtestTarget checks the base URL and returns it without a trailing
// slash. A host is loopback only as a loopback IP literal or "localhost":
// other names are not resolved, since what they resolve to can change.
func loadtestTarget(raw string, allowRemote bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("--url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--url: want http(s)://HOST[:PORT][/PATH], got %q", raw)
	}
	if !allowRemote && !isLoopback(net.JoinHostPort(u.Hostname(), "0")) {
		return "", fmt.Errorf("refusing to load non-loopback target %s: a load test can disturb a live service and sends the key's secret with every request; give --allow-remote if you mean it", u.Host)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// parseMix parses "token=60,result=30,bad=10". Kinds left out weigh 0.
func parseMix(s string) ([numKinds]int, error) {
	var mix [numKinds]int
	var seen [numKinds]bool
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return mix, fmt.Errorf("%q: want NAME=WEIGHT", part)
		}
		k := slices.Index(kindNames[:], strings.TrimSpace(name))
		if k < 0 {
			return mix, fmt.Errorf("unknown kind %q (want %s)", name, strings.Join(kindNames[:], ", "))
		}
		if seen[k] {
			return mix, fmt.Errorf("%s given twice", name)
		}
		seen[k] = true
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || w < 0 || w > maxMixWeight {
			return mix, fmt.Errorf("%s: weight %q is not an integer from 0 to %d", name, val, maxMixWeight)
		}
		mix[k] = w
	}
	if mix == [numKinds]int{} {
		return mix, errors.New("all weights are 0")
	}
	return mix, nil
}

// mixCycle returns one period of the dispatch order: each kind appears in
// proportion to its weight (reduced by the common divisor), spread out by
// smooth weighted round robin rather than in runs, so that any prefix of
// the run is close to the mix and a run of whole periods follows it
// exactly.
func mixCycle(mix [numKinds]int) []loadKind {
	g := 0
	for _, w := range mix {
		g = mixGCD(g, w)
	}
	var w [numKinds]int
	total := 0
	for k := range mix {
		w[k] = mix[k] / g
		total += w[k]
	}
	var cur [numKinds]int
	cycle := make([]loadKind, 0, total)
	for range total {
		best := -1
		for k := range w {
			if w[k] == 0 {
				continue
			}
			cur[k] += w[k]
			if best < 0 || cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= total
		cycle = append(cycle, loadKind(best))
	}
	return cycle
}

func mixGCD(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// loadImage is one photo, read once and sent many times.
type loadImage struct {
	name string
	data []byte
}

// loadImages reads the photos of dir, in name order.
func loadImages(dir string) ([]loadImage, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var images []loadImage
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".bmp":
		default:
			continue
		}
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
		if len(data) > 0 {
			images = append(images, loadImage{e.Name(), data})
		}
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("images: no .jpg, .jpeg, .png or .bmp files in %s", dir)
	}
	return images, nil
}

// loadBadCase is one malformed call and the reply the FaceID contract
// documents for it (spec §0.1, §2.1, §2.2).
type loadBadCase struct {
	name       string
	wantStatus int
	wantError  string
	build      func(r *loadRunner, n int64) loadRequest
}

// loadNotAnImage is sent as image_ref1 by the non-image case.
var loadNotAnImage = []byte("this is not an image, just text pretending to be one\n")

// loadUnknownToken is well-formed (32 URL-safe characters), so the server
// looks it up rather than refusing its shape.
const loadUnknownToken = "glintLoadtestUnknownToken0000000"

var loadBadCases = []loadBadCase{
	{"missing-api-key", http.StatusBadRequest, "MISSING_ARGUMENTS:api_key", func(r *loadRunner, n int64) loadRequest {
		q := r.tokenRequest(n, r.image(n).data)
		q.fields = slices.DeleteFunc(q.fields, func(f [2]string) bool { return f[0] == "api_key" })
		return q
	}},
	{"wrong-secret", http.StatusForbidden, "AUTHENTICATION_ERROR", func(r *loadRunner, n int64) loadRequest {
		q := r.tokenRequest(n, r.image(n).data)
		q.set("api_secret", "not-the-secret")
		return q
	}},
	{"bad-life-time", http.StatusBadRequest, "BAD_ARGUMENTS:life_time", func(r *loadRunner, n int64) loadRequest {
		q := r.tokenRequest(n, r.image(n).data)
		q.set("life_time", "2") // below the documented 5–1440 minutes
		return q
	}},
	{"missing-image", http.StatusBadRequest, "MISSING_ARGUMENTS:image_ref1", func(r *loadRunner, n int64) loadRequest {
		return r.tokenRequest(n, nil)
	}},
	{"not-an-image", http.StatusBadRequest, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1", func(r *loadRunner, n int64) loadRequest {
		return r.tokenRequest(n, loadNotAnImage)
	}},
	{"result-no-token", http.StatusBadRequest, "MISSING_ARGUMENTS:token", func(r *loadRunner, n int64) loadRequest {
		return r.resultRequest("")
	}},
	{"result-unknown-token", http.StatusBadRequest, "INVALID_TOKEN", func(r *loadRunner, n int64) loadRequest {
		return r.resultRequest(loadUnknownToken)
	}},
	{"get-on-get-token", http.StatusNotFound, "API_NOT_FOUND", func(r *loadRunner, n int64) loadRequest {
		// A known path with the wrong method is an unknown API to FaceID,
		// not a 405.
		return loadRequest{method: http.MethodGet, path: "/faceid/lite/raw/get_token"}
	}},
}

// loadRequest describes one HTTP request; the body is built per request
// from it and the cached image bytes.
type loadRequest struct {
	method, path string
	query        url.Values  // GET
	fields       [][2]string // POST multipart fields, in order
	image        []byte      // POST image_ref1, if non-nil
	imageName    string
}

func (q *loadRequest) set(name, value string) {
	for i := range q.fields {
		if q.fields[i][0] == name {
			q.fields[i][1] = value
			return
		}
	}
	q.fields = append(q.fields, [2]string{name, value})
}

// loadConfig is a validated command line.
type loadConfig struct {
	base              string
	apiKey, apiSecret string
	images            []loadImage
	requests          int
	duration          time.Duration
	concurrency       int
	mix               [numKinds]int
	timeout           time.Duration
}

// loadRunner runs one load test.
type loadRunner struct {
	loadConfig
	client    *http.Client
	transport *http.Transport
	cycle     []loadKind
	tokens    loadTokenPool

	next atomic.Int64           // requests dispatched
	seq  [numKinds]atomic.Int64 // requests dispatched per kind
	// Live counts for the progress line.
	done, unexpected, failed atomic.Int64
}

func newLoadRunner(cfg loadConfig) *loadRunner {
	tr := &http.Transport{
		// No proxy from the environment: the figures are Glint's.
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// One idle connection per worker, so that keep-alive works and
		// the run measures requests, not TCP handshakes.
		MaxIdleConns:          cfg.concurrency,
		MaxIdleConnsPerHost:   cfg.concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &loadRunner{
		loadConfig: cfg,
		transport:  tr,
		client: &http.Client{
			Transport: tr,
			// A redirect is an answer to report, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		cycle: mixCycle(cfg.mix),
	}
}

func (r *loadRunner) close() { r.transport.CloseIdleConnections() }

func (r *loadRunner) image(n int64) loadImage { return r.images[n%int64(len(r.images))] }

// tokenRequest is a valid get_token call with image (none if nil).
func (r *loadRunner) tokenRequest(n int64, image []byte) loadRequest {
	return loadRequest{
		method: http.MethodPost,
		path:   "/faceid/lite/raw/get_token",
		fields: [][2]string{
			{"api_key", r.apiKey},
			{"api_secret", r.apiSecret},
			{"comparison_type", "0"},
			{"uuid", "glint-loadtest"},
			{"biz_no", "loadtest-" + strconv.FormatInt(n, 10)},
			{"liveness_preferences", "none"},
			{"color_number", "6"},
			// The sample photos show several people; the largest face
			// is the reference, as a client would choose.
			{"fail_when_ref_multiple_faces", "0"},
			{"max_upload_times", "3"},
			// Long enough that a token polled late in a long run has not
			// expired (an expired one reads FAILED, and only 3 times).
			{"life_time", "60"},
		},
		image:     image,
		imageName: r.image(n).name,
	}
}

// resultRequest is a get_result poll of token (none if empty).
func (r *loadRunner) resultRequest(token string) loadRequest {
	q := url.Values{"api_key": {r.apiKey}, "api_secret": {r.apiSecret}}
	if token != "" {
		q.Set("token", token)
	}
	return loadRequest{method: http.MethodGet, path: "/faceid/lite/raw/get_result", query: q}
}

// newRequest builds the HTTP request, its multipart body made afresh: the
// transport may still hold a body after the reply, so bodies are not
// pooled.
func (r *loadRunner) newRequest(ctx context.Context, q loadRequest) (*http.Request, error) {
	u := r.base + q.path
	if q.method != http.MethodPost {
		if len(q.query) > 0 {
			u += "?" + q.query.Encode()
		}
		return http.NewRequestWithContext(ctx, q.method, u, nil)
	}
	var body bytes.Buffer
	body.Grow(len(q.image) + 2048)
	mw := multipart.NewWriter(&body)
	for _, f := range q.fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
	}
	if q.image != nil {
		fw, err := mw.CreateFormFile("image_ref1", q.imageName)
		if err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
		if _, err := fw.Write(q.image); err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("multipart: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, u, bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req, nil
}

// loadOutcome is what became of one request.
type loadOutcome struct {
	kind    loadKind
	bad     int    // index in loadBadCases, for kindBad
	status  int    // 0: no reply
	code    string // error_message up to ':', or a marker for a non-JSON error
	latency time.Duration
	// transport is set when no reply came (refused, reset, timed out).
	transport error
	// canceled is set when the run was interrupted mid-request; such a
	// request is not counted at all.
	canceled bool
	// unexpected describes how the outcome differs from the expected
	// one; empty when it matched.
	unexpected string
	token      string // issued by a successful get_token
}

// loadReply is the part of a FaceID reply the load test reads.
type loadReply struct {
	ErrorMessage *string `json:"error_message"`
	Token        string  `json:"token"`
	Status       string  `json:"status"`
}

// do sends the n-th request of kind and checks its reply.
func (r *loadRunner) do(ctx context.Context, kind loadKind, n int64) loadOutcome {
	o := loadOutcome{kind: kind, bad: -1}
	var q loadRequest
	label := kindEndpoints[kind]
	switch kind {
	case kindToken:
		q = r.tokenRequest(n, r.image(n).data)
		label += " " + r.image(n).name
	case kindResult:
		q = r.resultRequest(r.tokens.pick(n))
	case kindBad:
		o.bad = int(n % int64(len(loadBadCases)))
		q = loadBadCases[o.bad].build(r, n)
		label += " " + loadBadCases[o.bad].name
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := r.newRequest(rctx, q)
	if err != nil {
		o.transport = err
		o.unexpected = fmt.Sprintf("%s: %v", label, err)
		return o
	}

	start := time.Now()
	resp, err := r.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
		resp.Body.Close()
	}
	o.latency = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			o.canceled = true
			return o
		}
		o.transport = redactURL(err, r.timeout)
		o.unexpected = fmt.Sprintf("%s: %v", label, o.transport)
		return o
	}

	o.status = resp.StatusCode
	var rep loadReply
	jsonErr := json.Unmarshal(body, &rep)
	switch {
	case jsonErr == nil && rep.ErrorMessage != nil:
		o.code, _, _ = strings.Cut(*rep.ErrorMessage, ":")
	case jsonErr != nil && o.status >= 400:
		o.code = "(not JSON)"
	}
	got := fmt.Sprintf("%d", o.status)
	if rep.ErrorMessage != nil {
		got += " " + *rep.ErrorMessage
	} else if jsonErr != nil {
		got += " (not JSON)"
	}
	switch kind {
	case kindToken:
		if o.status != http.StatusOK || jsonErr != nil || rep.Token == "" {
			o.unexpected = fmt.Sprintf("%s: got %s, want 200 with a token", label, got)
		}
		o.token = rep.Token
	case kindResult:
		if o.status != http.StatusOK || jsonErr != nil || rep.Status == "" {
			o.unexpected = fmt.Sprintf("%s: got %s, want 200 with a status", label, got)
		}
	case kindBad:
		bc := loadBadCases[o.bad]
		if o.status != bc.wantStatus || rep.ErrorMessage == nil || *rep.ErrorMessage != bc.wantError {
			o.unexpected = fmt.Sprintf("%s: got %s, want %d %s", label, got, bc.wantStatus, bc.wantError)
		}
	}
	return o
}

// redactURL drops the URL from a client error: a get_result URL carries
// the secret in its query, and the error ends up in the report. A request
// that ran out of time says so.
func redactURL(err error, timeout time.Duration) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if ue.Timeout() || errors.Is(ue.Err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: no reply within %s: %w", ue.Op, timeout, ue.Err)
	}
	return fmt.Errorf("%s: %w", ue.Op, ue.Err)
}

// preflight sends one get_token, uncounted, so that a wrong URL or key
// fails at once with a clear message instead of as a run of errors, and
// so that get_result has a token from the start.
func (r *loadRunner) preflight(ctx context.Context) error {
	o := r.do(ctx, kindToken, 0)
	switch {
	case o.canceled:
		return fmt.Errorf("preflight get_token: %w", ctx.Err())
	case o.transport != nil:
		return fmt.Errorf("preflight get_token to %s: %w", r.base, o.transport)
	case o.unexpected != "":
		return fmt.Errorf("preflight %s (check --url, --api-key and --api-secret)", o.unexpected)
	}
	r.tokens.add(o.token)
	return nil
}

// run sends the requests and returns the report. It stops dispatching at
// the request or time bound and when ctx is done; in flight requests are
// then finished, or abandoned if ctx is done.
func (r *loadRunner) run(ctx context.Context, stderr io.Writer) *loadReport {
	start := time.Now()
	var deadline time.Time
	if r.duration > 0 {
		deadline = start.Add(r.duration)
	}
	stopProgress := r.startProgress(stderr, start)
	results := make([][]loadOutcome, r.concurrency)
	var wg sync.WaitGroup
	for w := range r.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				i := r.next.Add(1) - 1
				if r.requests > 0 && i >= int64(r.requests) {
					return
				}
				kind := r.cycle[i%int64(len(r.cycle))]
				o := r.do(ctx, kind, r.seq[kind].Add(1)-1)
				if o.token != "" {
					r.tokens.add(o.token)
				}
				if !o.canceled {
					r.done.Add(1)
					if o.unexpected != "" {
						r.unexpected.Add(1)
					}
					if o.transport != nil || o.status >= 500 {
						r.failed.Add(1)
					}
				}
				results[w] = append(results[w], o)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	rep := newLoadReport(slices.Concat(results...), elapsed)
	rep.Concurrency = r.concurrency
	rep.RequestLimit = r.requests
	rep.DurationLimitS = r.duration.Seconds()
	rep.Images = len(r.images)
	rep.Interrupted = ctx.Err() != nil
	rep.TokensIssued = r.tokens.issued()
	return rep
}

// startProgress draws a bar on stderr a few times a second when it is a
// terminal, and otherwise a plain line every few seconds, which log files
// and CI output can take. It returns a function that stops it.
func (r *loadRunner) startProgress(w io.Writer, start time.Time) (stop func()) {
	f, ok := w.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd()))
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				if tty {
					fmt.Fprintf(w, "\r%s%s\n", r.progressLine(start, true), eraseLine)
				}
				return
			case <-t.C:
				if tty {
					fmt.Fprintf(w, "\r%s%s", r.progressLine(start, true), eraseLine)
				} else {
					fmt.Fprintf(w, "loadtest: %s\n", r.progressLine(start, false))
				}
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}

// eraseLine clears the rest of a terminal line, in case the previous
// progress line was longer.
const eraseLine = "\x1b[K"

// progressLine reports how far the run is: the larger of the fractions
// of its request and time bounds.
func (r *loadRunner) progressLine(start time.Time, bar bool) string {
	done, elapsed := r.done.Load(), time.Since(start)
	frac := 0.0
	if r.requests > 0 {
		frac = float64(done) / float64(r.requests)
	}
	if r.duration > 0 {
		frac = max(frac, elapsed.Seconds()/r.duration.Seconds())
	}
	frac = min(frac, 1)
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	count := strconv.FormatInt(done, 10)
	if r.requests > 0 {
		count += "/" + strconv.Itoa(r.requests)
	}
	s := fmt.Sprintf("%s done  %.1f req/s  %d unexpected  %d 5xx/transport  %s",
		count, rate, r.unexpected.Load(), r.failed.Load(), elapsed.Round(time.Second))
	if !bar {
		return s
	}
	const width = 30
	fill := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%%  %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), 100*frac, s)
}

// loadTokenPool holds tokens issued in the run for get_result to poll.
type loadTokenPool struct {
	mu     sync.Mutex
	tokens []string
	n      int
}

func (p *loadTokenPool) add(tok string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tokens) < maxTokenPool {
		p.tokens = append(p.tokens, tok)
	} else {
		p.tokens[p.n%maxTokenPool] = tok
	}
	p.n++
}

// pick returns the tokens round robin, so that each is polled in turn;
// "" when there is none (the preflight puts one in first).
func (p *loadTokenPool) pick(i int64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tokens) == 0 {
		return ""
	}
	return p.tokens[i%int64(len(p.tokens))]
}

func (p *loadTokenPool) issued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// loadReport is the result of a run, printed as text or JSON.
type loadReport struct {
	URL            string  `json:"url"`
	Mix            string  `json:"mix"`
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
	Endpoints []loadEndpointReport `json:"endpoints"`
	Overall   loadEndpointReport   `json:"overall"`

	Statuses   map[string]int      `json:"statuses"`    // HTTP status → replies
	ErrorCodes map[string]int      `json:"error_codes"` // error_message before ':' → replies
	BadCases   []loadBadCaseReport `json:"bad_cases"`

	// Unexpected counts outcomes other than the expected one, 5xx and
	// transport errors included; ServerErrors and TransportErrors count
	// those two among them.
	Unexpected         int      `json:"unexpected"`
	ServerErrors       int      `json:"server_errors"`
	TransportErrors    int      `json:"transport_errors"`
	Canceled           int      `json:"canceled"`
	UnexpectedExamples []string `json:"unexpected_examples,omitempty"`
	TokensIssued       int      `json:"tokens_issued"`
}

// loadEndpointReport covers one kind of request. Latencies are over the
// requests that got a reply, from sending to the end of the reply body.
type loadEndpointReport struct {
	Endpoint      string        `json:"endpoint"`
	Requests      int           `json:"requests"`
	ThroughputRPS float64       `json:"throughput_rps"`
	Unexpected    int           `json:"unexpected"`
	LatencyMs     loadLatencyMs `json:"latency_ms"`
}

type loadLatencyMs struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// loadBadCaseReport says how often one malformed call was answered as
// documented.
type loadBadCaseReport struct {
	Name       string `json:"name"`
	WantStatus int    `json:"want_status"`
	WantError  string `json:"want_error"`
	Sent       int    `json:"sent"`
	AsExpected int    `json:"as_expected"`
}

func newLoadReport(outcomes []loadOutcome, elapsed time.Duration) *loadReport {
	rep := &loadReport{
		ElapsedS:   loadRound2(elapsed.Seconds()),
		Statuses:   map[string]int{},
		ErrorCodes: map[string]int{},
	}
	var lat [numKinds][]time.Duration
	var all []time.Duration
	var count, unexpected [numKinds]int
	bad := make([]loadBadCaseReport, len(loadBadCases))
	for i, bc := range loadBadCases {
		bad[i] = loadBadCaseReport{Name: bc.name, WantStatus: bc.wantStatus, WantError: bc.wantError}
	}
	seen := map[string]bool{}
	var examples []loadOutcome
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
	severity := func(o loadOutcome) int {
		switch {
		case o.transport != nil:
			return 0
		case o.status >= 500:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(examples, func(a, b loadOutcome) int { return severity(a) - severity(b) })
	for _, o := range examples[:min(len(examples), maxUnexpectedExamples)] {
		rep.UnexpectedExamples = append(rep.UnexpectedExamples, o.unexpected)
	}
	rate := func(n int) float64 { return loadRound2(float64(n) / max(elapsed.Seconds(), 1e-9)) }
	rep.ThroughputRPS = rate(rep.Requests)
	for k := range numKinds {
		if count[k] == 0 {
			continue
		}
		rep.Endpoints = append(rep.Endpoints, loadEndpointReport{
			Endpoint:      kindEndpoints[k],
			Requests:      count[k],
			ThroughputRPS: rate(count[k]),
			Unexpected:    unexpected[k],
			LatencyMs:     loadLatencyStats(lat[k]),
		})
	}
	rep.Overall = loadEndpointReport{
		Endpoint:      "all",
		Requests:      rep.Requests,
		ThroughputRPS: rep.ThroughputRPS,
		Unexpected:    rep.Unexpected,
		LatencyMs:     loadLatencyStats(all),
	}
	for _, b := range bad {
		if b.Sent > 0 {
			rep.BadCases = append(rep.BadCases, b)
		}
	}
	return rep
}

// loadLatencyStats sorts d in place and summarises it in milliseconds.
func loadLatencyStats(d []time.Duration) loadLatencyMs {
	if len(d) == 0 {
		return loadLatencyMs{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	ms := func(v time.Duration) float64 { return loadRound2(float64(v) / float64(time.Millisecond)) }
	return loadLatencyMs{
		P50:  ms(latencyPercentile(d, 50)),
		P95:  ms(latencyPercentile(d, 95)),
		P99:  ms(latencyPercentile(d, 99)),
		Max:  ms(d[len(d)-1]),
		Mean: ms(sum / time.Duration(len(d))),
	}
}

// latencyPercentile returns the p-th percentile (0–100) of sorted by the
// nearest-rank method: the smallest sample that at least p percent of the
// samples do not exceed. It is exact and always one of the samples, so a
// p99 over 40 requests is simply the slowest one. 0 for no samples.
func latencyPercentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// p*n before the division keeps whole ranks exact in floating point.
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}

func loadRound2(v float64) float64 { return math.Round(v*100) / 100 }

// writeText prints the report for people.
func (rep *loadReport) writeText(w io.Writer) error {
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
	fmt.Fprintf(&b, "HTTP status:  %s\n", loadCountList(rep.Statuses))
	if len(rep.ErrorCodes) > 0 {
		fmt.Fprintf(&b, "error codes:  %s\n", loadCountList(rep.ErrorCodes))
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

// loadCountList formats counts as "k n, k n" in key order.
func loadCountList(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// exitError is the command's result after the report is out: an error
// (exit status 1) when the server failed (5xx), requests failed in
// transport, or the run was interrupted.
func (rep *loadReport) exitError(ctx context.Context) error {
	var errs []error
	if rep.ServerErrors > 0 || rep.TransportErrors > 0 {
		errs = append(errs, fmt.Errorf("%d replies with a 5xx status, %d transport errors", rep.ServerErrors, rep.TransportErrors))
	}
	if rep.Interrupted {
		errs = append(errs, fmt.Errorf("loadtest interrupted after %d requests: %w", rep.Requests, context.Cause(ctx)))
	}
	return errors.Join(errs...)
}
