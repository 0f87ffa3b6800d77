// Package api serves Glint's HTTP API: the FaceID-compatible endpoints
// under /faceid/lite/raw/ and the operational ones (/healthz, /readyz,
// and /metrics when Config.PublicMetrics asks for it).
//
// Every FaceID endpoint runs through one wrapper (endpoint) that assigns
// the request_id, catches panics, writes the JSON reply with time_used and
// biz_no, records the usage ledger row, the metrics and one log line. The
// endpoint functions themselves only decide the outcome: a success body or
// an apiError.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/faceid"
	"github.com/glint-id/glint/internal/sdk"
	"github.com/glint-id/glint/internal/store"
)

// DefaultMaxImageSide is FaceID's limit on either side of a reference
// photo, in pixels (spec §2.1).
const DefaultMaxImageSide = 4096

// Store is the part of store.Store that the API uses; each method keeps
// the contract store.Store states for it. Capture state goes through the
// session manager (CaptureConfig.Sessions), which declares its own part.
type Store interface {
	// CreateVerification stores what get_token issues.
	CreateVerification(ctx context.Context, v *store.Verification) error

	// ReadResult is get_result's counted read.
	ReadResult(ctx context.Context, token, keyID string, now time.Time) (*store.Result, error)

	// Verification and Key find the key of the token that a fallback
	// call (start_flash, validate_flash) presents.
	Verification(ctx context.Context, token string) (*store.Verification, error)
	Key(ctx context.Context, id string) (*store.Key, error)

	// RecordUsage appends the ledger row of each call authenticated by
	// its key.
	RecordUsage(ctx context.Context, e store.UsageEvent) error

	// Ping answers /readyz.
	Ping(ctx context.Context) error
}

// Every store backend serves the API.
var _ Store = store.Store(nil)

// Config is what a Handler needs. Store, Keys, References are required; the
// zero value of every other field means its default.
type Config struct {
	Store      Store
	Keys       *auth.Keyring
	References ReferenceChooser

	// Limiter caps in-flight requests per key; defaults to a new
	// auth.LocalLimiter.
	Limiter auth.Limiter

	// Logger receives one line per request; defaults to slog.Default().
	Logger *slog.Logger

	// Metrics defaults to NewMetrics().
	Metrics *Metrics

	// PublicMetrics serves GET /metrics beside the API. By default it is
	// not: the metrics describe the traffic of every key, and are for an
	// operator's scraper, which Metrics().Handler() serves on a listener
	// of its own (glint serve --metrics-listen).
	PublicMetrics bool

	// TrustedProxies lists peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	// KeepReferenceImages stores the uploaded reference photos with the
	// verification record (audit); by default only the face features and
	// crops are kept.
	KeepReferenceImages bool

	// MaxBodyBytes defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// BodyBudget caps the request-body bytes buffered in memory by all
	// requests together (DefaultBodyBudget; at least twice MaxBodyBytes).
	// Requests whose credentials are not yet known to be valid may hold
	// half of it together. A request that cannot have the bytes it needs
	// within BodyWait is refused with CONCURRENCY_LIMIT_EXCEEDED.
	BodyBudget int64

	// BodyReadersPerAddress caps the requests of one client address (an
	// IPv6 /64) reading their bodies at once; defaults to
	// DefaultBodyReadersPerAddress.
	BodyReadersPerAddress int

	// BodyReadTimeout is the time a request has to send its body;
	// defaults to DefaultBodyReadTimeout.
	BodyReadTimeout time.Duration

	// BodyWait is how long a request waits for budget or for its
	// address's turn before it is refused; defaults to DefaultBodyWait.
	BodyWait time.Duration

	// MaxImageSide defaults to DefaultMaxImageSide.
	MaxImageSide int

	// Now defaults to time.Now.
	Now func() time.Time

	// Capture, when set, serves the browser-facing capture side (rtc.go,
	// flash.go).
	Capture *CaptureConfig
}

