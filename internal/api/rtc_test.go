package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store"
)

// seeded is a reproducible byte stream: the manager draws its challenges
// from one, the test predicts them from a twin.
type seeded struct{ r *rand.Rand }

func newSeeded(seed uint64) *seeded { return &seeded{rand.New(rand.NewPCG(seed, 5))} }

func (s *seeded) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(s.r.Uint32())
	}
	return len(b), nil
}

// captureEnv is an env with the capture side on, over the fake analyzer.
type captureEnv struct {
	*env
	an      *sessiontest.Analyzer
	predict *seeded
}

func newCaptureEnv(tb testing.TB, tweak func(*api.CaptureConfig)) *captureEnv {
	tb.Helper()
	an := sessiontest.NewAnalyzer()
	e := newEnv(tb, nil, func(cfg *api.Config) {
		m, err := session.NewManager(session.Config{Store: sqliteStore(cfg), Analyzer: an, Rand: newSeeded(7), Logger: cfg.Logger})
		if err != nil {
			tb.Fatal(err)
		}
		cc := &api.CaptureConfig{Sessions: m}
		if tweak != nil {
			tweak(cc)
		}
		cfg.Capture = cc
	})
	return &captureEnv{env: e, an: an, predict: newSeeded(7)}
}

var captureTokens atomic.Int64

// captureToken stores a verification for keyID whose reference is the
// fake analyzer's person 0.
func (e *captureEnv) captureToken(keyID string, maxUploads int) string {
	e.t.Helper()
	now := time.Now()
	tok := "cap-" + strings.ReplaceAll(e.t.Name(), "/", "-") + "-" + time.Duration(captureTokens.Add(1)).String()
	v := &store.Verification{
		Token: tok, KeyID: keyID, UUID: "u", ColorNumber: 6, LivenessPreferences: "none",
		Language: "1", ProcedureType: "raw_flash", ComparisonType: "0", MaxUploadTimes: maxUploads,
		LifeTime: time.Hour, Status: store.StatusNotStarted, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		Refs: []store.Reference{{Index: 1, Model: sessiontest.Model, Embedding: sessiontest.Identity(0), Crop: []byte{1}}},
	}
	if err := e.db.CreateVerification(context.Background(), v); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// rendered is a simulator sequence encoded as JPEG frames the fake
// analyzer knows.
type rendered struct {
	seq      flashsim.Sequence
	jpegs    [][]byte
	baseline []int
}

func (e *captureEnv) render(species string, ch liveness.Challenge, seed uint64) *rendered {
	e.t.Helper()
	subs := sessiontest.Subjects(e.t)
	seq, err := flashsim.Render(rand.New(rand.NewPCG(seed, 1)), species, ch, subs[0], subs[1])
	if err != nil {
		e.t.Fatal(err)
	}
	r := &rendered{seq: seq}
	for i, f := range seq.Frames {
		r.jpegs = append(r.jpegs, e.an.EncodeFrame(e.t, f.Img, []face.Face{*f.Face}, sessiontest.Identity(0)))
		if f.T.Before(seq.Shown[0].Add(-50 * time.Millisecond)) {
			r.baseline = append(r.baseline, i)
		}
	}
	return r
}

// rtcClient speaks the channel's protocol as the SDK does.
type rtcClient struct {
	t       testing.TB
	ws      *websocket.Conn
	msgs    chan map[string]any
	err     error // set when msgs closes
	counter uint32
}

func (e *captureEnv) dial(path string, opts *websocket.DialOptions) (*rtcClient, *http.Response, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + path
	ws, resp, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(1 << 20)
	c := &rtcClient{t: e.t, ws: ws, msgs: make(chan map[string]any, 256)}
	go func() {
		defer close(c.msgs)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				c.err = err
				return
			}
			c.msgs <- m
		}
	}()
	e.t.Cleanup(func() { ws.CloseNow() })
	return c, resp, nil
}

