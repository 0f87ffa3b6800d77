package client_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/client"
	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

var ctx = context.Background()

// oneFace finds one face in any photo.
type oneFace struct{}

func (oneFace) Reference(context.Context, image.Image, api.ReferenceOptions) (store.Reference, error) {
	return store.Reference{Embedding: []float32{1, 0}, Crop: []byte{0xff, 0xd8, 0xff, 0xd9}, Model: "stub",
		Box: image.Rect(0, 0, 8, 8)}, nil
}

// service is a real Glint API (with a stub face engine) and a key of it.
type service struct {
	url         string
	db          *sqlite.DB
	key, secret string
}

func newService(t *testing.T) *service {
	t.Helper()
	dir := t.TempDir()
	db := sqlite.New(filepath.Join(dir, "glint.db"))
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pepper, err := auth.LoadPepper(dir)
	if err != nil {
		t.Fatal(err)
	}
	kr := &auth.Keyring{Store: db, Pepper: pepper}
	id, secret, err := kr.Create(ctx, auth.KeyOptions{Name: "client test"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: db, Keys: kr, References: oneFace{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &service{url: srv.URL, db: db, key: id, secret: string(secret)}
}

func TestGetTokenAndResult(t *testing.T) {
	t.Parallel()
	s := newService(t)
	c := client.New(s.url+"/", s.key, s.secret)
	photo := imagingtest.JPEG(t, imagingtest.Gradient(64, 64))
	tok, err := c.GetToken(ctx, client.GetTokenRequest{
		UUID: "user-42", BizNo: "order-<77>", MaxUploadTimes: 3, LifeTime: time.Hour,
		ImageRef1: bytes.NewReader(photo), ImageRef2: bytes.NewReader(photo),
		UseLargestFace: true, ReturnMultifacesTag: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Token) != 32 || tok.BizNo != "order-<77>" || tok.RequestID == "" {
		t.Fatalf("token reply %+v", tok)
	}
	v, err := s.db.Verification(ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if v.UUID != "user-42" || v.MaxUploadTimes != 3 || v.LifeTime != time.Hour || len(v.Refs) != 2 ||
		v.FailWhenRefMultipleFaces || !v.ReturnMultifacesTag || v.FaceOcclusionDetection || v.ColorNumber != 6 {
		t.Fatalf("stored verification %+v", v)
	}

	r, err := c.GetResult(ctx, tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != client.StatusNotStarted || r.Token != tok.Token || r.BizNo != "order-<77>" || r.Liveness != nil {
		t.Fatalf("result before capture %+v", r)
	}

	// Finish it in the store, as the capture flow would.
	if _, err := s.db.BeginCapture(ctx, tok.Token, time.Now()); err != nil {
		t.Fatal(err)
	}
	jpeg := []byte{0xff, 0xd8, 1, 2, 3, 0xff, 0xd9}
	th := map[string]float64{"1e-3": 60, "1e-4": 70, "1e-5": 75, "1e-6": 80}
	if err := s.db.FinishVerification(ctx, tok.Token, &store.Outcome{
		Status: store.StatusOK,
		Liveness: &store.LivenessResult{Result: store.LivenessPass, Transport: store.TransportRTC,
			Details: store.LivenessDetails{SideFace: 2, UploadTimes: 1}},
		Verify: &store.VerifyResult{Refs: []store.RefMatch{
			{Index: 1, Confidence: 77, Thresholds: th}, {Index: 2, Confidence: 72, Thresholds: th},
		}},
		Images: [][]byte{jpeg},
	}); err != nil {
		t.Fatal(err)
	}
	r, err = c.GetResult(ctx, tok.Token, &client.GetResultOptions{ReturnImage: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != client.StatusOK || r.Liveness == nil || r.Liveness.Result != "PASS" ||
		r.Liveness.Details["SIDE_FACE"] != 2 || r.Liveness.Details["UPLOAD_TIMES"] != 1 ||
		r.Liveness.MultipleFaces == nil || *r.Liveness.MultipleFaces != 0 || r.Liveness.Transport != "rtc" {
		t.Fatalf("finished result %+v, liveness %+v", r, r.Liveness)
	}
	if r.Verify == nil || r.Verify.Ref1 == nil || r.Verify.Ref2 == nil || r.Verify.Ref1.Confidence != 77 ||
		r.Verify.Ref2.Thresholds[client.FAR1e5] != 75 {
		t.Fatalf("verify result %+v", r.Verify)
	}
	if img, err := client.DecodeImage(r.Images.Best); err != nil || !bytes.Equal(img, jpeg) {
		t.Fatalf("image_best = %x, %v", img, err)
	}
	if !r.Passed(client.FAR1e4) || r.Passed(client.FAR1e5) {
		t.Errorf("Passed(1e-4) = %v, Passed(1e-5) = %v; want true, false (ref2 is 72)", r.Passed(client.FAR1e4), r.Passed(client.FAR1e5))
	}
	occl := true
	r, err = c.GetResult(ctx, tok.Token, &client.GetResultOptions{FaceOcclusionDetection: &occl})
	if err != nil || r.Images != nil || r.Liveness.FaceOcclusion == nil {
		t.Fatalf("read with occlusion override: %+v, %v", r, err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s := newService(t)
	photo := bytes.NewReader(imagingtest.JPEG(t, imagingtest.Gradient(16, 16)))
	for _, tt := range []struct {
		name   string
		call   func(*client.Client) error
		status int
		msg    string
	}{
		{"WrongSecret", func(c *client.Client) error {
			c.APISecret += "x"
			_, err := c.GetResult(ctx, strings.Repeat("a", 32), nil)
			return err
		}, 403, "AUTHENTICATION_ERROR"},
		{"MissingUUID", func(c *client.Client) error {
			_, err := c.GetToken(ctx, client.GetTokenRequest{MaxUploadTimes: 3, LifeTime: time.Hour, ImageRef1: photo})
			return err
		}, 400, "MISSING_ARGUMENTS:uuid"},
		{"BadReturnImage", func(c *client.Client) error {
			_, err := c.GetResult(ctx, strings.Repeat("a", 32), &client.GetResultOptions{ReturnImage: 3})
			return err
		}, 400, "BAD_ARGUMENTS:return_image"},
		{"UnknownToken", func(c *client.Client) error {
			_, err := c.GetResult(ctx, strings.Repeat("a", 32), nil)
			return err
		}, 400, "INVALID_TOKEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := client.New(s.url, s.key, s.secret)
			err := tt.call(c)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *client.Error", err, err)
			}
			if e.StatusCode != tt.status || e.Message != tt.msg || e.RequestID == "" {
				t.Fatalf("error %+v, want %d %s", e, tt.status, tt.msg)
			}
			code, detail, _ := strings.Cut(tt.msg, ":")
			if e.Code() != code || e.Detail() != detail {
				t.Errorf("Code() = %q, Detail() = %q", e.Code(), e.Detail())
			}
		})
	}

	// A reply that is not JSON (413 comes from FaceID's front end as text).
	text := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
	}))
	defer text.Close()
	_, err := client.New(text.URL, "k", "s").GetResult(ctx, "t", nil)
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 413 || e.Message != "Request Entity Too Large" {
		t.Fatalf("413: %v", err)
	}

	c := client.New(s.url, s.key, s.secret)
	if _, err := c.GetToken(ctx, client.GetTokenRequest{UUID: "u", MaxUploadTimes: 3, LifeTime: time.Hour}); err == nil {
		t.Error("GetToken without a photo: no error")
	}
	if _, err := c.GetToken(ctx, client.GetTokenRequest{UUID: "u", MaxUploadTimes: 3, LifeTime: 90 * time.Second,
		ImageRef1: photo}); err == nil {
		t.Error("GetToken with a LifeTime of 90s: no error")
	}
}

func TestPassed(t *testing.T) {
	t.Parallel()
	th := map[string]float64{client.FAR1e3: 60, client.FAR1e4: 70}
	ref := func(c float64) *client.RefResult { return &client.RefResult{Confidence: c, Thresholds: th} }
	pass := &client.Liveness{Result: "PASS", Transport: "rtc"}
	upload := &client.Liveness{Result: "PASS_UPLOAD", Transport: "upload"}
	for _, tt := range []struct {
		name string
		r    client.Result
		want bool
		// wantUpload is PassedAllowingUpload's answer.
		wantUpload bool
	}{
		{"Pass", client.Result{Status: client.StatusOK, Liveness: pass, Verify: &client.VerifyResult{Ref1: ref(70)}}, true, true},
		{"BothRefs", client.Result{Status: client.StatusOK, Liveness: pass, Verify: &client.VerifyResult{Ref1: ref(90), Ref2: ref(71)}}, true, true},
		{"OneRefShort", client.Result{Status: client.StatusOK, Liveness: pass, Verify: &client.VerifyResult{Ref1: ref(90), Ref2: ref(69.9)}}, false, false},
		{"Failed", client.Result{Status: client.StatusFailed, Liveness: pass, Verify: &client.VerifyResult{Ref1: ref(90)}}, false, false},
		{"LivenessFail", client.Result{Status: client.StatusOK, Liveness: &client.Liveness{Result: "FAIL", Transport: "rtc"}, Verify: &client.VerifyResult{Ref1: ref(90)}}, false, false},
		{"NoLiveness", client.Result{Status: client.StatusOK, Verify: &client.VerifyResult{Ref1: ref(90)}}, false, false},
		{"NoVerify", client.Result{Status: client.StatusOK, Liveness: pass}, false, false},
		{"NoRefs", client.Result{Status: client.StatusOK, Liveness: pass, Verify: &client.VerifyResult{}}, false, false},
		{"UnknownFAR", client.Result{Status: client.StatusOK, Liveness: pass, Verify: &client.VerifyResult{Ref1: &client.RefResult{Confidence: 99}}}, false, false},
		// The upload fallback's verdict: only when the caller says so.
		{"Upload", client.Result{Status: client.StatusOK, Liveness: upload, Verify: &client.VerifyResult{Ref1: ref(90)}}, false, true},
		{"UploadShort", client.Result{Status: client.StatusOK, Liveness: upload, Verify: &client.VerifyResult{Ref1: ref(60)}}, false, false},
		// A PASS stored by an older version for an upload: never.
		{"PassOverUpload", client.Result{Status: client.StatusOK, Liveness: &client.Liveness{Result: "PASS", Transport: "upload"},
			Verify: &client.VerifyResult{Ref1: ref(90)}}, false, false},
		{"NoTransport", client.Result{Status: client.StatusOK, Liveness: &client.Liveness{Result: "PASS"}, Verify: &client.VerifyResult{Ref1: ref(90)}}, false, false},
		{"InjectionSuspected", client.Result{Status: client.StatusOK, Liveness: &client.Liveness{Result: "PASS", Transport: "rtc",
			FaceGenuineness: &client.FaceGenuineness{InjectionSuspected: 1}}, Verify: &client.VerifyResult{Ref1: ref(90)}}, false, false},
	} {
		if got := tt.r.Passed(client.FAR1e4); got != tt.want {
			t.Errorf("%s: Passed = %v, want %v", tt.name, got, tt.want)
		}
		if got := tt.r.PassedAllowingUpload(client.FAR1e4); got != tt.wantUpload {
			t.Errorf("%s: PassedAllowingUpload = %v, want %v", tt.name, got, tt.wantUpload)
		}
	}
}
