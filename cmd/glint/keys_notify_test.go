package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/client"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/store"
)

// keyNotify returns the stored notification settings of key id, with the
// sealed secret opened.
func keyNotify(t *testing.T, dir, id string) (string, auth.Secret) {
	t.Helper()
	d, err := openData(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	k, err := d.db.Key(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if k.NotifySecret == nil {
		return k.NotifyURL, ""
	}
	s, err := d.keys.OpenSecret(id, k.NotifySecret)
	if err != nil {
		t.Fatal(err)
	}
	return k.NotifyURL, s
}

func TestKeysNotify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir}
	k := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "hooked", "--notify-url", "https://hooks.example/glint?shop=1"))
	if url, s := keyNotify(t, dir, k["api_key"]); url != "https://hooks.example/glint?shop=1" || string(s) != k["api_secret"] {
		t.Fatalf("created with --notify-url: %q, secret %q", url, s)
	}
	plain := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "plain"))
	id := plain["api_key"]
	if url, s := keyNotify(t, dir, id); url != "" || s != "" {
		t.Fatalf("created without --notify-url: %q, %q", url, s)
	}

	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(plain["api_secret"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A receiver on this machine only when asked for.
	_, stderr, err := run(t, env, "keys", "notify", id, "--url", "http://127.0.0.1:9000/hook", "--secret-file", secretFile)
	if msg, _, _ := strings.Cut(stderr, "\n"); !errors.Is(err, errUsage) || !strings.Contains(msg, "127.0.0.1 is a loopback address") ||
		!strings.Contains(msg, "give --allow-private") {
		t.Fatalf("keys notify to 127.0.0.1 without --allow-private: %v, %q; want a usage error naming the address and the flag", err, msg)
	} else {
		t.Log(msg)
	}
	out := mustRun(t, env, "keys", "notify", id, "--url", "http://127.0.0.1:9000/hook", "--allow-private", "--secret-file", secretFile)
	if !strings.Contains(out, "http://127.0.0.1:9000/hook") {
		t.Fatalf("keys notify printed %q", out)
	}
	if url, s := keyNotify(t, dir, id); url != "http://127.0.0.1:9000/hook" || string(s) != plain["api_secret"] {
		t.Fatalf("after keys notify: %q, %q", url, s)
	}

	// The secret from stdin, and a wrong one.
	cmd := &keysNotifyCommand{Main: &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }},
		stdin: strings.NewReader(plain["api_secret"] + "\n")}
	if err := cmd.Run(context.Background(), []string{id, "--url", "https://other.example/h"}); err != nil {
		t.Fatalf("secret on stdin: %v", err)
	}
	cmd.stdin = strings.NewReader(k["api_secret"])
	if err := cmd.Run(context.Background(), []string{id, "--url", "https://evil.example/h"}); err == nil ||
		!strings.Contains(err.Error(), "not the api_secret") {
		t.Fatalf("another key's secret: %v", err)
	}
	if url, _ := keyNotify(t, dir, id); url != "https://other.example/h" {
		t.Fatalf("a refused change was stored: %q", url)
	}

	mustRun(t, env, "keys", "notify", id, "--off")
	if url, s := keyNotify(t, dir, id); url != "" || s != "" {
		t.Fatalf("after --off: %q, %q", url, s)
	}
	if _, _, err := run(t, env, "keys", "notify", "nosuchkey", "--off"); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("unknown key: %v", err)
	}

	for _, bad := range [][]string{
		{"keys", "create", "--name", "x", "--notify-url", "http://hooks.example/plain"},
		{"keys", "create", "--name", "x", "--notify-url", "ftp://hooks.example/"},
		{"keys", "create", "--name", "x", "--notify-url", "https://user:pw@hooks.example/"},
		{"keys", "create", "--name", "x", "--notify-url", "https:///nohost"},
		{"keys", "create", "--name", "x", "--notify-url", "https://hooks.example/#frag"},
		{"keys", "notify", id},
		{"keys", "notify", id, "--url", "https://a.example/", "--off"},
		{"keys", "notify", "--off"},
		{"keys", "notify", id, "--url", "http://192.0.2.1/h", "--secret-file", secretFile},
		{"keys", "notify", id, "--url", "https://169.254.169.254/latest/meta-data", "--secret-file", secretFile},
		{"keys", "notify", id, "--url", "https://[fd00::1]/h", "--secret-file", secretFile},
		{"keys", "create", "--name", "x", "--notify-url", "https://10.1.2.3/h"},
		{"keys", "create", "--name", "x", "--notify-url", "http://localhost:8081/h"},
	} {
		if _, _, err := run(t, env, bad...); !errors.Is(err, errUsage) {
			t.Errorf("glint %v: %v, want a usage error", bad, err)
		}
	}
	// Plain http to another host only when asked for.
	mustRun(t, env, "keys", "notify", id, "--url", "http://192.0.2.1/h", "--allow-http", "--secret-file", secretFile)
	mustRun(t, env, "keys", "create", "--name", "x", "--notify-url", "http://192.0.2.1/h", "--notify-allow-http")
	mustRun(t, env, "keys", "create", "--name", "x", "--notify-url", "http://localhost:8081/h", "--notify-allow-private")
	mustRun(t, env, "keys", "create", "--name", "x", "--notify-url", "https://10.1.2.3/h", "--notify-allow-private")
}

func TestParseNotifyURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in                      string
		allowHTTP, allowPrivate bool
		ok                      bool
	}{
		{"https://hooks.example/glint", false, false, true},
		{"https://hooks.example:8443/glint?x=1", false, false, true},
		{"https://93.184.215.14/glint", false, false, true},
		{"http://localhost/h", false, true, true},
		{"http://127.0.0.1:8080/h", false, true, true},
		{"http://[::1]:8080/h", false, true, true},
		{"http://10.0.0.1/h", false, true, false},
		{"http://10.0.0.1/h", true, true, true},
		{"http://localhost.example.com/h", false, false, false},
		{"mailto:a@b", false, false, false},
		{"/relative", false, false, false},
		{"https://:443/", false, false, false},
		// Addresses that are not public, only with allowPrivate.
		{"http://localhost/h", false, false, false},
		{"https://LOCALHOST./h", false, false, false},
		{"https://api.localhost/h", false, false, false},
		{"http://127.0.0.1:8080/h", false, false, false},
		{"http://[::1]:8080/h", false, false, false},
		{"https://10.0.0.1/h", false, false, false},
		{"https://172.20.1.1/h", false, false, false},
		{"https://192.168.0.10/h", false, false, false},
		{"https://169.254.169.254/h", false, false, false},
		{"https://[fe80::1%25eth0]/h", false, false, false},
		{"https://[fc00::5]/h", false, false, false},
		{"https://0.0.0.0/h", false, false, false},
		{"https://[::]/h", false, false, false},
		{"https://224.0.0.251/h", false, false, false},
		{"https://[::ffff:10.0.0.1]/h", false, false, false},
		{"https://10.0.0.1/h", false, true, true},
		{"https://169.254.169.254/h", false, true, true},
	} {
		if _, err := parseNotifyURL(tt.in, tt.allowHTTP, tt.allowPrivate, "--allow-private"); (err == nil) != tt.ok {
			t.Errorf("parseNotifyURL(%q, http %v, private %v) = %v, want ok %v", tt.in, tt.allowHTTP, tt.allowPrivate, err, tt.ok)
		}
	}
}

