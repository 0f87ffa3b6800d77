package session

import (
	"slices"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/store"
)

func TestClientSignals(t *testing.T) {
	t.Parallel()
	camera := cameraEnv()
	for _, tc := range []struct {
		name string
		env  func(e *Env) *Env
		want []string
	}{
		{"front camera", func(e *Env) *Env { return e }, nil},
		{"no report", func(*Env) *Env { return nil }, []string{SignalUnattested}},
		{"automation", func(e *Env) *Env { e.Webdriver = true; return e }, []string{SignalAutomation}},
		{"patched getUserMedia", func(e *Env) *Env { e.MediaPatched = true; return e }, []string{SignalPatchedMedia}},
		{"canvas track", func(e *Env) *Env { e.Track.Source = "canvas"; return e }, []string{SignalSyntheticCamera}},
		{"no device id", func(e *Env) *Env { e.Track.DeviceID = false; return e }, []string{SignalSyntheticCamera}},
		{"OBS", func(e *Env) *Env { e.Track.Label = "OBS Virtual Camera"; return e }, []string{SignalVirtualCamera}},
		{"ManyCam", func(e *Env) *Env { e.Track.Label = "ManyCam Video Source"; return e }, []string{SignalVirtualCamera}},
		{"Chrome's fake device", func(e *Env) *Env { e.Track.Label = "fake_device_0"; return e }, []string{SignalVirtualCamera}},
		{"laptop camera", func(e *Env) *Env { e.Track.Label = "FaceTime HD Camera (Built-in)"; return e }, nil},
		{"everything", func(e *Env) *Env {
			e.Webdriver, e.MediaPatched, e.Track.Source, e.Track.Label = true, true, "generated", "XSplit VCam"
			return e
		}, []string{SignalAutomation, SignalPatchedMedia, SignalSyntheticCamera, SignalVirtualCamera}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *camera
			if got := clientSignals(tc.env(&c)); !slices.Equal(got, tc.want) {
				t.Errorf("signals %v, want %v", got, tc.want)
			}
		})
	}
}

// A genuine sequence sent by a client whose report accuses it fails on
// injection, with the signal in face_genuineness; the same sequence from a
// clean client passes (TestGenuinePass).
func TestInjectionFailsAttempt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    *Env
		signal string
	}{
		{"no report", nil, SignalUnattested},
		{"automation", func() *Env { e := cameraEnv(); e.Webdriver = true; return e }(), SignalAutomation},
		{"virtual camera", func() *Env { e := cameraEnv(); e.Track.Label = "OBS Virtual Camera"; return e }(), SignalVirtualCamera},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tok := h.token(2)
			c := h.connect("")
			c.send(&Hello{Token: tok, SDKVersion: "test", Screen: Screen{W: 390, H: 844, DPR: 3}})
			if tc.env != nil {
				c.send(tc.env)
			}
			c.sync()
			c.next()
			s := h.render(flashsim.Genuine, h.nextChallenge(6), 1)
			if !c.toGate(s, 5*time.Second) {
				t.Fatal("the gate did not pass")
			}
			pr := c.play(s, 0)
			if pr.result == nil || pr.result.Success || pr.result.Code != CodeLivenessFailed {
				t.Fatalf("result %+v, want LIVENESS_FAILED", pr.result)
			}
			r := h.result(tok)
			g := r.Liveness.FaceGenuineness
			if r.Status != store.StatusProcessing || g == nil || g.InjectionSuspected != 1 || !slices.Contains(g.InjectionSignals, tc.signal) {
				t.Fatalf("stored %s, %+v; want injection_suspected with %s", r.Status, g, tc.signal)
			}
		})
	}
}

// The address's attempt budget: a hello is refused once it is spent,
// before the token is touched; a budget spent while a session waits at
// the mirror refuses its flashes.
func TestAttemptsPerAddress(t *testing.T) {
	h := newHarness(t)
	th := &countThrottle{left: 1}
	tok := h.token(3)
	c := h.connectInfo(h.m, ConnInfo{Attempts: th})
	c.hello(tok)
	c.next()
	s := h.render(flashsim.Genuine, h.nextChallenge(6), 1)
	if !c.toGate(s, 5*time.Second) {
		t.Fatal("the gate did not pass")
	}
	if pr := c.play(s, 0); pr.result == nil || !pr.result.Success {
		t.Fatalf("first attempt: %+v", pr.result)
	}

	other := h.token(3)
	d := h.connectInfo(h.m, ConnInfo{Attempts: th})
	d.hello(other)
	<-d.done
	if e := findErr(d.next()); e == nil || e.Code != CodeTooManyAttempts || d.closeCode() != CloseTooManyAttempts {
		t.Fatalf("hello past the address's budget: error %+v, close %d", e, d.closeCode())
	}
	if r := h.result(other); r.Status != store.StatusNotStarted || r.Attempts != 0 {
		t.Fatalf("the refused token changed: %+v", r)
	}
}
