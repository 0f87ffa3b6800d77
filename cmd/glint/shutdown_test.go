package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store"
)

// captureConn is one capture connection of TestShutdownGraceful: an
// rtcAttacker's handling of the protocol and, when it films, its camera,
// played until the server closes the connection.
type captureConn struct {
	a *rtcAttacker
	// flashing is closed when the first colour arrives.
	flashing chan struct{}
	// done is closed when the connection has ended; then readErr is the
	// error that ended it (a websocket.CloseError for a close frame) and
	// errMsg the server's error message, if one came.
	done    chan struct{}
	readErr error
	errMsg  map[string]any
}

// startCapture connects to base's channel with token and says hello; with
// src set it then films as the SDK would until the server closes, without
// it it sends nothing more (a person still in front of the mirror).
func startCapture(t *testing.T, base, token string, src pictureSource) *captureConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/faceid/lite/raw/rtc", nil)
	if err != nil {
		cancel()
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	a := &rtcAttacker{t: t, src: src, env: cameraEnvReport, ws: ws, mode: "preview", phase: phaseMirror, phaseAt: time.Now()}
	a.capture.previewFPS, a.capture.flashFPS = 5, 20
	c := &captureConn{a: a, flashing: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() {
		cancel()
		ws.CloseNow()
		<-c.done
	})
	a.send(ctx, map[string]any{"type": "hello", "token": token, "sdk_version": "shutdown-test", "ua": "Mozilla/5.0",
		"screen": map[string]any{"w": 390, "h": 844, "dpr": 3}})
	a.send(ctx, a.env)

	msgs := make(chan map[string]any, 64)
	go func() {
		defer close(msgs)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				c.readErr = err
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				msgs <- m
			}
		}
	}()
	go func() {
		defer close(c.done)
		var tick <-chan time.Time
		if src != nil {
			tk := time.NewTicker(time.Duration(float64(time.Second) / src.fps()))
			defer tk.Stop()
			tick = tk.C
		}
		var out attackOutcome
		var once sync.Once
		var lastPreview, lastFlash time.Time
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					return
				}
				// Played through to the close, whatever handle says.
				a.handle(ctx, m, &out)
				switch {
				case m["type"] == "color" && m["status"] == "COLORING":
					once.Do(func() { close(c.flashing) })
				case m["type"] == "error":
					c.errMsg = m
				}
			case now := <-tick:
				a.mu.Lock()
				mode, colour, ph, phAt := a.mode, a.colour, a.phase, a.phaseAt
				previewFPS, flashFPS := a.capture.previewFPS, a.capture.flashFPS
				a.mu.Unlock()
				img := src.picture(now, a.screen, ph, phAt)
				switch {
				case mode == "preview" && now.Sub(lastPreview) >= time.Duration(float64(time.Second)/previewFPS):
					lastPreview = now
					a.frame(ctx, 1, 0, now, img)
				case mode == "flash" && now.Sub(lastFlash) >= time.Duration(float64(time.Second)/flashFPS)-3*time.Millisecond:
					lastFlash = now
					a.frame(ctx, 2, colour, now, img)
				}
			}
		}
	}()
	return c
}

// ended waits for the connection to end and returns how: the close
// status (-1 when it ended without a close frame) and the server's error
// message.
func (c *captureConn) ended(t *testing.T, d time.Duration) (websocket.StatusCode, map[string]any) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Fatal("the capture connection is still open")
	}
	return websocket.CloseStatus(c.readErr), c.errMsg
}

// TestShutdownGraceful sends SIGTERM to a `glint serve` process while one
// capture is in the mirror stage and another mid-flash. Both clients must
// be told NETWORK_ERROR and closed with 1001 (going away), the shown
// challenge must be counted, the process must exit cleanly, and nothing
// may log an error, about a closed store or anything else.
func TestShutdownGraceful(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	models := repoModels(t)
	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": models, envTestEngine: engineReal}
	k := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "shutdown"))
	victim := sessiontest.Subjects(t)[0]
	ref := referencePhoto(t, models)
	n := startNode(t, env)

	token := func(uuid string, maxUploads int) string {
		t.Helper()
		status, reply := postForm(t, n.base+"/faceid/lite/raw/get_token", map[string]string{
			"api_key": k["api_key"], "api_secret": k["api_secret"], "comparison_type": "0", "uuid": uuid,
			"max_upload_times": strconv.Itoa(maxUploads), "life_time": "300", "color_number": "6",
		}, map[string][]byte{"image_ref1": ref})
		if status != 200 {
			t.Fatalf("get_token: %d %v", status, reply)
		}
		return reply["token"].(string)
	}
	mirrorTok, flashTok := token("mirror", 2), token("flash", 2)

	mirror := startCapture(t, n.base, mirrorTok, nil)
	cam := liveSource{flashsim.NewLiveCamera(rand.New(rand.NewPCG(5, 11)), victim, flashsim.LiveOptions{})}
	flash := startCapture(t, n.base, flashTok, cam)
	start := time.Now()
	select {
	case <-flash.flashing:
		t.Logf("colours after %v", time.Since(start).Round(time.Millisecond))
	case <-flash.done:
		t.Fatalf("the capture ended before the colours (%v, %v)\n%s", flash.readErr, flash.errMsg, n.logs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("the capture never reached the colours\n%s", n.logs.String())
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		c    *captureConn
	}{{"mirror stage", mirror}, {"mid-flash", flash}} {
		code, msg := c.c.ended(t, 40*time.Second)
		if code != websocket.StatusGoingAway {
			t.Errorf("%s: connection ended with %v (close status %d), want close 1001", c.name, c.c.readErr, code)
		}
		if msg == nil || msg["code"] != "NETWORK_ERROR" {
			t.Errorf("%s: error message %v, want NETWORK_ERROR", c.name, msg)
		}
	}
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("glint serve exited with %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("glint serve did not exit\n%s", n.logs.String())
	}
	logs := n.logs.String()
	defer func() {
		if t.Failed() {
			t.Logf("glint serve's log:\n%s", logs)
		}
	}()

	// The shutdown found the sequence mid-flash, not in its tail (where
	// it would have been counted at DONE and judged).
	if l := sessionLog(n.logs, flashTok); !slices.Contains(l, `rtc shutdown {"tail":false}`) {
		t.Errorf("the mid-flash session's log lacks its shutdown mid-sequence:\n%s", strings.Join(l, "\n"))
	}
	db := &browserServer{dir: dir}
	if r := db.result(t, flashTok); r.Attempts != 1 || r.Status != store.StatusProcessing {
		t.Errorf("mid-flash token: status %s, %d attempts; want the shown challenge counted (PROCESSING, 1)", r.Status, r.Attempts)
	}
	if r := db.result(t, mirrorTok); r.Attempts != 0 || r.Status != store.StatusProcessing {
		t.Errorf("mirror-stage token: status %s, %d attempts; want PROCESSING and none spent", r.Status, r.Attempts)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "database is closed") || strings.Contains(line, "closed pool") {
			t.Errorf("logged: %s", line)
		}
	}
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Errorf("no clean stop logged:\n%s", logs)
	}
}
