package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/store"
)

// Recording (store.Key.RecordAttempts): with the person's consent, an
// operator has a key's capture attempts kept for field testing
// (docs/field-testing.md). The session then keeps every frame it hands
// the analysis, as received, and after the evaluation stores an
// AttemptRecord with them, sealed (Config.Seal). Replay runs such a record
// through the analysis again, which gives the server's verdict back
// exactly when the analysis has not changed since.

// RecordVersion is the AttemptRecord format's version.
const RecordVersion = 1

// AttemptRecord is one recorded capture attempt: everything the
// evaluation read, and what it decided.
type AttemptRecord struct {
	Version   int    `json:"version"`
	Token     string `json:"token"`
	Attempt   int    `json:"attempt"`
	Transport string `json:"transport"`
	// Challenge is the colour sequence (encodeChallenge's form): colours,
	// holds and the scheduled start.
	Challenge json.RawMessage `json:"challenge"`
	// Sent is when the server sent each colour; Acks the client's shown
	// acknowledgements; Shown the display times the analysis used (the
	// acknowledgements mapped to the server's clock and checked, zero
	// when unusable).
	Sent  []time.Time   `json:"sent"`
	Acks  []RecordedAck `json:"acks"`
	Shown []time.Time   `json:"shown"`
	// ClockOffsetNs maps a frame's capture time to the server's clock:
	// the Unix epoch plus CaptureMs plus this offset (see clockMap).
	ClockOffsetNs int64 `json:"clock_offset_ns"`
	// Frames are the frames handed to the analysis, in order.
	Frames []RecordedFrame `json:"frames"`
	// Env is the SDK's last report on the browser and camera (track
	// settings, time sources); nil when it sent none. Signals are the
	// injection signals raised from it.
	Env     *Env     `json:"env,omitempty"`
	Signals []string `json:"client_signals,omitempty"`
	// Params are the frame-processing settings the attempt ran with.
	Params RecordedParams `json:"params"`
	// Dropped counts the attempt's frames the decoder refused.
	Dropped int `json:"dropped"`
	// Passive is the passive model's live probability on the best frame.
	Passive *float64 `json:"passive,omitempty"`
	// Verdict is the server's, with every check's measures.
	Verdict RecordedVerdict `json:"verdict"`
	// Recording is the recording's ID and Label the operator's (glint
	// recordings label): the store keeps them beside the sealed record,
	// and export writes them here.
	Recording string         `json:"recording,omitempty"`
	Label     *RecordedLabel `json:"label,omitempty"`
}

// RecordedLabel is store.RecordingLabel in an exported manifest.
type RecordedLabel struct {
	Species  string `json:"species"`
	Device   string `json:"device,omitempty"`
	Lighting string `json:"lighting,omitempty"`
}

// RecordedAck is one colour's shown acknowledgement.
type RecordedAck struct {
	ClientMs float64   `json:"client_ms"`
	Arrival  time.Time `json:"arrival"`
	OK       bool      `json:"ok"`
}

// RecordedFrame is one frame's header and times. Its JPEG is Size bytes;
// in an exported manifest File names it.
type RecordedFrame struct {
	Kind       int       `json:"kind"`
	ColorIndex int       `json:"color_index"`
	Counter    uint32    `json:"counter"`
	CaptureMs  float64   `json:"capture_ms"`
	Arrival    time.Time `json:"arrival"`
	Size       int       `json:"size"`
	File       string    `json:"file,omitempty"`
}

// RecordedParams are the Params that decide how frames are processed.
type RecordedParams struct {
	DetectEveryMs    float64 `json:"detect_every_ms"`
	MaxFrameBytes    int     `json:"max_frame_bytes"`
	MaxFrameSide     int     `json:"max_frame_side"`
	MaxAttemptFrames int     `json:"max_attempt_frames"`
}

// RecordedVerdict is a liveness.Verdict's decision and measures, in JSON
// that keeps unmeasured (NaN) values as null.
type RecordedVerdict struct {
	Pass         bool            `json:"pass"`
	Score        Float           `json:"score"`
	Reason       string          `json:"reason,omitempty"`
	ScreenReplay bool            `json:"screen_replay"`
	FaceReplaced bool            `json:"face_replaced"`
	Injection    []string        `json:"injection,omitempty"`
	Modulation   Float           `json:"modulation"`
	Checks       []RecordedCheck `json:"checks"`
}

// RecordedCheck is one liveness.Check.
type RecordedCheck struct {
	Name      string `json:"name"`
	Pass      bool   `json:"pass"`
	Score     Float  `json:"score"`
	Value     Float  `json:"value"`
	Threshold Float  `json:"threshold"`
	Detail    string `json:"detail,omitempty"`
}

