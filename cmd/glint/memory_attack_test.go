package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
)

// The memory attack: attackers without a valid key each send a get_token
// body just under the 20 MB cap, all at once, and hold the last bytes back
// so that every body is in flight together. The Go heap of the process
// (client and server: the server runs in it, the clients stream their
// bodies from a small buffer) is sampled throughout.
const (
	attackers       = 40
	attackBodySize  = 20<<20 - 512<<10 // 19.5 MiB, under api.DefaultMaxBodyBytes
	attackHeldBack  = 64 << 10         // sent only once the heap was sampled
	attackBoundary  = "glintattackboundary"
	attackOverhead  = 64 << 20 // connections, goroutines, the legitimate call, GC slack on small objects
	attackSampleInt = 20 * time.Millisecond
)

// TestMemoryUnderAttack runs the attack of issue #12 against `glint serve`
// (in process, stub engine, default limits) twice: once with the bogus
// credentials first in each body, as FaceID clients send them, and once
// with the photo first, so that the credentials cannot be checked before
// it is read. In both, the heap may grow by at most the body budget, of
// which requests without a valid key may hold only half (so garbage left
// by their buffers fits too), plus a fixed overhead; with the credentials
// first, by the overhead alone, since no photo is kept. And a legitimate
// get_token made in the middle of the attack succeeds.
//
// Before the budget (issue #12), both phases grew the heap by about
// 1.1 GiB: 28 MiB a connection.
//
// It swaps the package's loadModels, so it does not run in parallel.
func TestMemoryUnderAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 40 bodies of 19.5 MiB, twice")
	}
	old := loadModels
	loadModels = stubModels(stubEngine{})
	defer func() { loadModels = old }()

	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": dir, "GLINT_LISTEN": "127.0.0.1:0"}
	key := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "t"))
	// The attackers come from many addresses (X-Forwarded-For through a
	// trusted proxy), so that the per-address limits do not stop them and
	// the global budget is what is tested.
	srv := serveInProcess(t, env, "--trusted-proxy", "127.0.0.1/32")

	bound := int64(api.DefaultBodyBudget) + attackOverhead
	for _, credsFirst := range []bool{true, false} {
		name := "PhotoFirst"
		if credsFirst {
			name = "CredentialsFirst"
		}
		t.Run(name, func(t *testing.T) {
			logged := len(srv.logs.String())
			res := attack(t, srv.base, credsFirst, key)
			t.Logf("heap in use: %d MiB before, %d MiB peak (+%d MiB), bound +%d MiB; attackers' answers: %s; server's: %s",
				res.baseline>>20, res.peak>>20, (res.peak-res.baseline)>>20, bound>>20, res.outcomes,
				serverCodes(srv.logs.String()[logged:]))
			if grown := res.peak - res.baseline; grown > bound {
				t.Errorf("heap grew by %d MiB under attack, more than the bound of %d MiB", grown>>20, bound>>20)
			} else if credsFirst && grown > attackOverhead {
				t.Errorf("heap grew by %d MiB: the photos of wrong credentials were kept", grown>>20)
			}
			if res.legit != "200 token" {
				t.Errorf("legitimate get_token during the attack: %s", res.legit)
			}
			if res.serverError {
				t.Errorf("an attacker got a 5xx: %s", res.outcomes)
			}
		})
	}
}

type attackResult struct {
	baseline, peak int64
	outcomes       string // "403 AUTHENTICATION_ERROR×40" …
	legit          string
	serverError    bool
}

