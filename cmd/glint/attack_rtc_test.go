package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/session"
)

// rtcAttacker speaks the capture channel's protocol as the SDK does, with
// a picture source in place of the camera: it answers each colour as it is
// announced, in real time, which is all a renderer injected in place of a
// camera has to do. It plays one connection to its end.
type rtcAttacker struct {
	t   *testing.T
	src pictureSource
	// env is the environment report sent after hello, nil for none (a
	// client written from the protocol rather than the SDK).
	env map[string]any

	ws *websocket.Conn
	mu sync.Mutex
	// changes is what the screen showed, as the page would have painted
	// it: the light the source sees at each instant.
	changes []screenChange
	mode    string // "preview", "flash" or "idle"
	colour  int    // index of the colour on screen, 0 before
	seqID   string
	configs int // config messages since the last mirror stage began
	capture struct {
		previewFPS, flashFPS float64
	}
	counter uint32

	// phase is the stage of the attempt as the protocol shows it, and
	// phaseAt when it began: the mirror stage; the baseline, from the
	// config that follows the gate; the flashes, from the first colour's
	// paint.
	phase   phase
	phaseAt time.Time
	// recorded keeps every picture the camera took, by phase, for a
	// replay.
	recorded map[phase][]recordedPicture
}

type phase int

const (
	phaseMirror phase = iota
	phaseBaseline
	phaseFlash
)

type screenChange struct {
	at    time.Time
	light [3]float64
}

type recordedPicture struct {
	since time.Duration // from the start of its phase
	img   *face.RGB
}

// pictureSource stands in for the camera: the picture taken at t under
// the screen's light, in phase p, begun at pAt.
type pictureSource interface {
	picture(t time.Time, screen func(time.Time) [3]float64, p phase, pAt time.Time) *face.RGB
	fps() float64
}

// liveSource is the simulator's camera on the victim's photo (the
// real-time renderer).
type liveSource struct{ cam *flashsim.LiveCamera }

func (s liveSource) picture(t time.Time, screen func(time.Time) [3]float64, _ phase, _ time.Time) *face.RGB {
	return s.cam.Frame(t, screen).Img
}
func (s liveSource) fps() float64 { return s.cam.FPS() }

// replaySource plays the pictures recorded in another session, each phase
// lined up with the same phase of this one (the protocol shows when each
// begins): a replay of a recorded genuine session, as well timed as a
// replay can be. Each picture is played once, in order, so no picture
// comes back; a phase longer than its recording holds its last picture.
type replaySource struct {
	pics map[phase][]recordedPicture
	rate float64
}

func (s replaySource) picture(t time.Time, _ func(time.Time) [3]float64, p phase, pAt time.Time) *face.RGB {
	pics := s.pics[p]
	best := pics[0]
	for _, q := range pics {
		if q.since <= t.Sub(pAt) {
			best = q
		}
	}
	return best.img
}
func (s replaySource) fps() float64 { return s.rate }

// pageLight is the capture page's light before and between sequences.
var pageLight = [3]float64{0.6, 0.6, 0.6}

func (a *rtcAttacker) screen(t time.Time) [3]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := pageLight
	for _, c := range a.changes {
		if !c.at.After(t) {
			l = c.light
		}
	}
	return l
}

// attackOutcome is how a connection ended.
type attackOutcome struct {
	results []map[string]any
	errMsg  map[string]any
	colours int
}

