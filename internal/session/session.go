package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/store"
)

// state is where a session is in the capture flow (see doc.go).
type state int

const (
	stHello    state = iota // waiting for hello
	stMirror                // framing check
	stBaseline              // gate passed, dense pre-flash capture
	stFlash                 // colours on screen
	stTail                  // DONE sent, last frames arriving
	stEnded                 // closed or closing
)

// Timer kinds; a timer event is ignored unless it belongs to the current
// epoch (the state it was armed in).
type timerKind int

const (
	tHello timerKind = iota
	tMirror
	tBaseline
	tColor
	tTail
	tFaceCheck
	tExpiry
)

type timerEvent struct {
	kind  timerKind
	epoch int
	index int
}

// supersedeEvent tells a session that a newer connection took its token,
// in this process or, seen through the store, on another node.
type supersedeEvent struct{}

// inboundEvent is one read from the connection.
type inboundEvent struct {
	msg Inbound
	err error
}

// attempt is one colour sequence in the making.
type attempt struct {
	id       int
	tr       *tracker
	ch       liveness.Challenge
	revealed bool // a colour was sent: the challenge is spent
	counted  bool
	index    int // the colour on screen, 0-based
	sent     []time.Time
	acks     []ack
	start    time.Time // when the gate passed
	lastFace time.Time // arrival of the newest frame detected with one face
	lastSeen time.Time // arrival of the newest frame the worker detected on
	// rec collects the frames for the attempt's record when the key
	// records attempts (see record.go); nil otherwise.
	rec *recorder
}

// faceAge is how long the attempt has gone without a frame detected with
// one face (since the gate passed, if none yet), measured on the frames the
// worker has processed: the arrival of the newest processed frame minus
// that of the newest one with a face. Measuring against the wall clock
// instead would make a worker that lags on a loaded machine look like a
// lost face. A stream that stops, or a worker that stalls, still counts,
// at a quarter of the wall-clock time, so it ends the attempt after four
// times the limit.
func (a *attempt) faceAge(now time.Time) time.Duration {
	ref := a.lastFace
	if !ref.After(a.start) {
		ref = a.start
	}
	var age time.Duration
	if a.lastSeen.After(ref) {
		age = a.lastSeen.Sub(ref)
	}
	return max(age, now.Sub(ref)/4)
}

// ack is one shown acknowledgement.
type ack struct {
	ms      float64
	arrival time.Time
	ok      bool
}

// Session is one connection's run of the capture flow. It is driven by
// one goroutine (run): inbound messages, timers and analysis results are
// events it handles in turn, so its state needs no locking.
type Session struct {
	m    *Manager
	conn Conn
	info ConnInfo
	clk  Clock
	p    *Params
	log  *slog.Logger

	in   chan inboundEvent
	ctl  chan any
	quit chan struct{}
	w    *worker

	state state
	epoch int
	ctx   context.Context

	token     string
	v         *store.Verification
	lang      string
	attempts  int
	evaluated bool // some attempt of this verification was evaluated
	details   store.LivenessDetails
	genuine   *store.FaceGenuineness
	occluded  *int // face_occlusion of the last evaluated attempt's best frame
	cm        clockMap
	// env is the client's latest environment report, nil before one.
	env *Env
	// record says the token's key records attempts (record.go) and has
	// some left.
	record bool

	mirrorGen int
	good      int
	lastTip   string

	at       *attempt
	attemptN int

	framesDropped atomic.Int64  // the reader drops frames too
	expiry        Timer         // the token's life_time
	closed        chan struct{} // closed once the connection is

	// owner is the id this connection claims its token's capture with
	// (store.CaptureStore): random, so that no connection anywhere takes
	// another's for its own.
	owner string

	// draining is set when the server began shutting down during the
	// tail: the attempt is evaluated first, then the session ends.
	draining bool
}

