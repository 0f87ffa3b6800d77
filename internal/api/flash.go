package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/glint-id/glint/internal/faceid"
	"github.com/glint-id/glint/internal/session"
)

// The HTTP fallback of the capture side (spec §2.3.2, adapted): instead
// of a video, validate_flash takes the frames as JPEG file parts.

// flashStartReply is start_flash's success body.
type flashStartReply struct {
	*faceid.Meta
	SeqID          string   `json:"seq_id"`
	Colors         []string `json:"colors"`
	HoldMs         []int    `json:"hold_ms"`
	Attempt        int      `json:"attempt"`
	MaxUploadTimes int      `json:"max_upload_times"`
}

// flashResultReply is validate_flash's success body.
type flashResultReply struct {
	*faceid.Meta
	Attempt   int    `json:"attempt"`
	Remaining int    `json:"remaining"`
	Status    string `json:"status"`
	Success   bool   `json:"success"`
}

// Errors of the fallback (spec §2.3.2).
var errInvalidToken = &apiError{http.StatusBadRequest, "INVALID_TOKEN"}

const reasonMoreRetryTimes = "MORE_RETRY_TIMES"

// Limits of an upload: the frames of one sequence (4–8 colours of at
// most 600 ms at up to 30 fps, plus lead-in) fit well within them.
const (
	maxUploadFrames   = 300
	maxUploadTextPart = 64 << 10
)

// flashToken looks up the token a fallback call carries: it lets the
// page that uses the token read the reply (the fallback is called from the
// integrator's page, another origin; the origin is echoed only when the
// token's key allows it), and reports false when the token's key did not
// opt in to the fallback, which is then refused before any other field is
// looked at (permission before arguments, spec §0). An unknown token is
// left for the session to refuse.
func (h *Handler) flashToken(c *call, token string) bool {
	v, err := h.cfg.Store.Verification(c.r.Context(), token)
	if err != nil {
		return true
	}
	c.keyID, c.byToken = v.KeyID, true
	k, err := h.cfg.Store.Key(c.r.Context(), v.KeyID)
	if err != nil {
		return true
	}
	if origin := c.r.Header.Get("Origin"); origin != "" && session.OriginAllowed(k.AllowedOrigins, origin) {
		c.w.Header().Set("Access-Control-Allow-Origin", origin)
		c.w.Header().Add("Vary", "Origin")
	}
	if !k.AllowUploadFallback {
		c.fail(flashError(session.ErrUploadDisabled), nil)
		return false
	}
	return true
}

// flashTokenOnce is flashToken, checked once per call: while the body is
// read, as soon as the token is (after a refusal nothing more is kept, and
// a token whose key allows the fallback takes the call's bytes out of the
// budget's anonymous share), and not again after.
func (h *Handler) flashTokenOnce(c *call, token string) bool {
	if c.flashChecked != token {
		c.flashChecked = token
		c.flashOK = h.flashToken(c, token)
		if c.flashOK && c.keyID != "" {
			c.hold.trust()
		}
	}
	return c.flashOK
}

// flashError maps the session's refusals to FaceID errors.
func flashError(err error) *apiError {
	var ue *session.UploadError
	switch {
	case errors.Is(err, session.ErrTokenInvalid):
		return errInvalidToken
	case errors.Is(err, session.ErrNoAttempts):
		return errAuthorization(reasonMoreRetryTimes)
	case errors.Is(err, session.ErrUploadDisabled):
		return errAuthorization(reasonDenied)
	case errors.Is(err, session.ErrThrottled):
		return errConcurrency
	case errors.Is(err, session.ErrSeqID):
		return errBad("seq_id")
	case errors.Is(err, session.ErrTimeline):
		return errBad("timeline")
	case errors.As(err, &ue):
		return &apiError{http.StatusBadRequest, ue.Code}
	}
	return errInternal
}