// Float is a float64 whose JSON form is null for NaN (and ±Inf), which
// encoding/json refuses to write, and which reads null back as NaN.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	x, err := strconv.ParseFloat(string(b), 64)
	*f = Float(x)
	return err
}

// RecordVerdict converts v.
func RecordVerdict(v liveness.Verdict) RecordedVerdict {
	r := RecordedVerdict{Pass: v.Pass, Score: Float(v.Score), Reason: v.Reason, ScreenReplay: v.ScreenReplay,
		FaceReplaced: v.FaceReplaced, Injection: v.Injection, Modulation: Float(v.Modulation)}
	for _, c := range v.Checks {
		r.Checks = append(r.Checks, RecordedCheck{Name: c.Name, Pass: c.Pass, Score: Float(c.Score),
			Value: Float(c.Value), Threshold: Float(c.Threshold), Detail: c.Detail})
	}
	return r
}

// Verdict converts r back; fields a record does not keep are zero.
func (r RecordedVerdict) Verdict() liveness.Verdict {
	v := liveness.Verdict{Pass: r.Pass, Score: float64(r.Score), Reason: r.Reason, ScreenReplay: r.ScreenReplay,
		FaceReplaced: r.FaceReplaced, Injection: r.Injection, Modulation: float64(r.Modulation), Best: -1}
	for _, c := range r.Checks {
		v.Checks = append(v.Checks, liveness.Check{Name: c.Name, Pass: c.Pass, Score: float64(c.Score),
			Value: float64(c.Value), Threshold: float64(c.Threshold), Detail: c.Detail})
	}
	return v
}

// recordMagic begins an encoded record (EncodeRecord).
var recordMagic = []byte("GLINTREC")

// EncodeRecord packs a record and its frames' JPEGs into one byte string:
// recordMagic, the JSON's length (4 bytes, big-endian), the JSON, then
// the frames back to back (their sizes are in the JSON). The frames'
// Size fields are set from frames.
func EncodeRecord(r *AttemptRecord, frames [][]byte) ([]byte, error) {
	if len(frames) != len(r.Frames) {
		return nil, fmt.Errorf("session: record: %d frames for %d headers", len(frames), len(r.Frames))
	}
	total := 0
	for i, f := range frames {
		r.Frames[i].Size = len(f)
		total += len(f)
	}
	j, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("session: record: %w", err)
	}
	out := make([]byte, 0, len(recordMagic)+4+len(j)+total)
	out = append(out, recordMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(j)))
	out = append(out, j...)
	for _, f := range frames {
		out = append(out, f...)
	}
	return out, nil
}

// errRecordFormat means bytes are not an encoded record.
var errRecordFormat = errors.New("session: not an encoded attempt record")

// DecodeRecord reverses EncodeRecord.
func DecodeRecord(b []byte) (*AttemptRecord, [][]byte, error) {
	if !bytes.HasPrefix(b, recordMagic) || len(b) < len(recordMagic)+4 {
		return nil, nil, errRecordFormat
	}
	b = b[len(recordMagic):]
	n := int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if n > len(b) {
		return nil, nil, errRecordFormat
	}
	var r AttemptRecord
	if err := json.Unmarshal(b[:n], &r); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errRecordFormat, err)
	}
	if r.Version != RecordVersion {
		return nil, nil, fmt.Errorf("session: attempt record version %d, want %d", r.Version, RecordVersion)
	}
	b = b[n:]
	frames := make([][]byte, len(r.Frames))
	for i, f := range r.Frames {
		if f.Size < 0 || f.Size > len(b) {
			return nil, nil, fmt.Errorf("%w: frame %d truncated", errRecordFormat, i)
		}
		frames[i], b = b[:f.Size:f.Size], b[f.Size:]
	}
	if len(b) != 0 {
		return nil, nil, fmt.Errorf("%w: %d trailing bytes", errRecordFormat, len(b))
	}
	return &r, frames, nil
}

// recorder collects one attempt's frames for its record.
type recorder struct {
	frames []RecordedFrame
	jpegs  [][]byte
}

func (r *recorder) add(f *Frame) {
	r.frames = append(r.frames, RecordedFrame{Kind: f.Kind, ColorIndex: f.ColorIndex, Counter: f.Counter,
		CaptureMs: f.CaptureMs, Arrival: f.Arrival})
	r.jpegs = append(r.jpegs, f.JPEG)
}