// Serve runs the capture flow on conn until the connection ends. Once
// Shutdown has begun it closes conn with 1001 at once.
func (m *Manager) Serve(ctx context.Context, conn Conn, info ConnInfo) {
	if !m.enter() {
		if err := conn.Close(CloseGoingAway, "server shutting down"); err != nil {
			m.cfg.Logger.Debug("rtc close", "err", err)
		}
		return
	}
	defer m.leave()
	s := &Session{
		m:    m,
		conn: conn,
		info: info,
		clk:  m.cfg.Clock,
		p:    &m.cfg.Params,
		log:  m.cfg.Logger.With("client", info.Client.String()),
		in:   make(chan inboundEvent, 64),
		ctl:  make(chan any, 16),
		quit: make(chan struct{}),
		w:    newWorker(),
		lang: "0",
	}
	s.owner = rand.Text()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Store writes (an attempt spent, an outcome) must complete even when
	// the connection's context ends with the client.
	s.ctx = context.WithoutCancel(ctx)
	go s.w.run(s.checkMirrorFrame)
	go s.read(ctx)
	s.arm(tHello, s.p.HelloTimeout, 0)
	s.runGuarded(ctx)
	close(s.quit)
	s.w.close()
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if s.token != "" {
		m.unregister(s.token, s)
	}
	if s.closed != nil {
		<-s.closed
	}
}

// read forwards the connection's messages to the loop. Frames are dropped
// rather than queued when the loop is behind: a late frame is worth less
// than the connection's responsiveness.
func (s *Session) read(ctx context.Context) {
	defer func() {
		// The transport parses what the client sent: a panic there
		// ends this session, not the process.
		if v := recover(); v != nil {
			select {
			case s.in <- inboundEvent{err: recovered(v)}:
			case <-s.quit:
			}
		}
	}()
	for {
		msg, err := s.conn.Read(ctx)
		now := s.clk.Now()
		if err != nil {
			select {
			case s.in <- inboundEvent{err: err}:
			case <-s.quit:
			}
			return
		}
		if f, ok := msg.(*Frame); ok {
			f.Arrival = now
			select {
			case s.in <- inboundEvent{msg: f}:
			default:
				s.framesDropped.Add(1)
			}
			continue
		}
		select {
		case s.in <- inboundEvent{msg: msg}:
		case <-s.quit:
			return
		}
	}
}

// runGuarded is run, ending the session rather than the process on a
// panic: the handlers analyse what the client sent (the evaluation runs
// on the loop).
func (s *Session) runGuarded(ctx context.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.crashed(recovered(v))
		}
	}()
	s.run(ctx)
}

func (s *Session) run(ctx context.Context) {
	stopping := s.m.stopping
	for s.state != stEnded {
		if s.draining && s.state != stTail {
			// The attempt that was in its tail at shutdown is decided.
			s.shutdown()
			continue
		}
		// Timers and analysis results first: they keep the colours on
		// time while frames pour in.
		select {
		case ev := <-s.ctl:
			s.control(ev)
			continue
		case <-s.w.kick:
			s.drainWork()
			continue
		default:
		}
		select {
		case ev := <-s.ctl:
			s.control(ev)
		case <-s.w.kick:
			s.drainWork()
		case ev := <-s.in:
			s.inbound(ev)
		case <-stopping:
			stopping = nil
			s.log.Info("rtc shutdown", "tail", s.state == stTail)
			if s.state == stTail {
				// Every colour was shown and the attempt is counted:
				// let it be decided (TailGrace and the analysis, about a
				// second) rather than spend it for nothing.
				s.draining = true
				continue
			}
			s.shutdown()
		case <-ctx.Done():
			s.abandon()
			s.end(CloseNormal, "server shutting down")
		}
	}
}

// arm starts a timer of kind for the current epoch.
func (s *Session) arm(kind timerKind, d time.Duration, index int) Timer {
	ev := timerEvent{kind: kind, epoch: s.epoch, index: index}
	return s.clk.AfterFunc(d, func() {
		select {
		case s.ctl <- ev:
		case <-s.quit:
		}
	})
}

// enter changes state, invalidating the timers of the previous one.
func (s *Session) enter(st state) {
	if s.state == stEnded {
		// Ended is final: a handler that goes on after a failed send
		// ended the session must not bring it back to life.
		return
	}
	s.state = st
	s.epoch++
}

