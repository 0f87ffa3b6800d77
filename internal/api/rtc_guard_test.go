package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/session"
	"github.com/glint-id/glint/internal/session/sessiontest"
)

// newProxiedCaptureEnv is newCaptureEnv behind a trusted proxy on
// loopback, so that a test names each connection's client address in
// X-Forwarded-For.
func newProxiedCaptureEnv(tb testing.TB, tweak func(*api.CaptureConfig)) *captureEnv {
	tb.Helper()
	an := sessiontest.NewAnalyzer()
	e := newEnv(tb, nil, func(cfg *api.Config) {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		m, err := session.NewManager(session.Config{Store: sqliteStore(cfg), Analyzer: an, Rand: newSeeded(7), Logger: cfg.Logger})
		if err != nil {
			tb.Fatal(err)
		}
		cc := &api.CaptureConfig{Sessions: m}
		tweak(cc)
		cfg.Capture = cc
	})
	return &captureEnv{env: e, an: an, predict: newSeeded(7)}
}

func from(addr string) *websocket.DialOptions {
	return &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {addr}}}
}

// TestRTCRateLimitPerNetwork: an IPv6 client's /64 shares one bucket of
// new connections, whatever address in it each connection comes from.
func TestRTCRateLimitPerNetwork(t *testing.T) {
	e := newProxiedCaptureEnv(t, func(c *api.CaptureConfig) { c.ConnBurst, c.ConnRate = 2, 0.001 })
	for _, tc := range []struct {
		addr string
		want int
	}{
		{"2001:db8:1:2::1", http.StatusSwitchingProtocols},
		{"2001:db8:1:2:aaaa::2", http.StatusSwitchingProtocols},
		{"2001:db8:1:2:bbbb:cccc:dddd:3", http.StatusTooManyRequests},
		{"2001:db8:1:3::1", http.StatusSwitchingProtocols},
		{"192.0.2.1", http.StatusSwitchingProtocols},
		{"::ffff:192.0.2.1", http.StatusSwitchingProtocols},
		{"192.0.2.1", http.StatusTooManyRequests},
	} {
		c, resp, err := e.dial("/faceid/lite/raw/rtc", from(tc.addr))
		if resp == nil || resp.StatusCode != tc.want {
			t.Fatalf("connection from %s: %v (%v), want %d", tc.addr, err, resp, tc.want)
		}
		if c != nil {
			c.ws.CloseNow()
		}
	}
}

// TestRTCMaxConns: past MaxConns live connections, the upgrade is refused
// with 503 and Retry-After, from any address; a closed connection frees
// its place.
func TestRTCMaxConns(t *testing.T) {
	e := newProxiedCaptureEnv(t, func(c *api.CaptureConfig) { c.MaxConns, c.ConnBurst = 2, 100 })
	var open []*rtcClient
	for i, addr := range []string{"192.0.2.1", "192.0.2.2"} {
		c, _, err := e.dial("/faceid/lite/raw/rtc", from(addr))
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		open = append(open, c)
	}
	_, resp, err := e.dial("/faceid/lite/raw/rtc", from("192.0.2.3"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("connection over the cap: %v (%v), want 503 with Retry-After", err, resp)
	}

	open[0].ws.CloseNow()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, resp, err := e.dial("/faceid/lite/raw/rtc", from("192.0.2.3"))
		if err == nil {
			c.ws.CloseNow()
			break
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after a connection closed: %v (%v)", err, resp)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendText writes a text message, ignoring a failure (the server may have
// closed the connection by then).
func (c *rtcClient) sendText(s string) {
	c.ws.Write(context.Background(), websocket.MessageText, []byte(s))
}

// openSession says hello and reads up to the mirror stage.
func openSession(t *testing.T, e *captureEnv) *rtcClient {
	t.Helper()
	tok := e.captureToken(e.key, 3)
	c, _, err := e.dial("/faceid/lite/raw/rtc", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.hello(tok) // two text messages
	for _, want := range []string{"config", "status"} {
		if m, ok := c.next(5 * time.Second); !ok || m["type"] != want {
			t.Fatalf("got %v, want %s", m, want)
		}
	}
	return c
}

// TestRTCTextRate: text messages over a connection's rate are dropped
// unread.
func TestRTCTextRate(t *testing.T) {
	e := newCaptureEnv(t, func(c *api.CaptureConfig) { c.TextRate, c.TextBurst = 1, 3 })
	c := openSession(t, e)
	c.sendText(`{"type":"later-sdk-message"}`) // the burst's last
	c.sendText(`{"type":"cancel"}`)            // over the rate: dropped
	select {
	case m, ok := <-c.msgs:
		if !ok {
			t.Fatalf("the connection closed (%v): a cancel over the rate was read", c.err)
		}
		t.Fatalf("unexpected message %v", m)
	case <-time.After(500 * time.Millisecond):
	}
	time.Sleep(time.Second) // a message's worth of rate
	c.sendText(`{"type":"cancel"}`)
	if code := c.closed(5 * time.Second); code != websocket.StatusNormalClosure {
		t.Fatalf("close status %d after a cancel within the rate, want 1000", code)
	}
}

// TestRTCTextFlood: a connection that keeps sending text messages over
// its rate is closed with 1008.
func TestRTCTextFlood(t *testing.T) {
	e := newCaptureEnv(t, func(c *api.CaptureConfig) { c.TextRate, c.TextBurst = 1, 3 })
	c := openSession(t, e)
	for range 60 {
		c.sendText(`{"type":"later-sdk-message"}`)
	}
	if code := c.closed(15 * time.Second); code != websocket.StatusPolicyViolation {
		t.Fatalf("close status %d after a flood of text messages, want 1008", code)
	}
}

// TestMetricsListener: /metrics is not on the API's handler unless
// PublicMetrics says so; Metrics().Mux serves it, and nothing else, for a
// listener of its own.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	get := func(base, path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, body := get(e.srv.URL, "/metrics"); status != http.StatusNotFound || string(body) != `{"error_message":"API_NOT_FOUND"}` {
		t.Errorf("GET /metrics on the API: %d %s, want the API's 404", status, body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if status, _ := get(e.srv.URL, p); status != http.StatusOK {
			t.Errorf("GET %s on the API: %d", p, status)
		}
	}

	m := httptest.NewServer(e.h.Metrics().Mux())
	defer m.Close()
	status, body := get(m.URL, "/metrics")
	if status != http.StatusOK || !bytes.Contains(body, []byte(`glint_http_requests_total{code="API_NOT_FOUND",endpoint="unknown",status="404"} 1`)) {
		t.Errorf("GET /metrics on the metrics listener: %d\n%s", status, body)
	}
	for _, p := range []string{"/healthz", "/faceid/lite/raw/get_result", "/"} {
		if status, _ := get(m.URL, p); status != http.StatusNotFound {
			t.Errorf("GET %s on the metrics listener: %d, want 404", p, status)
		}
	}
}