func TestKeysDeliveries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir}
	k := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "hooked", "--notify-url", "https://hooks.example/g"))
	if out := mustRun(t, env, "keys", "deliveries", k["api_key"], "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty log as JSON: %q", out)
	}

	// Two attempts recorded as the deliverer would.
	ctx := context.Background()
	d, err := openData(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	finishForTest(t, d.db, "tok-1", k["api_key"])
	ns, err := d.db.ClaimNotifications(ctx, time.Now(), time.Minute, 10)
	if err != nil || len(ns) != 1 {
		t.Fatalf("claim: %v, %v", ns, err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i, a := range []store.DeliveryAttempt{
		{Attempt: 1, At: at, StatusCode: 503, Duration: 1500 * time.Millisecond, Error: "HTTP 503 Service Unavailable"},
		{Attempt: 2, At: at.Add(10 * time.Second), StatusCode: 200, Delivered: true},
	} {
		a.NotificationID, a.Token, a.KeyID, a.URL = ns[0].ID, "tok-1", k["api_key"], ns[0].URL
		next := at.Add(time.Minute)
		if i == 1 {
			next = time.Time{}
		}
		if err := d.db.RecordDelivery(ctx, a, next); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()

	var rows []deliveryListing
	if err := json.Unmarshal([]byte(mustRun(t, env, "keys", "deliveries", k["api_key"], "--json", "--token", "tok-1")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].StatusCode != 503 || rows[0].DurationMs != 1500 || rows[0].Delivered ||
		!rows[1].Delivered || rows[1].At != "2025-06-01T12:00:10Z" || rows[1].URL != "https://hooks.example/g" {
		t.Fatalf("rows %+v", rows)
	}
	table := mustRun(t, env, "keys", "deliveries", k["api_key"])
	if !strings.Contains(table, "DELIVERED") || !strings.Contains(table, "HTTP 503 Service Unavailable") || !strings.Contains(table, "tok-1") {
		t.Fatalf("table:\n%s", table)
	}
	if out := mustRun(t, env, "keys", "deliveries", k["api_key"], "--token", "other"); strings.Contains(out, "tok-1") {
		t.Fatalf("--token other listed tok-1:\n%s", out)
	}
	if _, _, err := run(t, env, "keys", "deliveries"); !errors.Is(err, errUsage) {
		t.Fatalf("no key: %v", err)
	}
}

// finishForTest stores a verification of keyID and finishes it OK now.
func finishForTest(t *testing.T, st store.Store, token, keyID string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := st.CreateVerification(ctx, &store.Verification{
		Token: token, KeyID: keyID, UUID: "u", ColorNumber: 6, LivenessPreferences: "none", Language: "0",
		ProcedureType: "raw_flash", ComparisonType: "0", MaxUploadTimes: 3, LifeTime: time.Hour,
		Status: store.StatusNotStarted, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.BeginCapture(ctx, token, now); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishVerification(ctx, token, &store.Outcome{
		Status:   store.StatusFailed,
		Liveness: &store.LivenessResult{Result: store.LivenessFail, Details: store.LivenessDetails{UploadTimes: 3}},
	}); err != nil {
		t.Fatal(err)
	}
}

// TestNotificationEndToEnd runs glint serve with a key whose
// notifications go to a local receiver: a token issued over HTTP and
// finished reaches the receiver signed. It swaps the package's
// loadModels, so it does not run in parallel.
func TestNotificationEndToEnd(t *testing.T) {
	old := loadModels
	loadModels = stubModels(stubEngine{})
	defer func() { loadModels = old }()

	got := make(chan *client.Result, 1)
	var secret string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := client.VerifyNotification(r, secret, time.Minute)
		if err != nil {
			t.Errorf("notification: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got <- res
	}))
	defer receiver.Close()

	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": dir, "GLINT_LISTEN": "127.0.0.1:0"}
	key := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "t", "--notify-url", receiver.URL+"/hook", "--notify-allow-private"))
	secret = key["api_secret"]

	ctx := context.Background()
	// The receiver listens on 127.0.0.1, which serve refuses to notify
	// unless allowed.
	srv := serveInProcess(t, env, "--notify-allow-private")
	base, logs := srv.base, srv.logs

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"api_key": key["api_key"], "api_secret": secret, "comparison_type": "0",
		"uuid": "u", "biz_no": "order-9", "max_upload_times": "3", "life_time": "60"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("image_ref1", "a.png")
	fw.Write(imagingtest.PNG(t, imagingtest.Gradient(32, 32)))
	mw.Close()
	resp, err := http.Post(base+"/faceid/lite/raw/get_token", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	if reply.Token == "" {
		t.Fatalf("get_token: %d", resp.StatusCode)
	}

	// The capture ends (here through the store, as the capture flow
	// would); the serving process notices on its next poll.
	d, err := openData(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.db.BeginCapture(ctx, reply.Token, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := d.db.FinishVerification(ctx, reply.Token, &store.Outcome{Status: store.StatusFailed}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.Token != reply.Token || r.Status != client.StatusFailed || r.BizNo != "order-9" {
			t.Fatalf("notified %+v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no notification arrived\n%s", logs.String())
	}
	// The delivery is logged once the receiver's answer is in.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if log, err := d.db.Deliveries(ctx, key["api_key"], ""); err != nil || len(log) > 0 {
			break
		}
	}

	if err := srv.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	var rows []deliveryListing
	if err := json.Unmarshal([]byte(mustRun(t, env, "keys", "deliveries", key["api_key"], "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !rows[0].Delivered || rows[0].Token != reply.Token {
		t.Fatalf("delivery log %+v", rows)
	}
}