// run connects to base's channel with token and plays until the server
// ends the verification or closes.
func (a *rtcAttacker) run(base, token string) attackOutcome {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/faceid/lite/raw/rtc", nil)
	if err != nil {
		a.t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	a.ws = ws
	defer ws.CloseNow()
	a.capture.previewFPS, a.capture.flashFPS = 5, 20
	a.mode = "preview"
	a.phase, a.phaseAt = phaseMirror, time.Now()
	a.recorded = map[phase][]recordedPicture{}
	a.send(ctx, map[string]any{"type": "hello", "token": token, "sdk_version": "attacker", "ua": "Mozilla/5.0",
		"screen": map[string]any{"w": 390, "h": 844, "dpr": 3}})
	if a.env != nil {
		a.send(ctx, a.env)
	}
	msgs := make(chan map[string]any, 64)
	go func() {
		defer close(msgs)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				msgs <- m
			}
		}
	}()
	var out attackOutcome
	tick := time.NewTicker(time.Duration(float64(time.Second) / a.src.fps()))
	defer tick.Stop()
	var lastPreview, lastFlash time.Time
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return out
			}
			if done := a.handle(ctx, m, &out); done {
				return out
			}
		case now := <-tick.C:
			a.mu.Lock()
			mode, colour, ph, phAt := a.mode, a.colour, a.phase, a.phaseAt
			a.mu.Unlock()
			// The camera runs whatever is sent, as a real one does.
			img := a.src.picture(now, a.screen, ph, phAt)
			a.recorded[ph] = append(a.recorded[ph], recordedPicture{now.Sub(phAt), img})
			switch {
			case mode == "preview" && now.Sub(lastPreview) >= time.Duration(float64(time.Second)/a.capture.previewFPS):
				lastPreview = now
				a.frame(ctx, 1, 0, now, img)
			case mode == "flash" && now.Sub(lastFlash) >= time.Duration(float64(time.Second)/a.capture.flashFPS)-3*time.Millisecond:
				lastFlash = now
				a.frame(ctx, 2, colour, now, img)
			}
		case <-ctx.Done():
			a.t.Fatalf("the session did not end in time")
		}
	}
}

// handle reacts to one server message; it reports true when the
// connection's verification is over.
func (a *rtcAttacker) handle(ctx context.Context, m map[string]any, out *attackOutcome) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch m["type"] {
	case "config":
		// The second config of a mirror stage follows the gate: the
		// baseline begins.
		if a.configs++; a.configs == 2 {
			a.phase, a.phaseAt = phaseBaseline, time.Now()
		}
		if c, ok := m["capture"].(map[string]any); ok {
			if v, ok := c["preview_fps"].(float64); ok && v > 0 {
				a.capture.previewFPS = v
			}
			if v, ok := c["flash_max_fps"].(float64); ok && v > 0 {
				a.capture.flashFPS = v
			}
		}
	case "status":
		if m["code"] == "MIRROR" {
			a.mode, a.colour = "preview", 0
			a.phase, a.phaseAt, a.configs = phaseMirror, time.Now(), min(a.configs, 1)
		}
	case "color":
		now := time.Now()
		switch m["status"] {
		case "COLORING":
			out.colours++
			// The page paints in the next animation frame.
			paint := now.Add(16 * time.Millisecond)
			hex, _ := m["color"].(string)
			a.changes = append(a.changes, screenChange{paint, hexLight(hex)})
			idx := int(m["index"].(float64))
			a.seqID, _ = m["seq_id"].(string)
			if idx == 1 {
				a.phase, a.phaseAt = phaseFlash, paint
			}
			a.mode = "flash"
			seq := a.seqID
			time.AfterFunc(time.Until(paint.Add(time.Millisecond)), func() {
				a.mu.Lock()
				a.colour = idx
				a.mu.Unlock()
				a.send(ctx, map[string]any{"type": "shown", "seq_id": seq, "index": idx, "t_client_ms": epochMs(paint)})
			})
		case "DONE":
			a.changes = append(a.changes, screenChange{now.Add(16 * time.Millisecond), pageLight})
			a.mode = "idle"
		case "RESET":
			a.changes = append(a.changes, screenChange{now.Add(16 * time.Millisecond), pageLight})
			a.mode, a.colour = "preview", 0
		}
	case "result":
		out.results = append(out.results, m)
		remaining, _ := m["remaining"].(float64)
		return m["success"] == true || remaining == 0
	case "error":
		out.errMsg = m
		return true
	}
	return false
}

