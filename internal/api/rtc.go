package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/glint-id/glint/internal/session"
)

// CaptureConfig turns on the browser-facing capture side: the real-time
// channel (GET /faceid/lite/raw/rtc, a WebSocket) and the HTTP fallback
// (start_flash, validate_flash). Sessions is required; the zero value of
// every other field means its default.
type CaptureConfig struct {
	Sessions *session.Manager

	// SDKHost, a bare host name, also serves the channel at "/" of that
	// host, so that an SDK given host "wss://<SDKHost>" (Megvii's sample
	// passes a bare origin) reaches it.
	SDKHost string

	// ConnRate and ConnBurst bound new channel connections per client
	// address (an IPv6 client's whole /64, see clientNet): ConnRate a
	// second on average, ConnBurst at once (defaults 0.5 and 10).
	ConnRate  float64
	ConnBurst int

	// MaxConns caps the channel's live connections on this server, from
	// every client together (default 1000); beyond it the upgrade is
	// refused with 503 and Retry-After. Each live connection costs a
	// little memory while it waits and most of a core while it captures.
	MaxConns int

	// MaxFPS and FPSBurst bound the frames one connection may send; the
	// excess is dropped unread (defaults 40 a second, burst 40).
	MaxFPS   float64
	FPSBurst int

	// TextRate and TextBurst bound the text (JSON) messages one
	// connection may send (defaults 20 a second, burst 40; the SDK sends
	// one per colour and a few more). The excess is dropped unparsed, and
	// a connection that keeps sending too many (textStrikes dropped
	// beyond one a second) is closed with 1008, policy violation.
	TextRate  float64
	TextBurst int

	// IdleTimeout closes a connection that sends nothing for this long
	// (default 60 s; the SDK sends frames several times a second).
	IdleTimeout time.Duration

	// FlashRate and FlashBurst bound the fallback's calls (start_flash
	// and validate_flash together) per client address (defaults 0.5 a
	// second, burst 10, as channel connections); FlashTokenRate and
	// FlashTokenBurst per token (defaults one per 5 s, burst 6: a person
	// needs two calls an attempt, each of which takes seconds).
	FlashRate       float64
	FlashBurst      int
	FlashTokenRate  float64
	FlashTokenBurst int

	// AttemptRate and AttemptBurst bound the capture attempts (colour
	// sequences, over either transport) begun from one client address,
	// whatever token they use (defaults one a minute, burst 10). Each
	// attempt costs the server about two CPU-seconds, and an attacker
	// with many tokens would otherwise try as fast as it renders.
	AttemptRate  float64
	AttemptBurst int
}

func (c CaptureConfig) withDefaults() CaptureConfig {
	c.ConnRate = positiveOr(c.ConnRate, 0.5)
	c.ConnBurst = positiveOr(c.ConnBurst, 10)
	c.MaxConns = positiveOr(c.MaxConns, 1000)
	c.MaxFPS = positiveOr(c.MaxFPS, 40)
	c.FPSBurst = positiveOr(c.FPSBurst, 40)
	c.TextRate = positiveOr(c.TextRate, 20)
	c.TextBurst = positiveOr(c.TextBurst, 40)
	c.IdleTimeout = positiveOr(c.IdleTimeout, time.Minute)
	c.FlashRate = positiveOr(c.FlashRate, 0.5)
	c.FlashBurst = positiveOr(c.FlashBurst, 10)
	c.FlashTokenRate = positiveOr(c.FlashTokenRate, 0.2)
	c.FlashTokenBurst = positiveOr(c.FlashTokenBurst, 6)
	c.AttemptRate = positiveOr(c.AttemptRate, 1.0/60)
	c.AttemptBurst = positiveOr(c.AttemptBurst, 10)
	return c
}

