package client_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/client"
)

const secret = "ogv64nobbaeouq36c6pqah73ayv2ueb2"

var signedAt = time.Unix(1_750_000_000, 0)

// hmacHex computes v1 independently of the package, from the documented
// definition.
func hmacHex(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignMatchesDefinition(t *testing.T) {
	t.Parallel()
	body := []byte("data=%7B%7D&sign=x&token=t")
	want := "t=1750000000,v1=" + hmacHex(secret, "1750000000."+string(body))
	if got := client.Sign(secret, signedAt, body); got != want {
		t.Fatalf("Sign = %s\nwant   %s", got, want)
	}
	sum := sha1.Sum([]byte(secret + `{"status":"OK"}`))
	if got := client.LegacySign(secret, []byte(`{"status":"OK"}`)); !hmac.Equal(got, sum[:]) {
		t.Fatalf("LegacySign = %x, want %x", got, sum)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte("data=%7B%22status%22%3A%22OK%22%7D&sign=00&token=tok")
	good := client.Sign(secret, signedAt, body)
	v1 := strings.TrimPrefix(good, "t=1750000000,v1=")
	for _, tt := range []struct {
		name   string
		header string
		body   []byte
		secret string
		now    time.Time
		want   error
	}{
		{"OK", good, body, secret, signedAt, nil},
		{"WithinTolerance", good, body, secret, signedAt.Add(4 * time.Minute), nil},
		{"ClockBehind", good, body, secret, signedAt.Add(-4 * time.Minute), nil},
		{"Spaces", "t=1750000000, v1=" + v1, body, secret, signedAt, nil},
		{"SeveralSignatures", "t=1750000000,v1=" + strings.Repeat("0", 64) + ",v1=" + v1, body, secret, signedAt, nil},
		{"UnknownScheme", "t=1750000000,v2=abc,v1=" + v1 + ",x", body, secret, signedAt, nil},
		{"Replay", good, body, secret, signedAt.Add(6 * time.Minute), client.ErrStale},
		{"FromTheFuture", good, body, secret, signedAt.Add(-6 * time.Minute), client.ErrStale},
		{"WrongSecret", good, body, secret + "x", signedAt, client.ErrBadSignature},
		{"BodyChanged", good, append([]byte("x"), body...), secret, signedAt, client.ErrBadSignature},
		{"TimestampChanged", "t=1750000001,v1=" + v1, body, secret, signedAt, client.ErrBadSignature},
		{"UpperCaseHexIsStillTheBytes", "t=1750000000,v1=" + strings.ToUpper(v1), body, secret, signedAt, nil},
		{"NotHex", "t=1750000000,v1=zz", body, secret, signedAt, client.ErrBadSignature},
		{"Empty", "", body, secret, signedAt, client.ErrNoSignature},
		{"NoTimestamp", "v1=" + v1, body, secret, signedAt, client.ErrNoSignature},
		{"NoV1", "t=1750000000", body, secret, signedAt, client.ErrNoSignature},
		{"BadTimestamp", "t=soon,v1=" + v1, body, secret, signedAt, client.ErrNoSignature},
		{"TwoTimestamps", "t=1750000000,t=1,v1=" + v1, body, secret, signedAt, client.ErrNoSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := client.VerifySignature(tt.header, tt.body, tt.secret, tt.now, 0)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature = %v, want %v", err, tt.want)
			}
		})
	}
	// An explicit tolerance replaces the default.
	if err := client.VerifySignature(good, body, secret, signedAt.Add(time.Hour), 2*time.Hour); err != nil {
		t.Errorf("within a 2h tolerance: %v", err)
	}
	if err := client.VerifySignature(good, body, secret, signedAt.Add(31*time.Second), 30*time.Second); !errors.Is(err, client.ErrStale) {
		t.Errorf("outside a 30s tolerance: %v", err)
	}
}

// notification builds a request as Glint sends it, signed at 'at'.
func notification(data, sign, token string, at time.Time, key string) *signedRequest {
	form := url.Values{"data": {data}, "sign": {sign}, "token": {token}}
	body := form.Encode()
	r := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(client.SignatureHeader, client.Sign(key, at, []byte(body)))
	return &signedRequest{r, body}
}

type signedRequest struct {
	Request *http.Request
	body    string
}

