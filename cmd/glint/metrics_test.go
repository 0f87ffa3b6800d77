package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeMetrics: by default /metrics is served by neither listener;
// --metrics-listen serves it, and nothing else, on a listener of its own;
// --public-metrics serves it beside the API. It swaps the package's
// loadModels, so it does not run in parallel.
func TestServeMetrics(t *testing.T) {
	old := loadModels
	loadModels = stubModels(stubEngine{})
	defer func() { loadModels = old }()

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// metricsBase is the metrics listener's URL from the serve log.
	metricsBase := func(logs string) string {
		for _, line := range strings.Split(logs, "\n") {
			var e struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "serving metrics" {
				return "http://" + e.Addr
			}
		}
		return ""
	}
	env := func() map[string]string {
		return map[string]string{"GLINT_DATA": t.TempDir(), "GLINT_MODELS": "/models/here", "GLINT_LISTEN": "127.0.0.1:0"}
	}

	t.Run("Default", func(t *testing.T) {
		srv := serveInProcess(t, env())
		if status, body := get(srv.base + "/metrics"); status != http.StatusNotFound || !strings.Contains(body, "API_NOT_FOUND") {
			t.Errorf("GET /metrics on the API listener: %d %s, want 404", status, body)
		}
		if m := metricsBase(srv.logs.String()); m != "" {
			t.Errorf("a metrics listener at %s without --metrics-listen", m)
		}
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("OwnListener", func(t *testing.T) {
		srv := serveInProcess(t, env(), "--metrics-listen", "127.0.0.1:0")
		m := metricsBase(srv.logs.String())
		if m == "" {
			t.Fatalf("no metrics listener logged:\n%s", srv.logs.String())
		}
		get(srv.base + "/healthz")
		if status, _ := get(srv.base + "/metrics"); status != http.StatusNotFound {
			t.Errorf("GET /metrics on the API listener: %d, want 404", status)
		}
		status, body := get(m + "/metrics")
		if status != http.StatusOK || !strings.Contains(body, `glint_http_requests_total{code="API_NOT_FOUND",endpoint="unknown",status="404"} 1`) ||
			!strings.Contains(body, "go_goroutines") {
			t.Errorf("GET /metrics on the metrics listener: %d\n%s", status, body)
		}
		for _, p := range []string{"/healthz", "/readyz", "/faceid/lite/raw/get_result", "/"} {
			if status, _ := get(m + p); status != http.StatusNotFound {
				t.Errorf("GET %s on the metrics listener: %d, want 404", p, status)
			}
		}
		if status, _ := get(srv.base + "/healthz"); status != http.StatusOK {
			t.Errorf("GET /healthz on the API listener: %d", status)
		}
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := http.Get(m + "/metrics"); err == nil {
			t.Error("the metrics listener still answers after shutdown")
		}
	})

	t.Run("Public", func(t *testing.T) {
		srv := serveInProcess(t, env(), "--public-metrics")
		if status, body := get(srv.base + "/metrics"); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Errorf("GET /metrics with --public-metrics: %d\n%s", status, body)
		}
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
	})
}