// positiveOr is v, or d when v is not positive (unset or nonsense).
func positiveOr[T int | float64 | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// rtcHandler serves the channel.
type rtcHandler struct {
	h     *Handler
	cfg   CaptureConfig
	conns *limiter[netip.Addr]
	// live counts the connections being served, upgrade to close.
	live atomic.Int64
}

// busyRetryAfter is the Retry-After, in seconds, of an upgrade refused
// because MaxConns connections are live: a capture takes tens of seconds.
const busyRetryAfter = "10"

// newRTCHandler returns the channel's handler for c.
func (h *Handler) newRTCHandler(c *CaptureConfig) http.Handler {
	cfg := c.withDefaults()
	return &rtcHandler{h: h, cfg: cfg, conns: newLimiter[netip.Addr](cfg.ConnRate, cfg.ConnBurst)}
}

func (rt *rtcHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := rt.h
	start := h.cfg.Now()
	client := clientAddr(r, h.cfg.TrustedProxies)
	if !rt.conns.allow(client, start) {
		h.cfg.Metrics.observeRequest("rtc", http.StatusTooManyRequests, "RATE_LIMITED", h.cfg.Now().Sub(start))
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	if n := rt.live.Add(1); n > int64(rt.cfg.MaxConns) {
		rt.live.Add(-1)
		h.cfg.Metrics.observeRequest("rtc", http.StatusServiceUnavailable, "OVERLOADED", h.cfg.Now().Sub(start))
		h.cfg.Logger.Warn("rtc refused", "reason", "too many live connections", "max", rt.cfg.MaxConns, "client", client.String())
		w.Header().Set("Retry-After", busyRetryAfter)
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	defer rt.live.Add(-1)
	// The server's read and write timeouts are for requests; a channel
	// lives for minutes and has its own (IdleTimeout, the session's).
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	// The library's own origin check compares against the request's host;
	// the rule here is per key (its allowed origins), known only once
	// hello names the token, so the session checks it then.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		h.cfg.Metrics.observeRequest("rtc", http.StatusBadRequest, "BAD_UPGRADE", h.cfg.Now().Sub(start))
		h.cfg.Logger.Info("rtc upgrade failed", "client", client.String(), "err", err)
		return
	}
	ws.SetReadLimit(int64(rt.h.captureParams().MaxFrameBytes + frameHeader))
	conn := &wsConn{ws: ws, idle: rt.cfg.IdleTimeout, fps: rt.cfg.MaxFPS, burst: rt.cfg.FPSBurst,
		textRate: rt.cfg.TextRate, textBurst: rt.cfg.TextBurst, now: h.cfg.Now}
	rt.cfg.Sessions.Serve(r.Context(), conn, session.ConnInfo{Origin: r.Header.Get("Origin"), Client: client,
		Attempts: throttle{l: h.attempts, addr: client, now: h.cfg.Now}})
	h.cfg.Metrics.observeRequest("rtc", http.StatusSwitchingProtocols, "OK", h.cfg.Now().Sub(start))
}

// captureParams returns the session parameters, for the wire limits.
func (h *Handler) captureParams() session.Params {
	return h.cfg.Capture.Sessions.Params()
}

// wsConn adapts a WebSocket to session.Conn: text messages are JSON,
// binary ones frames.
type wsConn struct {
	ws        *websocket.Conn
	idle      time.Duration
	fps       float64
	burst     int
	textRate  float64
	textBurst int
	now       func() time.Time

	frames  bucket
	dropped int
	texts   bucket
	// strikes is taken from for each text message dropped: when it is
	// empty the client is flooding, not bursting.
	strikes bucket
}

// textStrikes is how many text messages over its rate a connection may
// send, beyond one a second, before it is closed.
const textStrikes = 20

// errTextFlood ends a connection that keeps sending text messages faster
// than TextRate.
var errTextFlood = errors.New("rtc: too many text messages")

// Read implements session.Conn. Malformed messages are handed on as
// *session.Unknown, so that the session decides (a bad first message
// closes with 4001; later ones are ignored); frames over the rate limit
// are dropped here.
func (c *wsConn) Read(ctx context.Context) (session.Inbound, error) {
	for {
		rctx, cancel := context.WithTimeout(ctx, c.idle)
		typ, data, err := c.ws.Read(rctx)
		cancel()
		if err != nil {
			return nil, err
		}
		switch typ {
		case websocket.MessageText:
			now := c.now()
			if !c.texts.take(now, c.textRate, c.textBurst) {
				if !c.strikes.take(now, 1, textStrikes) {
					// Closed here, with the code that says why; the
					// session then sees a lost connection.
					c.ws.Close(websocket.StatusPolicyViolation, "too many messages")
					return nil, errTextFlood
				}
				continue
			}
			m, err := parseClientText(data)
			if err != nil {
				return &session.Unknown{}, nil
			}
			return m, nil
		case websocket.MessageBinary:
			if !c.frames.take(c.now(), c.fps, c.burst) {
				c.dropped++
				continue
			}
			f, err := parseFrame(data)
			if err != nil {
				return &session.Unknown{Type: "binary"}, nil
			}
			return f, nil
		}
	}
}

// Send implements session.Conn.
func (c *wsConn) Send(ctx context.Context, m session.Outbound) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("rtc: encode %T: %w", m, err)
	}
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// Close implements session.Conn.
func (c *wsConn) Close(code int, reason string) error {
	return c.ws.Close(websocket.StatusCode(code), truncate(reason, 120))
}
