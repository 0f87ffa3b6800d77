// Package sdk serves Glint's browser SDK and the reference capture page from
// files embedded in the binary:
//
//	/sdk/rtcsdk.min.js   UMD bundle (script tag, require, AMD)
//	/sdk/esm/rtcsdk.js   ES module
//	/sdk/rtcsdk.d.ts     TypeScript declarations (also /sdk/esm/rtcsdk.d.ts)
//	/h5/verify           capture page (?token=…), with /h5/verify.css,
//	                     /h5/verify.js and /h5/icon.svg
//
// The files under dist/ and h5/ are generated from web/ by `make sdk`
// (web/build.mjs) and committed, so `go build` needs no Node.js; a test
// rebuilds them and fails when they are stale.
//
// Mount the handler on both prefixes:
//
//	h := sdk.Handler()
//	mux.Handle(sdk.SDKPrefix, h)
//	mux.Handle(sdk.PagePrefix, h)
//
// The page may not be framed. A server that can tell the origins of the
// token's key mounts HandlerWith instead: a page whose token's key lists
// origins may be framed by them, and is told them (data-origins on its
// <html> element) to post the outcome to them (web/README.md, "Embedding").
package sdk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Path prefixes served by Handler.
const (
	SDKPrefix  = "/sdk/"
	PagePrefix = "/h5/"
)

// PagePath is the capture page; the verification token goes in its query.
const PagePath = "/h5/verify"

//go:embed dist h5
var files embed.FS

type kind int

const (
	kindSDK   kind = iota // loaded by other origins' pages
	kindPage              // the HTML document
	kindAsset             // the page's own CSS/JS/icon
)

type asset struct {
	file  string
	ctype string
	kind  kind
	body  []byte
	etag  string
}

// ctypeTS is the media type of TypeScript declarations (no registered one;
// what TypeScript tooling and Deno recognise).
const ctypeTS = "application/typescript; charset=utf-8"

// routes maps URL paths to embedded files.
var routes = map[string]*asset{
	"/sdk/rtcsdk.min.js":   {file: "dist/rtcsdk.min.js", ctype: "text/javascript; charset=utf-8", kind: kindSDK},
	"/sdk/esm/rtcsdk.js":   {file: "dist/esm/rtcsdk.js", ctype: "text/javascript; charset=utf-8", kind: kindSDK},
	"/sdk/rtcsdk.d.ts":     {file: "dist/rtcsdk.d.ts", ctype: ctypeTS, kind: kindSDK},
	"/sdk/esm/rtcsdk.d.ts": {file: "dist/esm/rtcsdk.d.ts", ctype: ctypeTS, kind: kindSDK},
	PagePath:               {file: "h5/verify.html", ctype: "text/html; charset=utf-8", kind: kindPage},
	"/h5/verify.css":       {file: "h5/verify.css", ctype: "text/css; charset=utf-8", kind: kindAsset},
	"/h5/verify.js":        {file: "h5/verify.js", ctype: "text/javascript; charset=utf-8", kind: kindAsset},
	"/h5/icon.svg":         {file: "h5/icon.svg", ctype: "image/svg+xml", kind: kindAsset},
}

var loadOnce sync.Once

func load() {
	for _, a := range routes {
		b, err := files.ReadFile(a.file)
		if err != nil {
			// The embed directive guarantees the files; a missing one is a
			// broken build, not a runtime condition.
			panic("sdk: embedded file missing: " + a.file)
		}
		sum := sha256.Sum256(b)
		a.body = b
		a.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	}
}

// Handler returns the handler for SDKPrefix and PagePrefix. Any other path
// under them is 404; methods other than GET and HEAD are 405. Its page
// may not be framed by any origin.
func Handler() http.Handler { return HandlerWith(nil) }

// EmbedOrigins returns the origins that may embed the capture page opened
// with token (the ?token= of its URL): frame it, and receive its outcome
// by postMessage. It is the token's key's allowed origins; nil for an
// unknown or empty token, or a key that lists none.
type EmbedOrigins func(ctx context.Context, token string) []string

// HandlerWith is Handler, with the page's embedding origins looked up by
// origins (nil: none, as Handler). Only origins of the form
// scheme://host[:port] (http or https, lower case) are used; others are
// dropped, so nothing from the store can widen the policy.
func HandlerWith(origins EmbedOrigins) http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, origins) })
}

// maxTokenLen bounds the ?token= looked up for the page: get_token's tokens
// are far shorter, and nothing longer is worth a database query.
const maxTokenLen = 128

