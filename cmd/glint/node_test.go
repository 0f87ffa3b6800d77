package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/store"
)

// Node tests run glint as separate processes (nodes) so that they can be
// killed with SIGKILL. The test binary is the glint binary: TestMain runs
// the command line in GLINT_TEST_NODE_ARGS instead of the tests when
// GLINT_TEST_NODE is set, with the engine GLINT_TEST_ENGINE names.
func TestMain(m *testing.M) {
	if os.Getenv("GLINT_TEST_NODE") == "" {
		os.Exit(m.Run())
	}
	switch e := os.Getenv(envTestEngine); e {
	case "", engineStub:
		loadModels = stubModels(stubEngine{})
	case engineReal:
	case engineSlow:
		delay, err := time.ParseDuration(os.Getenv(envTestEngineDelay))
		if err != nil {
			fmt.Fprintln(os.Stderr, envTestEngineDelay+":", err)
			os.Exit(2)
		}
		loadModels = stubModels(slowEngine{delay})
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown engine %q\n", envTestEngine, e)
		os.Exit(2)
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv("GLINT_TEST_NODE_ARGS")), &args); err != nil {
		fmt.Fprintln(os.Stderr, "GLINT_TEST_NODE_ARGS:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := NewMain().Run(ctx, args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "glint:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// The engine of a node: startNode's env sets GLINT_TEST_ENGINE to one of
// these (stub when unset).
const (
	envTestEngine = "GLINT_TEST_ENGINE"
	// engineStub is stubEngine: one face in anything, at once. The
	// capture side is off.
	engineStub = "stub"
	// engineReal is the face engine from GLINT_MODELS, with the capture
	// side.
	engineReal = "real"
	// engineSlow is stubEngine holding each reference photo for
	// GLINT_TEST_ENGINE_DELAY, and logging when (see slowEngine).
	engineSlow = "slow"

	envTestEngineDelay = "GLINT_TEST_ENGINE_DELAY"
)

// slowEngine is stubEngine taking delay per reference photo. It logs each
// call's interval to standard error as a line {"msg":"engine call",
// "start_ns":…, "end_ns":…} (Unix nanoseconds), so a test can see how
// many get_token calls, which run the engine while they hold one of their
// key's concurrency slots, were in it at once across nodes.
type slowEngine struct{ delay time.Duration }

// engineCallMsg is the msg of slowEngine's log lines.
const engineCallMsg = "engine call"

func (e slowEngine) Reference(ctx context.Context, img image.Image, opts api.ReferenceOptions) (store.Reference, error) {
	start := time.Now()
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		return store.Reference{}, ctx.Err()
	}
	// One write of one short line: atomic on the pipe, between the
	// server's own log lines.
	fmt.Fprintf(os.Stderr, "{\"msg\":%q,\"start_ns\":%d,\"end_ns\":%d}\n", engineCallMsg, start.UnixNano(), time.Now().UnixNano())
	return stubEngine{}.Reference(ctx, img, opts)
}

// node is one glint serve process.
type node struct {
	cmd  *exec.Cmd
	base string
	logs *logtest.Buffer
	done chan error
}

// startNode starts `glint serve` with env (GLINT_DATA, GLINT_DATABASE, …)
// on a free loopback port, and waits until it serves. The engine is the
// one env's GLINT_TEST_ENGINE names, by default the stub. The test's
// cleanup kills it if it is still running.
func startNode(t testing.TB, env map[string]string, args ...string) *node {
	t.Helper()
	return startNodes(t, []map[string]string{env}, args...)[0]
}

// startNodes is startNode for a node per env, started at once so that
// they load their engines side by side.
func startNodes(t testing.TB, envs []map[string]string, args ...string) []*node {
	t.Helper()
	a, err := json.Marshal(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	nodes := make([]*node, len(envs))
	addrs := make([]chan string, len(envs))
	for i, env := range envs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GLINT_TEST_NODE=1", "GLINT_TEST_NODE_ARGS="+string(a))
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		n := &node{cmd: cmd, logs: &logtest.Buffer{}, done: make(chan error, 1)}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.kill() })
		addrc := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				n.logs.Write([]byte(line + "\n"))
				var entry struct{ Msg, Addr string }
				if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "serving" {
					addrc <- entry.Addr
				}
			}
			io.Copy(io.Discard, stderr)
			n.done <- cmd.Wait()
		}()
		nodes[i], addrs[i] = n, addrc
	}
	deadline := time.After(60 * time.Second)
	for i, n := range nodes {
		select {
		case addr := <-addrs[i]:
			n.base = "http://" + addr
		case err := <-n.done:
			t.Fatalf("node exited: %v\n%s", err, n.logs.String())
		case <-deadline:
			t.Fatalf("node did not start\n%s", n.logs.String())
		}
	}
	return nodes
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	if n.cmd.ProcessState != nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
	}
}

