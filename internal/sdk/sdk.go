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
package sdk

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
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
// under them is 404; methods other than GET and HEAD are 405.
func Handler() http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(serve)
}

// cachePolicy: the SDK and assets are revalidated every few minutes so an
// upgraded server is picked up quickly without versioned URLs; the page is
// revalidated on every load (cheap: 304 by ETag).
const (
	cacheAsset = "public, max-age=600"
	cachePage  = "no-cache"
)

func serve(w http.ResponseWriter, r *http.Request) {
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
	h.Set("ETag", a.etag)
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
		setPageSecurityHeaders(h, r)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// hostRE is what may go into the CSP from the Host header: a DNS name or
// IPv4 address, or a bracketed IPv6 address, with an optional port.
var hostRE = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

func setPageSecurityHeaders(h http.Header, r *http.Request) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy(r))
	h.Set("Permissions-Policy", PermissionsPolicy)
	// The token is in the page URL; nothing may carry it elsewhere.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
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
func ContentSecurityPolicy(r *http.Request) string {
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
		"frame-ancestors 'none'",
	}, "; ")
}
