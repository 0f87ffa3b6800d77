package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of a notification.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	SignatureHeader = "X-Glint-Signature"
	// TokenHeader repeats the token for routing and logs; it is not
	// signed, so VerifyNotification takes the token from the body.
	TokenHeader = "X-Glint-Token"
)

// DefaultTolerance is how far a notification's timestamp may be from the
// receiver's clock when VerifyNotification is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// MaxNotificationBytes bounds the body VerifyNotification reads; a
// notification carries no images and is a few kilobytes.
const MaxNotificationBytes = 1 << 20

// Errors of VerifySignature and VerifyNotification.
var (
	// ErrNoSignature means the request has no X-Glint-Signature header,
	// or it lacks a timestamp or a v1 signature.
	ErrNoSignature = errors.New("client: notification is not signed")

	// ErrBadSignature means no signature in the header, or the legacy
	// sign field, matches the body and the secret.
	ErrBadSignature = errors.New("client: notification signature does not match")

	// ErrStale means the signature's timestamp is further from now than
	// the tolerance: a replay, or a clock far off.
	ErrStale = errors.New("client: notification timestamp outside tolerance")

	// ErrMalformed means the body is not a notification form with data,
	// sign and token, or data is not a result.
	ErrMalformed = errors.New("client: malformed notification")
)

// Sign returns the X-Glint-Signature value for body sent at t, as Glint
// computes it: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t "." body)>.
// Receivers use it to make signed requests in their own tests.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signature(secret, ts, body))
}

func signature(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks an X-Glint-Signature header against the raw
// body and the api_secret: one of its v1 signatures must match (in
// constant time), and its timestamp must be within tolerance of now
// (DefaultTolerance if tolerance ≤ 0). Fields other than t and v1 are
// ignored, so that a later signature scheme can be sent beside v1.
func VerifySignature(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return err
	}
	want := signature(secret, ts, body)
	matched := false
	for _, s := range sigs {
		// Compare every candidate, so the time taken does not tell
		// which one matched.
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, _ := strconv.ParseInt(ts, 10, 64) // parseSignature checked it
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signed at %s, %s from now: %w", time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Round(time.Second), ErrStale)
	}
	return nil
}

// parseSignature splits "t=…,v1=…[,v1=…]" into the timestamp, as sent,
// and the v1 values.
func parseSignature(header string) (ts string, sigs []string, err error) {
	seenT := false
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if seenT {
				return "", nil, fmt.Errorf("two timestamps: %w", ErrNoSignature)
			}
			seenT = true
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return "", nil, fmt.Errorf("timestamp %q: %w", v, ErrNoSignature)
			}
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if !seenT || len(sigs) == 0 {
		return "", nil, ErrNoSignature
	}
	return ts, sigs, nil
}

// VerifyNotification checks a notification request from Glint and
// returns the result it carries, with Result.Token set from the signed
// body. It reads the body (at most MaxNotificationBytes) and puts it back
// for later readers, verifies X-Glint-Signature with VerifySignature and
// the legacy sign field, both with apiSecret. tolerance ≤ 0 means
// DefaultTolerance.
//
// A notification may arrive more than once (a retry after a lost reply):
// handle the token idempotently, then answer 2xx.
func VerifyNotification(r *http.Request, apiSecret string, tolerance time.Duration) (*Result, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxNotificationBytes+1))
	if err != nil {
		return nil, fmt.Errorf("client: read notification: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > MaxNotificationBytes {
		return nil, fmt.Errorf("body over %d bytes: %w", MaxNotificationBytes, ErrMalformed)
	}
	header := r.Header.Get(SignatureHeader)
	if header == "" {
		return nil, ErrNoSignature
	}
	if err := VerifySignature(header, body, apiSecret, time.Now(), tolerance); err != nil {
		return nil, err
	}

	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var data, sign, token string
	for name, dst := range map[string]*string{"data": &data, "sign": &sign, "token": &token} {
		vs := form[name]
		if len(vs) != 1 {
			return nil, fmt.Errorf("%d %s fields: %w", len(vs), name, ErrMalformed)
		}
		*dst = vs[0]
	}
	// The legacy signature is redundant once v1 matched (the body holds
	// data and sign), but checking it proves the same secret made both,
	// as receivers that check only sign expect.
	got, err := hex.DecodeString(sign)
	if err != nil || !hmac.Equal(got, LegacySign(apiSecret, []byte(data))) {
		return nil, fmt.Errorf("legacy sign: %w", ErrBadSignature)
	}
	var res Result
	if err := json.Unmarshal([]byte(data), &res); err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrMalformed, err)
	}
	res.Token = token
	return &res, nil
}

// LegacySign is Megvii's notification signature, sha1(api_secret + data),
// that the sign field carries in hex. It authenticates the data only (not
// the token or a time), so a receiver relying on it alone should identify
// the verification by biz_no and expect replays.
func LegacySign(secret string, data []byte) []byte {
	h := sha1.New()
	h.Write([]byte(secret))
	h.Write(data)
	return h.Sum(nil)
}
