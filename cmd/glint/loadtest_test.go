package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/loadgen"
	"github.com/glint-id/glint/internal/logtest"
)

func TestLoadtestTarget(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url         string
		allowRemote bool
		want        string // base URL, or the error's text
		ok          bool
	}{
		{"http://127.0.0.1:8080", false, "http://127.0.0.1:8080", true},
		{"http://localhost:8080/", false, "http://localhost:8080", true},
		{"https://[::1]:8443/glint/", false, "https://[::1]:8443/glint", true},
		{"http://127.3.2.1", false, "http://127.3.2.1", true},
		{"http://192.0.2.1:8080", false, "--allow-remote", false},
		{"http://0.0.0.0:8080", false, "--allow-remote", false},
		{"http://[::]:8080", false, "--allow-remote", false},
		{"http://glint.example", false, "--allow-remote", false},
		{"http://localhost.example.com", false, "--allow-remote", false},
		{"http://192.0.2.1:8080", true, "http://192.0.2.1:8080", true},
		{"ftp://127.0.0.1/", false, "want http(s)", false},
		{"127.0.0.1:8080", false, "--url", false},
		{"http://user:pw@127.0.0.1/", false, "want http(s)", false},
		{"http://127.0.0.1/?x=1", false, "want http(s)", false},
	} {
		got, err := loadtestTarget(tt.url, tt.allowRemote)
		switch {
		case tt.ok && (err != nil || got != tt.want):
			t.Errorf("loadtestTarget(%q, %v) = %q, %v; want %q", tt.url, tt.allowRemote, got, err, tt.want)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("loadtestTarget(%q, %v) = %q, %v; want an error with %q", tt.url, tt.allowRemote, got, err, tt.want)
		}
	}
}

