package api

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/glint-id/glint/internal/session"
)

func FuzzParseMessage(f *testing.F) {
	frame := func(kind byte, ms float64, body []byte) []byte {
		b := make([]byte, 16)
		b[0], b[1] = 1, kind
		binary.LittleEndian.PutUint16(b[2:], 3)
		binary.LittleEndian.PutUint32(b[4:], 42)
		binary.LittleEndian.PutUint64(b[8:], math.Float64bits(ms))
		return append(b, body...)
	}
	for _, s := range []string{
		`{"type":"hello","token":"abc","sdk_version":"1.0.0","ua":"Mozilla","screen":{"w":390,"h":844,"dpr":3}}`,
		`{"type":"shown","seq_id":"xyz","index":2,"t_client_ms":1767225600123.5}`,
		`{"type":"cancel"}`,
		`{"type":"env","webdriver":true,"media_patched":false,"track":{"label":"OBS Virtual Camera","source":"camera","device_id":true,"width":640,"height":480,"frame_rate":30},"time_sources":{"capture":70}}`,
		`{"type":"env","track":{"label":"` + string(bytes.Repeat([]byte("é"), 200)) + `"}}`,
		`{"type":"env","time_sources":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}}`,
		`{"type":"offer","sdp":"v=0"}`,
		`{"type":""}`, `{}`, `[]`, `null`, `{"type":1}`,
		`{"type":"shown","index":1.5}`,
		`{"type":"hello","token":"` + string(bytes.Repeat([]byte("a"), 2000)) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(frame(1, 1767225600123.25, []byte{0xff, 0xd8, 0xff, 0xd9}))
	f.Add(frame(2, math.NaN(), []byte{0xff, 0xd8}))
	f.Add(frame(3, 1, []byte{0xff, 0xd8}))
	f.Add([]byte{1, 2})

	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseClientText(b); err == nil {
			switch m := m.(type) {
			case *session.Hello:
				if len(m.Token) > maxTokenBytes || len(m.UA) > maxUABytes || len(m.SDKVersion) > maxSDKVersion {
					t.Fatalf("oversized hello accepted: %d/%d/%d", len(m.Token), len(m.UA), len(m.SDKVersion))
				}
			case *session.Shown:
				if math.IsNaN(m.TClientMs) || math.IsInf(m.TClientMs, 0) {
					t.Fatal("non-finite shown time accepted")
				}
			case *session.Env:
				if len(m.Track.Label) > maxLabelBytes || len(m.Track.Source) > 16 || len(m.TimeSources) > 8 {
					t.Fatalf("oversized env accepted: label %d bytes, source %d, %d time sources", len(m.Track.Label), len(m.Track.Source), len(m.TimeSources))
				}
				if !utf8.ValidString(m.Track.Label) && utf8.ValidString(string(b)) {
					t.Fatalf("label cut inside a character: %q", m.Track.Label)
				}
			case *session.Cancel, *session.Unknown:
			default:
				t.Fatalf("unexpected message %T", m)
			}
		} else if m != nil {
			t.Fatalf("message %T with error %v", m, err)
		}
		if fr, err := parseFrame(b); err == nil {
			if fr.Kind != session.KindPreview && fr.Kind != session.KindFlash {
				t.Fatalf("frame kind %d accepted", fr.Kind)
			}
			if !(fr.CaptureMs > 0) || math.IsInf(fr.CaptureMs, 0) {
				t.Fatalf("capture time %v accepted", fr.CaptureMs)
			}
			if !bytes.HasPrefix(fr.JPEG, []byte{0xff, 0xd8}) || len(fr.JPEG) != len(b)-16 {
				t.Fatal("frame body is not the JPEG after the header")
			}
		} else if fr != nil {
			t.Fatal("frame with an error")
		}
	})
}