func (s *Session) control(ev any) {
	switch ev := ev.(type) {
	case timerEvent:
		if ev.kind == tExpiry {
			s.expired()
			return
		}
		if ev.epoch != s.epoch {
			return
		}
		switch ev.kind {
		case tHello:
			if s.state == stHello {
				s.fail(CodeInternalError, CloseBadHello, "no hello in time")
			}
		case tMirror:
			s.mirrorTimeout()
		case tBaseline:
			s.startFlash()
		case tColor:
			s.nextColor(ev.index)
		case tTail:
			s.evaluate()
		case tFaceCheck:
			s.faceCheck()
		}
	case supersedeEvent:
		s.superseded()
	case syncEvent:
		s.w.barrier()
		s.drainWork()
		close(ev.done)
	}
}

func (s *Session) inbound(ev inboundEvent) {
	if p, ok := ev.err.(*panicError); ok {
		s.crashed(p)
		return
	}
	if ev.err != nil {
		// The client went away (or broke the protocol's framing).
		s.abandon()
		s.end(CloseNormal, "")
		return
	}
	switch msg := ev.msg.(type) {
	case *syncMsg:
		s.control(syncEvent{done: msg.done})
		return
	case *Hello:
		if s.state == stHello {
			s.hello(msg)
		}
		return
	}
	if s.state == stHello {
		s.fail(CodeInternalError, CloseBadHello, "the first message must be hello")
		return
	}
	switch msg := ev.msg.(type) {
	case *Frame:
		s.frame(msg)
	case *Shown:
		s.shown(msg)
	case *Env:
		s.report(msg)
	case *Cancel:
		s.abandon()
		s.end(CloseNormal, "cancelled")
	}
}

// hello admits the connection: the token must exist and be usable, the
// page's origin allowed for its key.
func (s *Session) hello(h *Hello) {
	ctx := s.ctx
	if h.Token == "" || len(h.Token) > 1024 {
		s.fail(CodeInternalError, CloseBadHello, "hello without a valid token")
		return
	}
	v, err := s.m.cfg.Store.Verification(ctx, h.Token)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(CodeTokenInvalid, CloseTokenInvalid, "unknown token")
		return
	}
	if err != nil {
		s.internal(err)
		return
	}
	s.lang = v.Language
	key, err := s.m.cfg.Store.Key(ctx, v.KeyID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(err)
		return
	}
	if key == nil || key.Disabled || !OriginAllowed(key.AllowedOrigins, s.info.Origin) {
		s.log.Info("rtc refused", "reason", "key disabled or origin not allowed", "origin", s.info.Origin)
		s.fail(CodeTokenInvalid, CloseTokenInvalid, "token not valid here")
		return
	}
	s.record = s.m.cfg.Seal != nil && key.RecordAttempts > key.Recorded
	if a := s.info.Attempts; a != nil && !a.Allow(false) {
		s.log.Info("rtc refused", "reason", "attempts from this address")
		s.fail(CodeTooManyAttempts, CloseTooManyAttempts, "too many attempts from this address")
		return
	}
	seen := v
	v, err = s.m.cfg.Store.BeginCapture(ctx, h.Token, s.clk.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(CodeTokenInvalid, CloseTokenInvalid, "unknown token")
		return
	case errors.Is(err, store.ErrExpired):
		s.fail(CodeTokenExpired, CloseTokenInvalid, "token expired")
		return
	case errors.Is(err, store.ErrFinished):
		s.fail(CodeTokenFinished, CloseTokenFinished, "verification finished")
		return
	case errors.Is(err, store.ErrAttemptsExhausted):
		// The last attempt ended without an outcome (a crash, a lost
		// connection): close the verification now.
		s.token, s.attempts = h.Token, seen.Attempts
		s.loadInterim()
		s.finishStore(store.StatusFailed)
		s.fail(CodeMoreRetryTimes, CloseNoAttemptsLeft, "no attempts left")
		return
	case errors.Is(err, store.ErrSubjectAttempts):
		// The person (the token's uuid) has used the key's attempt budget
		// within the window, over all its tokens. The token itself is
		// left as it is: it ends at its expiry.
		s.log.Info("rtc refused", "reason", "the uuid's attempts are spent")
		s.fail(CodeMoreRetryTimes, CloseNoAttemptsLeft, "the uuid's attempts are spent")
		return
	case err != nil:
		s.internal(err)
		return
	}
	s.v, s.token, s.attempts = v, v.Token, v.Attempts
	s.log = s.log.With("token_prefix", tokenPrefix(v.Token), "api_key", v.KeyID)
	old, err := s.m.claim(ctx, v.Token, s)
	if err != nil {
		// Only a deletion since BeginCapture makes the token unknown.
		if errors.Is(err, store.ErrNotFound) {
			s.fail(CodeTokenInvalid, CloseTokenInvalid, "unknown token")
		} else {
			s.internal(err)
		}
		return
	}
	if old != nil {
		// The older connection may spend its challenge as it goes: wait
		// for it (briefly) so that this one starts from the final count.
		select {
		case old.ctl <- supersedeEvent{}:
		case <-old.quit:
		}
		select {
		case <-old.quit:
		case <-time.After(2 * time.Second):
		}
		if nv, err := s.m.cfg.Store.Verification(ctx, v.Token); err == nil {
			s.v, s.attempts = nv, nv.Attempts
		}
		if s.attempts >= s.v.MaxUploadTimes {
			s.finishStore(store.StatusFailed)
			s.fail(CodeMoreRetryTimes, CloseNoAttemptsLeft, "no attempts left")
			return
		}
	}
	s.loadInterim()
	s.watchOwner()
	s.expiry = s.clk.AfterFunc(v.ExpiresAt.Sub(s.clk.Now()), func() {
		select {
		case s.ctl <- timerEvent{kind: tExpiry}:
		case <-s.quit:
		}
	})
	s.log.Info("rtc hello", "sdk_version", h.SDKVersion, "attempts", v.Attempts, "max", v.MaxUploadTimes)
	// No WS_CONNECTED status: the SDK reports it itself on config, and
	// one arriving after its MIRROR would step the page back.
	s.sendConfig(s.p.MirrorCapture)
	s.enterMirror("")
}

