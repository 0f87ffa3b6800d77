package sdk

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServesEveryFile(t *testing.T) {
	cases := []struct {
		path, ctype, file, contains string
	}{
		{"/sdk/rtcsdk.min.js", "text/javascript; charset=utf-8", "dist/rtcsdk.min.js", "RctVideo"},
		{"/sdk/esm/rtcsdk.js", "text/javascript; charset=utf-8", "dist/esm/rtcsdk.js", "export"},
		{"/sdk/rtcsdk.d.ts", "application/typescript; charset=utf-8", "dist/rtcsdk.d.ts", "export declare class RctVideo"},
		{"/sdk/esm/rtcsdk.d.ts", "application/typescript; charset=utf-8", "dist/esm/rtcsdk.d.ts", "RctVideoOptions"},
		{"/h5/verify", "text/html; charset=utf-8", "h5/verify.html", "<!doctype html>"},
		{"/h5/verify?token=abc", "text/html; charset=utf-8", "h5/verify.html", "video-wrapper"},
		{"/h5/verify.css", "text/css; charset=utf-8", "h5/verify.css", "--flash"},
		{"/h5/verify.js", "text/javascript; charset=utf-8", "h5/verify.js", "RctVideo"},
		{"/h5/icon.svg", "image/svg+xml", "h5/icon.svg", "<svg"},
	}
	for _, c := range cases {
		res := get(t, http.MethodGet, c.path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", c.path, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", c.path)
		}
		if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(res.Header.Get("ETag")) {
			t.Errorf("%s: ETag %q", c.path, res.Header.Get("ETag"))
		}
		if res.Header.Get("Cache-Control") == "" {
			t.Errorf("%s: no Cache-Control", c.path)
		}
		b := body(t, res)
		want, err := files.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if b != string(want) {
			t.Errorf("%s: body is not %s", c.path, c.file)
		}
		if !strings.Contains(b, c.contains) {
			t.Errorf("%s: body lacks %q", c.path, c.contains)
		}
	}
}

func TestETagRevalidation(t *testing.T) {
	for _, p := range []string{"/sdk/rtcsdk.min.js", "/h5/verify"} {
		first := get(t, http.MethodGet, p, nil)
		etag := first.Header.Get("ETag")
		res := get(t, http.MethodGet, p, map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match gave %d, want 304", p, res.StatusCode)
		}
		if b := body(t, res); b != "" {
			t.Errorf("%s: 304 with a body", p)
		}
		res = get(t, http.MethodGet, p, map[string]string{"If-None-Match": `"other"`})
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: stale ETag gave %d", p, res.StatusCode)
		}
	}
	a := get(t, http.MethodGet, "/sdk/rtcsdk.min.js", nil).Header.Get("ETag")
	b := get(t, http.MethodGet, "/sdk/esm/rtcsdk.js", nil).Header.Get("ETag")
	if a == b {
		t.Error("different files share an ETag")
	}
}

func TestHead(t *testing.T) {
	res := get(t, http.MethodHead, "/sdk/rtcsdk.min.js", nil)
	if res.StatusCode != http.StatusOK || body(t, res) != "" {
		t.Errorf("HEAD: status %d", res.StatusCode)
	}
	if res.Header.Get("Content-Length") == "" {
		t.Error("HEAD: no Content-Length")
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	for _, p := range []string{
		"/sdk/", "/sdk/rtcsdk.js", "/sdk/esm/", "/sdk/../h5/verify.js.map", "/h5/", "/h5/index.html",
		"/h5/verify.map", "/sdk/rtcsdk.min.js/", "/h5/dist/rtcsdk.min.js", "/elsewhere",
	} {
		res := get(t, http.MethodGet, p, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		res := get(t, m, "/h5/verify", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: status %d Allow %q", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

func TestPageAliasesRedirect(t *testing.T) {
	for _, p := range []string{"/h5/verify/?token=a%2Bb", "/h5/verify.html?token=a%2Bb"} {
		res := get(t, http.MethodGet, p, nil)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/h5/verify?token=a%2Bb" {
			t.Errorf("%s: %d %q", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

func TestPageSecurityHeaders(t *testing.T) {
	res := get(t, http.MethodGet, "/h5/verify?token=x", nil)
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{
		"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
		"connect-src 'self' wss://example.com ws://example.com", "frame-ancestors 'none'", "base-uri 'none'",
		"form-action 'none'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "data:", "http:", "https:"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q contains %q", csp, bad)
		}
	}
	pp := res.Header.Get("Permissions-Policy")
	if !strings.Contains(pp, "camera=(self)") || !strings.Contains(pp, "microphone=()") {
		t.Errorf("Permissions-Policy %q", pp)
	}
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("the page must not leak its token in Referer")
	}
	if res.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("no X-Frame-Options")
	}
	if res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("page Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the page must not be readable cross-origin")
	}

	sdk := get(t, http.MethodGet, "/sdk/esm/rtcsdk.js", nil)
	if sdk.Header.Get("Access-Control-Allow-Origin") != "*" || sdk.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Error("the ES module must be importable from other origins")
	}
	if sdk.Header.Get("Content-Security-Policy") != "" {
		t.Error("CSP belongs on the page only")
	}
}

func TestCSPHost(t *testing.T) {
	mk := func(host string, tlsOn bool) string {
		r := httptest.NewRequest(http.MethodGet, "/h5/verify", nil)
		r.Host = host
		if tlsOn {
			r.TLS = &tls.ConnectionState{}
		}
		return ContentSecurityPolicy(r)
	}
	if got := mk("Glint.Example.com:8443", true); !strings.Contains(got, "connect-src 'self' wss://glint.example.com:8443;") {
		t.Errorf("TLS host: %q", got)
	}
	if got := mk("[::1]:8080", false); !strings.Contains(got, "wss://[::1]:8080 ws://[::1]:8080;") {
		t.Errorf("IPv6 host: %q", got)
	}
	for _, evil := range []string{"a.com; script-src *", "a.com b.com", "a.com'", "", "a.com/x"} {
		if got := mk(evil, false); !strings.Contains(got, "connect-src 'self';") {
			t.Errorf("host %q reached the CSP: %q", evil, got)
		}
	}
}

// The page must work under its own CSP: no inline scripts, styles or
// handlers, and every local reference served by Handler.
func TestPageIsCSPClean(t *testing.T) {
	html := body(t, get(t, http.MethodGet, "/h5/verify", nil))
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`, `javascript:`, `https?://`} {
		if m := regexp.MustCompile(`(?i)` + re).FindString(html); m != "" {
			t.Errorf("page has %q (matched %s)", m, re)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(refs) < 4 {
		t.Fatalf("found only %d references", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") {
			ref = "/h5/" + ref
		}
		if res := get(t, http.MethodGet, ref, nil); res.StatusCode != http.StatusOK {
			t.Errorf("page references %s: %d", m[1], res.StatusCode)
		}
	}
}
