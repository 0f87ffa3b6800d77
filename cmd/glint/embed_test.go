package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/sdk"
)

// stubAnalyzer is a face engine that finds nothing: enough for serve to
// turn the capture side (and with it the page) on.
type stubAnalyzer struct{}

func (stubAnalyzer) Detect(*face.RGB) []face.Face               { return nil }
func (stubAnalyzer) Track(*face.RGB, face.Rect) face.Face       { return face.Face{} }
func (stubAnalyzer) Embed(*face.RGB, face.Face) face.Descriptor { return face.Descriptor{} }
func (stubAnalyzer) Compare(face.Descriptor, face.Descriptor) (face.Match, error) {
	return face.Match{}, nil
}
func (stubAnalyzer) Thresholds() map[string]float64 { return nil }

// TestPageFraming serves the capture page for tokens of a key with
// --allow-origin and of one without, and with no token: only the first may
// be framed, by its origins alone, and is told them for postMessage. It
// swaps the package's loadModels, so it does not run in parallel.
func TestPageFraming(t *testing.T) {
	old := loadModels
	loadModels = func(string, string) (serveModels, error) {
		return serveModels{references: stubEngine{}, analyzer: stubAnalyzer{}}, nil
	}
	defer func() { loadModels = old }()

	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": dir, "GLINT_LISTEN": "127.0.0.1:0"}
	shop := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "shop",
		"--allow-origin", "https://shop.example,https://m.shop.example:8443"))
	open := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "open"))
	srv := serveInProcess(t, env)

	token := func(k map[string]string) string {
		t.Helper()
		status, tok, msg := getToken(t, srv.base, k["api_key"], k["api_secret"])
		if status != http.StatusOK || tok == "" {
			t.Fatalf("get_token: %d %s", status, msg)
		}
		return tok
	}
	page := func(query string) (http.Header, string) {
		t.Helper()
		resp, err := http.Get(srv.base + sdk.PagePath + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", query, resp.StatusCode)
		}
		return resp.Header, string(b)
	}

	h, body := page("?token=" + url.QueryEscape(token(shop)))
	if csp := h.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; frame-ancestors https://shop.example https://m.shop.example:8443") {
		t.Errorf("key with origins: CSP %q", csp)
	}
	if h.Get("X-Frame-Options") != "" {
		t.Errorf("key with origins: X-Frame-Options %q", h.Get("X-Frame-Options"))
	}
	if !strings.Contains(body, `data-origins="https://shop.example https://m.shop.example:8443"`) {
		t.Errorf("key with origins: the page is not told them")
	}

	for what, query := range map[string]string{
		"key without origins": "?token=" + url.QueryEscape(token(open)),
		"no token":            "",
		"unknown token":       "?token=nosuchtoken",
	} {
		h, body := page(query)
		if csp := h.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", what, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: X-Frame-Options %q", what, h.Get("X-Frame-Options"))
		}
		if strings.Contains(body, "data-origins") {
			t.Errorf("%s: the page names origins", what)
		}
	}

	// A change of the key's origins applies to the next page load.
	mustRun(t, env, "keys", "set", shop["api_key"], "--allow-origin", "https://other.example")
	h, _ = page("?token=" + url.QueryEscape(token(shop)))
	if csp := h.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; frame-ancestors https://other.example") {
		t.Errorf("after keys set --allow-origin: CSP %q", csp)
	}
}
