package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/client"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/store"
)

func TestKeysRotate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"GLINT_DATA": dir}
	created := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "rotated"))
	id := created["api_key"]

	for _, bad := range [][]string{
		{"keys", "rotate"},
		{"keys", "rotate", id, id},
		{"keys", "rotate", id, "--overlap", "-1s"},
		{"keys", "rotate", id, "--overlap", "721h"},
		{"keys", "rotate", id, "--overlap", "soon"},
	} {
		if _, _, err := run(t, env, bad...); !errors.Is(err, errUsage) {
			t.Errorf("glint %v: %v, want a usage error", bad, err)
		}
	}
	if _, _, err := run(t, env, "keys", "rotate", "nosuchkey"); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("unknown key: %v", err)
	}

	before := time.Now()
	rotated := mustJSON(t, mustRun(t, env, "keys", "rotate", id))
	if rotated["api_key"] != id || rotated["api_secret"] == "" || rotated["api_secret"] == created["api_secret"] {
		t.Fatalf("keys rotate printed %v after %v", rotated, created)
	}
	until, err := time.Parse(time.RFC3339, rotated["old_secret_valid_until"])
	if err != nil {
		t.Fatalf("old_secret_valid_until: %v", err)
	}
	if d := until.Sub(before); d < 24*time.Hour-time.Second || d > 25*time.Hour {
		t.Errorf("default overlap ends %v after the rotation, want 24h", d)
	}

	// keys notify takes the new secret only: notifications signed with
	// the retiring one would soon fail at the receiver.
	notify := func(secret string) error {
		cmd := &keysNotifyCommand{Main: &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }},
			stdin: strings.NewReader(secret + "\n")}
		return cmd.Run(context.Background(), []string{id, "--url", "https://hooks.example/h"})
	}
	if err := notify(created["api_secret"]); err == nil || !strings.Contains(err.Error(), "old api_secret") {
		t.Errorf("keys notify with the retiring secret: %v", err)
	}
	if err := notify(rotated["api_secret"]); err != nil {
		t.Errorf("keys notify with the new secret: %v", err)
	}
	if _, s := keyNotify(t, dir, id); string(s) != rotated["api_secret"] {
		t.Errorf("sealed secret %q, want the new one", s)
	}

	now := mustJSON(t, mustRun(t, env, "keys", "rotate", id, "--overlap", "0"))
	if _, ok := now["old_secret_valid_until"]; ok || now["api_secret"] == rotated["api_secret"] {
		t.Errorf("keys rotate --overlap 0 printed %v", now)
	}
	// A rotation reseals the notification secret.
	if _, s := keyNotify(t, dir, id); string(s) != now["api_secret"] {
		t.Errorf("sealed secret after rotation %q, want the newest", s)
	}
	if out := mustRun(t, env, "keys", "list"); !strings.Contains(out, id) {
		t.Errorf("key missing from the list after rotation:\n%s", out)
	}
	_, stderr, err := run(t, env, "keys", "rotate", "-h")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "--overlap") && !strings.Contains(stderr, "-overlap") {
		t.Errorf("keys rotate -h: %v\n%s", err, stderr)
	}
}

// getToken asks serve for a token with key and secret and returns the
// status and error_message.
func getToken(t *testing.T, base, key, secret string) (int, string, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"api_key": key, "api_secret": secret, "comparison_type": "0",
		"uuid": "u", "max_upload_times": "3", "life_time": "60"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("image_ref1", "a.png")
	fw.Write(imagingtest.PNG(t, imagingtest.Gradient(32, 32)))
	mw.Close()
	resp, err := http.Post(base+"/faceid/lite/raw/get_token", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Token        string `json:"token"`
		ErrorMessage string `json:"error_message"`
	}
	json.NewDecoder(resp.Body).Decode(&reply)
	return resp.StatusCode, reply.Token, reply.ErrorMessage
}