// limited applies the fallback's rate limits: per client address before
// the body is read, per token once it is known (token ""). It answers
// CONCURRENCY_LIMIT_EXCEEDED, FaceID's refusal for a client calling too
// fast, with a Retry-After, and reports false, when a limit is hit.
func (h *Handler) limited(c *call, token string) bool {
	var ok bool
	var retry int
	if token == "" {
		ok, retry = h.flashAddrs.allow(c.client, c.start), h.flashAddrs.retryAfter()
	} else {
		ok, retry = h.flashTokens.allow(token, c.start), h.flashTokens.retryAfter()
	}
	if ok {
		return false
	}
	c.w.Header().Set("Retry-After", strconv.Itoa(retry))
	c.fail(errConcurrency, errors.New("fallback rate limit"))
	return true
}

// startFlash implements POST /faceid/lite/raw/start_flash.
func (h *Handler) startFlash(c *call) {
	if h.limited(c, "") {
		return
	}
	f, err := h.readForm(c, func(n string) bool { return n == "token" }, func(f *form) bool {
		token, ok := f.text("token")
		return ok && !h.flashTokenOnce(c, token)
	})
	if c.bodyRefused(err) {
		return
	}
	token, ok := f.text("token")
	if !ok {
		c.fail(errMissing("token"), nil)
		return
	}
	if !h.flashTokenOnce(c, token) || h.limited(c, token) {
		return
	}
	fs, err := h.cfg.Capture.Sessions.StartFlash(c.r.Context(), token, session.ConnInfo{
		Origin: c.r.Header.Get("Origin"), Client: c.client,
		Attempts: throttle{l: h.attempts, addr: c.client, now: h.cfg.Now},
	})
	if errors.Is(err, session.ErrThrottled) {
		c.w.Header().Set("Retry-After", strconv.Itoa(h.attempts.retryAfter()))
	}
	if err != nil {
		c.fail(flashError(err), err)
		return
	}
	c.body = flashStartReply{
		Meta: c.meta, SeqID: fs.SeqID, Colors: fs.Colors, HoldMs: fs.HoldMs,
		Attempt: fs.Attempt, MaxUploadTimes: fs.MaxUploadTimes,
	}
}

// validateFlash implements POST /faceid/lite/raw/validate_flash:
// multipart fields token, seq_id, timeline (JSON [{index, t_ms}]) and
// frames, one JPEG file part per frame whose file name is its capture
// time in milliseconds on the timeline's clock ("1234.5.jpg"), or, in
// the same order, the numbers of an optional frame_times JSON array.
func (h *Handler) validateFlash(c *call) {
	if h.limited(c, "") {
		return
	}
	maxFrame := h.captureParams().MaxFrameBytes
	up, err := h.readUpload(c, maxFrame)
	if c.bodyRefused(err) {
		return
	}
	if up.token != "" && !h.flashTokenOnce(c, up.token) {
		return
	}
	for _, m := range []struct {
		name    string
		present bool
	}{
		{"token", up.token != ""},
		{"seq_id", up.seqID != ""},
		{"timeline", up.timeline != nil},
		{"frames", len(up.frames) > 0},
	} {
		if !m.present {
			c.fail(errMissing(m.name), err)
			return
		}
	}
	if h.limited(c, up.token) {
		return
	}
	var timeline []session.TimelineEntry
	if err := json.Unmarshal(up.timeline, &timeline); err != nil {
		c.fail(errBad("timeline"), err)
		return
	}
	frames, bad := up.uploadFrames()
	if bad != nil || err != nil {
		c.fail(errBad("frames"), errors.Join(bad, err))
		return
	}
	out, err := h.cfg.Capture.Sessions.ValidateFlash(c.r.Context(), &session.FlashUpload{
		Token: up.token, SeqID: up.seqID, Origin: c.r.Header.Get("Origin"),
		Frames: frames, Timeline: timeline,
	})
	if err != nil {
		c.fail(flashError(err), err)
		return
	}
	c.body = flashResultReply{
		Meta: c.meta, Attempt: out.Attempt, Remaining: out.Remaining,
		Status: string(out.Status), Success: out.Success,
	}
}

