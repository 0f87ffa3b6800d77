// Package loadgen drives a running Glint over HTTP the way a busy
// integrator would, and reports what came back.
//
// It sends a fixed interleaving of three kinds of request (see Mix):
// get_token calls carrying real face photos, get_result polls of the
// tokens issued during the run, and malformed calls that the FaceID
// contract says must be refused with a given status and error code. Run
// sends them from Config.Concurrency workers until a count or time bound,
// and returns a Report: throughput, latency percentiles per endpoint, every
// status and error code seen, and the replies that were not the expected
// ones. Report.WriteText renders it for people; its JSON form is the
// Report itself.
//
// It is a package of its own, rather than part of `glint loadtest`, so
// that the command keeps only its flags and output, and the generator and
// its report are tested without the command line.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// MaxConcurrency is far beyond what one Glint key allows (its
// --concurrency, 10 by default) and stops a typo from opening thousands of
// connections.
const MaxConcurrency = 1024

// maxTokenPool bounds the tokens kept for get_result polling; older ones
// are overwritten, so a long run polls recent tokens.
const maxTokenPool = 4096

// Config is one load test. Run checks it; there are no defaults.
type Config struct {
	// URL is the base URL of the Glint to load (scheme, host, optional
	// path prefix); the FaceID paths are appended to it. Whether a target
	// may be loaded at all is the caller's decision.
	URL string
	// APIKey and APISecret are the key every request is sent with (the
	// malformed ones alter them).
	APIKey, APISecret string
	// Images are sent round robin as get_token's reference photo; at
	// least one.
	Images []Image
	// Requests stops the run after that many requests, Duration after that
	// long, whichever comes first; 0 lifts that bound, but not both.
	Requests int
	Duration time.Duration
	// Concurrency is the number of requests in flight, 1 to
	// MaxConcurrency.
	Concurrency int
	// Mix is the weights of the kinds of request.
	Mix Mix
	// Timeout bounds each request; one that runs out counts as a
	// transport error.
	Timeout time.Duration
	// Progress, if not nil, receives a progress line while the run lasts:
	// a bar redrawn a few times a second on a terminal, otherwise a plain
	// line every few seconds.
	Progress io.Writer
}

func (c *Config) check() error {
	switch {
	case c.URL == "":
		return errors.New("loadgen: no URL")
	case c.APIKey == "" || c.APISecret == "":
		return errors.New("loadgen: no API key or secret")
	case len(c.Images) == 0:
		return errors.New("loadgen: no images")
	case c.Requests < 0 || c.Duration < 0:
		return errors.New("loadgen: negative request or duration bound")
	case c.Requests == 0 && c.Duration == 0:
		return errors.New("loadgen: unbounded run: give a request or duration bound")
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("loadgen: concurrency %d is not from 1 to %d", c.Concurrency, MaxConcurrency)
	case c.Timeout <= 0:
		return errors.New("loadgen: timeout must be positive")
	}
	if err := c.Mix.check(); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	return nil
}

// A PreflightError is returned by Run when the server answered the first,
// uncounted get_token, but not with a token: most often the URL's path,
// the key or the secret is wrong. A caller can add how to fix that in its
// own terms (flags, settings).
type PreflightError struct {
	// Reply says what came back against what was wanted, e.g.
	// "get_token a.jpg: got 403 AUTHENTICATION_ERROR, want 200 with a token".
	Reply string
}

func (e *PreflightError) Error() string { return "preflight " + e.Reply }

// Run loads cfg.URL and returns the report. It first sends one get_token,
// not counted, so that a wrong URL or key fails at once with a clear error
// (a *PreflightError when the server answered) instead of as a run of
// errors, and so that get_result has a token from the start. It then
// stops dispatching at the request or time bound and when ctx is done;
// requests in flight are finished, or abandoned if ctx is done. A run that
// took place returns a report and a nil error, however the server
// answered: see Report.Err.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	r := newRunner(cfg)
	defer r.transport.CloseIdleConnections()
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	return r.run(ctx), nil
}