// loadInterim picks up what earlier connections stored: the counters and
// scores of attempts already evaluated.
func (s *Session) loadInterim() {
	r, err := s.m.cfg.Store.Result(s.ctx, s.token)
	if err != nil || r.Liveness == nil {
		return
	}
	s.evaluated = true
	s.details = r.Liveness.Details
	s.genuine = r.Liveness.FaceGenuineness
	s.occluded = r.Liveness.FaceOcclusion
}

func (s *Session) sendConfig(c Capture) {
	v := s.v
	s.send(&ConfigMessage{
		Type:           "config",
		Language:       v.Language,
		ColorNumber:    v.ColorNumber,
		Attempt:        min(s.attempts+1, v.MaxUploadTimes),
		MaxUploadTimes: v.MaxUploadTimes,
		Capture:        c,
	})
}

// toMirror returns to the mirror stage after a gate pass: the SDK goes
// back to small preview frames.
func (s *Session) toMirror(tip string) {
	s.sendConfig(s.p.MirrorCapture)
	s.enterMirror(tip)
}

// enterMirror starts (or restarts) the mirror stage.
func (s *Session) enterMirror(tip string) {
	s.enter(stMirror)
	s.mirrorGen++
	s.good, s.lastTip = 0, ""
	s.at = nil
	s.w.dropCapture(-1)
	s.send(&StatusMessage{Type: "status", Code: StatusMirror})
	if tip != "" {
		s.tip(tip)
	}
	s.arm(tMirror, s.p.MirrorTimeout, 0)
}

func (s *Session) tip(code string) {
	s.lastTip = code
	s.send(&TipMessage{Type: "tip", Code: code, Text: text(s.lang, code)})
}

