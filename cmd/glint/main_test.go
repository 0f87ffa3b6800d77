package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/store"
)

// run runs glint in-process with args and the given environment, returning
// its stdout, stderr and error.
func run(t testing.TB, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), args)
	return stdout.String(), stderr.String(), err
}

func mustRun(t testing.TB, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, env, args...)
	if err != nil {
		t.Fatalf("glint %v: %v\n%s", args, err, errOut)
	}
	return out
}

func TestUsage(t *testing.T) {
	t.Parallel()
	_, stderr, err := run(t, nil)
	if !errors.Is(err, errUsage) || !strings.Contains(stderr, "serve") || !strings.Contains(stderr, "keys") {
		t.Fatalf("no args: %v\n%s", err, stderr)
	}
	if _, _, err := run(t, nil, "frobnicate"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown command: %v", err)
	}
	if _, _, err := run(t, nil, "help"); err != nil {
		t.Fatalf("help: %v", err)
	}
	if _, stderr, err := run(t, nil, "serve", "-h"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "--insecure-http") && !strings.Contains(stderr, "-insecure-http") {
		t.Fatalf("serve -h: %v\n%s", err, stderr)
	}
	if _, _, err := run(t, nil, "keys"); !errors.Is(err, errUsage) {
		t.Fatalf("keys: %v", err)
	}
	if _, _, err := run(t, nil, "keys", "nope"); !errors.Is(err, errUsage) {
		t.Fatalf("keys nope: %v", err)
	}
}

func TestKeysLifecycle(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	out := mustRun(t, nil, "keys", "create", "--data", dir, "--name", "Acme", "--no-compare",
		"--allow-ip", "10.0.0.0/8,192.0.2.1", "--call-limit", "7", "--concurrency", "3",
		"--allow-origin", "https://Shop.example,http://localhost:3000")
	var created map[string]string
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create output %q: %v", out, err)
	}
	id, secret := created["api_key"], created["api_secret"]
	if len(created) != 2 || id == "" || len(secret) < 26 {
		t.Fatalf("create printed %v", created)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", fi.Mode(), err)
	}

	// GLINT_DATA stands in for --data.
	env := map[string]string{"GLINT_DATA": dir}
	id2 := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "Beta"))["api_key"]

	list := listKeys(t, env)
	if len(list) != 2 || list[0].APIKey != id || list[1].APIKey != id2 {
		t.Fatalf("list %+v", list)
	}
	k := list[0]
	if k.Name != "Acme" || k.Compare || k.CallLimit != 7 || k.Concurrency != 3 || k.Disabled ||
		strings.Join(k.AllowedIPs, ",") != "10.0.0.0/8,192.0.2.1/32" ||
		strings.Join(k.AllowedOrigins, ",") != "https://shop.example,http://localhost:3000" {
		t.Fatalf("key %+v", k)
	}
	if list[1].Concurrency != 10 || !list[1].Compare {
		t.Fatalf("defaults %+v", list[1])
	}

	// Flags may follow the key.
	if out := mustRun(t, nil, "keys", "disable", id, "--data", dir); !strings.Contains(out, "disabled") {
		t.Fatalf("disable printed %q", out)
	}
	if !listKeys(t, env)[0].Disabled {
		t.Fatal("not disabled")
	}
	mustRun(t, env, "keys", "enable", id)
	if listKeys(t, env)[0].Disabled {
		t.Fatal("not enabled")
	}
	table := mustRun(t, env, "keys", "list")
	if !strings.Contains(table, "API_KEY") || !strings.Contains(table, id) || !strings.Contains(table, "Beta") {
		t.Fatalf("table:\n%s", table)
	}
	mustRun(t, env, "keys", "delete", id)
	if list := listKeys(t, env); len(list) != 1 || list[0].APIKey != id2 {
		t.Fatalf("after delete %+v", list)
	}
	if _, _, err := run(t, env, "keys", "delete", id); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("deleting twice: %v", err)
	}

	for _, bad := range [][]string{
		{"keys", "create"},
		{"keys", "create", "--name", "x", "--allow-ip", "10.0.0.0/99"},
		{"keys", "create", "--name", "x", "--concurrency", "0"},
		{"keys", "create", "--name", "x", "--call-limit", "-1"},
		{"keys", "create", "--name", "x", "--allow-origin", "https://a.example/path"},
		{"keys", "create", "--name", "x", "stray"},
		{"keys", "disable"},
		{"keys", "disable", "a", "b"},
	} {
		if _, _, err := run(t, env, bad...); !errors.Is(err, errUsage) {
			t.Errorf("glint %v: %v, want a usage error", bad, err)
		}
	}
}