func TestVerifyNotification(t *testing.T) {
	t.Parallel()
	data := `{"request_id":"1,x","time_used":0,"biz_no":"order-77","status":"OK",` +
		`"liveness_result":{"result":"PASS","details":{"UPLOAD_TIMES":1},"transport":"rtc"},` +
		`"verify_result":{"result_ref1":{"confidence":80,"thresholds":{"1e-4":70}}}}`
	legacy := hex.EncodeToString(client.LegacySign(secret, []byte(data)))
	now := time.Now()

	n := notification(data, legacy, "tok-1", now, secret)
	r, err := client.VerifyNotification(n.Request, secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Token != "tok-1" || r.BizNo != "order-77" || !r.Passed(client.FAR1e4) {
		t.Fatalf("result %+v", r)
	}
	// The body is still there for the handler.
	if b, _ := io.ReadAll(n.Request.Body); string(b) != n.body {
		t.Fatalf("body after verification = %q", b)
	}

	for _, tt := range []struct {
		name string
		req  func() *signedRequest
		want error
	}{
		{"WrongSecret", func() *signedRequest { return notification(data, legacy, "t", now, secret+"x") }, client.ErrBadSignature},
		{"LegacySignWrong", func() *signedRequest {
			return notification(data, hex.EncodeToString(client.LegacySign("other", []byte(data))), "t", now, secret)
		}, client.ErrBadSignature},
		{"LegacySignNotHex", func() *signedRequest { return notification(data, "nope", "t", now, secret) }, client.ErrBadSignature},
		{"Stale", func() *signedRequest { return notification(data, legacy, "t", now.Add(-time.Hour), secret) }, client.ErrStale},
		{"Unsigned", func() *signedRequest {
			n := notification(data, legacy, "t", now, secret)
			n.Request.Header.Del(client.SignatureHeader)
			return n
		}, client.ErrNoSignature},
		{"DataNotJSON", func() *signedRequest {
			return notification("nope", hex.EncodeToString(client.LegacySign(secret, []byte("nope"))), "t", now, secret)
		}, client.ErrMalformed},
		{"NoToken", func() *signedRequest {
			body := url.Values{"data": {data}, "sign": {legacy}}.Encode()
			r := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
			r.Header.Set(client.SignatureHeader, client.Sign(secret, now, []byte(body)))
			return &signedRequest{r, body}
		}, client.ErrMalformed},
		{"TooLarge", func() *signedRequest {
			body := strings.Repeat("a", client.MaxNotificationBytes+1)
			r := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
			r.Header.Set(client.SignatureHeader, client.Sign(secret, now, []byte(body)))
			return &signedRequest{r, body}
		}, client.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := client.VerifyNotification(tt.req().Request, secret, 0); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyNotification = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzVerifySignature feeds arbitrary headers to the parser: it must not
// panic, must accept only headers carrying the right HMAC, and a header
// made by Sign must verify.
func FuzzVerifySignature(f *testing.F) {
	body := []byte("data=x&sign=y&token=z")
	good := client.Sign(secret, signedAt, body)
	for _, seed := range []string{good, "", "t=", "v1=", ",,,", "t=1750000000,v1=", "t=-1,v1=00", "t=99999999999999999999,v1=ab",
		"t=1750000000,v1=" + strings.Repeat("f", 64), good + ",v1=00", "=,=,t==1"} {
		f.Add(seed, int64(0))
	}
	f.Fuzz(func(t *testing.T, header string, skew int64) {
		now := signedAt.Add(time.Duration(skew) * time.Second)
		err := client.VerifySignature(header, body, secret, now, time.Hour)
		if err == nil {
			// Only a header holding the true v1 of its own timestamp can
			// pass.
			ok := false
			for _, part := range strings.Split(header, ",") {
				if k, v, _ := strings.Cut(strings.TrimSpace(part), "="); k == "v1" {
					for _, p := range strings.Split(header, ",") {
						if tk, tv, _ := strings.Cut(strings.TrimSpace(p), "="); tk == "t" &&
							strings.EqualFold(v, hmacHex(secret, tv+"."+string(body))) {
							ok = true
						}
					}
				}
			}
			if !ok {
				t.Fatalf("header %q verified without the right signature", header)
			}
		}
		// Whatever the header, a fresh signature at now verifies.
		if err := client.VerifySignature(client.Sign(secret, now, body), body, secret, now, time.Second); err != nil {
			t.Fatalf("Sign at %v does not verify: %v", now, err)
		}
	})
}