// frame routes a camera frame by stage.
func (s *Session) frame(f *Frame) {
	if !validClientMs(f.CaptureMs) || (f.Kind != KindPreview && f.Kind != KindFlash) {
		s.framesDropped.Add(1)
		return
	}
	s.cm.observe(f.CaptureMs, f.Arrival)
	switch s.state {
	case stMirror:
		if f.Kind == KindPreview {
			s.w.setMirror(&mirrorJob{f: f, gen: s.mirrorGen, occlusion: s.v.FaceOcclusionDetection})
		}
	case stBaseline, stFlash, stTail:
		if f.Arrival.Sub(s.cm.server(f.CaptureMs)) > s.p.MaxFrameDelay {
			s.framesDropped.Add(1)
			return
		}
		if s.at.rec != nil {
			s.at.rec.add(f)
		}
		s.w.addCapture(captureJob{f: f, tr: s.at.tr, id: s.at.id})
	}
}

// checkMirrorFrame runs on the worker: decode, detect, judge framing.
func (s *Session) checkMirrorFrame(j *mirrorJob) gateResult {
	img, err := decodeFrame(j.f.JPEG, s.p.MaxFrameBytes, s.p.MaxFrameSide)
	if err != nil {
		return gateResult{gen: j.gen, err: err}
	}
	faces := s.m.cfg.Analyzer.Detect(img)
	tip := s.m.cfg.Gate.check(img.W, img.H, faces)
	if tip == "" && j.occlusion {
		tip = occlusionTip(face.MeasureOcclusion(img, faces[0]))
	}
	return gateResult{gen: j.gen, tip: tip}
}

func (s *Session) drainWork() {
	for _, r := range s.w.take() {
		switch r := r.(type) {
		case *panicError:
			s.crashed(r)
			return
		case gateResult:
			s.gate(r)
		case trackEvent:
			if s.at == nil || r.id != s.at.id {
				continue
			}
			if r.res.detected && r.f.Arrival.After(s.at.lastSeen) {
				s.at.lastSeen = r.f.Arrival
			}
			if r.res.detected && r.res.faces == 1 && r.f.Arrival.After(s.at.lastFace) {
				s.at.lastFace = r.f.Arrival
			}
		}
	}
}

// gate applies one mirror frame's verdict.
func (s *Session) gate(r gateResult) {
	if s.state != stMirror || r.gen != s.mirrorGen {
		return
	}
	if r.err != nil {
		s.framesDropped.Add(1)
		return
	}
	if r.tip != "" {
		s.good = 0
		if r.tip != s.lastTip {
			// Counted once per episode, not per frame: the counters say
			// how often the user went wrong, not for how long.
			countTip(&s.details, r.tip)
			s.tip(r.tip)
		}
		return
	}
	s.good++
	if s.good >= s.p.GoodFrames {
		s.startBaseline()
		return
	}
	if s.lastTip != TipKeepStill {
		s.tip(TipKeepStill)
	}
}

// startBaseline begins an attempt: the SDK is asked for dense frames at
// the flash size, and the first colour follows BaselineDuration later.
func (s *Session) startBaseline() {
	s.enter(stBaseline)
	s.w.setMirror(nil)
	s.attemptN++
	s.at = &attempt{id: s.attemptN, tr: newTracker(s.m.cfg.Analyzer, s.p), start: s.clk.Now()}
	if s.record {
		s.at.rec = &recorder{}
	}
	s.w.dropCapture(s.at.id)
	s.sendConfig(s.p.BaselineCapture)
	s.arm(tBaseline, s.p.BaselineDuration, 0)
	s.arm(tFaceCheck, s.p.FaceLostTimeout/4, 0)
}