// Handler is the HTTP handler of the whole service.
type Handler struct {
	cfg Config
	mux *http.ServeMux

	// flashAddrs and flashTokens rate-limit the fallback's calls, and
	// attempts the capture attempts begun per client address.
	flashAddrs  *limiter[netip.Addr]
	flashTokens *limiter[string]
	attempts    *limiter[netip.Addr]

	// bodies bound the memory and connections request bodies take.
	bodies *bodyLimits
}

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.References == nil {
		return nil, errors.New("api: Store, Keys and References are required")
	}
	if cfg.Limiter == nil {
		cfg.Limiter = &auth.LocalLimiter{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.BodyBudget <= 0 {
		cfg.BodyBudget = max(DefaultBodyBudget, 2*cfg.MaxBodyBytes)
	}
	if cfg.BodyBudget < 2*cfg.MaxBodyBytes {
		return nil, errors.New("api: BodyBudget must be at least twice MaxBodyBytes")
	}
	if cfg.BodyReadersPerAddress <= 0 {
		cfg.BodyReadersPerAddress = DefaultBodyReadersPerAddress
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if cfg.BodyWait <= 0 {
		cfg.BodyWait = DefaultBodyWait
	}
	if cfg.MaxImageSide <= 0 {
		cfg.MaxImageSide = DefaultMaxImageSide
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.bodies = newBodyLimits(cfg.BodyBudget, cfg.BodyReadersPerAddress, cfg.BodyWait)
	// Registered once per Metrics: a second handler on the same Metrics
	// (tests) keeps reporting the first one's.
	cfg.Metrics.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "glint_http_body_buffered_bytes",
		Help: "Request-body bytes held in memory now, against the body budget.",
	}, func() float64 { return float64(h.bodies.inUse()) }))

	// The route table. Patterns name their method, and the catch-all "/"
	// answers everything else, so a wrong method on a known path is a 404
	// API_NOT_FOUND as FaceID does rather than the mux's 405.
	h.mux.Handle("POST /faceid/lite/raw/get_token", h.endpoint("get_token", h.getToken))
	getResult := h.endpoint("get_result", h.getResult)
	h.mux.Handle("GET /faceid/lite/raw/get_result", getResult)
	h.mux.Handle("POST /faceid/lite/raw/get_result", getResult)
	if c := cfg.Capture; c != nil {
		if c.Sessions == nil {
			return nil, errors.New("api: Capture needs Sessions")
		}
		cc := c.withDefaults()
		h.flashAddrs = newLimiter[netip.Addr](cc.FlashRate, cc.FlashBurst)
		h.flashTokens = newLimiter[string](cc.FlashTokenRate, cc.FlashTokenBurst)
		h.attempts = newLimiter[netip.Addr](cc.AttemptRate, cc.AttemptBurst)
		rtc := h.newRTCHandler(c)
		h.mux.Handle("GET /faceid/lite/raw/rtc", rtc)
		if c.SDKHost != "" {
			h.mux.Handle("GET "+c.SDKHost+"/{$}", rtc)
		}
		h.mux.Handle("POST /faceid/lite/raw/start_flash", h.endpoint("start_flash", h.startFlash))
		h.mux.Handle("POST /faceid/lite/raw/validate_flash", h.endpoint("validate_flash", h.validateFlash))
		page := sdk.HandlerWith(h.embedOrigins)
		h.mux.Handle(sdk.SDKPrefix, page)
		h.mux.Handle(sdk.PagePrefix, page)
	}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	if cfg.PublicMetrics {
		h.mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	h.mux.HandleFunc("/", h.notFound)
	return h, nil
}

// Metrics returns the handler's metrics, for registering more collectors.
func (h *Handler) Metrics() *Metrics { return h.cfg.Metrics }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// No reply is meant to be sniffed into another type: a JSON error
	// echoing a caller's biz_no must never render as HTML.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The mux would redirect "//x" or "/a/../x" to the clean path; to a
	// FaceID client those are simply unknown paths.
	if p := r.URL.Path; p == "" || (p != "/" && path.Clean(p) != p) {
		h.notFound(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.Now()
	writeBody(w, http.StatusNotFound, "application/json", []byte(`{"error_message":"API_NOT_FOUND"}`))
	h.cfg.Metrics.observeRequest("unknown", http.StatusNotFound, notFoundCode, h.cfg.Now().Sub(start))
	h.cfg.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", http.StatusNotFound)
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeBody(w, http.StatusOK, "application/json", []byte(`{"status":"ok"}`))
}

// readyz reports whether requests can be served: the store answers.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.cfg.Store.Ping(ctx); err != nil {
		h.cfg.Logger.Warn("not ready", "err", err)
		writeBody(w, http.StatusServiceUnavailable, "application/json", []byte(`{"status":"unavailable"}`))
		return
	}
	writeBody(w, http.StatusOK, "application/json", []byte(`{"status":"ok"}`))
}