func mustJSON(t testing.TB, s string) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func listKeys(t *testing.T, env map[string]string) []keyListing {
	t.Helper()
	var list []keyListing
	if err := json.Unmarshal([]byte(mustRun(t, env, "keys", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

func TestServeRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"PlainHTTPOnAllInterfaces", []string{"serve", "--listen", ":0", "--data", dir}, nil, "refusing plain HTTP"},
		{"PlainHTTPOnPublicAddress", []string{"serve", "--listen", "192.0.2.1:8080", "--data", dir}, nil, "refusing plain HTTP"},
		{"PlainHTTPFromEnv", []string{"serve", "--data", dir}, map[string]string{"GLINT_LISTEN": "0.0.0.0:0"}, "refusing plain HTTP"},
		{"NoModels", []string{"serve", "--listen", "127.0.0.1:0", "--data", dir, "--models", dir}, nil, "run `make models`"},
		{"NoModelsInsecureHTTP", []string{"serve", "--listen", "0.0.0.0:0", "--insecure-http", "--data", dir, "--models", dir}, nil, "run `make models`"},
		{"HalfTLS", []string{"serve", "--tls-cert", "c.pem"}, nil, "usage error"},
		{"BadProxy", []string{"serve", "--trusted-proxy", "nonsense"}, nil, "usage error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:80": true, "[::1]:80": true, "127.9.9.9:1": true,
		":8080": false, "0.0.0.0:80": false, "[::]:80": false, "example.com:80": false, "nonsense": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v", addr, got)
		}
	}
}

// stubEngine finds one face in anything.
type stubEngine struct{}

func (stubEngine) Reference(context.Context, image.Image, api.ReferenceOptions) (store.Reference, error) {
	return store.Reference{Embedding: []float32{1}, Crop: []byte{1}, Model: "stub"}, nil
}

// stubModels returns a loadModels that gives serve references for
// get_token and no face engine, so the capture side is off.
func stubModels(references api.ReferenceChooser) func(modelsDir, calibration string) (serveModels, error) {
	return func(string, string) (serveModels, error) { return serveModels{references: references}, nil }
}

// TestServe starts the real serve command with a stub engine, creates a key
// with the keys command, gets a token over HTTP and shuts down gracefully.
// It swaps the package's loadModels, so it does not run in parallel.
func TestServe(t *testing.T) {
	old := loadModels
	loadModels = func(dir, _ string) (serveModels, error) {
		if dir != "/models/here" {
			t.Errorf("engine got models dir %q", dir)
		}
		return serveModels{references: stubEngine{}}, nil
	}
	defer func() { loadModels = old }()

	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": "/models/here", "GLINT_LISTEN": "127.0.0.1:0"}
	key := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "t"))
	srv := serveInProcess(t, env)
	base, logs := srv.base, srv.logs

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"api_key": key["api_key"], "api_secret": key["api_secret"], "comparison_type": "0",
		"uuid": "u", "max_upload_times": "5", "life_time": "60"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("image_ref1", "a.png")
	fw.Write(imagingtest.PNG(t, imagingtest.Gradient(32, 32)))
	mw.Close()
	resp, err = http.Post(base+"/faceid/lite/raw/get_token", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	if resp.StatusCode != 200 || reply["token"] == nil {
		t.Fatalf("get_token: %d %v", resp.StatusCode, reply)
	}

	if err := srv.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, want := range []string{`"msg":"serving"`, `"msg":"request"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}

	list := listKeys(t, env)
	if list[0].Calls != 1 || list[0].Usage["get_token OK"] != 1 || list[0].Requests != 1 {
		t.Fatalf("usage after one call: %+v", list[0])
	}
}

// inProcessServer is `glint serve` running in the test's process.
type inProcessServer struct {
	base   string // http://127.0.0.1:port
	addr   net.Addr
	logs   *logtest.Buffer
	cancel context.CancelFunc
	done   chan error
}

// serveInProcess runs `glint serve` with env and args in this process
// and waits until it listens. The test's cleanup stops it if the test has
// not (stop).
func serveInProcess(t testing.TB, env map[string]string, args ...string) *inProcessServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &inProcessServer{logs: &logtest.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	addrc := make(chan net.Addr, 1)
	cmd := &serveCommand{
		Main:     &Main{Stdout: io.Discard, Stderr: s.logs, Getenv: func(k string) string { return env[k] }},
		onListen: func(a net.Addr) { addrc <- a },
	}
	done := s.done
	go func() { done <- cmd.Run(ctx, args) }()
	t.Cleanup(func() {
		if err := s.stop(); err != nil && !errors.Is(err, errStopped) {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case s.addr = <-addrc:
		s.base = "http://" + s.addr.String()
	case err := <-s.done:
		t.Fatalf("serve exited: %v\n%s", err, s.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start\n%s", s.logs.String())
	}
	return s
}

var errStopped = errors.New("already stopped")

// stop shuts the server down gracefully and returns serve's error.
func (s *inProcessServer) stop() error {
	if s.done == nil {
		return errStopped
	}
	s.cancel()
	done := s.done
	s.done = nil
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("serve did not shut down\n%s", s.logs.String())
	}
}

// TestServeTLS serves HTTPS on a non-loopback-capable setup with a
// certificate made in the test.
func TestServeTLS(t *testing.T) {
	old := loadModels
	loadModels = stubModels(stubEngine{})
	defer func() { loadModels = old }()

	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	srv := serveInProcess(t, nil, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"),
		"--tls-cert", certFile, "--tls-key", keyFile)
	addr := srv.addr
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr.String() + "/faceid/lite/raw/get_token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.TLS == nil {
		t.Fatalf("GET over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	client.CloseIdleConnections()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}

func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "glint test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