// startFlash draws the challenge, only now that the gate has passed and
// the face is still there (spec §5.4 item 1), and shows its first colour.
func (s *Session) startFlash() {
	now := s.clk.Now()
	if s.at.lastFace.IsZero() {
		// No dense frame has shown the face yet (the SDK may still be
		// switching): wait a little, within the face-lost limit.
		if s.at.faceAge(now) > s.p.FaceLostTimeout {
			s.toMirror(TipNoFace)
		} else {
			s.arm(tBaseline, s.p.BaselineDuration/6, 0)
		}
		return
	}
	if s.at.faceAge(now) > s.p.FaceLostTimeout {
		s.toMirror(TipNoFace)
		return
	}
	if t := s.info.Attempts; t != nil && !t.Allow(true) {
		// Nothing shown yet, so nothing spent; the address has begun
		// too many attempts (with any token) lately.
		s.log.Info("rtc refused", "reason", "attempts from this address")
		s.fail(CodeTooManyAttempts, CloseTooManyAttempts, "too many attempts from this address")
		return
	}
	s.enter(stFlash)
	a := s.at
	a.ch = s.m.newChallenge(s.v.ColorNumber)
	n := len(a.ch.Colors)
	a.sent = make([]time.Time, n)
	a.acks = make([]ack, n)
	s.send(&StatusMessage{Type: "status", Code: StatusFlashing})
	s.showColor(0)
	s.arm(tFaceCheck, s.p.FaceLostTimeout/4, 0)
}

// showColor sends colour i and arms the timer for the next. Holds are
// timed on the server, so the shown intervals differ from the asked holds
// only by the jitter of the downlink and of the timers, which Analyze
// bounds (MaxHoldSkew).
func (s *Session) showColor(i int) {
	a := s.at
	a.index, a.revealed = i, true
	a.sent[i] = s.clk.Now()
	if i == 0 {
		a.ch.Start = a.sent[0]
	}
	c := a.ch.Colors[i]
	// Without hold_ms: the server times the colours, the page needs no
	// schedule, and a renderer in its place learns neither the next
	// colour nor when it comes until it is shown.
	s.send(&ColorMessage{
		Type: "color", Status: ColorColoring, Color: c.Hex(),
		Index: i + 1, Sum: len(a.ch.Colors), SeqID: a.ch.SeqID,
	})
	// The next change is due on the schedule from the first colour, so
	// that a timer firing late does not push every later colour back.
	due := a.sent[0]
	for _, h := range a.ch.Holds[:i+1] {
		due = due.Add(h)
	}
	s.arm(tColor, due.Sub(s.clk.Now()), i)
}

func (s *Session) nextColor(i int) {
	if s.state != stFlash || i != s.at.index {
		return
	}
	if i+1 < len(s.at.ch.Colors) {
		s.showColor(i + 1)
		return
	}
	// DONE: the sequence is one upload (spec §3.6 item 4), counted now,
	// whatever the evaluation says.
	s.send(&ColorMessage{Type: "color", Status: ColorDone, Index: i + 1, Sum: len(s.at.ch.Colors), SeqID: s.at.ch.SeqID})
	s.send(&StatusMessage{Type: "status", Code: StatusEvaluating})
	s.enter(stTail)
	if !s.countAttempt() {
		return
	}
	s.arm(tTail, s.p.TailGrace, 0)
}

// shown records a paint acknowledgement; checked against the server's
// times at evaluation, when the clock mapping is at its best.
func (s *Session) shown(m *Shown) {
	a := s.at
	if a == nil || !a.revealed || (s.state != stFlash && s.state != stTail) {
		return
	}
	i := m.Index - 1
	if m.SeqID != a.ch.SeqID || i < 0 || i > a.index || a.acks[i].ok || !validClientMs(m.TClientMs) {
		return
	}
	a.acks[i] = ack{ms: m.TClientMs, arrival: s.clk.Now(), ok: true}
}

// report keeps the client's environment report for the evaluation,
// logging what it says about the camera when that changes.
func (s *Session) report(e *Env) {
	if s.env == nil || s.env.Track != e.Track || s.env.Webdriver != e.Webdriver || s.env.MediaPatched != e.MediaPatched {
		s.log.Info("rtc client env", "camera", e.Track.Label, "source", e.Track.Source, "device_id", e.Track.DeviceID,
			"facing", e.Track.FacingMode, "size", fmt.Sprintf("%dx%d", e.Track.Width, e.Track.Height),
			"fps", e.Track.FrameRate, "webdriver", e.Webdriver, "media_patched", e.MediaPatched,
			"signals", clientSignals(e))
	}
	s.env = e
}