// TestLoadtestRefusals checks the command line is refused before any
// request is sent.
func TestLoadtestRefusals(t *testing.T) {
	t.Parallel()
	creds := map[string]string{"GLINT_API_KEY": "k", "GLINT_API_SECRET": "s"}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"NonLoopback", creds, []string{"--url", "http://192.0.2.1:8080"}, "refusing to load non-loopback target 192.0.2.1:8080"},
		{"NonLoopbackName", creds, []string{"--url", "https://glint.example"}, "--allow-remote"},
		{"Unbounded", creds, []string{"--requests", "0", "--duration", "0"}, "usage error"},
		{"NoConcurrency", creds, []string{"--concurrency", "0"}, "usage error"},
		{"BadMix", creds, []string{"--mix", "token=1,verify=2"}, "usage error"},
		{"NoKey", nil, []string{"--url", "http://127.0.0.1:1"}, "usage error"},
		{"NoSecret", map[string]string{"GLINT_API_KEY": "k"}, nil, "usage error"},
		{"NoImages", creds, []string{"--url", "http://127.0.0.1:1", "--images", t.TempDir()}, "no .jpg"},
		{"Stray", creds, []string{"now"}, "usage error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.env, append([]string{"loadtest"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// loadtestStubEngine makes serve use stubEngine for the rest of the test; the
// package variable is shared, so such tests do not run in parallel.
func loadtestStubEngine(t *testing.T) {
	old := loadModels
	loadModels = stubModels(stubEngine{})
	t.Cleanup(func() { loadModels = old })
}

// writeLoadImages writes two small photos and a file that is not one to a
// new directory.
func writeLoadImages(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"a.jpg":     imagingtest.JPEG(t, imagingtest.Gradient(64, 48)),
		"b.PNG":     imagingtest.PNG(t, imagingtest.Quadrants(40, 40)),
		"notes.txt": []byte("not a photo"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func parseLoadReport(t *testing.T, out string) loadgen.Report {
	t.Helper()
	var rep loadgen.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	return rep
}

// TestLoadtest runs the command against the real serve command, with the
// stub engine so that get_token is quick: the flags reach the generator,
// the real server answers every request as the generator expects (each
// malformed call with its documented code), and the report comes out as
// JSON or text. How the generator counts is tested in internal/loadgen.
func TestLoadtest(t *testing.T) {
	loadtestStubEngine(t)
	base, key, secret := startServe(t, "unused")
	env := map[string]string{"GLINT_API_KEY": key, "GLINT_API_SECRET": secret}
	images := writeLoadImages(t)

	// token=2,result=1,bad=2 over 40 requests: 16, 8, 16, each of the
	// eight bad cases twice.
	out, errOut, err := run(t, env, "loadtest", "--url", base+"/", "--images", images,
		"--requests", "40", "--concurrency", "4", "--mix", "token=2,result=1,bad=2", "--json")
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errOut)
	}
	rep := parseLoadReport(t, out)
	if rep.URL != base || rep.Mix != "token=2,result=1,bad=2" || rep.Concurrency != 4 || rep.RequestLimit != 40 ||
		rep.Requests != 40 || rep.Unexpected != 0 || rep.ServerErrors != 0 || rep.TransportErrors != 0 ||
		rep.Interrupted || rep.Images != 2 || rep.TokensIssued != 17 {
		t.Fatalf("report %+v", rep)
	}
	want := map[string]int{"get_token": 16, "get_result": 8, "bad": 16}
	for _, e := range rep.Endpoints {
		if e.Requests != want[e.Endpoint] || e.Unexpected != 0 {
			t.Errorf("endpoint %+v, want %d requests", e, want[e.Endpoint])
		}
	}
	if len(rep.BadCases) != 8 {
		t.Fatalf("bad cases %+v", rep.BadCases)
	}
	for _, bc := range rep.BadCases {
		if bc.Sent != 2 || bc.AsExpected != 2 {
			t.Errorf("bad case %+v", bc)
		}
	}

	t.Run("Text", func(t *testing.T) {
		out, errOut, err := run(t, env, "loadtest", "--url", base, "--images", images, "--requests", "20", "--concurrency", "2")
		if err != nil {
			t.Fatalf("loadtest: %v\n%s", err, errOut)
		}
		for _, want := range []string{"loadtest " + base + ": 20 requests in ", "mix token=60,result=30,bad=10",
			"p50 ms", "p99 ms", "get_token", "get_result", "all", "HTTP status:  200 ",
			"unexpected: 0 (5xx 0, transport errors 0)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(errOut, "\r") {
			t.Errorf("progress bar drawn on a non-terminal:\n%q", errOut)
		}
	})

	t.Run("WrongSecret", func(t *testing.T) {
		env := map[string]string{"GLINT_API_KEY": key, "GLINT_API_SECRET": "not-" + secret}
		_, _, err := run(t, env, "loadtest", "--url", base, "--images", images, "--requests", "5")
		if err == nil || !strings.HasPrefix(err.Error(), "preflight get_token a.jpg: got 403 AUTHENTICATION_ERROR") ||
			!strings.HasSuffix(err.Error(), "(check --url, --api-key and --api-secret)") {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("Interrupt", func(t *testing.T) {
		// Long enough for the preflight on a busy machine.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var stdout, stderr logtest.Buffer
		m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
		err := (&loadtestCommand{Main: m}).Run(ctx, []string{"--url", base, "--images", images,
			"--requests", "0", "--duration", "1m", "--json"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the context's", err)
		}
		if rep := parseLoadReport(t, stdout.String()); !rep.Interrupted || rep.Requests == 0 || rep.TransportErrors != 0 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// TestLoadtestRealEngine loads the real engine with the pinned package's
// sample photos, found the way the command finds them by default.
func TestLoadtestRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	models, err := filepath.Abs(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(face.SamplePhoto(models, 1)); err != nil {
		t.Skipf("models missing (run `make models`): %v", err)
	}
	base, key, secret := startServe(t, models)
	env := map[string]string{"GLINT_API_KEY": key, "GLINT_API_SECRET": secret, "GLINT_MODELS": models}
	out, errOut, err := run(t, env, "loadtest", "--url", base, "--requests", "10", "--concurrency", "2", "--json")
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errOut)
	}
	rep := parseLoadReport(t, out)
	if rep.Requests != 10 || rep.Unexpected != 0 || rep.Images != 6 || rep.Endpoints[0].Requests != 6 {
		t.Fatalf("report %+v\n%s", rep, out)
	}
	t.Logf("real engine: %s", out)
}
