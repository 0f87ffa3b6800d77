package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	_ "modernc.org/sqlite"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/sdk"
	"github.com/glint-id/glint/internal/session"
	"github.com/glint-id/glint/internal/store"
)

// TestBrowserVerification runs whole verifications in headless Chromium
// against the real `glint serve`, engine and models: the capture page
// loads the SDK from the server, the camera streams frames over the
// channel, the server decides. A camera that films a face lit by the page
// (browser_camera_test.go) must pass and match its reference; Chromium's
// own fake cameras, whose pictures never reflect the page, must fail.
// Every stage is photographed at a phone and a desktop viewport into
// GLINT_ARTIFACTS (default: a temporary directory, logged).
func TestBrowserVerification(t *testing.T) {
	if testing.Short() {
		t.Skip("runs headless Chromium and the face engine")
	}
	chromium := findChromium(t)
	models := repoModels(t)
	arts := artifactsDir(t)

	e, err := loadEngine(models, face.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(face.SamplePhoto(models, 1))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	photo := face.FromImage(img)
	scene := newCameraScene(t, e, photo)
	t.Logf("camera scene: %v", scene)
	writePNG(t, filepath.Join(arts, "camera-frame.png"), scene.frame)
	writePNG(t, filepath.Join(arts, "camera-gain.png"), scene.gainImage())
	writePNG(t, filepath.Join(arts, "reference.png"), scene.reference)
	camera := scene.cameraScript(t, cameraLatency, true)
	naive := scene.cameraScript(t, cameraLatency, false)
	reference := imagingtest.JPEG(t, scene.reference)
	replay := writeReplayVideo(t, scene)

	srv := startBrowserServe(t, models)
	srv.requireCaptureRoutes(t)
	// The key accepts pages of the server's own origin only, as a business
	// that serves the capture page from Glint would configure it.
	key, secret := srv.createKey(t, "--allow-origin", srv.base)

	phone := viewport{name: "phone", w: 390, h: 844, scale: 2, mobile: true}
	desktop := viewport{name: "desktop", w: 1280, h: 860, scale: 1}

	t.Run("genuine", func(t *testing.T) {
		// The browser a person uses is not driven by automation: without
		// the flag that says so, navigator.webdriver is false, as the
		// disguised camera needs (see cameraJS).
		browser := startChromium(t, chromium, undriven...)
		for _, vp := range []viewport{phone, desktop} {
			t.Run(vp.name, func(t *testing.T) {
				token := srv.getToken(t, key, secret, reference, genuineAttempts)
				out := runCapture(t, browser, srv, captureRun{
					name: vp.name, vp: vp, token: token, camera: camera, shots: filepath.Join(arts, vp.name),
				})
				res := srv.result(t, token)
				logResult(t, res)
				if out.attempts > 1 || res.Status != store.StatusOK || os.Getenv("GLINT_BROWSER_DIAG") != "" {
					diagnose(t, e, out)
				}
				// A failed attempt is allowed only for what does not judge
				// the face: on a loaded machine a stalled page leaves gaps
				// in the frames (continuity, timing) or a lagging server
				// abandons the attempt (RESET), and the server's tracker
				// can misplace the face on the frames that follow the
				// switch to the attempt's frame size (identity). Rejecting
				// the light the face reflected fails the test's one claim.
				for _, ev := range srv.evaluations(token) {
					if !ev.Pass && physicsChecks[ev.Reason] {
						t.Errorf("attempt %d: the analysis rejected the genuine face on %q (score %.3f)", ev.Attempt, ev.Reason, ev.Score)
					}
					// The disguised camera must read as a camera: an
					// injection signal here means the SDK's report or
					// the frames' own signals misjudge it.
					if !ev.Pass && ev.Reason == liveness.CheckInjection {
						t.Errorf("attempt %d: injection suspected in the disguised camera\n%s", ev.Attempt, strings.Join(srv.sessionLog(token), "\n"))
					}
				}
				if res.Status != store.StatusOK || out.outcome != "ok" {
					t.Fatalf("genuine face: status %s, page outcome %q after %d attempts, want OK", res.Status, out.outcome, out.attempts)
				}
				if res.Liveness == nil || res.Liveness.Result != store.LivenessPass {
					t.Errorf("liveness_result %+v, want PASS", res.Liveness)
				}
				checkSamePerson(t, res)
			})
		}
	})

	// The same camera without its disguise: a still photo relit in the
	// page for each colour, which the reflection analysis alone would
	// pass. The server must see what it is: no motion, pictures that
	// recur, a canvas track, a replaced getUserMedia, an automated
	// browser; each signal fails the attempt.
	t.Run("naive-render", func(t *testing.T) {
		browser := startChromium(t, chromium)
		token := srv.getToken(t, key, secret, reference, 2)
		out := runCapture(t, browser, srv, captureRun{
			name: "naive-render", vp: phone, token: token, camera: naive, shots: filepath.Join(arts, "naive-render"),
		})
		res := srv.result(t, token)
		logResult(t, res)
		if res.Status != store.StatusFailed || out.outcome != "fail" {
			t.Fatalf("naive renderer: status %s, page outcome %q, want FAILED", res.Status, out.outcome)
		}
		if res.Verify != nil {
			t.Errorf("verify_result %+v stored for a failed verification", res.Verify)
		}
		evs := srv.evaluations(token)
		if len(evs) == 0 {
			t.Fatalf("no attempt was judged: the renderer never reached the analysis\n%s", strings.Join(srv.sessionLog(token), "\n"))
		}
		g := res.Liveness.FaceGenuineness
		if g == nil || g.InjectionSuspected != 1 {
			t.Fatalf("face_genuineness %+v, want injection_suspected 1", g)
		}
		for _, want := range []string{liveness.SignalStaticScene, liveness.SignalRepeatedFrames, session.SignalSyntheticCamera,
			session.SignalPatchedMedia, session.SignalAutomation} {
			if !slices.Contains(g.InjectionSignals, want) {
				t.Errorf("injection signals %v lack %s", g.InjectionSignals, want)
			}
		}
		for _, ev := range evs {
			if ev.Pass {
				t.Errorf("attempt %d passed", ev.Attempt)
			}
		}
	})

	// The attacks, one after the other like the genuine runs: a run that
	// competes with another for the CPU slows the server's face tracking,
	// and a stalled tracker abandons the attempt before the reflection
	// analysis the attack is meant to meet. Each needs its own browser,
	// since the camera is a browser flag.
	//
	// Chromium's fake camera playing a recording of the same face: it
	// passes the mirror stage, then shows no reflection of the flashes,
	// as a replayed video does.
	t.Run("fake-replay", func(t *testing.T) {
		browser := startChromium(t, chromium,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", replay))
		token := srv.getToken(t, key, secret, reference, 2)
		out := runCapture(t, browser, srv, captureRun{
			name: "fake-replay", vp: desktop, token: token, shots: filepath.Join(arts, "fake-replay"),
		})
		res := srv.result(t, token)
		logResult(t, res)
		if res.Status != store.StatusFailed || os.Getenv("GLINT_BROWSER_DIAG") != "" {
			diagnose(t, e, out)
		}
		if res.Status != store.StatusFailed || out.outcome != "fail" {
			t.Fatalf("replayed face: status %s, page outcome %q, want FAILED", res.Status, out.outcome)
		}
		if out.colours == 0 {
			t.Fatalf("the replayed face never reached the flashes: the attack was stopped before the reflection analysis")
		}
		if res.Verify != nil {
			t.Errorf("verify_result %+v stored for a failed verification", res.Verify)
		}
		// An attempt the server abandons (RESET: it lost the face for a
		// while, as a loaded machine can make it) fails without a
		// liveness_result; one it judged must say FAIL.
		evaluated := len(srv.evaluations(token)) > 0
		if evaluated && (res.Liveness == nil || res.Liveness.Result != store.LivenessFail) {
			t.Errorf("liveness_result %+v, want FAIL", res.Liveness)
		} else if !evaluated {
			t.Logf("no attempt was judged: the server abandoned both (see the diagnosis)")
		}
	})

	// Chromium's built-in test pattern: no face at all, so the mirror
	// stage never lets the flashes start, and the verification ends
	// FAILED when its 30 s run out.
	t.Run("fake-pattern", func(t *testing.T) {
		browser := startChromium(t, chromium, chromedp.Flag("use-fake-device-for-media-stream", true))
		token := srv.getToken(t, key, secret, reference, 2)
		out := runCapture(t, browser, srv, captureRun{
			name: "fake-pattern", vp: phone, token: token, shots: filepath.Join(arts, "fake-pattern"),
		})
		res := srv.result(t, token)
		logResult(t, res)
		if res.Status != store.StatusFailed || out.outcome != "fail" {
			t.Fatalf("fake camera pattern: status %s, page outcome %q, want FAILED", res.Status, out.outcome)
		}
		if out.colours != 0 {
			t.Errorf("%d colours flashed for a camera without a face", out.colours)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve log:\n%s", srv.logs.String())
		}
	})
}

// undriven starts Chromium as a person's browser would be: without the
// automation switch chromedp sets by default, so that the page's
// navigator.webdriver is false.
var undriven = []chromedp.ExecAllocatorOption{
	chromedp.Flag("enable-automation", false),
	chromedp.Flag("disable-blink-features", "AutomationControlled"),
}

// genuineAttempts is max_upload_times for the genuine runs: the API's
// largest, so that a machine busy with other work (make test runs packages
// side by side) can cost attempts without failing the run; what may fail
// an attempt is restricted (physicsChecks).
const genuineAttempts = 5

// physicsChecks are the liveness checks that judge the light the face
// reflected; a genuine attempt must never fail on one of them.
var physicsChecks = map[string]bool{
	liveness.CheckReflection: true, liveness.CheckColor: true, liveness.CheckRelief: true,
	liveness.CheckTint: true, liveness.CheckPassive: true,
}

// cameraLatency is how long after the page paints a colour the test camera
// shows its light: a phone camera's exposure and readout.
const cameraLatency = 20 * time.Millisecond

// findChromium returns the Chromium binary: $GLINT_CHROMIUM, Debian's
// /usr/bin/chromium, or one on the PATH. Without one the test skips, except
// in CI, where .ci/run installs it and its absence is a failure.
func findChromium(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("GLINT_CHROMIUM"), "/usr/bin/chromium"}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			cands = append(cands, p)
		}
	}
	for _, p := range cands {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal("no Chromium found (GLINT_CHROMIUM, /usr/bin/chromium, PATH); CI must have it: .ci/run installs Debian's chromium")
	}
	t.Skip("no Chromium found (set GLINT_CHROMIUM or apt-get install chromium); skipping the browser test outside CI")
	return ""
}

