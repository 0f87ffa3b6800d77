package session

import (
	"context"
	"net/netip"
	"time"
)

// This file is the channel's message vocabulary (spec §2.3.1 as the SDK in
// web/sdk/src/protocol.js speaks it). The transport turns WebSocket frames
// into Inbound values and Outbound values into JSON text frames; the
// session never sees bytes on the wire.

// Close codes of the channel (spec §2.3.1).
const (
	CloseNormal = 1000
	// CloseGoingAway: the server is shutting down; the client may try
	// again (at another node, or once this one is back).
	CloseGoingAway      = 1001
	CloseInternal       = 1011
	CloseBadHello       = 4001
	CloseTokenInvalid   = 4003
	CloseNoAttemptsLeft = 4009
	CloseTokenFinished  = 4010
	CloseSuperseded     = 4011
	// CloseTooManyAttempts: the client's address began too many attempts
	// lately; the token is untouched and may be used later.
	CloseTooManyAttempts = 4029
)

// Result and error codes (spec §3.5); SUPERSEDED is the SDK's code for
// close 4011.
const (
	CodeSuccess        = "SUCCESS"
	CodeLivenessFailed = "LIVENESS_FAILED"
	CodeMoreRetryTimes = "MORE_RETRY_TIMES"
	CodeMirrorTimeout  = "MIRROR_TIMEOUT"
	CodeTokenInvalid   = "TOKEN_INVALID"
	CodeTokenExpired   = "TOKEN_EXPIRED"
	CodeTokenFinished  = "TOKEN_FINISHED"
	CodeInternalError  = "INTERNAL_ERROR"
	CodeSuperseded     = "SUPERSEDED"
	// CodeTooManyAttempts: see CloseTooManyAttempts.
	CodeTooManyAttempts = "TOO_MANY_ATTEMPTS"
	// CodeNetworkError is the SDK's code for a lost connection, which it
	// also gives close 1001 (resultCodeForClose). The server sends it
	// before CloseGoingAway: the person is to try again, nothing is wrong
	// with the verification.
	CodeNetworkError = "NETWORK_ERROR"
)

// Status codes the server sends (spec §3.4); the SDK emits the CAMERA_,
// WS_ and RTC_ ones itself.
const (
	StatusMirror     = "MIRROR"
	StatusFlashing   = "FLASHING"
	StatusEvaluating = "EVALUATING"
	StatusFinished   = "FINISHED"
)

// Colour statuses of a color message (spec §3.3).
const (
	ColorColoring = "COLORING"
	ColorDone     = "DONE"
	ColorReset    = "RESET"
)

// Frame kinds of the binary header.
const (
	KindPreview = 1
	KindFlash   = 2
)

// Inbound is one message from the client: *Hello, *Env, *Shown, *Cancel,
// *Frame or *Unknown.
type Inbound interface{ inbound() }

// Screen is the client's screen as hello reports it.
type Screen struct {
	W   int     `json:"w"`
	H   int     `json:"h"`
	DPR float64 `json:"dpr"`
}

// Hello is the client's first message.
type Hello struct {
	Token      string `json:"token"`
	SDKVersion string `json:"sdk_version"`
	UA         string `json:"ua"`
	Screen     Screen `json:"screen"`
}

// Shown acknowledges that colour Index of sequence SeqID was painted, at
// TClientMs (client epoch milliseconds).
type Shown struct {
	SeqID     string  `json:"seq_id"`
	Index     int     `json:"index"`
	TClientMs float64 `json:"t_client_ms"`
}

// Cancel says the user left.
type Cancel struct{}

// Env is the SDK's report on the browser and the camera it films with,
// sent after the first config and again after each colour sequence. It is
// the client's own word, so it can only accuse: a report that shows
// automation or a camera that is not a camera raises an injection signal
// (see clientSignals), and no report at all raises one too, but a clean
// report proves nothing.
type Env struct {
	// Webdriver is navigator.webdriver: the browser is driven by
	// automation.
	Webdriver bool `json:"webdriver"`
	// MediaPatched says getUserMedia or enumerateDevices is not the
	// browser's own function: a page script replaced the camera.
	MediaPatched bool  `json:"media_patched"`
	Track        Track `json:"track"`
	// TimeSources counts, for the last sequence's flash frames, where
	// their capture times came from: "capture" (the camera's timestamp),
	// "display" (the compositor's), "callback" (the frame callback's),
	// "clock" (the page's clock when no frame callback exists).
	TimeSources map[string]int `json:"time_sources,omitempty"`
}