func (c *rtcClient) sendJSON(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// sendFrame sends a binary frame as the SDK encodes it.
func (c *rtcClient) sendFrame(kind, colour int, captureMs float64, jpegData []byte) {
	c.t.Helper()
	c.counter++
	b := make([]byte, 16, 16+len(jpegData))
	b[0], b[1] = 1, byte(kind)
	binary.LittleEndian.PutUint16(b[2:], uint16(colour))
	binary.LittleEndian.PutUint32(b[4:], c.counter)
	binary.LittleEndian.PutUint64(b[8:], math.Float64bits(captureMs))
	b = append(b, jpegData...)
	if err := c.ws.Write(context.Background(), websocket.MessageBinary, b); err != nil {
		c.t.Fatal(err)
	}
}

// next waits up to d for a message; false when none came or the
// connection ended.
func (c *rtcClient) next(d time.Duration) (map[string]any, bool) {
	select {
	case m, ok := <-c.msgs:
		return m, ok
	case <-time.After(d):
		return nil, false
	}
}

// closed waits for the connection to end and returns its close status.
func (c *rtcClient) closed(d time.Duration) websocket.StatusCode {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				return websocket.CloseStatus(c.err)
			}
		case <-deadline:
			c.t.Fatal("connection still open")
		}
	}
}

// hello opens the channel as the SDK does: hello, then its report on a
// front camera in a browser that raises no injection signal.
func (c *rtcClient) hello(token string) {
	c.sendJSON(map[string]any{"type": "hello", "token": token, "sdk_version": "test", "ua": "go", "screen": map[string]any{"w": 390, "h": 844, "dpr": 3}})
	// The server may have refused the hello and closed already: a failed
	// write of the report is that refusal's business, which the caller
	// checks.
	b, _ := json.Marshal(map[string]any{"type": "env", "webdriver": false, "media_patched": false,
		"track": map[string]any{"label": "camera2 1, facing front", "source": "camera", "device_id": true, "facing_mode": "user"}})
	c.ws.Write(context.Background(), websocket.MessageText, b)
}

func nowMs() float64 { return float64(time.Now().UnixNano()) / 1e6 }

func msOf(t time.Time) float64 { return float64(t.UnixNano()) / 1e6 }

func num(m map[string]any, k string) int { f, _ := m[k].(float64); return int(f) }

// play runs one verification in real time: previews at the rate the
// server asks until the first colour, then the rendered frames at their
// own pace, each colour acknowledged as the sequence painted it. It
// returns every message received up to the result.
func (c *rtcClient) play(r *rendered) (msgs []map[string]any, result map[string]any) {
	c.t.Helper()
	start := time.Now()
	period := 200 * time.Millisecond
	var firstAt time.Time
	var first map[string]any
	take := func(m map[string]any) {
		msgs = append(msgs, m)
		switch m["type"] {
		case "config":
			if cp, ok := m["capture"].(map[string]any); ok {
				if fps, _ := cp["preview_fps"].(float64); fps > 0 {
					period = time.Duration(float64(time.Second) / fps)
				}
			}
		case "result":
			result = m
		}
	}
	for k := 0; first == nil; k++ {
		if time.Since(start) > 15*time.Second {
			c.t.Fatalf("no first colour; messages %v", msgs)
		}
		c.sendFrame(session.KindPreview, 0, nowMs(), r.jpegs[r.baseline[k%len(r.baseline)]])
		deadline := time.Now().Add(period)
		for first == nil {
			m, ok := c.next(time.Until(deadline))
			if !ok {
				break
			}
			take(m)
			if m["type"] == "color" && m["status"] == "COLORING" && num(m, "index") == 1 {
				first, firstAt = m, time.Now()
			}
		}
	}
	lastSent := msOf(firstAt)
	shift := firstAt.Add(16 * time.Millisecond).Sub(r.seq.Shown[0])
	ack := func(m map[string]any) {
		if m["type"] == "color" && m["status"] == "COLORING" {
			i := num(m, "index")
			c.sendJSON(map[string]any{"type": "shown", "seq_id": m["seq_id"], "index": i, "t_client_ms": msOf(r.seq.Shown[i-1].Add(shift))})
		}
	}
	ack(first)
	for i, f := range r.seq.Frames {
		capture := f.T.Add(shift)
		if msOf(capture) <= lastSent {
			continue
		}
		time.Sleep(time.Until(capture))
		for drained := false; !drained && result == nil; {
			select {
			case m, ok := <-c.msgs:
				if !ok {
					return msgs, result
				}
				take(m)
				ack(m)
			default:
				drained = true
			}
		}
		if result != nil {
			break
		}
		colour := 0
		for j, sh := range r.seq.Shown {
			if !f.T.Before(sh) {
				colour = j + 1
			}
		}
		c.sendFrame(session.KindFlash, colour, msOf(capture), r.jpegs[i])
	}
	for result == nil {
		m, ok := c.next(10 * time.Second)
		if !ok {
			c.t.Fatalf("no result; messages %v", msgs)
		}
		take(m)
		ack(m)
	}
	return msgs, result
}