func attack(t *testing.T, base string, credsFirst bool, key map[string]string) attackResult {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res := attackResult{baseline: int64(ms.HeapInuse)}

	var peak atomic.Int64
	peak.Store(res.baseline)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(attackSampleInt)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if v := int64(ms.HeapInuse); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	// Keep-alive, as most clients: net/http resets at once, rather than
	// after a moment, a connection whose unread body the client asked to
	// close (Connection: close), which loses the refusal of a client still
	// sending.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	release := make(chan struct{})
	var settled sync.WaitGroup // each attacker: parked with its body almost sent, or finished
	var done sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	settled.Add(attackers)
	done.Add(attackers)
	for i := range attackers {
		go func() {
			defer done.Done()
			var once sync.Once
			settle := func() { once.Do(settled.Done) }
			defer settle()
			pr, pw := io.Pipe()
			go writeAttackBody(pw, credsFirst, settle, release)
			req, _ := http.NewRequest("POST", base+"/faceid/lite/raw/get_token", pr)
			req.ContentLength = attackBodySize
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+attackBoundary)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
			out := bodyAttackOutcome(client.Do(req))
			pr.CloseWithError(io.ErrUnexpectedEOF) // unblocks the writer if the server stopped reading
			mu.Lock()
			outcomes[out]++
			mu.Unlock()
		}()
	}

	waited := make(chan struct{})
	go func() { settled.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2 * time.Minute):
		t.Error("the attackers did not all get their bodies in flight")
	}
	// Every body is in flight (or was refused): sample a little longer,
	// and make a legitimate call meanwhile.
	res.legit = legitGetToken(t, base, key)
	time.Sleep(200 * time.Millisecond)
	close(release)
	close(stopSampling)
	<-sampled
	done.Wait()
	res.peak = peak.Load()

	var keys []string
	for k, n := range outcomes {
		keys = append(keys, fmt.Sprintf("%s×%d", k, n))
		res.serverError = res.serverError || strings.HasPrefix(k, "5")
	}
	sort.Strings(keys)
	res.outcomes = strings.Join(keys, ", ")
	return res
}

// writeAttackBody writes a multipart get_token body of attackBodySize
// bytes with a bogus key, its file part a padding of 'x', holding back its
// last attackHeldBack bytes until release is closed. It calls settle once
// it has written all but those (or the server stopped reading).
func writeAttackBody(pw *io.PipeWriter, credsFirst bool, settle func(), release <-chan struct{}) {
	defer settle()
	var fields bytes.Buffer
	for _, kv := range [][2]string{
		{"api_key", "bogus-key-0123456789"}, {"api_secret", "bogus-secret-0123456789abcdef"},
		{"comparison_type", "0"}, {"uuid", "u"}, {"max_upload_times", "5"}, {"life_time", "60"},
	} {
		fmt.Fprintf(&fields, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", attackBoundary, kv[0], kv[1])
	}
	fileHead := fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"image_ref1\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n", attackBoundary)
	closing := "--" + attackBoundary + "--\r\n"
	var head, tail string
	if credsFirst {
		head, tail = fields.String()+fileHead, "\r\n"+closing
	} else {
		head, tail = fileHead, "\r\n"+fields.String()+closing
	}
	pad := int64(attackBodySize - len(head) - len(tail))

	chunk := bytes.Repeat([]byte{'x'}, 32<<10)
	write := func(b []byte) bool { _, err := pw.Write(b); return err == nil }
	padding := func(n int64) bool {
		for n > 0 {
			k := min(n, int64(len(chunk)))
			if !write(chunk[:k]) {
				return false
			}
			n -= k
		}
		return true
	}
	if !write([]byte(head)) || !padding(pad-attackHeldBack) {
		return
	}
	settle()
	<-release
	if padding(attackHeldBack) && write([]byte(tail)) {
		pw.Close()
	}
}

func bodyAttackOutcome(resp *http.Response, err error) string {
	if err != nil {
		return "connection error"
	}
	defer resp.Body.Close()
	var reply struct {
		ErrorMessage string `json:"error_message"`
	}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &reply)
	if reply.ErrorMessage == "" && resp.StatusCode != 200 {
		reply.ErrorMessage = strings.TrimSpace(string(raw))
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, reply.ErrorMessage)
}

// legitGetToken makes a get_token call with the real key from an address
// of its own, and describes the answer ("200 token" on success).
func legitGetToken(t *testing.T, base string, key map[string]string) string {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range [][2]string{
		{"api_key", key["api_key"]}, {"api_secret", key["api_secret"]}, {"comparison_type", "0"},
		{"uuid", "legit"}, {"max_upload_times", "5"}, {"life_time", "60"},
	} {
		mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("image_ref1", "a.png")
	fw.Write(imagingtest.PNG(t, imagingtest.Gradient(64, 64)))
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/faceid/lite/raw/get_token", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var reply map[string]any
	json.NewDecoder(resp.Body).Decode(&reply)
	if resp.StatusCode == 200 && reply["token"] != nil {
		return "200 token"
	}
	return fmt.Sprintf("%d %v", resp.StatusCode, reply)
}

// serverCodes tallies the codes of the server's request log lines.
func serverCodes(logs string) string {
	n := map[string]int{}
	for _, line := range strings.Split(logs, "\n") {
		var l struct{ Msg, Code string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" {
			n[l.Code]++
		}
	}
	return fmt.Sprint(n)
}
