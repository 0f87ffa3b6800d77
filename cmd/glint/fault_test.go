package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// pgCluster is a PostgreSQL server of the test's own, in a temporary
// directory, that the test may stop and start (the server of
// scripts/with-postgres.sh is shared by every test of the run).
type pgCluster struct {
	bin string   // the directory of initdb and pg_ctl
	dir string   // data/, the socket and server.log
	as  []string // the command prefix that runs a program as the server's owner
	url string
}

// pgPort only names the cluster's socket, in its own directory: the
// server listens on no TCP address, so it collides with nothing.
const pgPort = "54330"

// newPGCluster creates a cluster and starts it. It skips the test when
// PostgreSQL's programs are not installed, and fails it under CI=true,
// which installs them (.ci). The cluster is removed when the test ends.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("initdb and pg_ctl not found under CI: install Debian's postgresql package")
		}
		t.Skip("initdb and pg_ctl not found: PostgreSQL fault test skipped")
	}
	c := &pgCluster{bin: bin}
	// initdb refuses to run as root: as in scripts/with-postgres.sh, the
	// cluster then belongs to the postgres user, in a directory that user
	// can reach (the test's temporary directories are private to root).
	base := ""
	var owner *user.User
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and no postgres user to run the server as: %v", err)
		}
		owner = u
		c.as = []string{"runuser", "-u", "postgres", "--"}
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "glint-pg-fault.")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() {
		c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if owner != nil {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "glint", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start(t)
	c.url = fmt.Sprintf("postgres:///postgres?host=%s&port=%s&user=glint&sslmode=disable", dir, pgPort)
	return c
}

// pgBinDir returns the directory of initdb and pg_ctl, looked for as
// scripts/with-postgres.sh does: on PATH, then in Debian's
// /usr/lib/postgresql/VERSION/bin, newest first; "" if not found.
func pgBinDir() string {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(initdb)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of PostgreSQL's programs as the cluster's owner.
func (c *pgCluster) run(program string, args ...string) ([]byte, error) {
	argv := append(slices.Clone(c.as), append([]string{filepath.Join(c.bin, program)}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

// start starts the server and waits until it accepts connections. Unlike
// the throw-away server of with-postgres.sh it keeps synchronous_commit:
// a commit must be in the server's files once acknowledged, since the
// test stops the server with -m immediate (a crash, as far as the server
// is concerned) and then looks for every acknowledged token. fsync stays
// off, as the machine itself does not crash.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	opts := "-c listen_addresses='' -p " + pgPort + " -k " + c.dir + " -c fsync=off -c max_connections=50"
	if out, err := c.run("pg_ctl", "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// crash stops the server at once, without a checkpoint and ending every
// connection, as a crash of the database would.
func (c *pgCluster) crash(t *testing.T) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// faultCall is one request of the outage test's load and how it ended.
type faultCall struct {
	endpoint   string
	start, end time.Time
	status     int
	errMsg     string
	token      string // get_token's, when it succeeded
	err        error  // in transport or in the reply
}

// faultClient makes the outage test's requests. Its timeout is far above
// the bound the test asserts, so that a hang is measured, not cut short.
var faultClient = &http.Client{Timeout: 2 * time.Minute}

// faultGetToken posts a get_token.
func faultGetToken(base, contentType string, body []byte) faultCall {
	c := faultCall{endpoint: "get_token", start: time.Now()}
	c.status, c.token, c.errMsg, c.err = postGetToken(base, contentType, body)
	c.end = time.Now()
	return c
}

// postGetToken is callGetToken that also returns the error_message.
func postGetToken(base, contentType string, body []byte) (status int, token, errMsg string, err error) {
	resp, err := faultClient.Post(base+"/faceid/lite/raw/get_token", contentType, bytes.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	var reply struct {
		Token        string `json:"token"`
		ErrorMessage string `json:"error_message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return resp.StatusCode, "", "", fmt.Errorf("reply: %w", err)
	}
	return resp.StatusCode, reply.Token, reply.ErrorMessage, nil
}

// faultGetResult reads a token's result.
func faultGetResult(base, key, secret, token string) faultCall {
	c := faultCall{endpoint: "get_result", start: time.Now()}
	resp, err := faultClient.Get(base + "/faceid/lite/raw/get_result?api_key=" + key + "&api_secret=" + secret + "&token=" + token)
	if err != nil {
		c.err = err
		c.end = time.Now()
		return c
	}
	defer resp.Body.Close()
	var reply struct {
		Status       string `json:"status"`
		ErrorMessage string `json:"error_message"`
	}
	c.status = resp.StatusCode
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		c.err = fmt.Errorf("reply: %w", err)
	} else if c.status == http.StatusOK && reply.Status != "NOT_STARTED" {
		c.err = fmt.Errorf("status %q, want NOT_STARTED", reply.Status)
	}
	c.errMsg = reply.ErrorMessage
	c.end = time.Now()
	return c
}

// Bounds of the outage test. maxCallTime is what a request may take
// while the database is gone: above the store's timeouts that can apply
// (a connection attempt, ConnectTimeout 10 s; a statement,
// StatementTimeout 30 s), so that it proves there is no hang without
// timing the machine. maxRecovery is how soon after the database is back
// the node must serve again by itself.
const (
	maxCallTime = 35 * time.Second
	maxRecovery = 30 * time.Second
)

// TestPostgresOutage stops the PostgreSQL server of a node in the middle
// of a get_token and get_result load, as a crash would (pg_ctl stop -m
// immediate), then starts it again. While it is down every request must
// end, within maxCallTime, with 500 INTERNAL_ERROR and /readyz must say
// 503; once it is back the node must serve 200s again by itself, within
// maxRecovery; and every token acknowledged with a 200, before or during
// the load, must be there.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server and a node")
	}
	t.Parallel()
	pg := newPGCluster(t)
	env := map[string]string{"GLINT_DATA": t.TempDir(), "GLINT_DATABASE": pg.url}
	k := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "outage", "--concurrency", "64"))
	key, secret := k["api_key"], k["api_secret"]
	n := startNode(t, env)
	ct, body := tokenForm(t, key, secret, "outage")

	var (
		mu    sync.Mutex
		calls []faultCall
		acked []string
	)
	record := func(c faultCall) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, c)
		if c.endpoint == "get_token" && c.status == http.StatusOK && c.err == nil {
			acked = append(acked, c.token)
		}
	}
	// A first token, for get_result to read from the start.
	first := faultGetToken(n.base, ct, body)
	if first.status != http.StatusOK || first.err != nil {
		t.Fatalf("get_token before the load: %d %s %v\n%s", first.status, first.errMsg, first.err, n.logs.String())
	}
	record(first)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Stops the load once; deferred too, so that a failing step of the
	// test leaves no worker behind.
	stopLoad := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopLoad()
	for range 4 {
		wg.Go(func() {
			last := first.token
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := faultGetToken(n.base, ct, body)
				record(c)
				if c.status == http.StatusOK && c.err == nil {
					last = c.token
				}
				record(faultGetResult(n.base, key, secret, last))
				// Paced: while the database is down, answers come at
				// once, and the test needs a steady flow, not a flood.
				time.Sleep(50 * time.Millisecond)
			}
		})
	}

	time.Sleep(time.Second) // load flowing
	pg.crash(t)
	down := time.Now()
	time.Sleep(2 * time.Second) // load meeting the outage
	ready := faultReadyz(n.base)
	time.Sleep(time.Second)
	upFrom := time.Now()
	pg.start(t)
	up := time.Now()

	// Recovery: the load's own requests must come back to 200.
	var recovered time.Time
	for deadline := up.Add(maxRecovery); recovered.IsZero() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		for _, c := range calls {
			if c.start.After(up) && c.endpoint == "get_token" && c.status == http.StatusOK {
				recovered = c.end
				break
			}
		}
		mu.Unlock()
	}
	// A little more load after the recovery, then stop.
	time.Sleep(500 * time.Millisecond)
	stopLoad()
	if recovered.IsZero() {
		t.Fatalf("no get_token succeeded within %v of the database's return\n%s", maxRecovery, n.logs.String())
	}
	if ready.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d %v, want 503", ready.status, ready.err)
	}

	var (
		during, inFlight, after int
		slowest                 time.Duration
		statuses                = map[string]int{}
	)
	for _, c := range calls {
		d := c.end.Sub(c.start)
		slowest = max(slowest, d)
		outcome := strconv.Itoa(c.status)
		if c.errMsg != "" {
			outcome += " " + c.errMsg
		}
		statuses[outcome]++
		switch {
		case d > maxCallTime:
			t.Errorf("%s took %v (started %v after the crash): longer than %v", c.endpoint, d.Round(time.Millisecond), c.start.Sub(down).Round(time.Millisecond), maxCallTime)
		case c.err != nil:
			t.Errorf("%s: %d %s: %v", c.endpoint, c.status, c.errMsg, c.err)
		case c.status != http.StatusOK && (c.status != http.StatusInternalServerError || c.errMsg != "INTERNAL_ERROR"):
			t.Errorf("%s: %d %s, want 200, or 500 INTERNAL_ERROR", c.endpoint, c.status, c.errMsg)
		}
		switch {
		case !c.start.Before(down) && !c.end.After(upFrom):
			// Wholly within the outage: nothing can succeed.
			during++
			if c.status == http.StatusOK {
				t.Errorf("%s succeeded while the database was down", c.endpoint)
			}
		case c.start.After(recovered):
			after++
			if c.status != http.StatusOK {
				t.Errorf("%s after the recovery: %d %s", c.endpoint, c.status, c.errMsg)
			}
		case c.start.Before(down) && c.end.After(down):
			inFlight++
		}
	}
	if during < 10 {
		t.Errorf("only %d requests ran wholly during the outage; the load did not meet it", during)
	}
	if after == 0 {
		t.Error("no request started after the recovery")
	}

	// Every acknowledged token survived the crash.
	for _, token := range acked {
		if c := faultGetResult(n.base, key, secret, token); c.status != http.StatusOK || c.err != nil {
			t.Errorf("token %s, acknowledged with a 200: get_result %d %s %v", token, c.status, c.errMsg, c.err)
		}
	}
	if r := faultReadyz(n.base); r.status != http.StatusOK {
		t.Errorf("/readyz after the recovery: %d %v", r.status, r.err)
	}
	select {
	case err := <-n.done:
		t.Fatalf("the node exited: %v\n%s", err, n.logs.String())
	default:
	}
	t.Logf("%d requests: %v; %d wholly during the outage, %d in flight at the crash, %d after the recovery; slowest %v; "+
		"/readyz answered %d in %v during the outage; first 200 %v after the database's return; %d acknowledged tokens intact",
		len(calls), statuses, during, inFlight, after, slowest.Round(time.Millisecond),
		ready.status, ready.took.Round(time.Millisecond), recovered.Sub(up).Round(time.Millisecond), len(acked))
}

// readyzCall is a /readyz answer.
type readyzCall struct {
	status int
	took   time.Duration
	err    error
}

func faultReadyz(base string) readyzCall {
	start := time.Now()
	resp, err := faultClient.Get(base + "/readyz")
	if err != nil {
		return readyzCall{err: err, took: time.Since(start)}
	}
	resp.Body.Close()
	return readyzCall{status: resp.StatusCode, took: time.Since(start)}
}
