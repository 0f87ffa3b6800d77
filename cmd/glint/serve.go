package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/session"
	"github.com/glint-id/glint/internal/store"
)

// loadModels loads what serve runs on from the models folder (models.go);
// a variable so that tests of the command plumbing can substitute a double.
var loadModels = loadServeModels

// Server timeouts. Uploads are up to 20 MB, so reading a body may take a
// while on a slow link; writing includes face detection.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute
	writeTimeout      = 3 * time.Minute
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 30 * time.Second

	// leaseTTL is how long a concurrency slot of a node that died stays
	// taken on a shared database (postgres.Limiter). A live request must
	// not outlast it, or its slot would be handed out twice. Nothing cuts
	// a handler off, but past writeTimeout its reply can no longer be
	// written; the margin covers a store call it may still be finishing
	// (each bounded by the store's OpTimeout, a minute).
	leaseTTL = writeTimeout + 2*time.Minute
)

// serveCommand runs the HTTP service.
type serveCommand struct {
	*Main

	// onListen, if set, is called with the bound address once the server
	// accepts connections (tests listen on port 0).
	onListen func(net.Addr)

	// onFlags, if set, is called with the parsed flags; an error it
	// returns ends Run (tests of the flags and their variables).
	onFlags func(*flag.FlagSet) error
}