// artifactsDir is where the screenshots go: $GLINT_ARTIFACTS/browser, or a
// temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if d := os.Getenv("GLINT_ARTIFACTS"); d != "" {
		// The folder is the test's own: last run's pictures must not pass
		// for this run's.
		dir = filepath.Join(d, "browser")
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("browser test artifacts: %s", dir)
	return dir
}

// startChromium starts a headless Chromium for the test and returns a
// context of its first tab. It grants the camera without asking.
func startChromium(t *testing.T, exe string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The browser lives as long as the context of its first Run.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

type viewport struct {
	name   string
	w, h   int64
	scale  float64
	mobile bool
}

// captureRun is one verification in the browser.
type captureRun struct {
	name   string
	vp     viewport
	token  string
	camera string // script installing the test camera; "" for the browser's own
	shots  string // screenshot file prefix
}

// captureOutcome is what a run saw in the page and on the channel.
type captureOutcome struct {
	outcome  string      // <html data-outcome> of the final screen
	attempts int         // result screens or colour sequences, whichever is more
	colours  int         // COLORING messages received
	traffic  []wsMessage // text messages, in order
	frames   [][]byte    // binary messages the page sent, in order
}

// wsMessage is one WebSocket text message between the page and the
// server.
type wsMessage struct {
	at   time.Time // when the test saw it
	sent bool
	text string
}

// stage timeouts: the mirror stage fails by itself after 30 s; everything
// else takes seconds.
const (
	runTimeout   = 90 * time.Second
	stagePoll    = 50 * time.Millisecond
	screenSettle = 400 * time.Millisecond
)

// runCapture opens the capture page in a new tab, clicks Start, retries
// while the page offers it, and photographs each stage the first time it
// appears.
func runCapture(t *testing.T, browser context.Context, srv *browserServer, run captureRun) captureOutcome {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	var (
		mu  sync.Mutex
		out captureOutcome
	)
	err := chromedp.Listen(tab, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventWebSocketFrameSent:
			if ev.Response != nil && ev.Response.Opcode == 1 {
				mu.Lock()
				out.traffic = append(out.traffic, wsMessage{at: time.Now(), sent: true, text: string(ev.Response.PayloadData)})
				mu.Unlock()
			}
		case *network.EventWebSocketFrameReceived:
			if ev.Response != nil && ev.Response.Opcode == 1 {
				mu.Lock()
				out.traffic = append(out.traffic, wsMessage{at: time.Now(), text: string(ev.Response.PayloadData)})
				mu.Unlock()
			}
		case *runtime.EventExceptionThrown:
			t.Logf("%s: page exception: %s", run.name, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				t.Logf("%s: console.%s: %s", run.name, ev.Type, strings.Join(parts, " "))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancelRun := context.WithTimeout(tab, runTimeout)
	defer cancelRun()

	vpOpts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(run.vp.scale)}
	if run.vp.mobile {
		vpOpts = append(vpOpts, chromedp.EmulateMobile)
	}
	steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(run.vp.w, run.vp.h, vpOpts...)}
	for _, js := range []string{recorderJS, run.camera} {
		if js == "" {
			continue
		}
		steps = append(steps, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
			return err
		}))
	}
	pageURL := srv.base + sdk.PagePath + "?token=" + url.QueryEscape(run.token)
	steps = append(steps, chromedp.Navigate(pageURL))
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: opening the capture page: %v", run.name, err)
	}

	shot := func(name string) {
		if run.shots == "" {
			return
		}
		b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Errorf("%s: screenshot %s: %v", run.name, name, err)
			return
		}
		file := run.shots + "-" + name + ".png"
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	type pageState struct {
		Stage, Outcome, Tip string
		Retry               bool
	}
	state := func() pageState {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](`(() => {
			const d = document.documentElement.dataset, r = document.getElementById('retry');
			return {Stage: d.stage || '', Outcome: d.outcome || '',
				Tip: (document.getElementById('tip') || {}).textContent || '',
				Retry: !!r && !r.hidden && r.offsetParent !== null};
		})()`))
		if err != nil {
			t.Fatalf("%s: reading the page: %v", run.name, err)
		}
		return s
	}
	waitFor := func(what string, ok func(pageState) bool) pageState {
		for {
			s := state()
			if ok(s) {
				return s
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: timed out waiting for %s; page at stage %q, tip %q", run.name, what, s.Stage, s.Tip)
			case <-time.After(stagePoll):
			}
		}
	}

	waitFor("the intro screen", func(s pageState) bool { return s.Stage == "intro" })
	time.Sleep(screenSettle)
	shot("1-intro")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("start"))); err != nil {
		t.Fatalf("%s: clicking Start: %v", run.name, err)
	}
	// When the last colour of a sequence will be half-way through its
	// hold (at least 300 ms, which the server does not announce): the
	// moment to photograph the flash stage. A screenshot stalls the page
	// for a moment (at a phone's pixel ratio, over 100 ms), and only there
	// does a stall disturb nothing the server measures: the colour changes
	// and the hold times it checks are all before it.
	lastColourMid := func() (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		for i := len(out.traffic) - 1; i >= 0; i-- {
			var c struct {
				Type, Status string
				Index, Sum   int
			}
			m := out.traffic[i]
			if m.sent || json.Unmarshal([]byte(m.text), &c) != nil || c.Type != "color" || c.Status != "COLORING" {
				continue
			}
			if c.Index != c.Sum {
				return time.Time{}, false
			}
			return m.at.Add(150 * time.Millisecond), true
		}
		return time.Time{}, false
	}
	seen := map[string]bool{}
	results := 0
	for {
		s := waitFor("the next stage", func(s pageState) bool {
			switch {
			case s.Stage == "mirror" && !seen["mirror"]:
				return true
			case s.Stage == "flash" && !seen["flash"]:
				mid, ok := lastColourMid()
				return ok && time.Now().After(mid)
			case s.Stage == "evaluating" && !seen["evaluating"]:
				return true
			}
			return s.Stage == "result"
		})
		switch s.Stage {
		case "mirror":
			seen["mirror"] = true
			// Long enough for the server's first framing tip.
			time.Sleep(screenSettle)
			shot("2-mirror")
			continue
		case "flash":
			seen["flash"] = true
			shot("3-flash")
			continue
		case "evaluating":
			seen["evaluating"] = true
			shot("4-evaluating")
			continue
		}
		// The result screen.
		results++
		time.Sleep(screenSettle)
		s = state()
		out.outcome = s.Outcome
		shot(fmt.Sprintf("5-result-%d", results))
		if s.Outcome == "fail" && s.Retry {
			t.Logf("%s: result %d is a failure; the page offers a retry", run.name, results)
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("retry"))); err != nil {
				t.Fatalf("%s: clicking Try again: %v", run.name, err)
			}
			waitFor("the retry to start", func(s pageState) bool { return s.Stage != "result" })
			continue
		}
		break
	}
	frames, err := chromedp.Run(ctx, chromedp.Evaluate[[][]byte](`window.__glintSentFrames()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Errorf("%s: reading the frames the page sent: %v", run.name, err)
	}
	mu.Lock()
	defer mu.Unlock()
	out.frames = frames
	out.attempts = results
	seqs := map[string]bool{}
	resets := 0
	for _, m := range out.traffic {
		var c struct {
			Type, Status string
			SeqID        string `json:"seq_id"`
		}
		if m.sent || json.Unmarshal([]byte(m.text), &c) != nil || c.Type != "color" {
			continue
		}
		switch c.Status {
		case "COLORING":
			out.colours++
			seqs[c.SeqID] = true
		case "RESET":
			resets++
		}
	}
	// A sequence abandoned by RESET counts as an attempt without a result
	// screen.
	out.attempts = max(out.attempts, len(seqs))
	t.Logf("%s: outcome %q after %d attempt(s) (%d reset), %d colours shown", run.name, out.outcome, out.attempts, resets, out.colours)
	for _, l := range srv.sessionLog(run.token) {
		t.Logf("%s: server: %s", run.name, l)
	}
	return out
}

// browserServer is a `glint serve` running in the test.
type browserServer struct {
	base string
	env  map[string]string
	dir  string
	logs *logtest.Buffer
}

// startBrowserServe runs `glint serve` in-process on a free loopback port
// with the real engine, as startServe does, keeping the data directory
// (for reading the records) and the log.
func startBrowserServe(t *testing.T, models string) *browserServer {
	t.Helper()
	s := &browserServer{dir: t.TempDir()}
	s.env = map[string]string{"GLINT_DATA": s.dir, "GLINT_MODELS": models, "GLINT_LISTEN": "127.0.0.1:0"}
	srv := serveInProcess(t, s.env)
	s.base, s.logs = srv.base, srv.logs
	return s
}

// sessionLog returns the channel's log lines about token, shortened to
// their message and figures.
func (s *browserServer) sessionLog(token string) []string { return sessionLog(s.logs, token) }

// sessionLog returns the channel's lines about token in a serve log.
func sessionLog(logs *logtest.Buffer, token string) []string {
	var out []string
	for _, line := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["token_prefix"] != token[:6] {
			continue
		}
		msg, _ := m["msg"].(string)
		for _, k := range []string{"time", "level", "msg", "client", "token_prefix", "api_key", "sdk_version", "ua"} {
			delete(m, k)
		}
		b, _ := json.Marshal(m)
		out = append(out, msg+" "+string(b))
	}
	return out
}

// evaluation is the channel's log line about one judged attempt.
type evaluation struct {
	Attempt int
	Pass    bool
	Reason  string
	Score   float64
}

// evaluations returns the attempts of token the server judged.
func (s *browserServer) evaluations(token string) []evaluation { return evaluations(s.logs, token) }

// evaluations returns the attempts of token a serve log says were judged.
func evaluations(logs *logtest.Buffer, token string) []evaluation {
	var out []evaluation
	for _, l := range sessionLog(logs, token) {
		var ev evaluation
		if j, ok := strings.CutPrefix(l, "rtc evaluated "); ok && json.Unmarshal([]byte(j), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// requireCaptureRoutes stops the test early, with a clear message, when
// the server does not serve the capture page or the channel.
func (s *browserServer) requireCaptureRoutes(t *testing.T) {
	t.Helper()
	resp, err := http.Get(s.base + sdk.PagePath + "?token=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d; glint serve does not mount the SDK handler", sdk.PagePath, resp.StatusCode)
	}
	// A plain GET is no WebSocket handshake; any answer but the API's
	// catch-all 404 means the route exists.
	resp, err = http.Get(s.base + "/faceid/lite/raw/rtc")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound && strings.Contains(string(body), "API_NOT_FOUND") {
		t.Fatalf("GET /faceid/lite/raw/rtc: %d %s; glint serve does not register the channel", resp.StatusCode, body)
	}
}

func (s *browserServer) createKey(t *testing.T, args ...string) (key, secret string) {
	t.Helper()
	k := mustJSON(t, mustRun(t, s.env, append([]string{"keys", "create", "--name", "browser"}, args...)...))
	return k["api_key"], k["api_secret"]
}

func (s *browserServer) getToken(t *testing.T, key, secret string, ref []byte, maxUploads int) string {
	t.Helper()
	status, reply := postForm(t, s.base+"/faceid/lite/raw/get_token", map[string]string{
		"api_key": key, "api_secret": secret, "comparison_type": "0", "uuid": "browser-" + t.Name(),
		"max_upload_times": fmt.Sprint(maxUploads), "life_time": "300",
	}, map[string][]byte{"image_ref1": ref})
	if status != http.StatusOK {
		t.Fatalf("get_token: %d %v", status, reply)
	}
	return reply["token"].(string)
}

// result reads the verification's stored record from the server's
// database, read-only, as get_result would report it.
func (s *browserServer) result(t *testing.T, token string) *store.Result {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.Join(s.dir, dbFile), RawQuery: "mode=ro&_busy_timeout=5000"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var (
		r            store.Result
		status       string
		live, verify sql.NullString
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = db.QueryRowContext(ctx, `SELECT status, attempts, liveness_result, verify_result FROM verifications WHERE token = ?`, token).
		Scan(&status, &r.Attempts, &live, &verify)
	if err != nil {
		t.Fatalf("reading the verification record: %v", err)
	}
	r.Token, r.Status = token, store.Status(status)
	if live.Valid {
		r.Liveness = new(store.LivenessResult)
		if err := json.Unmarshal([]byte(live.String), r.Liveness); err != nil {
			t.Fatal(err)
		}
	}
	if verify.Valid {
		r.Verify = new(store.VerifyResult)
		if err := json.Unmarshal([]byte(verify.String), r.Verify); err != nil {
			t.Fatal(err)
		}
	}
	return &r
}

func logResult(t *testing.T, r *store.Result) {
	t.Helper()
	live, _ := json.Marshal(r.Liveness)
	verify, _ := json.Marshal(r.Verify)
	t.Logf("stored: status %s, attempts %d, liveness_result %s, verify_result %s", r.Status, r.Attempts, live, verify)
}

// checkSamePerson wants the stored comparison with the reference to reach
// the engine's 1e-3 false-accept threshold: the camera filmed the
// reference's person.
func checkSamePerson(t *testing.T, r *store.Result) {
	t.Helper()
	if r.Verify == nil || len(r.Verify.Refs) != 1 || r.Verify.Refs[0].Index != 1 {
		t.Fatalf("verify_result %+v, want one comparison, with image_ref1", r.Verify)
	}
	m := r.Verify.Refs[0]
	th, ok := m.Thresholds["1e-3"]
	if !ok {
		t.Fatalf("verify_result thresholds %v have no 1e-3", m.Thresholds)
	}
	if m.Confidence < th || m.Confidence <= 50 {
		t.Errorf("confidence %.2f against the same person's reference, want ≥ %.2f (1e-3) and > 50", m.Confidence, th)
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