func (a *rtcAttacker) send(ctx context.Context, v any) {
	b, _ := json.Marshal(v)
	// A write after the server closed fails; the read side reports it.
	a.ws.Write(ctx, websocket.MessageText, b)
}

// frame sends one picture as the SDK's binary frame: the 16-byte header
// and a JPEG of it enlarged twice (the simulator's 144-pixel window is
// smaller than the detector needs).
func (a *rtcAttacker) frame(ctx context.Context, kind, colour int, at time.Time, img *face.RGB) {
	a.counter++
	jpg := imagingtest.JPEG(a.t, enlarge(img, 2).RGBA())
	b := make([]byte, 16, 16+len(jpg))
	b[0], b[1] = 1, byte(kind)
	binary.LittleEndian.PutUint16(b[2:], uint16(colour))
	binary.LittleEndian.PutUint32(b[4:], a.counter)
	binary.LittleEndian.PutUint64(b[8:], math.Float64bits(epochMs(at)))
	a.ws.Write(ctx, websocket.MessageBinary, append(b, jpg...))
}

// logEvaluations logs the server's judgement of each attempt of token.
func logEvaluations(t *testing.T, logs *logtest.Buffer, token string) {
	t.Helper()
	for _, l := range sessionLog(logs, token) {
		if strings.HasPrefix(l, "rtc evaluated") {
			t.Logf("server: %s", l)
		}
	}
}

func epochMs(t time.Time) float64 { return float64(t.UnixNano()) / 1e6 }

// hexLight is the linear light of a "#RRGGBB" colour.
func hexLight(hex string) [3]float64 {
	for _, c := range liveness.Palette {
		if c.Hex() == strings.ToUpper(hex) {
			return c.Linear()
		}
	}
	return pageLight
}

// cameraEnvReport is the environment report of the SDK filming with a
// phone's front camera in a browser that is not automated: what an
// attacker who read the SDK sends.
var cameraEnvReport = map[string]any{"type": "env", "webdriver": false, "media_patched": false,
	"track": map[string]any{"label": "camera2 1, facing front", "source": "camera", "device_id": true,
		"facing_mode": "user", "width": 640, "height": 480, "frame_rate": 30}}

// TestAttackRealtimeRender runs the real-time renderer over the channel:
// the victim's photo relit by the project's simulator for each colour as
// the server announces it. The naive renderer (a still picture, three
// noise patterns in turn, no SDK report) must fail on the injection
// signals. The disguised one (simulated hand motion, fresh noise, the
// SDK's report forged) is what docs/liveness.md says the physics cannot
// catch; this test keeps that statement true: if it stops passing, the
// docs must change with it.
func TestAttackRealtimeRender(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	s := startAttackServer(t, nil)
	seed := uint64(3)
	newCam := func(o flashsim.LiveOptions) pictureSource {
		seed++
		return liveSource{flashsim.NewLiveCamera(rand.New(rand.NewPCG(seed, 11)), s.victim, o)}
	}

	t.Run("Naive", func(t *testing.T) {
		token := s.token(t, s.plain, 2)
		a := &rtcAttacker{t: t, src: newCam(flashsim.LiveOptions{Static: true, NoiseVariants: 3})}
		out := a.run(s.base, token)
		r := s.result(t, s.plain, token)
		t.Logf("naive renderer: %d colours, results %v; status %s", out.colours, out.results, r.Status)
		logEvaluations(t, s.logs, token)
		if out.colours == 0 {
			t.Fatalf("the renderer never reached the colours\n%s", s.logs.String())
		}
		if r.Status != "FAILED" || r.Liveness == nil || r.Liveness.Result != "FAIL" {
			t.Fatalf("status %s, liveness %+v: the naive renderer must fail", r.Status, r.Liveness)
		}
		g := r.Liveness.FaceGenuineness
		if g == nil || g.InjectionSuspected != 1 {
			t.Fatalf("face_genuineness %+v, want injection_suspected 1", g)
		}
		for _, want := range []string{session.SignalUnattested, liveness.SignalStaticScene, liveness.SignalRepeatedFrames} {
			if !slices.Contains(g.InjectionSignals, want) {
				t.Errorf("injection signals %v lack %s", g.InjectionSignals, want)
			}
		}
		// Every judged attempt failed. (Its deciding check is usually
		// injection; on a loaded machine dropped frames can make
		// continuity fail further from its threshold, which the signals
		// above do not depend on.)
		for _, ev := range evaluations(s.logs, token) {
			if ev.Pass {
				t.Errorf("attempt %d passed", ev.Attempt)
			}
		}
	})

	t.Run("Disguised", func(t *testing.T) {
		token := s.token(t, s.plain, 2)
		a := &rtcAttacker{t: t, src: newCam(flashsim.LiveOptions{}), env: cameraEnvReport}
		a.run(s.base, token)
		r := s.result(t, s.plain, token)
		t.Logf("disguised renderer: status %s, liveness %+v", r.Status, r.Liveness)
		logEvaluations(t, s.logs, token)
		if r.Status != "OK" || !r.Passed("1e-3") {
			t.Fatalf("the disguised renderer failed (status %s, liveness %+v, verify %+v): docs/liveness.md says it passes; update them if the server now catches it",
				r.Status, r.Liveness, r.Verify)
		}
		t.Logf("confidence %.2f (1e-3 threshold %.2f)", r.Verify.Ref1.Confidence, r.Verify.Ref1.Thresholds["1e-3"])
	})
}