// Run implements command.
func (c *serveCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint serve", "glint serve [--listen ADDR] [--data DIR] [--models DIR] [flags]")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to listen on")
	dataOpts := addDataFlags(fs, c.env, "data `directory`: database and secret pepper (env GLINT_DATA)")
	modelsDir := fs.String("models", c.env("GLINT_MODELS", "./models"), "face model `directory` (env GLINT_MODELS)")
	calibration := fs.String("calibration", c.env("GLINT_CALIBRATION", ""), "calibration `file` written by glint calibrate --out, replacing the one embedded for the model (env GLINT_CALIBRATION)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate `file` (PEM); serves HTTPS with --tls-key")
	tlsKey := fs.String("tls-key", "", "TLS private key `file` (PEM)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy)")
	trusted := fs.String("trusted-proxy", "", "comma-separated `CIDRs` of proxies whose X-Forwarded-For is trusted")
	keepRefs := fs.Bool("keep-reference-images", false, "store uploaded reference photos with each verification (audit)")
	sdkHost := fs.String("sdk-host", "", "host `name` whose / also serves the capture channel, for SDKs given host \"wss://NAME\"")
	addrAttempts := fs.Int("address-attempts", 10, "capture attempts one client address may begin at once, over every token (`n`); behind a NAT shared by many people, raise it")
	addrRefill := fs.Duration("address-attempt-interval", time.Minute, "how often a client address gets back one capture attempt (`duration`)")
	metricsListen := fs.String("metrics-listen", "", "`address` to serve Prometheus /metrics on, plain HTTP, nothing else; keep it off the public network")
	publicMetrics := fs.Bool("public-metrics", false, "also serve /metrics on --listen, to anyone who reaches the API")
	notifyPrivate := fs.Bool("notify-allow-private", false, "let result notifications reach loopback, private and link-local addresses (a receiver on this machine or network)")
	if err := flagsFromEnv(fs, func(name string) string { return c.env(name, "") }); err != nil {
		return err
	}
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if c.onFlags != nil {
		if err := c.onFlags(fs); err != nil {
			return err
		}
	}
	if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError(fs, "--tls-cert and --tls-key go together")
	}
	useTLS := *tlsCert != ""
	// The FaceID spec wants HTTPS in production: secrets travel in every
	// request body.
	if !useTLS && !*insecure && !isLoopback(*listen) {
		return fmt.Errorf("refusing plain HTTP on non-loopback address %s: give --tls-cert and --tls-key, or --insecure-http if a TLS proxy is in front", *listen)
	}
	proxies, err := auth.ParsePrefixes(*trusted)
	if err != nil {
		return usageError(fs, "--trusted-proxy: %v", err)
	}
	if h := *sdkHost; h != "" && (strings.ContainsAny(h, ":/ ") || h != strings.ToLower(h)) {
		return usageError(fs, "--sdk-host: want a bare lower-case host name, got %q", h)
	}
	if *addrAttempts < 1 || *addrRefill <= 0 {
		return usageError(fs, "--address-attempts must be at least 1 and --address-attempt-interval positive")
	}

	logger := slog.New(slog.NewJSONHandler(c.Stderr, nil))

	models, err := loadModels(*modelsDir, *calibration)
	if err != nil {
		return fmt.Errorf("load face engine from %s: %w", *modelsDir, err)
	}

	st, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	// Both loops end, and are waited for, before the store closes, however
	// Run returns.
	defer background(ctx, func(ctx context.Context) { sweep(ctx, st.db, logger) })()
	defer background(ctx, func(ctx context.Context) { deliver(ctx, st, logger, *notifyPrivate) })()

	capture, err := newCapture(models, st.db, st.keys, logger)
	if err != nil {
		return err
	}
	if capture != nil {
		capture.SDKHost = *sdkHost
		capture.AttemptBurst, capture.AttemptRate = *addrAttempts, 1/addrRefill.Seconds()
	}

	handler, err := api.New(api.Config{
		Store:               st.db,
		Keys:                st.keys,
		References:          models.references,
		Limiter:             st.limiter(logger),
		Logger:              logger,
		TrustedProxies:      proxies,
		KeepReferenceImages: *keepRefs,
		Capture:             capture,
		PublicMetrics:       *publicMetrics,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	// The metrics listener is up before the API's, so that "serving"
	// means both are.
	var msrv *http.Server
	merrc := make(chan error, 1)
	if *metricsListen != "" {
		mln, err := net.Listen("tcp", *metricsListen)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		msrv = &http.Server{
			Handler:           handler.Metrics().Mux(),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readHeaderTimeout,
			WriteTimeout:      time.Minute,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		go func() { merrc <- msrv.Serve(mln) }()
		logger.Info("serving metrics", "addr", mln.Addr().String(), "scheme", "http")
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		if msrv != nil {
			msrv.Close()
		}
		return err
	}
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	logger.Info("serving", "addr", ln.Addr().String(), "scheme", scheme, "data", dataOpts.dir, "store", st.backend, "models", *modelsDir)
	if c.onListen != nil {
		c.onListen(ln.Addr())
	}

	var serveErr error
	select {
	case serveErr = <-errc:
	case serveErr = <-merrc:
	case <-ctx.Done():
	}
	// On a listener's failure too, the other and the sessions stop before
	// the store closes.
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = shutdown(sctx, srv, msrv, capture)
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// shutdown stops the servers and the capture sessions, in parallel and
// within ctx. srv.Shutdown stops the listener and waits for the requests
// in flight, but not for the capture channel's connections: they are
// hijacked, so the server neither knows nor waits for them. The session
// manager ends those itself (close 1001, a challenge already shown counted
// as an attempt) and waits for their last store writes. When shutdown
// returns nil, nothing uses the store any more and it may close; on an
// error (ctx ended first) some request or session may still be running.
func shutdown(ctx context.Context, srv, metrics *http.Server, capture *api.CaptureConfig) error {
	errs := make(chan error, 3)
	n := 0
	run := func(f func(context.Context) error) {
		n++
		go func() { errs <- f(ctx) }()
	}
	run(srv.Shutdown)
	if metrics != nil {
		run(metrics.Shutdown)
	}
	if capture != nil {
		run(capture.Sessions.Shutdown)
	}
	var all []error
	for range n {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// isLoopback reports whether a listen address binds only to loopback. An
// empty host binds every interface; other host names are not resolved and
// count as non-loopback.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// newCapture sets up the capture side (the channel and the fallback) on
// the loaded models. It returns nil when they are a test double without
// the face engine. The attempts of keys that record them are sealed under
// keys' pepper.
func newCapture(models serveModels, st store.Store, keys *auth.Keyring, logger *slog.Logger) (*api.CaptureConfig, error) {
	if models.analyzer == nil {
		logger.Warn("capture channel off: no face engine")
		return nil, nil
	}
	if models.passive == nil {
		logger.Warn("passive anti-spoof model missing: liveness rests on the flash reflection alone (run make models)")
	}
	mgr, err := session.NewManager(captureConfig(models, st, keys, logger))
	if err != nil {
		return nil, err
	}
	return &api.CaptureConfig{Sessions: mgr}, nil
}

// sweepInterval is how often the sweeper runs. The capture calls apply the
// expiry transition themselves the moment they see one, so the sweep only
// bounds how stale get_result can be for tokens nobody touches, and how
// long biometric data outlives its retention (at most this much).
const sweepInterval = time.Minute

// background runs fn on a child of ctx and returns a function that
// cancels it and waits for fn to return.
func background(ctx context.Context, fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// sweep moves verifications past their life_time to FAILED and purges
// the data of results that can no longer be read (spec §4.5).
func sweep(ctx context.Context, st store.RetentionStore, logger *slog.Logger) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p, err := st.PurgeVerifications(ctx, now)
			if err != nil {
				logger.Error("retention sweep", "err", err, "purged", p.Records)
			} else if p.Records > 0 || p.Tombstones > 0 {
				logger.Info("retention sweep", "purged", p.Records, "tombstones_deleted", p.Tombstones)
			}
		}
	}
}
