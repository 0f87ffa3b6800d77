package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/glint-id/glint/internal/session"
)

// Wire limits of the channel's messages. Text messages are small JSON
// objects; a binary message is one camera frame.
const (
	maxTextBytes  = 4 << 10
	frameHeader   = 16
	frameVersion  = 1
	maxTokenBytes = 1024
	maxUABytes    = 512
	maxSDKVersion = 64
	maxLabelBytes = 128
)

var errMessage = errors.New("rtc: malformed message")

// parseClientText parses one text message from the SDK: a JSON object
// whose "type" says what it is. Unknown types parse to *session.Unknown
// (ignored, so a newer SDK may add messages); anything else malformed is
// an error.
func parseClientText(b []byte) (session.Inbound, error) {
	if len(b) > maxTextBytes {
		return nil, fmt.Errorf("%w: %d bytes of text", errMessage, len(b))
	}
	var env struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %w", errMessage, err)
	}
	switch env.Type {
	case "hello":
		var h session.Hello
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("%w: hello: %w", errMessage, err)
		}
		if len(h.Token) > maxTokenBytes {
			return nil, fmt.Errorf("%w: hello token of %d bytes", errMessage, len(h.Token))
		}
		// Descriptive fields are only logged: cut, never refuse.
		h.UA = truncate(h.UA, maxUABytes)
		h.SDKVersion = truncate(h.SDKVersion, maxSDKVersion)
		return &h, nil
	case "shown":
		var s session.Shown
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%w: shown: %w", errMessage, err)
		}
		if math.IsNaN(s.TClientMs) || math.IsInf(s.TClientMs, 0) {
			return nil, fmt.Errorf("%w: shown time", errMessage)
		}
		return &s, nil
	case "env":
		var e session.Env
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%w: env: %w", errMessage, err)
		}
		// Descriptive fields are logged: cut, never refuse.
		e.Track.Label = truncate(e.Track.Label, maxLabelBytes)
		e.Track.Source = truncate(e.Track.Source, 16)
		e.Track.FacingMode = truncate(e.Track.FacingMode, 16)
		e.Track.ResizeMode = truncate(e.Track.ResizeMode, 16)
		if len(e.TimeSources) > 8 {
			return nil, fmt.Errorf("%w: env with %d time sources", errMessage, len(e.TimeSources))
		}
		return &e, nil
	case "cancel":
		return &session.Cancel{}, nil
	case "":
		return nil, fmt.Errorf("%w: no type", errMessage)
	}
	return &session.Unknown{Type: truncate(env.Type, 32)}, nil
}

// parseFrame parses one binary message: a 16-byte little-endian header
// (version, kind, colour index, frame counter, capture time in epoch ms
// as a float64) and a JPEG, which must at least start like one.
func parseFrame(b []byte) (*session.Frame, error) {
	if len(b) < frameHeader+2 {
		return nil, fmt.Errorf("%w: %d-byte frame", errMessage, len(b))
	}
	if b[0] != frameVersion {
		return nil, fmt.Errorf("%w: frame version %d", errMessage, b[0])
	}
	kind := int(b[1])
	if kind != session.KindPreview && kind != session.KindFlash {
		return nil, fmt.Errorf("%w: frame kind %d", errMessage, kind)
	}
	ms := math.Float64frombits(binary.LittleEndian.Uint64(b[8:16]))
	if math.IsNaN(ms) || math.IsInf(ms, 0) || ms <= 0 {
		return nil, fmt.Errorf("%w: capture time %v", errMessage, ms)
	}
	jpeg := b[frameHeader:]
	if !bytes.HasPrefix(jpeg, []byte{0xff, 0xd8}) {
		return nil, fmt.Errorf("%w: frame is not a JPEG", errMessage)
	}
	return &session.Frame{
		Kind:       kind,
		ColorIndex: int(binary.LittleEndian.Uint16(b[2:4])),
		Counter:    binary.LittleEndian.Uint32(b[4:8]),
		CaptureMs:  ms,
		JPEG:       jpeg,
	}, nil
}

// truncate cuts s to at most n bytes, on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
