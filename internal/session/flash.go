package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/store"
)

// The HTTP fallback (spec §2.3.2): start_flash hands out a whole colour
// sequence, the page shows it while recording, and validate_flash uploads
// the frames with their capture times and the times each colour was
// painted. It is much weaker than the channel: the client knows every
// colour before the first is shown and all timing is its own word, so
// software can render a "genuine" sequence from one photo of the victim
// and upload it. Hence:
//
//   - it serves only tokens of keys that opted in (store.Key.
//     AllowUploadFallback); others get ErrUploadDisabled;
//   - a pass is stored as liveness_result PASS_UPLOAD, never PASS, so that
//     no acceptance rule asking for PASS takes it by mistake;
//   - start_flash spends an attempt as it reveals the colours, as the
//     channel does with its first colour: a client cannot draw sequences
//     for free until it gets colours it has rendered before.

// Errors of the fallback; the API maps them to FaceID errors.
var (
	// ErrTokenInvalid: unknown, expired or finished token, or a key that
	// is disabled or does not allow the page's origin.
	ErrTokenInvalid = errors.New("session: token not valid")
	// ErrNoAttempts: the verification's attempts are spent.
	ErrNoAttempts = errors.New("session: no attempts left")
	// ErrSeqID: the sequence is unknown, used, stale or another token's.
	ErrSeqID = errors.New("session: unknown, used or stale seq_id")
	// ErrTimeline: the timeline does not name each colour exactly once.
	ErrTimeline = errors.New("session: bad timeline")
	// ErrUploadDisabled: the token's key did not opt in to the fallback.
	ErrUploadDisabled = errors.New("session: the upload fallback is not enabled for this key")
	// ErrThrottled: the client's address has begun too many attempts
	// lately (ConnInfo.Attempts).
	ErrThrottled = errors.New("session: too many attempts from this address")
)

// Upload error codes (Raw-ValidateVideo's strings, spec §2.3.2).
const (
	UploadUnsupportedFormat = "VIDEO_UNSUPPORTED_FORMAT"
	UploadInvalidDuration   = "VIDEO_INVALID_DURATION"
	UploadFaceNotFound      = "VIDEO_FACE_NOT_FOUND"
	UploadMultipleFaces     = "VIDEO_MULTIPLE_FACES"
	UploadLowFaceQuality    = "VIDEO_LOW_FACE_QUALITY"
)

// UploadError rejects uploaded media after the attempt was counted.
type UploadError struct {
	Code string
	Err  error
}

func (e *UploadError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *UploadError) Unwrap() error { return e.Err }

// FlashStart is start_flash's answer.
type FlashStart struct {
	SeqID          string
	Colors         []string
	HoldMs         []int
	Attempt        int
	MaxUploadTimes int
}

// UploadFrame is one uploaded frame: its capture time in milliseconds on
// the same clock as the timeline, and its JPEG.
type UploadFrame struct {
	TMs  float64
	JPEG []byte
}

// TimelineEntry says colour Index (1-based) was painted at TMs.
type TimelineEntry struct {
	Index int     `json:"index"`
	TMs   float64 `json:"t_ms"`
}

// FlashUpload is validate_flash's input.
type FlashUpload struct {
	Token    string
	SeqID    string
	Origin   string
	Frames   []UploadFrame
	Timeline []TimelineEntry
}

// FlashOutcome is validate_flash's answer.
type FlashOutcome struct {
	Attempt, Remaining int
	Status             store.Status
	// Success says the attempt passed liveness (and the comparison ran).
	Success bool
}