// saveRecord stores the record of the attempt just evaluated. A failure
// costs the record only, never the attempt: it is logged.
func (s *Session) saveRecord(a *attempt, shown []time.Time, out evalOutput) {
	enc, err := encodeChallenge(a.ch)
	if err != nil {
		s.log.Error("record attempt", "err", err)
		return
	}
	p := s.p
	r := &AttemptRecord{
		Version: RecordVersion, Token: s.token, Attempt: s.attempts, Transport: store.TransportRTC,
		Challenge: enc, Sent: a.sent, Shown: shown, ClockOffsetNs: int64(s.cm.offset),
		Frames: a.rec.frames, Env: s.env, Signals: clientSignals(s.env), Dropped: a.tr.dropped,
		Passive: out.passive, Verdict: RecordVerdict(out.verdict),
		Params: RecordedParams{DetectEveryMs: float64(p.DetectEvery) / float64(time.Millisecond),
			MaxFrameBytes: p.MaxFrameBytes, MaxFrameSide: p.MaxFrameSide, MaxAttemptFrames: p.MaxAttemptFrames},
	}
	for _, k := range a.acks {
		r.Acks = append(r.Acks, RecordedAck{ClientMs: k.ms, Arrival: k.arrival, OK: k.ok})
	}
	plain, err := EncodeRecord(r, a.rec.jpegs)
	if err != nil {
		s.log.Error("record attempt", "err", err)
		return
	}
	id, err := newRecordingID()
	if err != nil {
		s.log.Error("record attempt", "err", err)
		return
	}
	sealed, err := s.m.cfg.Seal(id, plain)
	if err != nil {
		s.log.Error("record attempt", "err", err)
		return
	}
	err = s.m.cfg.Store.SaveRecording(s.ctx, &store.Recording{ID: id, KeyID: s.v.KeyID, Token: s.token,
		Attempt: s.attempts, Pass: out.verdict.Pass, Data: sealed, CreatedAt: s.clk.Now()})
	switch {
	case errors.Is(err, store.ErrLimitReached):
		s.record = false
		s.log.Info("recording stopped: the key's record attempts are used")
	case err != nil:
		s.log.Error("record attempt", "err", err)
	default:
		s.log.Info("attempt recorded", "recording", id, "frames", len(r.Frames))
	}
}

func newRecordingID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: recording id: %w", err)
	}
	return "rec_" + hex.EncodeToString(b), nil
}

// Replay decides a recorded attempt again with the analysis cfg
// describes (its Analyzer, Passive and Liveness, defaults filled as
// NewManager fills them; Store is not used), processing the frames as the
// attempt's own Params did. It returns the verdict and the passive score.
func Replay(ctx context.Context, cfg Config, r *AttemptRecord, frames [][]byte) (liveness.Verdict, *float64, error) {
	if cfg.Analyzer == nil {
		return liveness.Verdict{}, nil, errors.New("session: replay needs an Analyzer")
	}
	if len(frames) != len(r.Frames) {
		return liveness.Verdict{}, nil, fmt.Errorf("session: replay: %d frames for %d headers", len(frames), len(r.Frames))
	}
	if cfg.Liveness.PassiveThreshold == 0 {
		cfg.Liveness.PassiveThreshold = DefaultPassiveThreshold
	}
	cfg.Params = cfg.Params.withDefaults()
	p := cfg.Params
	p.DetectEvery = time.Duration(r.Params.DetectEveryMs * float64(time.Millisecond))
	p.MaxFrameBytes, p.MaxFrameSide, p.MaxAttemptFrames = r.Params.MaxFrameBytes, r.Params.MaxFrameSide, r.Params.MaxAttemptFrames
	ch, err := decodeChallenge(r.Challenge)
	if err != nil {
		return liveness.Verdict{}, nil, err
	}
	m := &Manager{cfg: cfg}
	tr := newTracker(cfg.Analyzer, &p)
	for i, f := range r.Frames {
		if err := ctx.Err(); err != nil {
			return liveness.Verdict{}, nil, err
		}
		tr.add(&Frame{Kind: f.Kind, ColorIndex: f.ColorIndex, Counter: f.Counter, CaptureMs: f.CaptureMs,
			JPEG: frames[i], Arrival: f.Arrival})
	}
	offset := time.Duration(r.ClockOffsetNs)
	mapT := func(ms float64) time.Time { return clientTime(ms).Add(offset) }
	out, err := m.evaluate(ctx, evalInput{v: &store.Verification{}, ch: ch, shown: r.Shown, tr: tr, mapT: mapT,
		signals: r.Signals})
	if err != nil && !errors.Is(err, errNoBestFrame) {
		return liveness.Verdict{}, nil, err
	}
	return out.verdict, out.passive, nil
}
