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

	"github.com/glint-id/glint/internal/liveness"
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

func TestFlashFallback(t *testing.T) {
	e := newCaptureEnv(t, nil)
	tok := e.captureToken(e.key, 2)

	start := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	if start.status != http.StatusOK || start.str("request_id") == "" || start.fields["attempt"] != 1.0 || start.fields["max_upload_times"] != 2.0 {
		t.Fatalf("start_flash: %d %s", start.status, start.raw)
	}
	ch := challengeOf(t, start)
	if len(ch.Colors) != 6 {
		t.Fatalf("%d colours", len(ch.Colors))
	}
	r := e.render(liveness.Genuine, ch, 21)
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
	if got.Status != store.StatusOK || got.Liveness.Transport != store.TransportUpload || got.Verify == nil || len(got.Images) == 0 {
		t.Fatalf("stored %+v", got)
	}

	// A sequence is single use.
	again := e.postMultipart("/faceid/lite/raw/validate_flash", fields, frames)
	if again.status != http.StatusBadRequest || again.str("error_message") != "BAD_ARGUMENTS:seq_id" {
		t.Fatalf("reused seq_id: %d %s", again.status, again.raw)
	}
	// The verification is over.
	over := e.postMultipart("/faceid/lite/raw/start_flash", map[string]string{"token": tok}, nil)
	if over.status != http.StatusBadRequest || over.str("error_message") != "INVALID_TOKEN" {
		t.Fatalf("start_flash on a finished token: %d %s", over.status, over.raw)
	}
}

func TestFlashFallbackErrors(t *testing.T) {
	e := newCaptureEnv(t, nil)
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
	if v, _ := e.db.Verification(context.Background(), tok); v.Attempts != 0 {
		t.Fatalf("argument errors counted %d attempts", v.Attempts)
	}

	// Media errors count the attempt.
	ch = start()
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