// TestKeysRotateAttack attacks a running glint serve with the secrets a
// rotation retires: the old one fails at once without an overlap and as
// soon as the overlap ends with one, the new one works throughout, and a
// notification sent after the rotation (for a token issued before it) is
// signed with the new secret, which the old one cannot verify. It swaps
// the package's loadModels, so it does not run in parallel.
func TestKeysRotateAttack(t *testing.T) {
	old := loadModels
	loadModels = stubModels(stubEngine{})
	defer func() { loadModels = old }()

	bodies := make(chan *http.Request, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r = r.Clone(context.Background())
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		select {
		case bodies <- r:
		default:
		}
	}))
	defer receiver.Close()

	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": dir, "GLINT_LISTEN": "127.0.0.1:0"}
	key := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "t", "--notify-url", receiver.URL+"/hook", "--notify-allow-private"))
	id, secret0 := key["api_key"], key["api_secret"]
	srv := serveInProcess(t, env, "--notify-allow-private")

	issued := int64(0)
	ok := func(secret, what string) string {
		t.Helper()
		status, token, msg := getToken(t, srv.base, id, secret)
		if status != http.StatusOK || token == "" {
			t.Fatalf("get_token with %s: %d %s, want a token", what, status, msg)
		}
		issued++
		return token
	}
	refused := func(secret, what string) {
		t.Helper()
		if status, _, msg := getToken(t, srv.base, id, secret); status == http.StatusOK || msg != "AUTHENTICATION_ERROR" {
			t.Fatalf("get_token with %s: %d %q, want AUTHENTICATION_ERROR", what, status, msg)
		}
	}
	token := ok(secret0, "the first secret")

	// No overlap: the old secret fails at once.
	secret1 := mustJSON(t, mustRun(t, env, "keys", "rotate", id, "--overlap", "0"))["api_secret"]
	refused(secret0, "the secret rotated out without overlap")
	ok(secret1, "the new secret")

	// An overlap: both work.
	secret2 := mustJSON(t, mustRun(t, env, "keys", "rotate", id, "--overlap", "1h"))["api_secret"]
	ok(secret1, "the old secret within the overlap")
	ok(secret2, "the new secret within the overlap")

	// Rotating again replaces the old secret: the one two rotations back
	// fails at once, and the one just replaced only until its short
	// overlap ends.
	secret3 := mustJSON(t, mustRun(t, env, "keys", "rotate", id, "--overlap", "1s"))["api_secret"]
	refused(secret1, "a secret two rotations back")
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, msg := getToken(t, srv.base, id, secret2)
		if msg == "AUTHENTICATION_ERROR" {
			break
		}
		if status != http.StatusOK {
			t.Fatalf("get_token with the old secret within its overlap: %d %s", status, msg)
		}
		issued++
		if time.Now().After(deadline) {
			t.Fatal("the old secret still works 30s after a 1s overlap")
		}
		time.Sleep(100 * time.Millisecond)
	}
	refused(secret2, "the old secret after the overlap")
	ok(secret3, "the new secret after the overlap")

	// A verification issued under the first secret ends now: its
	// notification is signed with the newest.
	ctx := context.Background()
	d, err := openData(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.db.BeginCapture(ctx, token, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := d.db.FinishVerification(ctx, token, &store.Outcome{Status: store.StatusFailed}); err != nil {
		t.Fatal(err)
	}
	var r *http.Request
	select {
	case r = <-bodies:
	case <-time.After(20 * time.Second):
		t.Fatalf("no notification arrived\n%s", srv.logs.String())
	}
	verify := func(secret string) (*client.Result, error) {
		body, _ := r.GetBody()
		req := r.Clone(ctx)
		req.Body = body
		return client.VerifyNotification(req, secret, time.Minute)
	}
	if res, err := verify(secret3); err != nil || res.Token != token {
		t.Errorf("notification with the newest secret: %+v, %v", res, err)
	}
	for i, s := range []string{secret0, secret1, secret2} {
		if _, err := verify(s); err == nil {
			t.Errorf("notification verifies with the retired secret %d", i)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	// Usage stays the key's across rotations: every token issued, with
	// whichever secret, counts once.
	if list := listKeys(t, env); list[0].Calls != issued || list[0].Usage["get_token OK"] != issued {
		t.Errorf("usage after rotations: %+v, want %d calls", list[0], issued)
	}
}