// call is the state of one FaceID API request, shared between the endpoint
// wrapper and the endpoint function.
type call struct {
	r        *http.Request
	w        http.ResponseWriter
	endpoint string
	start    time.Time
	meta     *faceid.Meta

	// keyID is set once the key is authenticated; only then is there a
	// ledger to write to.
	keyID string
	// byToken marks a call authenticated by a verification token alone
	// (the fallback's): keyID is the token's key, for the log, and no
	// ledger row is written, since anyone holding the token can make such
	// calls and they would fill the key's ledger (the token's attempts
	// and the rate limits bound them instead).
	byToken bool

	// client is the address IP allow-lists check (see clientAddr).
	client netip.Addr

	// hold is the call's share of the body limits, given back when it
	// has answered; early is the credentials' check made while the body
	// was read (checkKey), flashChecked and flashOK the fallback token's
	// (flashTokenOnce).
	hold         *bodyHold
	early        *earlyKey
	flashChecked string
	flashOK      bool

	// Outcome, set by the endpoint function.
	body     any       // success reply, embedding *meta
	err      *apiError // failure reply
	cause    error     // internal detail behind err, logged only
	tooLarge bool      // reply 413 text
	timedOut bool      // reply 408 text: the body was not sent in time
	gone     bool      // no reply: the client hung up (clientClosedCode)
	bodyLeft bool      // part of the body was left unread: close the connection
}

// The outcome of a call whose client hung up before its reply: logged and
// counted with nginx's 499, never sent.
const (
	clientClosedStatus = 499
	clientClosedCode   = "CLIENT_CLOSED"
)

// The reply to a body not sent within BodyReadTimeout, like the 413 a
// front end's answer rather than a FaceID error.
const (
	timeoutBody = "Request Timeout"
	timeoutCode = "REQUEST_TIMEOUT"
)

type errorReply struct {
	*faceid.Meta
	ErrorMessage string `json:"error_message"`
}

func (c *call) fail(err *apiError, cause error) {
	c.err, c.cause = err, cause
}

// endpoint wraps a FaceID endpoint function with everything common to
// them: request_id, panic recovery, reply encoding, ledger, metrics, log.
func (h *Handler) endpoint(name string, fn func(*call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := h.cfg.Now()
		c := &call{
			w:        w,
			endpoint: name,
			start:    now,
			// Megvii's shape: "<unix seconds>,<uuid4>".
			meta: &faceid.Meta{RequestID: strconv.FormatInt(now.Unix(), 10) + "," + uuid.NewString()},
		}
		ctx := context.WithValue(r.Context(), metricsKey{}, h.cfg.Metrics)
		c.r = r.WithContext(ctx)
		c.client = clientAddr(r, h.cfg.TrustedProxies)

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.cfg.Logger.Error("panic", "request_id", c.meta.RequestID, "endpoint", name,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				c.body, c.tooLarge, c.timedOut, c.gone = nil, false, false, false
				c.fail(errInternal, fmt.Errorf("panic: %v", v))
			}
			h.finish(c)
			c.hold.release()
		}()
		fn(c)
	})
}