// runner runs one load test.
type runner struct {
	cfg       Config
	client    *http.Client
	transport *http.Transport
	cycle     []kind
	tokens    tokenPool

	next atomic.Int64           // requests dispatched
	seq  [numKinds]atomic.Int64 // requests dispatched per kind
	// Live counts for the progress line.
	done, unexpected, failed atomic.Int64
}

func newRunner(cfg Config) *runner {
	tr := &http.Transport{
		// No proxy from the environment: the figures are Glint's.
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// One idle connection per worker, so that keep-alive works and
		// the run measures requests, not TCP handshakes.
		MaxIdleConns:          cfg.Concurrency,
		MaxIdleConnsPerHost:   cfg.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &runner{
		cfg:       cfg,
		transport: tr,
		client: &http.Client{
			Transport: tr,
			// A redirect is an answer to report, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		cycle: mixCycle(cfg.Mix.weights()),
	}
}

// preflight sends the uncounted get_token (see Run).
func (r *runner) preflight(ctx context.Context) error {
	o := r.do(ctx, kindToken, 0)
	switch {
	case o.canceled:
		return fmt.Errorf("preflight get_token: %w", ctx.Err())
	case o.transport != nil:
		return fmt.Errorf("preflight get_token to %s: %w", r.cfg.URL, o.transport)
	case o.unexpected != "":
		return &PreflightError{Reply: o.unexpected}
	}
	r.tokens.add(o.token)
	return nil
}

// run sends the requests and returns the report.
func (r *runner) run(ctx context.Context) *Report {
	start := time.Now()
	var deadline time.Time
	if r.cfg.Duration > 0 {
		deadline = start.Add(r.cfg.Duration)
	}
	stopProgress := func() {}
	if r.cfg.Progress != nil {
		stopProgress = r.startProgress(r.cfg.Progress, start)
	}
	results := make([][]outcome, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range r.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				i := r.next.Add(1) - 1
				if r.cfg.Requests > 0 && i >= int64(r.cfg.Requests) {
					return
				}
				k := r.cycle[i%int64(len(r.cycle))]
				o := r.do(ctx, k, r.seq[k].Add(1)-1)
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
	rep := newReport(slices.Concat(results...), elapsed)
	rep.URL = r.cfg.URL
	rep.Mix = r.cfg.Mix.String()
	rep.Concurrency = r.cfg.Concurrency
	rep.RequestLimit = r.cfg.Requests
	rep.DurationLimitS = r.cfg.Duration.Seconds()
	rep.Images = len(r.cfg.Images)
	rep.Interrupted = ctx.Err() != nil
	rep.cause = context.Cause(ctx)
	rep.TokensIssued = r.tokens.issued()
	return rep
}

// startProgress draws a bar on w a few times a second when it is a
// terminal, and otherwise a plain line every few seconds, which log files
// and CI output can take. It returns a function that stops it.
func (r *runner) startProgress(w io.Writer, start time.Time) (stop func()) {
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
func (r *runner) progressLine(start time.Time, bar bool) string {
	done, elapsed := r.done.Load(), time.Since(start)
	frac := 0.0
	if r.cfg.Requests > 0 {
		frac = float64(done) / float64(r.cfg.Requests)
	}
	if r.cfg.Duration > 0 {
		frac = max(frac, elapsed.Seconds()/r.cfg.Duration.Seconds())
	}
	frac = min(frac, 1)
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	count := strconv.FormatInt(done, 10)
	if r.cfg.Requests > 0 {
		count += "/" + strconv.Itoa(r.cfg.Requests)
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

// tokenPool holds tokens issued in the run for get_result to poll.
type tokenPool struct {
	mu     sync.Mutex
	tokens []string
	n      int
}

func (p *tokenPool) add(tok string) {
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
func (p *tokenPool) pick(i int64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tokens) == 0 {
		return ""
	}
	return p.tokens[i%int64(len(p.tokens))]
}

func (p *tokenPool) issued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
