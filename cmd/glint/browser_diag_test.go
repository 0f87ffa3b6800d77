package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/session"
)

// diagnose re-runs the reflection analysis on what the page sent, as the
// browser recorded it, and logs every check of the verdict: the server
// stores only PASS or FAIL and logs only the failed check's name, and a
// failed browser run needs to say which property of the pictures the
// analysis rejected and by how much. It follows the server's tracking
// (serverTracker) and takes the client's clock as is (the same machine's),
// so its verdict can differ at the margins; the server's record stays the
// test's judge.
func diagnose(t *testing.T, e *face.Engine, out captureOutcome) {
	t.Helper()
	an := session.NewEngineAnalyzer(e)
	// The server does not send the holds: each is taken from when the
	// page received its colour and the next one (or DONE).
	type colour struct {
		hex  string
		hold time.Duration
	}
	var last *colour
	var lastAt time.Time
	seqs := map[string]map[int]*colour{}
	shown := map[string]map[int]float64{}
	var order []string
	type frame struct {
		ms   float64
		jpeg []byte
	}
	var frames []frame
	for _, b := range out.frames {
		if len(b) > 16 && b[0] == 1 {
			ms := math.Float64frombits(binary.LittleEndian.Uint64(b[8:16]))
			frames = append(frames, frame{ms: ms, jpeg: b[16:]})
		}
	}
	for _, m := range out.traffic {
		switch {
		case m.sent:
			var s session.Shown
			var typ struct{ Type string }
			if json.Unmarshal([]byte(m.text), &typ) == nil && typ.Type == "shown" && json.Unmarshal([]byte(m.text), &s) == nil {
				if shown[s.SeqID] == nil {
					shown[s.SeqID] = map[int]float64{}
				}
				shown[s.SeqID][s.Index] = s.TClientMs
			}
		case m.text != "":
			var c session.ColorMessage
			if json.Unmarshal([]byte(m.text), &c) != nil || c.Type != "color" {
				continue
			}
			if last != nil {
				last.hold = m.at.Sub(lastAt)
				last = nil
			}
			if c.Status == session.ColorColoring {
				if seqs[c.SeqID] == nil {
					seqs[c.SeqID] = map[int]*colour{}
					order = append(order, c.SeqID)
				}
				last, lastAt = &colour{hex: strings.ToUpper(c.Color)}, m.at
				seqs[c.SeqID][c.Index] = last
			}
		}
	}
	if len(order) == 0 {
		t.Logf("diagnosis: no colour sequence was shown (%d frames sent)", len(frames))
		return
	}
	at := func(ms float64) time.Time { return time.UnixMicro(int64(ms * 1000)) }
	for _, id := range order {
		var ch liveness.Challenge
		ch.SeqID = id
		var ts []time.Time
		for i := 1; i <= len(seqs[id]); i++ {
			c, ok := seqs[id][i]
			if !ok {
				break
			}
			k := slices.IndexFunc(liveness.Palette, func(p liveness.Color) bool { return p.Hex() == c.hex })
			if k < 0 {
				t.Logf("diagnosis: colour %s is not in the palette", c.hex)
				return
			}
			ch.Colors = append(ch.Colors, liveness.Palette[k])
			ch.Holds = append(ch.Holds, c.hold)
			var st time.Time
			if ms, ok := shown[id][i]; ok {
				st = at(ms)
			}
			ts = append(ts, st)
		}
		first, last := math.Inf(1), math.Inf(-1)
		for i, s := range ts {
			if !s.IsZero() {
				ms := float64(s.UnixMicro()) / 1000
				first = math.Min(first, ms)
				last = math.Max(last, ms+float64(ch.Holds[i].Milliseconds()))
			}
		}
		if math.IsInf(first, 1) {
			t.Logf("diagnosis: sequence %s: no colour was acknowledged", id)
			continue
		}
		var lf []liveness.Frame
		var gaps []float64
		prev := math.NaN()
		tr := serverTracker{an: an}
		var sizes []string
		for _, f := range frames {
			if f.ms < first-attemptLeadMs || f.ms > last+400 {
				continue
			}
			img, _, err := imaging.Decode(f.jpeg, 0)
			if err != nil {
				continue
			}
			rgb := face.FromImage(img)
			if len(lf) < 8 {
				sizes = append(sizes, fmt.Sprintf("%dx%d@%.0f", rgb.W, rgb.H, f.ms-first))
			}
			lf = append(lf, tr.frame(rgb, f.ms))
			if !math.IsNaN(prev) {
				gaps = append(gaps, f.ms-prev)
			}
			prev = f.ms
		}
		v := liveness.Analyze(ch, ts, lf, liveness.Options{})
		var names []string
		for _, c := range ch.Colors {
			names = append(names, c.Name)
		}
		t.Logf("diagnosis of sequence %s (%s), %d frames, largest gap %.0f ms: pass %v, reason %q, modulation %.3f, decoded %v, onsets %v",
			id[:6], strings.Join(names, ","), len(lf), slices.Max(append(gaps, 0)), v.Pass, v.Reason, v.Modulation, v.Decoded, v.Onsets)
		t.Logf("  first frames (size@ms from the first colour): %s", strings.Join(sizes, " "))
		for _, c := range v.Checks {
			t.Logf("  %-10s pass %-5v value %8.3f threshold %7.3f  %s", c.Name, c.Pass, c.Value, c.Threshold, c.Detail)
		}
	}
}

