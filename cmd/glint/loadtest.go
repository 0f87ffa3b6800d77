package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/loadgen"
)

// loadtestCommand drives a running Glint over HTTP with a mix of get_token
// calls carrying real face photos, get_result polls of the tokens issued
// during the run, and malformed calls that must be refused with their
// documented codes; it reports throughput, latency percentiles per
// endpoint and every status and error code seen. The generator and its
// report are internal/loadgen; the command parses and checks the flags,
// refuses a non-loopback target, finds the photos and prints the report.
type loadtestCommand struct {
	*Main
}

// Defaults of the loadtest flags.
const (
	defaultLoadURL      = "http://127.0.0.1:8080"
	defaultLoadRequests = 200
	defaultLoadDuration = 5 * time.Minute
	defaultLoadTimeout  = time.Minute
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
	mixFlag := fs.String("mix", loadgen.DefaultMix, "relative `weights` of token, result and bad requests")
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
	case *concurrency < 1 || *concurrency > loadgen.MaxConcurrency:
		return usageError(fs, "--concurrency must be between 1 and %d", loadgen.MaxConcurrency)
	case *timeout <= 0:
		return usageError(fs, "--timeout must be positive")
	}
	mix, err := loadgen.ParseMix(*mixFlag)
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
		dir = face.SampleDir(c.env("GLINT_MODELS", "./models"))
	}
	images, err := loadgen.ReadImages(dir)
	if err != nil {
		if *imagesDir == "" {
			return fmt.Errorf("%w (run `make models`, or give --images DIR)", err)
		}
		return err
	}

	rep, err := loadgen.Run(ctx, loadgen.Config{
		URL:         base,
		APIKey:      *apiKey,
		APISecret:   *apiSecret,
		Images:      images,
		Requests:    *requests,
		Duration:    *duration,
		Concurrency: *concurrency,
		Mix:         mix,
		Timeout:     *timeout,
		Progress:    c.Stderr,
	})
	// The server answered the first get_token, but not with a token: the
	// fix is in the flags.
	var preflight *loadgen.PreflightError
	if errors.As(err, &preflight) {
		return fmt.Errorf("%w (check --url, --api-key and --api-secret)", err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(c.Stdout).Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else if err := rep.WriteText(c.Stdout); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return rep.Err()
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