// Track describes the video track the SDK captures.
type Track struct {
	// Label is the capture device's name as the browser gives it.
	Label string `json:"label"`
	// Source is what produces the track: "camera" (a capture device),
	// "canvas" or "element" (a capture of page content), "generated" (a
	// track a script writes), "unknown".
	Source string `json:"source"`
	// DeviceID says the track's settings name a capture device.
	DeviceID   bool    `json:"device_id"`
	FacingMode string  `json:"facing_mode,omitempty"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	FrameRate  float64 `json:"frame_rate,omitempty"`
	ResizeMode string  `json:"resize_mode,omitempty"`
}

// Unknown is a well-formed message of a type this server does not know;
// it is ignored, so that newer SDKs can add messages.
type Unknown struct{ Type string }

// Frame is one camera frame: the binary message's header fields and its
// JPEG.
type Frame struct {
	Kind int
	// ColorIndex is the colour (1-based) the client had painted when it
	// captured the frame, 0 for none. A hint only.
	ColorIndex int
	Counter    uint32
	// CaptureMs is the capture time on the client's clock, epoch ms.
	CaptureMs float64
	JPEG      []byte
	// Arrival is when the server read the frame (its own clock); the
	// session sets it.
	Arrival time.Time
}

func (*Env) inbound()     {}
func (*Hello) inbound()   {}
func (*Shown) inbound()   {}
func (*Cancel) inbound()  {}
func (*Unknown) inbound() {}
func (*Frame) inbound()   {}

// Outbound is one message to the client; the transport sends it as JSON.
type Outbound interface{ outbound() }

// Capture tells the SDK how to capture frames (config.capture).
type Capture struct {
	PreviewFPS     float64 `json:"preview_fps"`
	PreviewMaxSide int     `json:"preview_max_side"`
	FlashMaxSide   int     `json:"flash_max_side"`
	FlashMaxFPS    float64 `json:"flash_max_fps"`
	// JPEGQuality is in (0, 1].
	JPEGQuality float64 `json:"jpeg_quality"`
}

// ConfigMessage answers hello. The server sends it again, with other
// capture settings, when the capture needs change (see doc.go): the SDK
// applies a repeated config's capture settings.
type ConfigMessage struct {
	Type           string  `json:"type"`
	Language       string  `json:"language"`
	ColorNumber    int     `json:"color_number"`
	Attempt        int     `json:"attempt"`
	MaxUploadTimes int     `json:"max_upload_times"`
	Capture        Capture `json:"capture"`
}

// TipMessage is a framing hint for tipListener.
type TipMessage struct {
	Type string `json:"type"`
	Code string `json:"code"`
	Text string `json:"text"`
}

// StatusMessage is a stage change for statusListener.
type StatusMessage struct {
	Type string `json:"type"`
	Code string `json:"code"`
}

// ColorMessage is one step of the flash sequence for colorListener.
type ColorMessage struct {
	Type   string `json:"type"`
	Status string `json:"status"`
	Color  string `json:"color"`
	Index  int    `json:"index"`
	Sum    int    `json:"sum"`
	SeqID  string `json:"seq_id"`
	// HoldMs was the colour's hold; the server no longer says how long
	// a colour stays (see showColor), and leaves it out.
	HoldMs int `json:"hold_ms,omitempty"`
}

// ResultMessage ends an attempt for resultCallback.
type ResultMessage struct {
	Type      string `json:"type"`
	Success   bool   `json:"success"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Attempt   int    `json:"attempt"`
	Remaining int    `json:"remaining"`
}

// ErrorMessage precedes a close that ends the connection abnormally.
type ErrorMessage struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (*ConfigMessage) outbound() {}
func (*TipMessage) outbound()    {}
func (*StatusMessage) outbound() {}
func (*ColorMessage) outbound()  {}
func (*ResultMessage) outbound() {}
func (*ErrorMessage) outbound()  {}

// ConnInfo describes the client of a connection.
type ConnInfo struct {
	// Origin is the request's Origin header ("" when absent).
	Origin string
	// Client is the client address (after trusted proxies).
	Client netip.Addr
	// Attempts, when set, limits the attempts the client's address may
	// begin (over every token and connection).
	Attempts Throttle
}

// Throttle limits how often a client may begin something.
type Throttle interface {
	// Allow reports whether the client may begin one now; take spends it.
	Allow(take bool) bool
}

// Conn is one client connection as the session sees it. Read is called
// from one goroutine; Send and Close may be called from any.
type Conn interface {
	// Read returns the next message. It returns an error once the
	// connection is closed or broken.
	Read(ctx context.Context) (Inbound, error)
	// Send writes one message.
	Send(ctx context.Context, m Outbound) error
	// Close closes the connection with a close code and reason.
	Close(code int, reason string) error
}