// attemptLeadMs is how long before its first colour an attempt's frames
// start: the server asks for dense frames when the mirror stage passes and
// shows the first colour BaselineDuration (600 ms) later.
const attemptLeadMs = 700

// serverTracker finds the face in a verification's frames as the channel
// does: a full detection every 250 ms of capture time (every 125 ms while
// the face is lost), the landmark network alone on the detection's box,
// moved with the face, in between; each frame then cut to a window around
// the face as the server cuts it (session.AnalysisWindow).
type serverTracker struct {
	an             *session.EngineAnalyzer
	detected, have bool
	lastDet        float64
	faces          int
	box            face.Rect
	detC, lastC    face.Point
}

func (s *serverTracker) frame(img *face.RGB, ms float64) liveness.Frame {
	every := 250.0
	if !s.have {
		every = 125
	}
	var f face.Face
	switch {
	case !s.detected || ms-s.lastDet >= every:
		faces := s.an.Detect(img)
		s.detected, s.lastDet, s.faces = true, ms, len(faces)
		if s.have = len(faces) > 0; s.have {
			f = faces[0]
			s.box = f.Box
			s.detC = face.Centroid(f.Landmarks[:])
			s.lastC = s.detC
		}
	case s.have:
		b := s.box
		b.X += s.lastC.X - s.detC.X
		b.Y += s.lastC.Y - s.detC.Y
		f = s.an.Track(img, b)
		s.lastC = face.Centroid(f.Landmarks[:])
	}
	var fr liveness.Frame
	if s.have {
		fr, _ = session.AnalysisWindow(img, f)
	}
	fr.T, fr.Faces = time.UnixMicro(int64(ms*1000)), s.faces
	return fr
}

// recorderJS keeps a copy of every binary message the page sends on a
// WebSocket (the camera frames), for diagnose: DevTools reports their
// size, not their bytes. It changes nothing the page or the server sees.
const recorderJS = `(() => {
  const sent = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data !== 'string' && sent.length < 2000) sent.push(data);
    return send.call(this, data);
  };
  window.__glintSentFrames = async () => {
    const out = [];
    for (const d of sent) {
      const buf = new Uint8Array(d instanceof Blob ? await d.arrayBuffer() : d.buffer || d);
      let s = '';
      for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
      out.push(btoa(s));
    }
    return out;
  };
})();`

// writeReplayVideo writes the scene's face, unlit by any screen, as a
// short Y4M video for Chromium's --use-file-for-fake-video-capture, which
// loops it: a recording of the person replayed to the camera.
func writeReplayVideo(t *testing.T, sc *cameraScene) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replay.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("YUV4MPEG2 W480 H640 F30:1 Ip A1:1 C420jpeg\n"); err != nil {
		t.Fatal(err)
	}
	y := make([]byte, camW*camH)
	u := make([]byte, camW*camH/4)
	v := make([]byte, camW*camH/4)
	clamp := func(x float64) byte { return byte(math.Max(0, math.Min(255, math.Round(x)))) }
	seed := uint32(1)
	noise := func() float64 {
		// Sum of uniforms: close enough to normal, σ ≈ 1.5 levels.
		var s float64
		for range 4 {
			seed = seed*1664525 + 1013904223
			s += float64(seed>>8)/(1<<24) - 0.5
		}
		return s * 2.6
	}
	cb, cr := make([]float64, camW*camH), make([]float64, camW*camH)
	for range 15 {
		for i := 0; i < camW*camH; i++ {
			p := sc.frame.Pix[4*i:]
			r, g, b := float64(p[0])+noise(), float64(p[1])+noise(), float64(p[2])+noise()
			y[i] = clamp(0.299*r + 0.587*g + 0.114*b)
			cb[i] = 128 - 0.168736*r - 0.331264*g + 0.5*b
			cr[i] = 128 + 0.5*r - 0.418688*g - 0.081312*b
		}
		for j := 0; j < camH/2; j++ {
			for i := 0; i < camW/2; i++ {
				k := 2*j*camW + 2*i
				u[j*camW/2+i] = clamp((cb[k] + cb[k+1] + cb[k+camW] + cb[k+camW+1]) / 4)
				v[j*camW/2+i] = clamp((cr[k] + cr[k+1] + cr[k+camW] + cr[k+camW+1]) / 4)
			}
		}
		for _, b := range [][]byte{[]byte("FRAME\n"), y, u, v} {
			if _, err := f.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