// finish sends the reply and records the call.
func (h *Handler) finish(c *call) {
	status, code := http.StatusOK, "OK"
	switch {
	case c.tooLarge:
		status, code = http.StatusRequestEntityTooLarge, tooLargeCode
	case c.timedOut:
		status, code = http.StatusRequestTimeout, timeoutCode
	case c.gone || (c.body == nil || c.err != nil) && clientClosed(c.r.Context()):
		// Whatever the call failed with, it failed because the client
		// went away: not a server error, and nothing to bill or answer.
		// A success stays one: its effects (a token made) happened.
		c.gone = true
		status, code = clientClosedStatus, clientClosedCode
	case c.err != nil:
		status, code = c.err.status, c.err.code()
	case c.body == nil:
		c.fail(errInternal, errors.New("endpoint produced no reply"))
		status, code = c.err.status, c.err.code()
	}

	if c.keyID != "" && !c.byToken && !c.gone {
		// The ledger must not depend on the client waiting for its reply.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.r.Context()), 5*time.Second)
		err := h.cfg.Store.RecordUsage(ctx, store.UsageEvent{
			KeyID:     c.keyID,
			Endpoint:  c.endpoint,
			Outcome:   code,
			Billed:    false, // nothing in issue 3 is billable (spec §4.6)
			RequestID: c.meta.RequestID,
		})
		cancel()
		if err != nil {
			h.cfg.Logger.Error("usage ledger", "request_id", c.meta.RequestID, "err", err)
		}
	}

	elapsed := h.cfg.Now().Sub(c.start)
	c.meta.TimeUsed = elapsed.Milliseconds()
	if c.bodyLeft {
		// The rest of the body is not read, so the connection cannot be
		// reused.
		c.w.Header().Set("Connection", "close")
	}
	switch {
	case c.gone:
		// Nobody to answer.
	case c.tooLarge:
		// Not JSON: FaceID's front end answers this itself (spec §0).
		writeBody(c.w, status, "text/plain; charset=utf-8", []byte(tooLargeBody))
	case c.timedOut:
		writeBody(c.w, status, "text/plain; charset=utf-8", []byte(timeoutBody))
	default:
		var reply any = c.body
		if c.err != nil {
			reply = errorReply{Meta: c.meta, ErrorMessage: c.err.message}
		}
		writeJSON(c.w, status, reply)
	}

	h.cfg.Metrics.observeRequest(c.endpoint, status, code, elapsed)
	attrs := []any{
		"request_id", c.meta.RequestID,
		"endpoint", c.endpoint,
		"status", status,
		"code", code,
		"ms", c.meta.TimeUsed,
	}
	if c.err != nil && !c.gone {
		attrs = append(attrs, "error_message", c.err.message)
	}
	if c.keyID != "" {
		attrs = append(attrs, "api_key", c.keyID)
	}
	if c.client.IsValid() {
		attrs = append(attrs, "client", c.client.String())
	}
	if c.cause != nil {
		attrs = append(attrs, "err", c.cause.Error())
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	h.cfg.Logger.Log(c.r.Context(), level, "request", attrs...)
}

// clientClosed reports whether ctx, a request's, was canceled by its
// connection ending: the client hung up. A cancellation with a cause of
// its own (a server stopping its requests) is not the client's.
func clientClosed(ctx context.Context) bool {
	return ctx.Err() != nil && context.Cause(ctx) == context.Canceled
}

// writeJSON encodes v before sending any header, so an encoding failure
// can still become a clean 500.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := faceid.Marshal(v)
	if err != nil {
		writeBody(w, http.StatusInternalServerError, "application/json", []byte(`{"error_message":"INTERNAL_ERROR"}`))
		return
	}
	writeBody(w, status, "application/json", b)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