// upload is a parsed validate_flash body.
type upload struct {
	token, seqID string
	timeline     []byte
	frameTimes   []byte
	frames       []uploadPart

	// refused is set when the token was refused while reading.
	refused bool
}

type uploadPart struct {
	filename string
	data     []byte
}

var errUpload = errors.New("malformed upload")

// uploadFrames pairs each frame with its capture time.
func (u *upload) uploadFrames() ([]session.UploadFrame, error) {
	out := make([]session.UploadFrame, len(u.frames))
	var times []float64
	if u.frameTimes != nil {
		if err := json.Unmarshal(u.frameTimes, &times); err != nil || len(times) != len(u.frames) {
			return nil, fmt.Errorf("%w: frame_times does not give one time per frame", errUpload)
		}
	}
	for i, p := range u.frames {
		var t float64
		if times != nil {
			t = times[i]
		} else {
			stem := strings.TrimSuffix(p.filename, path.Ext(p.filename))
			v, err := strconv.ParseFloat(stem, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: frame %d: file name %q is not a time in ms", errUpload, i, p.filename)
			}
			t = v
		}
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("%w: frame %d: time %v", errUpload, i, t)
		}
		out[i] = session.UploadFrame{TMs: t, JPEG: p.data}
	}
	return out, nil
}

// readUpload reads a multipart validate_flash body of at most
// MaxBodyBytes, streaming, within the body limits (readForm): every frames
// part is kept (up to maxUploadFrames of at most maxFrame bytes), the text
// fields up to maxUploadTextPart, the rest skipped. The token is checked
// as soon as it is read (flashTokenOnce); after a refusal nothing more is
// kept. It returns readForm's errors; other problems are returned with
// what was read before them.
func (h *Handler) readUpload(c *call, maxFrame int) (*upload, error) {
	up := &upload{}
	b, err := h.openBody(c)
	if err != nil {
		return up, err
	}
	mediaType, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mediaType == "multipart/form-data" && params["boundary"] != "" {
		err = up.read(b, b.multipart(params["boundary"]), maxFrame, func(token string) bool {
			return !h.flashTokenOnce(c, token)
		})
	} else {
		err = fmt.Errorf("%w: content type %q", errUpload, mediaType)
	}
	if ferr := b.finish(err); ferr != nil {
		return up, ferr
	}
	return up, err
}

// read reads the parts; refuse is called with the token once it is read,
// and when it reports true nothing more is kept.
func (up *upload) read(b *bodyReader, mr *multipart.Reader, maxFrame int, refuse func(token string) bool) error {
	for {
		p, err := b.nextPart(mr)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := p.FormName()
		limit := maxUploadTextPart
		if name == "frames" {
			limit = maxFrame
		}
		keep := false // the first of each field, every frame
		switch name {
		case "token":
			keep = up.token == ""
		case "seq_id":
			keep = up.seqID == ""
		case "timeline":
			keep = up.timeline == nil
		case "frame_times":
			keep = up.frameTimes == nil
		case "frames":
			if len(up.frames) >= maxUploadFrames {
				return fmt.Errorf("%w: more than %d frames", errUpload, maxUploadFrames)
			}
			keep = true
		}
		if !keep || up.refused {
			// Skipped, not buffered (NextPart reads past it).
			continue
		}
		data, err := b.readAll(p, int64(limit)+1)
		if err != nil {
			return err
		}
		if len(data) > limit {
			b.drop(data)
			if name == "frames" {
				return fmt.Errorf("%w: a frame of more than %d bytes", errUpload, limit)
			}
			continue
		}
		switch name {
		case "token":
			up.token = string(data)
			b.drop(data)
			if up.token != "" && refuse(up.token) {
				up.refused = true // the rest is read, not kept (see readMultipart)
			}
		case "seq_id":
			up.seqID = string(data)
			b.drop(data)
		case "timeline":
			up.timeline = data
		case "frame_times":
			up.frameTimes = data
		case "frames":
			up.frames = append(up.frames, uploadPart{filename: p.FileName(), data: data})
		}
	}
}
