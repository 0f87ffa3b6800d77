package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/store"
)

// postMultipart posts fields (name → value) and frame parts to path.
func (e *captureEnv) postMultipart(path string, fields map[string]string, frames []uploadFrame) reply {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, f := range frames {
		w, err := mw.CreateFormFile("frames", f.name)
		if err != nil {
			e.t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	req, err := http.NewRequest("POST", e.srv.URL+path, &b)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.do(req)
}

type uploadFrame struct {
	name string
	data []byte
}

// challengeOf rebuilds the challenge start_flash described.
func challengeOf(t *testing.T, r reply) liveness.Challenge {
	t.Helper()
	ch := liveness.Challenge{SeqID: r.str("seq_id")}
	colors, _ := r.fields["colors"].([]any)
	holds, _ := r.fields["hold_ms"].([]any)
	if len(colors) == 0 || len(colors) != len(holds) {
		t.Fatalf("start_flash reply %s", r.raw)
	}
	for i, c := range colors {
		found := false
		for _, p := range liveness.Palette {
			if p.Hex() == c {
				ch.Colors = append(ch.Colors, p)
				found = true
			}
		}
		if !found {
			t.Fatalf("colour %v is not in the palette", c)
		}
		ch.Holds = append(ch.Holds, time.Duration(holds[i].(float64))*time.Millisecond)
	}
	return ch
}

// upload encodes a rendered sequence as validate_flash fields: frame
// times in ms from the first frame, in the file names.
func upload(r *rendered) ([]uploadFrame, string) {
	origin := r.seq.Frames[0].T
	ms := func(t time.Time) float64 { return float64(t.Sub(origin)) / float64(time.Millisecond) }
	var frames []uploadFrame
	for i, f := range r.seq.Frames {
		frames = append(frames, uploadFrame{fmt.Sprintf("%.3f.jpg", ms(f.T)), r.jpegs[i]})
	}
	var tl []map[string]any
	for i, s := range r.seq.Shown {
		tl = append(tl, map[string]any{"index": i + 1, "t_ms": ms(s)})
	}
	b, _ := json.Marshal(tl)
	return frames, string(b)
}

// allowUpload sets the key's upload-fallback opt-in.
func (e *captureEnv) allowUpload(keyID string, on bool) {
	e.t.Helper()
	ctx := context.Background()
	k, err := e.db.Key(ctx, keyID)
	if err != nil {
		e.t.Fatal(err)
	}
	k.AllowUploadFallback = on
	if err := e.db.UpdateKey(ctx, k); err != nil {
		e.t.Fatal(err)
	}
}

func TestFlashFallback(t *testing.T) {
	e := newCaptureEnv(t, nil)
	tok := e.captureToken(e.key, 2)

	// Off by default: FaceID's refusal for an API the key has no right
	// to, and nothing about the token changes.
	denied := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	if denied.status != http.StatusForbidden || denied.str("error_message") != "AUTHORIZATION_ERROR:DENIED" {
		t.Fatalf("start_flash without the opt-in: %d %s", denied.status, denied.raw)
	}
	if v, _ := e.db.Verification(context.Background(), tok); v.Attempts != 0 || v.Status != store.StatusNotStarted {
		t.Fatalf("a refused start_flash changed the record: %+v", v)
	}
	e.allowUpload(e.key, true)

	start := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	if start.status != http.StatusOK || start.str("request_id") == "" || start.fields["attempt"] != 1.0 || start.fields["max_upload_times"] != 2.0 {
		t.Fatalf("start_flash: %d %s", start.status, start.raw)
	}
	ch := challengeOf(t, start)
	if len(ch.Colors) != 6 {
		t.Fatalf("%d colours", len(ch.Colors))
	}
	r := e.render(flashsim.Genuine, ch, 21)
	frames, timeline := upload(r)
	fields := map[string]string{"token": tok, "seq_id": ch.SeqID, "timeline": timeline}

	res := e.postMultipart("/faceid/lite/raw/validate_flash", fields, frames)
	if res.status != http.StatusOK || res.fields["success"] != true || res.str("status") != "OK" ||
		res.fields["attempt"] != 1.0 || res.fields["remaining"] != 1.0 {
		t.Fatalf("validate_flash: %d %s", res.status, res.raw)
	}
	got, err := e.db.Result(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusOK || got.Liveness.Result != store.LivenessPassUpload || got.Liveness.Transport != store.TransportUpload ||
		got.Verify == nil || len(got.Images) == 0 {
		t.Fatalf("stored %+v", got)
	}

	// The verification is over: its sequence cannot be sent again.
	again := e.postMultipart("/faceid/lite/raw/validate_flash", fields, frames)
	if again.status != http.StatusBadRequest || again.str("error_message") != "INVALID_TOKEN" {
		t.Fatalf("reused seq_id: %d %s", again.status, again.raw)
	}
	// The verification is over.
	over := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	if over.status != http.StatusBadRequest || over.str("error_message") != "INVALID_TOKEN" {
		t.Fatalf("start_flash on a finished token: %d %s", over.status, over.raw)
	}
	// Calls that carry only a token write no ledger rows: anyone with the
	// token can make them. The one billable verification is there.
	counts, err := e.db.Usage(context.Background(), e.key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.Endpoint == "start_flash" || c.Endpoint == "validate_flash" {
			t.Errorf("ledger row for a token-only call: %+v", c)
		}
	}
	if len(counts) != 1 || counts[0].Endpoint != store.BillableEndpoint || counts[0].Count != 1 {
		t.Errorf("ledger %+v, want the one billable verification", counts)
	}
}

// The fallback's rate limits: per token, then per client address, each
// answered with CONCURRENCY_LIMIT_EXCEEDED and a Retry-After, before the
// store is asked anything.
func TestFlashRateLimits(t *testing.T) {
	e := newCaptureEnv(t, func(c *api.CaptureConfig) {
		c.FlashTokenRate, c.FlashTokenBurst = 0.001, 2
		c.FlashRate, c.FlashBurst = 0.001, 5
	})
	e.allowUpload(e.key, true)
	tok := e.captureToken(e.key, 5)
	start := func(tok string) reply {
		return e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	}
	for i := range 2 {
		if r := start(tok); r.status != http.StatusOK {
			t.Fatalf("start_flash %d: %d %s", i+1, r.status, r.raw)
		}
	}
	r := start(tok)
	if r.status != http.StatusForbidden || r.str("error_message") != "CONCURRENCY_LIMIT_EXCEEDED" || r.header.Get("Retry-After") == "" {
		t.Fatalf("third call of one token: %d %s (Retry-After %q)", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if v, _ := e.db.Verification(context.Background(), tok); v.Attempts != 2 {
		t.Fatalf("attempts %d after a refused start_flash, want 2", v.Attempts)
	}
	// Other tokens from the same address: the address's burst of 5 was
	// three calls in; two more pass, then none, whatever the token.
	other := e.captureToken(e.key, 5)
	for i := range 2 {
		if r := start(other); r.status != http.StatusOK {
			t.Fatalf("another token, call %d: %d %s", i+1, r.status, r.raw)
		}
	}
	if r := start(e.captureToken(e.key, 5)); r.status != http.StatusForbidden || r.str("error_message") != "CONCURRENCY_LIMIT_EXCEEDED" {
		t.Fatalf("past the address's burst: %d %s", r.status, r.raw)
	}
	up := e.postMultipart("/faceid/lite/raw/validate_flash", map[string]string{"token": other, "seq_id": "x", "timeline": "[]"}, nil)
	if up.str("error_message") != "CONCURRENCY_LIMIT_EXCEEDED" {
		t.Fatalf("validate_flash past the address's burst: %d %s", up.status, up.raw)
	}
}

// The attempts begun from one address, over every token, are capped.
func TestFlashAttemptsPerAddress(t *testing.T) {
	e := newCaptureEnv(t, func(c *api.CaptureConfig) {
		c.AttemptRate, c.AttemptBurst = 0.001, 3
	})
	e.allowUpload(e.key, true)
	for i := range 3 {
		tok := e.captureToken(e.key, 2)
		if r := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil); r.status != http.StatusOK {
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.raw)
		}
	}
	tok := e.captureToken(e.key, 2)
	r := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	if r.status != http.StatusForbidden || r.str("error_message") != "CONCURRENCY_LIMIT_EXCEEDED" || r.header.Get("Retry-After") == "" {
		t.Fatalf("fourth attempt from one address: %d %s", r.status, r.raw)
	}
	if v, _ := e.db.Verification(context.Background(), tok); v.Attempts != 0 || v.Status != store.StatusNotStarted {
		t.Fatalf("the refused token changed: %+v", v)
	}
}

func TestFlashFallbackErrors(t *testing.T) {
	// Many calls of one token: above the default per-token rate.
	e := newCaptureEnv(t, func(c *api.CaptureConfig) {
		c.FlashTokenRate, c.FlashTokenBurst, c.FlashRate, c.FlashBurst = 100, 100, 100, 100
	})
	e.allowUpload(e.key, true)
	tok := e.captureToken(e.key, 2)
	post := func(fields map[string]string, frames []uploadFrame) reply {
		return e.postMultipart("/faceid/lite/raw/validate_flash", fields, frames)
	}
	start := func() liveness.Challenge {
		r := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
		if r.status != http.StatusOK {
			t.Fatalf("start_flash: %s", r.raw)
		}
		return challengeOf(t, r)
	}
	jpegFrames := func(n int, data []byte) []uploadFrame {
		var fs []uploadFrame
		for i := range n {
			fs = append(fs, uploadFrame{fmt.Sprintf("%d.jpg", i*50), data})
		}
		return fs
	}
	tl := `[{"index":1,"t_ms":100},{"index":2,"t_ms":600},{"index":3,"t_ms":1100},{"index":4,"t_ms":1600},{"index":5,"t_ms":2100},{"index":6,"t_ms":2600}]`

	if r := e.postMultipart("/faceid/lite/raw/start_flash", nil, nil); r.str("error_message") != "MISSING_ARGUMENTS:token" {
		t.Errorf("no token: %s", r.raw)
	}
	if r := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": "nope"}, nil); r.status != 400 || r.str("error_message") != "INVALID_TOKEN" {
		t.Errorf("unknown token: %s", r.raw)
	}
	ch := start()
	for _, tc := range []struct {
		name   string
		fields map[string]string
		frames []uploadFrame
		want   string
	}{
		{"no seq_id", map[string]string{"token": tok, "timeline": tl}, jpegFrames(2, []byte{0xff, 0xd8}), "MISSING_ARGUMENTS:seq_id"},
		{"no frames", map[string]string{"token": tok, "seq_id": ch.SeqID, "timeline": tl}, nil, "MISSING_ARGUMENTS:frames"},
		{"bad timeline", map[string]string{"token": tok, "seq_id": ch.SeqID, "timeline": "[{"}, jpegFrames(2, []byte{0xff, 0xd8}), "BAD_ARGUMENTS:timeline"},
		{"untimed frames", map[string]string{"token": tok, "seq_id": ch.SeqID, "timeline": tl}, []uploadFrame{{"a.jpg", []byte{0xff, 0xd8}}}, "BAD_ARGUMENTS:frames"},
		{"unknown seq_id", map[string]string{"token": tok, "seq_id": "nope", "timeline": tl}, jpegFrames(2, []byte{0xff, 0xd8}), "BAD_ARGUMENTS:seq_id"},
		{"unknown token", map[string]string{"token": "nope", "seq_id": ch.SeqID, "timeline": tl}, jpegFrames(2, []byte{0xff, 0xd8}), "INVALID_TOKEN"},
	} {
		if r := post(tc.fields, tc.frames); r.str("error_message") != tc.want {
			t.Errorf("%s: %d %s, want %s", tc.name, r.status, r.raw, tc.want)
		}
	}
	// start_flash counted one attempt; the refused uploads none.
	if v, _ := e.db.Verification(context.Background(), tok); v.Attempts != 1 {
		t.Fatalf("attempts %d after one sequence and argument errors, want 1", v.Attempts)
	}

	// Media errors use up the sequence (its attempt was spent).
	r := post(map[string]string{"token": tok, "seq_id": ch.SeqID, "timeline": tl}, jpegFrames(80, []byte("not a jpeg at all")))
	if r.status != 400 || r.str("error_message") != "VIDEO_UNSUPPORTED_FORMAT" {
		t.Fatalf("garbage frames: %s", r.raw)
	}
	ch = start()
	r = post(map[string]string{"token": tok, "seq_id": ch.SeqID, "timeline": tl}, jpegFrames(3, blankJPEG(t)))
	if r.status != 400 || r.str("error_message") != "VIDEO_INVALID_DURATION" {
		t.Fatalf("short upload: %s", r.raw)
	}
	if v, _ := e.db.Verification(context.Background(), tok); v.Attempts != 2 || v.Status != store.StatusFailed {
		t.Fatalf("after two rejected uploads: attempts %d, status %s", v.Attempts, v.Status)
	}
	if r := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil); r.str("error_message") != "INVALID_TOKEN" {
		t.Errorf("start_flash after the last attempt: %s", r.raw)
	}
}

func TestFlashMoreRetryTimes(t *testing.T) {
	e := newCaptureEnv(t, nil)
	e.allowUpload(e.key, true)
	tok := e.captureToken(e.key, 2)
	ctx := context.Background()
	// Attempts spent by a connection that died before storing an outcome.
	if _, err := e.db.BeginCapture(ctx, tok, time.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.db.CountAttempt(ctx, tok, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	r := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	if r.status != http.StatusForbidden || r.str("error_message") != "AUTHORIZATION_ERROR:MORE_RETRY_TIMES" {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	if v, _ := e.db.Verification(ctx, tok); v.Status != store.StatusFailed {
		t.Fatalf("status %s, want FAILED", v.Status)
	}
}

func TestFlashCORS(t *testing.T) {
	e := newCaptureEnv(t, nil)
	e.allowUpload(e.key, true)
	tok := e.captureToken(e.key, 2)
	req, _ := http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/start_flash", strings.NewReader("token="+tok))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://shop.example")
	r := e.do(req)
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("%d, ACAO %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
}

func blankJPEG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpegEncodeGray(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegEncodeGray(w *bytes.Buffer) error {
	return jpeg.Encode(w, solid(64, 64, gray), nil)
}