// TestAttackSessionReplay records a session that passed (the disguised
// renderer's, as good as a genuine one), then replays its pictures for
// another token of the same person, lined up with the new first colour:
// the reflections are of the recorded colours, and the server's new
// challenge must reject them.
func TestAttackSessionReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	s := startAttackServer(t, nil)
	cam := liveSource{flashsim.NewLiveCamera(rand.New(rand.NewPCG(21, 11)), s.victim, flashsim.LiveOptions{})}
	recorder := &rtcAttacker{t: t, src: cam, env: cameraEnvReport}
	first := s.token(t, s.plain, 2)
	recorder.run(s.base, first)
	if r := s.result(t, s.plain, first); r.Status != "OK" {
		t.Fatalf("the recorded session did not pass (status %s): nothing worth replaying", r.Status)
	}
	for _, p := range []phase{phaseMirror, phaseBaseline, phaseFlash} {
		if len(recorder.recorded[p]) == 0 {
			t.Fatalf("nothing recorded in phase %d", p)
		}
	}

	token := s.token(t, s.plain, 2)
	replayer := &rtcAttacker{t: t, src: replaySource{pics: recorder.recorded, rate: cam.fps()}, env: cameraEnvReport}
	out := replayer.run(s.base, token)
	r := s.result(t, s.plain, token)
	t.Logf("replay: %d colours, results %v; status %s, liveness %+v", out.colours, out.results, r.Status, r.Liveness)
	logEvaluations(t, s.logs, token)
	if out.colours == 0 {
		t.Fatalf("the replay never reached the colours\n%s", s.logs.String())
	}
	if r.Status != "FAILED" || r.Passed("1e-3") {
		t.Fatalf("a replayed session was accepted: status %s, liveness %+v", r.Status, r.Liveness)
	}
	// Rejected for what it is: light that does not follow this
	// challenge's colours (no reflection of them, or reflections of other
	// colours, at other times).
	evs := evaluations(s.logs, token)
	if len(evs) == 0 {
		t.Fatalf("no attempt of the replay was judged\n%s", strings.Join(sessionLog(s.logs, token), "\n"))
	}
	for _, ev := range evs {
		if ev.Pass || !slices.Contains([]string{liveness.CheckReflection, liveness.CheckColor, liveness.CheckTiming}, ev.Reason) {
			t.Errorf("replayed attempt %d: pass %v, reason %q; want a failure on the reflection of the colours", ev.Attempt, ev.Pass, ev.Reason)
		}
	}
}
