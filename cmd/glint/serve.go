package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
)

// newEngine builds the face engine from the model directory (engine.go);
// a variable so that tests of the command plumbing can substitute a double.
var newEngine = newFaceEngine

// Server timeouts. Uploads are up to 20 MB, so reading a body may take a
// while on a slow link; writing includes face detection.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute
	writeTimeout      = 3 * time.Minute
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 30 * time.Second
)

// ServeCommand runs the HTTP service.
type ServeCommand struct {
	*Main

	// onListen, if set, is called with the bound address once the server
	// accepts connections (tests listen on port 0).
	onListen func(net.Addr)
}

// Run implements command.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint serve", "glint serve [--listen ADDR] [--data DIR] [--models DIR] [flags]")
	listen := fs.String("listen", c.env("GLINT_LISTEN", "127.0.0.1:8080"), "`address` to listen on (env GLINT_LISTEN)")
	dataDir := fs.String("data", c.env("GLINT_DATA", "./data"), "data `directory`: database and secret pepper (env GLINT_DATA)")
	modelsDir := fs.String("models", c.env("GLINT_MODELS", "./models"), "face model `directory` (env GLINT_MODELS)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate `file` (PEM); serves HTTPS with --tls-key")
	tlsKey := fs.String("tls-key", "", "TLS private key `file` (PEM)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy)")
	trusted := fs.String("trusted-proxy", "", "comma-separated `CIDRs` of proxies whose X-Forwarded-For is trusted")
	keepRefs := fs.Bool("keep-reference-images", false, "store uploaded reference photos with each verification (audit)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
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

	logger := slog.New(slog.NewJSONHandler(c.Stderr, nil))

	engine, err := newEngine(*modelsDir)
	if err != nil {
		return fmt.Errorf("load face engine from %s: %w", *modelsDir, err)
	}

	st, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

	handler, err := api.New(api.Config{
		Store:               st.db,
		Keys:                st.keys,
		Engine:              engine,
		Logger:              logger,
		TrustedProxies:      proxies,
		KeepReferenceImages: *keepRefs,
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

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
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
	logger.Info("serving", "addr", ln.Addr().String(), "scheme", scheme, "data", *dataDir, "models", *modelsDir)
	if c.onListen != nil {
		c.onListen(ln.Addr())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
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