// faceCheck abandons the sequence (RESET) when the face has been gone
// too long.
func (s *Session) faceCheck() {
	if s.state != stBaseline && s.state != stFlash {
		return
	}
	if s.at.faceAge(s.clk.Now()) <= s.p.FaceLostTimeout {
		s.arm(tFaceCheck, s.p.FaceLostTimeout/4, 0)
		return
	}
	if s.state == stBaseline {
		// No colour shown yet: nothing is spent.
		s.toMirror(TipNoFace)
		return
	}
	s.send(&ColorMessage{Type: "color", Status: ColorReset, Index: s.at.index + 1, Sum: len(s.at.ch.Colors), SeqID: s.at.ch.SeqID})
	s.log.Info("rtc reset", "colour", s.at.index+1)
	if !s.countAttempt() {
		return
	}
	if s.attempts >= s.v.MaxUploadTimes {
		s.finish(store.StatusFailed, CodeMoreRetryTimes)
		return
	}
	s.toMirror(TipNoFace)
}

// countAttempt counts the current attempt once. It reports false when
// the session ended because the store refused or another connection owns
// the token now.
func (s *Session) countAttempt() bool {
	a := s.at
	if a == nil || a.counted {
		return true
	}
	if !s.ownsCapture() {
		return false
	}
	a.counted = true
	n, err := s.m.cfg.Store.CountAttempt(s.ctx, s.token, s.clk.Now())
	switch {
	case err == nil:
		s.attempts = n
		return true
	case errors.Is(err, store.ErrExpired):
		s.fail(CodeTokenExpired, CloseTokenInvalid, "token expired")
	case errors.Is(err, store.ErrFinished):
		s.fail(CodeTokenFinished, CloseTokenFinished, "verification finished")
	case errors.Is(err, store.ErrAttemptsExhausted):
		s.attempts = s.v.MaxUploadTimes
		s.finish(store.StatusFailed, CodeMoreRetryTimes)
	case errors.Is(err, store.ErrSubjectAttempts):
		// Another token of the same uuid used the person's last attempt
		// meanwhile: this one cannot be judged.
		s.log.Info("rtc attempt refused", "reason", "the uuid's attempts are spent")
		s.finish(store.StatusFailed, CodeMoreRetryTimes)
	default:
		s.internal(err)
	}
	return false
}

// abandon spends the current challenge if a colour of it was shown: the
// user saw part of the sequence, and leaving must not buy a fresh one for
// free. If that was the last attempt the verification fails.
func (s *Session) abandon() {
	a := s.at
	if a == nil || !a.revealed || a.counted || s.token == "" {
		return
	}
	a.counted = true
	n, err := s.m.cfg.Store.CountAttempt(s.ctx, s.token, s.clk.Now())
	if err != nil {
		s.log.Info("rtc abandon", "err", err)
		return
	}
	s.attempts = n
	if n >= s.v.MaxUploadTimes {
		s.finishStore(store.StatusFailed)
	}
}

func (s *Session) mirrorTimeout() {
	if s.state != stMirror || !s.ownsCapture() {
		return
	}
	// A face still covered at the time-out (lastTip an occlusion tip)
	// ends like any other mirror time-out: FAILED, with a liveness
	// result only if an earlier attempt was evaluated (spec §4.1, note
	// 20). "Occlusion forces result=FAIL" (§4.2) is about the result of
	// an evaluated attempt (see evaluate); none was evaluated here.
	s.log.Info("rtc mirror timeout", "tip", s.lastTip)
	s.finish(store.StatusFailed, CodeMirrorTimeout)
}

func (s *Session) expired() {
	if s.state == stEnded {
		return
	}
	if _, err := s.m.cfg.Store.ExpireVerifications(s.ctx, s.clk.Now(), s.token); err != nil {
		s.log.Error("rtc expire", "err", err)
	}
	s.fail(CodeTokenExpired, CloseTokenInvalid, "token expired")
}