// tokenForm is a get_token request body with a small generated photo.
func tokenForm(t testing.TB, key, secret, uuid string) (string, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"api_key": key, "api_secret": secret, "comparison_type": "0",
		"uuid": uuid, "max_upload_times": "3", "life_time": "60"} {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("image_ref1", "a.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(imagingtest.PNG(t, imagingtest.Gradient(32, 32)))
	mw.Close()
	return mw.FormDataContentType(), body.Bytes()
}

// callGetToken posts a get_token and returns the HTTP status and token;
// err is a transport error.
func callGetToken(ctx context.Context, client *http.Client, base, contentType string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/faceid/lite/raw/get_token", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var reply struct {
		Token        string `json:"token"`
		ErrorMessage string `json:"error_message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return resp.StatusCode, "", fmt.Errorf("reply: %w", err)
	}
	if resp.StatusCode == http.StatusOK && reply.Token == "" {
		return resp.StatusCode, "", fmt.Errorf("200 without a token")
	}
	return resp.StatusCode, reply.Token, nil
}

// readResult GETs get_result and returns the status and the decoded body.
func readResult(t testing.TB, base, key, secret, token string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/faceid/lite/raw/get_result?api_key=" + key + "&api_secret=" + secret + "&token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// loadUntilKilled sends get_token requests from workers goroutines until
// stop is closed and returns the tokens acknowledged with a 200.
func loadUntilKilled(t testing.TB, base, key, secret string, workers int, stop <-chan struct{}) (acked []string, statuses map[int]int) {
	t.Helper()
	type result struct {
		status int
		token  string
	}
	results := make(chan result, 1024)
	client := &http.Client{Timeout: 30 * time.Second}
	ct, body := tokenForm(t, key, secret, "fault")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	finished := make(chan struct{})
	for range workers {
		go func() {
			defer func() { finished <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, token, err := callGetToken(ctx, client, base, ct, body)
				if err != nil {
					select {
					case <-stop:
						return // the node died under this request
					default:
						time.Sleep(10 * time.Millisecond)
						continue
					}
				}
				results <- result{status, token}
			}
		}()
	}
	statuses = map[int]int{}
	for running := workers; running > 0; {
		select {
		case r := <-results:
			statuses[r.status]++
			if r.status == http.StatusOK {
				acked = append(acked, r.token)
			}
		case <-finished:
			running--
		}
	}
	for {
		select {
		case r := <-results:
			statuses[r.status]++
			if r.status == http.StatusOK {
				acked = append(acked, r.token)
			}
		default:
			return acked, statuses
		}
	}
}

// TestKill9SQLite kills a node with SIGKILL in the middle of a get_token
// load on the default SQLite store, restarts it, and checks that every
// token acknowledged with a 200 is there, unread and consistent, and that
// the database is intact.
func TestKill9SQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	testKill9(t, map[string]string{"GLINT_DATA": t.TempDir()})
}

// TestKill9Postgres is TestKill9SQLite on PostgreSQL.
func TestKill9Postgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	testKill9(t, map[string]string{"GLINT_DATA": t.TempDir(), "GLINT_DATABASE": pgTestDatabase(t)})
}

// testKill9 is the kill -9 test on the store env selects.
func testKill9(t *testing.T, env map[string]string) {
	k := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "fault", "--concurrency", "64"))
	key, secret := k["api_key"], k["api_secret"]
	n := startNode(t, env)

	stop := make(chan struct{})
	type loadResult struct {
		acked    []string
		statuses map[int]int
	}
	resc := make(chan loadResult, 1)
	go func() {
		acked, statuses := loadUntilKilled(t, n.base, key, secret, 8, stop)
		resc <- loadResult{acked, statuses}
	}()
	// Kill once writes are flowing, mid-stream.
	time.Sleep(1500 * time.Millisecond)
	n.kill()
	close(stop)
	res := <-resc
	if len(res.acked) < 10 {
		t.Fatalf("only %d tokens acknowledged before the kill (statuses %v); the load did not run\n%s",
			len(res.acked), res.statuses, n.logs.String())
	}
	for status, count := range res.statuses {
		if status != http.StatusOK {
			t.Errorf("%d answers with status %d before the kill", count, status)
		}
	}

	n2 := startNode(t, env)
	for _, token := range res.acked {
		status, m := readResult(t, n2.base, key, secret, token)
		if status != http.StatusOK || m["status"] != "NOT_STARTED" {
			t.Errorf("token %s acknowledged before the kill: get_result %d %v", token, status, m)
		}
	}
	// Calls counted equal records stored: the counter and the record are
	// written in one transaction, so a kill cannot split them.
	list := listKeys(t, env)
	if int(list[0].Calls) < len(res.acked) {
		t.Errorf("key counts %d calls, fewer than the %d acknowledged", list[0].Calls, len(res.acked))
	}
	t.Logf("%d tokens acknowledged before SIGKILL, %d calls counted; all readable after restart", len(res.acked), list[0].Calls)
	checkIntegrity(t, env)
	if s := n2.logs.String(); strings.Contains(s, `"level":"ERROR"`) {
		t.Errorf("restarted node logged errors:\n%s", s)
	}
}

// checkIntegrity checks a SQLite data directory after a crash: SQLite's
// own integrity check, and one stored verification per counted call.
// Other stores are checked through the API only.
func checkIntegrity(t *testing.T, env map[string]string) {
	t.Helper()
	if env["GLINT_DATABASE"] != "" {
		return
	}
	db, err := sql.Open("sqlite", filepath.Join(env["GLINT_DATA"], dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	var calls, records int
	if err := db.QueryRow(`SELECT SUM(calls), (SELECT COUNT(*) FROM verifications) FROM keys`).Scan(&calls, &records); err != nil {
		t.Fatal(err)
	}
	if calls != records {
		t.Errorf("%d calls counted but %d verifications stored", calls, records)
	}
}