// admit checks a token for the fallback: known, usable, its key enabled,
// allowing origin and opted in to the fallback.
func (m *Manager) admit(ctx context.Context, token, origin string) (*store.Verification, error) {
	if token == "" {
		return nil, ErrTokenInvalid
	}
	v, err := m.cfg.Store.Verification(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	key, err := m.cfg.Store.Key(ctx, v.KeyID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if key == nil || key.Disabled || !OriginAllowed(key.AllowedOrigins, origin) {
		return nil, ErrTokenInvalid
	}
	if !key.AllowUploadFallback {
		return nil, ErrUploadDisabled
	}
	return v, nil
}

// StartFlash hands out a colour sequence for token and counts the
// attempt it is (the spec's [P] text had it free; a free sequence is a
// free re-roll of the challenge). It moves the verification to
// PROCESSING. The sequence is stored, replacing any older one of the
// token, so that validate_flash may reach any node.
func (m *Manager) StartFlash(ctx context.Context, token string, info ConnInfo) (*FlashStart, error) {
	if _, err := m.admit(ctx, token, info.Origin); err != nil {
		return nil, err
	}
	if info.Attempts != nil && !info.Attempts.Allow(true) {
		return nil, ErrThrottled
	}
	now := m.cfg.Clock.Now()
	v, err := m.cfg.Store.BeginCapture(ctx, token, now)
	if err == nil {
		v.Attempts, err = m.cfg.Store.CountAttempt(ctx, token, now)
	}
	switch {
	case errors.Is(err, store.ErrAttemptsExhausted):
		m.finishSpent(ctx, token, now)
		return nil, ErrNoAttempts
	case errors.Is(err, store.ErrSubjectAttempts):
		// The uuid's budget over all its tokens: this token is left to
		// its expiry.
		return nil, ErrNoAttempts
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExpired), errors.Is(err, store.ErrFinished),
		errors.Is(err, store.ErrNotStarted):
		return nil, ErrTokenInvalid
	case err != nil:
		return nil, err
	}
	ch := m.newChallenge(v.ColorNumber)
	enc, err := encodeChallenge(ch)
	if err != nil {
		return nil, err
	}
	// One live sequence per token (the store replaces the older), none
	// past its life (the store refuses it after ExpiresAt).
	err = m.cfg.Store.SaveFlashSequence(ctx, &store.FlashSequence{
		ID: ch.SeqID, Token: token, Challenge: enc, IssuedAt: now, ExpiresAt: now.Add(m.cfg.Params.SeqTTL),
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrTokenInvalid
	case err != nil:
		return nil, fmt.Errorf("session: save flash sequence: %w", err)
	}

	fs := &FlashStart{SeqID: ch.SeqID, Attempt: v.Attempts, MaxUploadTimes: v.MaxUploadTimes}
	for i, c := range ch.Colors {
		fs.Colors = append(fs.Colors, c.Hex())
		fs.HoldMs = append(fs.HoldMs, int(ch.Holds[i]/time.Millisecond))
	}
	return fs, nil
}

// finishSpent closes a verification whose attempts are all used but which
// is still open, keeping what earlier attempts stored.
func (m *Manager) finishSpent(ctx context.Context, token string, now time.Time) {
	o := &store.Outcome{Status: store.StatusFailed, At: now}
	if r, err := m.cfg.Store.Result(ctx, token); err == nil {
		o.Liveness = r.Liveness
	}
	if err := m.cfg.Store.FinishVerification(ctx, token, o); err != nil && !errors.Is(err, store.ErrFinished) {
		m.cfg.Logger.Error("finish spent verification", "err", err)
	}
}

// ValidateFlash evaluates an uploaded sequence, the attempt start_flash
// counted.
func (m *Manager) ValidateFlash(ctx context.Context, up *FlashUpload) (*FlashOutcome, error) {
	v, err := m.admit(ctx, up.Token, up.Origin)
	if err != nil {
		return nil, err
	}
	if v.Status != store.StatusProcessing {
		// Finished (or never started: no sequence can be pending then).
		return nil, ErrTokenInvalid
	}
	now := m.cfg.Clock.Now()
	// Taken, so single use whatever follows; another token's sequence is
	// left alone, and a stale one is refused.
	seq, err := m.cfg.Store.TakeFlashSequence(ctx, up.Token, up.SeqID, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrSeqID
	case err != nil:
		return nil, fmt.Errorf("session: take flash sequence: %w", err)
	}
	ch, err := decodeChallenge(seq.Challenge)
	if err != nil {
		return nil, err
	}
	shown, err := timelineTimes(ch, up.Timeline)
	if err != nil {
		return nil, err
	}

	out := &FlashOutcome{Attempt: v.Attempts, Remaining: max(0, v.MaxUploadTimes-v.Attempts), Status: store.StatusProcessing}
	ev, err := m.judgeUpload(ctx, v, ch, shown, up.Frames)
	if err != nil {
		var ue *UploadError
		if errors.As(err, &ue) && out.Remaining == 0 {
			m.finishSpent(ctx, up.Token, now)
		}
		return nil, err
	}
	return m.storeUpload(ctx, v, ev, out)
}

// judgeUpload checks the media and evaluates it against ch, whose
// colours were painted at shownMs (on the frames' clock).
func (m *Manager) judgeUpload(ctx context.Context, v *store.Verification, ch liveness.Challenge, shownMs []float64, frames []UploadFrame) (evalOutput, error) {
	p := &m.cfg.Params
	if len(frames) == 0 {
		return evalOutput{}, &UploadError{UploadInvalidDuration, errors.New("no frames")}
	}
	frames = slices.Clone(frames)
	slices.SortStableFunc(frames, func(a, b UploadFrame) int { return cmp.Compare(a.TMs, b.TMs) })
	var total time.Duration
	for _, h := range ch.Holds {
		total += h
	}
	span := time.Duration((frames[len(frames)-1].TMs - frames[0].TMs) * float64(time.Millisecond))
	if span < total || span > p.MaxUploadSpan {
		return evalOutput{}, &UploadError{UploadInvalidDuration, fmt.Errorf("frames span %v, the sequence %v", span, total)}
	}
	tr := newTracker(m.cfg.Analyzer, p)
	multi, faced := false, 0
	for i, f := range frames {
		if err := ctx.Err(); err != nil {
			return evalOutput{}, err
		}
		res := tr.add(&Frame{Kind: KindFlash, CaptureMs: f.TMs, JPEG: f.JPEG, ColorIndex: colorAt(shownMs, f.TMs)})
		if res.err != nil {
			return evalOutput{}, &UploadError{UploadUnsupportedFormat, fmt.Errorf("frame %d: %w", i, res.err)}
		}
		if res.detected && res.faces > 1 {
			multi = true
		}
		if tr.frames[len(tr.frames)-1].win.Img != nil {
			faced++
		}
	}
	switch {
	case multi:
		return evalOutput{}, &UploadError{UploadMultipleFaces, errors.New("more than one face")}
	case faced*2 < len(frames):
		return evalOutput{}, &UploadError{UploadFaceNotFound, fmt.Errorf("a face in %d of %d frames", faced, len(frames))}
	}
	best, _ := tr.best(0)
	if best == nil || m.cfg.Gate.check(best.img.W, best.img.H, []face.Face{best.f}) != "" {
		return evalOutput{}, &UploadError{UploadLowFaceQuality, errors.New("no frame passes the framing rules")}
	}
	shown := make([]time.Time, len(shownMs))
	for i, ms := range shownMs {
		shown[i] = clientTime(ms)
	}
	ch.Start = shown[0]
	return m.evaluate(ctx, evalInput{v: v, ch: ch, shown: shown, tr: tr, mapT: clientTime})
}

// timelineTimes returns the paint time of each colour, in order, from a
// timeline that must name every colour of ch exactly once.
func timelineTimes(ch liveness.Challenge, tl []TimelineEntry) ([]float64, error) {
	n := len(ch.Colors)
	if len(tl) != n {
		return nil, fmt.Errorf("%w: %d entries for %d colours", ErrTimeline, len(tl), n)
	}
	out := make([]float64, n)
	seen := make([]bool, n)
	for _, e := range tl {
		i := e.Index - 1
		if i < 0 || i >= n || seen[i] || math.IsNaN(e.TMs) || math.IsInf(e.TMs, 0) {
			return nil, fmt.Errorf("%w: entry %+v", ErrTimeline, e)
		}
		seen[i], out[i] = true, e.TMs
	}
	return out, nil
}

// colorAt is the colour (1-based) on screen at t, 0 before the first.
func colorAt(shownMs []float64, t float64) int {
	c := 0
	for i, s := range shownMs {
		if t >= s {
			c = i + 1
		}
	}
	return c
}

// storeUpload records an evaluated upload as the channel does an
// evaluated attempt.
func (m *Manager) storeUpload(ctx context.Context, v *store.Verification, ev evalOutput, out *FlashOutcome) (*FlashOutcome, error) {
	lr := &store.LivenessResult{Result: store.LivenessFail, Transport: store.TransportUpload}
	if r, err := m.cfg.Store.Result(ctx, v.Token); err == nil && r.Liveness != nil {
		lr.Details = r.Liveness.Details
	}
	lr.Details.UploadTimes = out.Attempt
	g := ev.genuineness
	lr.FaceGenuineness = &g
	now := m.cfg.Clock.Now()
	var err error
	switch {
	case ev.verdict.Pass:
		lr.Result = store.LivenessPassUpload
		err = m.cfg.Store.FinishVerification(ctx, v.Token, &store.Outcome{
			Status: store.StatusOK, Liveness: lr, Verify: ev.verify, Images: ev.images, At: now,
		})
		out.Status, out.Success = store.StatusOK, true
	case out.Remaining > 0:
		err = m.cfg.Store.SaveLiveness(ctx, v.Token, lr)
	default:
		err = m.cfg.Store.FinishVerification(ctx, v.Token, &store.Outcome{Status: store.StatusFailed, Liveness: lr, At: now})
		out.Status = store.StatusFailed
	}
	if errors.Is(err, store.ErrFinished) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	m.cfg.Logger.Info("upload evaluated", "token_prefix", tokenPrefix(v.Token), "attempt", out.Attempt,
		"pass", ev.verdict.Pass, "reason", ev.verdict.Reason, "frames", ev.frames)
	return out, nil
}