// originRE is what may go into frame-ancestors and data-origins: an origin
// as `glint keys create --allow-origin` stores it.
var originRE = regexp.MustCompile(`^https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$`)

// pageOrigins returns the embedding origins of r's token, filtered by
// originRE.
func pageOrigins(r *http.Request, origins EmbedOrigins) []string {
	if origins == nil {
		return nil
	}
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > maxTokenLen {
		return nil
	}
	var out []string
	for _, o := range origins(r.Context(), token) {
		if originRE.MatchString(o) {
			out = append(out, o)
		}
	}
	return out
}

// withOrigins returns the page with data-origins (space-separated) on its
// <html> element, and its ETag.
func withOrigins(page []byte, origins []string) ([]byte, string) {
	attr := []byte(`<html data-origins="` + html.EscapeString(strings.Join(origins, " ")) + `" `)
	b := bytes.Replace(page, []byte("<html "), attr, 1)
	sum := sha256.Sum256(b)
	return b, `"` + hex.EncodeToString(sum[:12]) + `"`
}

// cachePolicy: the SDK and assets are revalidated every few minutes so an
// upgraded server is picked up quickly without versioned URLs; the page is
// revalidated on every load (cheap: 304 by ETag).
const (
	cacheAsset = "public, max-age=600"
	cachePage  = "no-cache"
)

func serve(w http.ResponseWriter, r *http.Request, origins EmbedOrigins) {
	p := r.URL.Path
	if p == PagePath+"/" || p == PagePath+".html" {
		// Relative asset URLs only resolve from the canonical path.
		target := PagePath
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	a, ok := routes[p]
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", a.ctype)
	body, etag := a.body, a.etag
	switch a.kind {
	case kindSDK:
		h.Set("Cache-Control", cacheAsset)
		// Businesses load the SDK from their own origins; the ES module
		// needs CORS for that, and COEP pages need CORP.
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	case kindAsset:
		h.Set("Cache-Control", cacheAsset)
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
	case kindPage:
		h.Set("Cache-Control", cachePage)
		embedders := pageOrigins(r, origins)
		if len(embedders) > 0 {
			body, etag = withOrigins(body, embedders)
		}
		setPageSecurityHeaders(h, r, embedders)
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// hostRE is what may go into the CSP from the Host header: a DNS name or
// IPv4 address, or a bracketed IPv6 address, with an optional port.
var hostRE = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// setPageSecurityHeaders sets the page's headers; embedders are the
// origins that may frame it and open it (none: no one).
func setPageSecurityHeaders(h http.Header, r *http.Request, embedders []string) {
	h.Set("Content-Security-Policy", pagePolicy(r, embedders))
	h.Set("Permissions-Policy", PermissionsPolicy)
	// The token is in the page URL; nothing may carry it elsewhere.
	h.Set("Referrer-Policy", "no-referrer")
	if len(embedders) == 0 {
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
	} else {
		// X-Frame-Options cannot name origins; frame-ancestors does. A
		// page opened by window.open keeps its opener (to post the
		// outcome to) only without an isolating opener policy.
		h.Set("Cross-Origin-Opener-Policy", "unsafe-none")
	}
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// PermissionsPolicy lets the capture page use the camera and keep the
// screen awake, and nothing else.
const PermissionsPolicy = "camera=(self), screen-wake-lock=(self), microphone=(), geolocation=(), " +
	"payment=(), usb=(), serial=(), bluetooth=(), hid=(), display-capture=(), fullscreen=()"

// ContentSecurityPolicy is the capture page's policy: its own scripts,
// styles and images only, and WebSocket connections back to its own host.
// 'self' covers same-host ws:/wss: in current browsers; the explicit
// sources are for older WebKit, which does not match them.
// It forbids framing; see HandlerWith for pages that may be framed.
func ContentSecurityPolicy(r *http.Request) string { return pagePolicy(r, nil) }

// pagePolicy is ContentSecurityPolicy, with framing allowed to embedders
// (already checked against originRE) if there are any.
func pagePolicy(r *http.Request, embedders []string) string {
	ancestors := "'none'"
	if len(embedders) > 0 {
		ancestors = strings.Join(embedders, " ")
	}
	connect := "'self'"
	if hostRE.MatchString(r.Host) {
		host := strings.ToLower(r.Host)
		connect += " wss://" + host
		if r.TLS == nil {
			connect += " ws://" + host
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src " + connect,
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors " + ancestors,
	}, "; ")
}