func TestRTCVerification(t *testing.T) {
	e := newCaptureEnv(t, nil)
	tok := e.captureToken(e.key, 3)
	r := e.render(flashsim.Genuine, liveness.NewChallenge(e.predict, 6), 11)
	c, _, err := e.dial("/faceid/lite/raw/rtc", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.hello(tok)
	cfg, ok := c.next(5 * time.Second)
	if !ok || cfg["type"] != "config" || cfg["language"] != "1" || num(cfg, "color_number") != 6 ||
		num(cfg, "attempt") != 1 || num(cfg, "max_upload_times") != 3 {
		t.Fatalf("first message %v", cfg)
	}
	msgs, res := c.play(r)
	if res["success"] != true || res["code"] != "SUCCESS" || num(res, "attempt") != 1 || num(res, "remaining") != 2 {
		t.Fatalf("result %v", res)
	}
	if !strings.ContainsRune(res["message"].(string), '完') {
		t.Errorf("result message %q is not in the token's language (Chinese)", res["message"])
	}
	for {
		m, ok := c.next(5 * time.Second)
		if !ok {
			break
		}
		msgs = append(msgs, m)
	}
	var statuses []string
	for _, m := range msgs {
		if m["type"] == "status" {
			statuses = append(statuses, m["code"].(string))
		}
	}
	if want := "MIRROR FLASHING EVALUATING FINISHED"; strings.Join(statuses, " ") != want {
		t.Errorf("statuses %v, want %s", statuses, want)
	}
	if code := websocket.CloseStatus(c.err); code != websocket.StatusNormalClosure {
		t.Errorf("close status %d", code)
	}
	got, err := e.db.Result(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusOK || got.Attempts != 1 || got.Liveness.Result != store.LivenessPass ||
		got.Verify == nil || got.Verify.Refs[0].Confidence < 99 || len(got.Images) == 0 {
		t.Fatalf("stored %+v", got)
	}

	// The token is finished: a new connection is refused with 4010.
	c2, _, err := e.dial("/faceid/lite/raw/rtc", nil)
	if err != nil {
		t.Fatal(err)
	}
	c2.hello(tok)
	if m, ok := c2.next(5 * time.Second); !ok || m["type"] != "error" || m["code"] != "TOKEN_FINISHED" {
		t.Fatalf("got %v", m)
	}
	if code := c2.closed(5 * time.Second); code != 4010 {
		t.Fatalf("close status %d, want 4010", code)
	}
}

func TestRTCRefusals(t *testing.T) {
	e := newCaptureEnv(t, func(c *api.CaptureConfig) { c.SDKHost = "rtc.example" })
	shopKey, _ := e.newKey(auth.KeyOptions{Name: "shop", AllowedOrigins: []string{"https://shop.example"}})
	tok := e.captureToken(shopKey, 3)

	for _, tc := range []struct {
		name, origin, token string
		code                websocket.StatusCode
		errCode             string
	}{
		{"unknown token", "", "nope", 4003, "TOKEN_INVALID"},
		{"foreign origin", "https://evil.example", tok, 4003, "TOKEN_INVALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, _, err := e.dial("/faceid/lite/raw/rtc", &websocket.DialOptions{HTTPHeader: h})
			if err != nil {
				t.Fatal(err)
			}
			c.hello(tc.token)
			if m, ok := c.next(5 * time.Second); !ok || m["type"] != "error" || m["code"] != tc.errCode {
				t.Fatalf("got %v, want error %s", m, tc.errCode)
			}
			if code := c.closed(5 * time.Second); code != tc.code {
				t.Fatalf("close status %d, want %d", code, tc.code)
			}
		})
	}

	t.Run("allowed origin at the SDK host", func(t *testing.T) {
		h := http.Header{"Origin": {"https://shop.example"}}
		c, _, err := e.dial("/", &websocket.DialOptions{HTTPHeader: h, Host: "rtc.example"})
		if err != nil {
			t.Fatal(err)
		}
		c.hello(tok)
		if m, ok := c.next(5 * time.Second); !ok || m["type"] != "config" {
			t.Fatalf("got %v, want config", m)
		}
	})

	t.Run("bad hello", func(t *testing.T) {
		c, _, err := e.dial("/faceid/lite/raw/rtc", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.sendJSON(map[string]any{"type": "shown", "seq_id": "x", "index": 1, "t_client_ms": 1})
		if code := c.closed(5 * time.Second); code != 4001 {
			t.Fatalf("close status %d, want 4001", code)
		}
	})

	t.Run("other hosts' root is not the channel", func(t *testing.T) {
		resp, err := http.Get(e.srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET / = %d, want 404", resp.StatusCode)
		}
	})
}

func TestRTCRateLimit(t *testing.T) {
	e := newCaptureEnv(t, func(c *api.CaptureConfig) { c.ConnBurst, c.ConnRate = 2, 0.001 })
	for i := range 3 {
		c, resp, err := e.dial("/faceid/lite/raw/rtc", nil)
		if i < 2 {
			if err != nil {
				t.Fatalf("connection %d: %v", i+1, err)
			}
			c.ws.CloseNow()
			continue
		}
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("third connection: %v (%v), want 429", err, resp)
		}
	}
}

func TestRTCFrameRateCap(t *testing.T) {
	e := newCaptureEnv(t, func(c *api.CaptureConfig) { c.MaxFPS, c.FPSBurst = 1, 2 })
	tok := e.captureToken(e.key, 3)
	c, _, err := e.dial("/faceid/lite/raw/rtc", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.hello(tok)
	if m, ok := c.next(5 * time.Second); !ok || m["type"] != "config" {
		t.Fatalf("got %v", m)
	}
	c.next(time.Second) // status MIRROR
	// A burst of faceless frames: only the first two are looked at, so
	// only one tip comes back (the next would need a changed verdict).
	var b bytes.Buffer
	jpeg.Encode(&b, face.NewRGB(64, 64).RGBA(), nil)
	for range 20 {
		c.sendFrame(session.KindPreview, 0, nowMs(), b.Bytes())
	}
	time.Sleep(300 * time.Millisecond)
	if m, ok := c.next(2 * time.Second); !ok || m["type"] != "tip" || m["code"] != "NoFaceFound" {
		t.Fatalf("got %v", m)
	}
	if got := e.an.DetectCalls.Load(); got > 2 {
		t.Fatalf("%d frames analysed out of a burst of 20 with a burst allowance of 2", got)
	}
}