// livenessResult is what the verification says about liveness so far.
func (s *Session) livenessResult(result string) *store.LivenessResult {
	d := s.details
	d.UploadTimes = s.attempts
	return &store.LivenessResult{Result: result, Details: d, FaceGenuineness: s.genuine, FaceOcclusion: s.occluded, Transport: store.TransportRTC}
}

// finishStore ends the verification in the store with status and, when
// an attempt was evaluated, the liveness result so far.
func (s *Session) finishStore(st store.Status) {
	o := &store.Outcome{Status: st, At: s.clk.Now()}
	if s.evaluated {
		o.Liveness = s.livenessResult(store.LivenessFail)
	}
	if err := s.m.cfg.Store.FinishVerification(s.ctx, s.token, o); err != nil && !errors.Is(err, store.ErrFinished) {
		s.log.Error("rtc finish", "err", err)
	}
}

// finish ends the verification as FAILED with code and tells the client.
func (s *Session) finish(st store.Status, code string) {
	s.finishStore(st)
	s.result(false, code)
	s.end(CloseNormal, "")
}

func (s *Session) result(success bool, code string) {
	s.send(&ResultMessage{
		Type: "result", Success: success, Code: code, Message: text(s.lang, code),
		Attempt: s.attempts, Remaining: max(0, s.v.MaxUploadTimes-s.attempts),
	})
	if success || s.attempts >= s.v.MaxUploadTimes || code != CodeLivenessFailed {
		s.send(&StatusMessage{Type: "status", Code: StatusFinished})
	}
}

// fail sends an error and closes the connection.
func (s *Session) fail(code string, closeCode int, why string) {
	if s.state == stEnded {
		return
	}
	s.log.Info("rtc closed", "code", code, "close", closeCode, "why", why)
	s.send(&ErrorMessage{Type: "error", Code: code, Message: text(s.lang, code)})
	s.end(closeCode, why)
}

// shutdown ends the session because the server is going away: a shown
// challenge is spent, as on any departure, and the client is told to
// try again.
func (s *Session) shutdown() {
	s.abandon()
	s.fail(CodeNetworkError, CloseGoingAway, "server shutting down")
}

// crashed ends the session after a panic in its handling, which would
// otherwise take the process and every other session with it: the stack
// is logged, a shown challenge spent, and the client gets INTERNAL_ERROR
// and close 1011.
func (s *Session) crashed(p *panicError) {
	s.log.Error("rtc panic", "panic", fmt.Sprint(p.value), "stack", string(p.stack))
	s.abandon()
	s.fail(CodeInternalError, CloseInternal, "internal error")
}

func (s *Session) internal(err error) {
	s.log.Error("rtc internal error", "err", err)
	s.fail(CodeInternalError, CloseInternal, "internal error")
}

// end closes the connection; the loop stops.
func (s *Session) end(code int, reason string) {
	if s.state == stEnded {
		return
	}
	s.enter(stEnded)
	if n := s.framesDropped.Load(); n > 0 {
		s.log.Info("rtc frames dropped", "n", n)
	}
	// A close handshake waits for the peer; the loop must not, so that
	// a superseding connection is not held up by a silent client.
	// The goroutine closes its own channel, not whatever s.closed holds
	// when it gets to run.
	closed := make(chan struct{})
	s.closed = closed
	go func() {
		defer close(closed)
		if err := s.conn.Close(code, reason); err != nil {
			s.log.Debug("rtc close", "err", err)
		}
	}()
}

// send writes one message; a failed write ends the session as a lost
// connection.
func (s *Session) send(m Outbound) {
	if s.state == stEnded {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := s.conn.Send(ctx, m); err != nil {
		s.log.Info("rtc send failed", "err", err)
		s.abandon()
		s.end(CloseNormal, "")
	}
}

// tokenPrefix is enough of a token to follow it through the logs without
// making the log a list of bearer credentials.
func tokenPrefix(t string) string {
	if len(t) > 6 {
		return t[:6]
	}
	return t
}

// syncMsg and syncEvent let tests wait until the session has handled
// everything sent before and its worker is idle.
type syncMsg struct{ done chan struct{} }

func (*syncMsg) inbound() {}

type syncEvent struct{ done chan struct{} }
