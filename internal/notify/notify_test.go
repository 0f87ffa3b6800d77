package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/client"
	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/notify"
	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/postgres"
	"github.com/glint-id/glint/internal/store/sqlite"
)

var ctx = context.Background()

// clock is a settable clock shared by the store and the deliverer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// receiver is a notification endpoint answering from a script.
type receiver struct {
	*httptest.Server

	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	answer   func(n int, w http.ResponseWriter, r *http.Request) // n counts from 1
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, r)
		rc.bodies = append(rc.bodies, string(body))
		n := len(rc.requests)
		rc.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if rc.answer != nil {
			rc.answer(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// env is a store with one key whose notifications go to a receiver.
type env struct {
	t           *testing.T
	db          *sqlite.DB
	keys        *auth.Keyring
	clk         *clock
	key, secret string
	d           *notify.Deliverer
}

func newEnv(t *testing.T, url string, retention time.Duration) *env {
	t.Helper()
	dir := t.TempDir()
	clk := &clock{t: time.Now().Truncate(time.Second)}
	db := sqlite.New(filepath.Join(dir, "glint.db"))
	db.Now = clk.Now
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pepper, err := auth.LoadPepper(dir)
	if err != nil {
		t.Fatal(err)
	}
	kr := &auth.Keyring{Store: db, Pepper: pepper}
	id, secret, err := kr.Create(ctx, auth.KeyOptions{Name: "notify test", ResultRetention: retention})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, keys: kr, clk: clk, key: id, secret: string(secret)}
	e.setURL(url)
	e.d = &notify.Deliverer{
		Store:   db,
		Secrets: kr,
		Now:     clk.Now,
		Client:  notify.NewHTTPClient(5*time.Second, true), // the receivers listen on 127.0.0.1
		Backoff: func(int) time.Duration { return time.Second },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return e
}

// setURL turns the key's notifications on (url non-empty) or off.
func (e *env) setURL(url string) {
	e.t.Helper()
	k, err := e.db.Key(ctx, e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	var sealed []byte
	if url != "" {
		if sealed, err = e.keys.SealSecret(e.key, auth.Secret(e.secret)); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.db.SetKeyNotify(ctx, k.ID, url, sealed, k.SecretHash); err != nil {
		e.t.Fatal(err)
	}
}

// finished creates a verification and finishes it OK now, with images.
func (e *env) finished(token string) {
	e.t.Helper()
	biz := "order-<77>"
	now := e.clk.Now()
	v := &store.Verification{
		Token: token, KeyID: e.key, BizNo: &biz, UUID: "user-42", ColorNumber: 6,
		LivenessPreferences: "none", Language: "0", ProcedureType: "raw_flash", ComparisonType: "0",
		MaxUploadTimes: 3, LifeTime: time.Hour, FailWhenRefMultipleFaces: true, ReturnMultifacesTag: true,
		Status: store.StatusNotStarted, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		Refs: []store.Reference{{Index: 1, Model: "m", Embedding: []float32{1}, Crop: []byte{1}, Box: image.Rect(0, 0, 1, 1)}},
	}
	if err := e.db.CreateVerification(ctx, v); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.BeginCapture(ctx, token, now); err != nil {
		e.t.Fatal(err)
	}
	th := map[string]float64{"1e-3": 60, "1e-4": 70, "1e-5": 75, "1e-6": 80}
	if err := e.db.FinishVerification(ctx, token, &store.Outcome{
		Status: store.StatusOK,
		Liveness: &store.LivenessResult{Result: store.LivenessPass, Transport: store.TransportRTC,
			Details: store.LivenessDetails{SideFace: 1, MultipleFaces: 2, UploadTimes: 1}},
		Verify: &store.VerifyResult{Refs: []store.RefMatch{{Index: 1, Confidence: 81.25, Thresholds: th}}},
		Images: [][]byte{{0xff, 0xd8, 9, 0xff, 0xd9}},
		At:     now,
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deliverDue() int {
	e.t.Helper()
	n, err := e.d.DeliverDue(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) log(token string) []store.DeliveryAttempt {
	e.t.Helper()
	as, err := e.db.Deliveries(ctx, e.key, token)
	if err != nil {
		e.t.Fatal(err)
	}
	return as
}

const token = "tok-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// oneFace lets api.New run; no photo is uploaded in these tests.
type oneFace struct{}

func (oneFace) Reference(context.Context, image.Image, api.ReferenceOptions) (store.Reference, error) {
	return store.Reference{}, nil
}

// A notification verifies with package client and carries exactly what
// get_result answers, without images, and delivering it is not a read.
func TestSignedResultMatchesGetResult(t *testing.T) {
	t.Parallel()
	var (
		got    *client.Result
		verr   error
		header http.Header
	)
	var e *env
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		header = r.Header
		got, verr = client.VerifyNotification(r, e.secret, time.Minute)
		w.WriteHeader(http.StatusNoContent)
	})
	e = newEnv(t, rc.URL+"/hook?shop=1", 0)
	e.finished(token)

	if n := e.deliverDue(); n != 1 {
		t.Fatalf("DeliverDue claimed %d, want 1", n)
	}
	if verr != nil {
		t.Fatalf("VerifyNotification: %v", verr)
	}
	if got.Token != token || got.Status != client.StatusOK || got.BizNo != "order-<77>" || !got.Passed(client.FAR1e5) {
		t.Fatalf("notified result %+v", got)
	}
	if ct, ua := header.Get("Content-Type"), header.Get("User-Agent"); ct != "application/x-www-form-urlencoded" || ua != notify.UserAgent {
		t.Errorf("Content-Type %q, User-Agent %q", ct, ua)
	}
	if header.Get(client.TokenHeader) != token {
		t.Errorf("%s = %q", client.TokenHeader, header.Get(client.TokenHeader))
	}
	if q := rc.requests[0].URL.Query().Get("shop"); q != "1" {
		t.Errorf("query of the URL lost: %q", rc.requests[0].URL.RawQuery)
	}
	log := e.log("")
	if len(log) != 1 || !log[0].Delivered || log[0].StatusCode != 204 || log[0].Attempt != 1 || log[0].Error != "" ||
		log[0].Token != token || log[0].URL != rc.URL+"/hook?shop=1" || !log[0].At.Equal(e.clk.Now()) {
		t.Fatalf("delivery log %+v", log)
	}
	if r, err := e.db.Result(ctx, token); err != nil || r.Fetches != 0 {
		t.Fatalf("after delivery: Fetches %d, %v; delivering must not count as a read", r.Fetches, err)
	}
	if n := e.deliverDue(); n != 0 || rc.count() != 1 {
		t.Fatalf("delivered notification claimed again (%d) or posted again (%d)", n, rc.count())
	}

	// The data field is get_result's answer for the same token.
	form, _ := url.ParseQuery(rc.bodies[0])
	var notified map[string]any
	if err := json.Unmarshal([]byte(form.Get("data")), &notified); err != nil {
		t.Fatal(err)
	}
	if id, _ := notified["request_id"].(string); !regexp.MustCompile(`^\d+,[0-9a-f-]{36}$`).MatchString(id) {
		t.Errorf("request_id %q has not get_result's shape", id)
	}
	h, err := api.New(api.Config{Store: e.db, Keys: e.keys, References: oneFace{}, Logger: e.d.Logger})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/faceid/lite/raw/get_result?"+url.Values{
		"api_key": {e.key}, "api_secret": {e.secret}, "token": {token}, "return_image": {"0"},
	}.Encode(), nil))
	var read map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &read); err != nil || rec.Code != 200 {
		t.Fatalf("get_result %d %s: %v", rec.Code, rec.Body, err)
	}
	for _, m := range []map[string]any{notified, read} {
		delete(m, "request_id")
		delete(m, "time_used")
	}
	if !reflect.DeepEqual(notified, read) {
		t.Fatalf("notification data %v\nget_result        %v", notified, read)
	}
	if _, ok := notified["images"]; ok || strings.Contains(rc.bodies[0], "image_best") {
		t.Fatal("the notification carries images")
	}
}

// A receiver answering 500 twice is tried three times, on the backoff.
func TestRetriesOn500(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			http.Error(w, "down", http.StatusInternalServerError)
		}
	})
	e := newEnv(t, rc.URL, 0)
	e.d.Backoff = func(n int) time.Duration { return time.Duration(n) * time.Minute }
	e.finished(token)
	start := e.clk.Now()

	for i, step := range []struct {
		advance time.Duration
		claimed int
	}{
		{0, 1},                         // attempt 1: 500, next in 1m
		{time.Minute - time.Second, 0}, // not due yet
		{time.Second, 1},               // attempt 2: 500, next in 2m
		{time.Minute, 0},               //
		{time.Minute, 1},               // attempt 3: 200
		{48 * time.Hour, 0},            // finished
	} {
		e.clk.advance(step.advance)
		if n := e.deliverDue(); n != step.claimed {
			t.Fatalf("step %d: claimed %d, want %d", i, n, step.claimed)
		}
	}
	if rc.count() != 3 {
		t.Fatalf("receiver got %d POSTs, want 3", rc.count())
	}
	log := e.log(token)
	if len(log) != 3 {
		t.Fatalf("delivery log %+v, want 3 rows", log)
	}
	for i, want := range []struct {
		at        time.Duration
		status    int
		delivered bool
	}{{0, 500, false}, {time.Minute, 500, false}, {3 * time.Minute, 200, true}} {
		a := log[i]
		if a.Attempt != i+1 || a.StatusCode != want.status || a.Delivered != want.delivered || !a.At.Equal(start.Add(want.at)) {
			t.Errorf("row %d = %+v, want attempt %d at +%v: %d", i, a, i+1, want.at, want.status)
		}
		if !want.delivered && !strings.Contains(a.Error, "500") {
			t.Errorf("row %d error %q does not name the status", i, a.Error)
		}
	}
	// Every attempt is signed anew, at its own time.
	for i, r := range rc.requests {
		body := []byte(rc.bodies[i])
		if err := client.VerifySignature(r.Header.Get(client.SignatureHeader), body, e.secret, log[i].At, time.Second); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
	}
}

// Once the record is purged or deleted, nothing reaches the receiver,
// whether or not the notification had been claimed.
func TestNoDeliveryAfterTheRecordIsGone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		claimed bool
		remove  func(*env)
	}{
		{"Purged", false, purge},
		{"PurgedAfterClaim", true, purge},
		{"KeyDeleted", false, deleteKey},
		{"KeyDeletedAfterClaim", true, deleteKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, nil)
			e := newEnv(t, rc.URL, time.Minute)
			e.finished(token)
			var claimed []store.Notification
			if tt.claimed {
				var err error
				if claimed, err = e.db.ClaimNotifications(ctx, e.clk.Now(), time.Minute, 10); err != nil || len(claimed) != 1 {
					t.Fatalf("claim = %v, %v", claimed, err)
				}
			}
			tt.remove(e)
			e.clk.advance(time.Hour)
			if n := e.deliverDue(); n != 0 {
				t.Fatalf("claimed %d notifications of a removed record", n)
			}
			for _, n := range claimed {
				e.d.Deliver(ctx, n)
			}
			if rc.count() != 0 {
				t.Fatalf("the receiver got %d POSTs", rc.count())
			}
		})
	}
}

func purge(e *env) {
	e.t.Helper()
	e.clk.advance(2 * time.Minute) // past the key's one-minute retention
	if p, err := e.db.PurgeVerifications(ctx, e.clk.Now()); err != nil || p.Records != 1 {
		e.t.Fatalf("PurgeVerifications = %+v, %v", p, err)
	}
}

func deleteKey(e *env) {
	e.t.Helper()
	if err := e.db.DeleteKey(ctx, e.key); err != nil {
		e.t.Fatal(err)
	}
}

// Nothing is sent once get_result would refuse the result, even before
// the sweeper has purged it.
func TestWithheldWhenUnreadable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		before func(*env)
		want   string
	}{
		{"ReadsUsedUp", func(e *env) {
			for range store.MaxResultReads {
				if _, err := e.db.ReadResult(ctx, token, e.key, e.clk.Now()); err != nil {
					e.t.Fatal(err)
				}
			}
		}, "read the most times"},
		{"RetentionOver", func(e *env) { e.clk.advance(time.Minute) }, "retention is over"},
		{"NotificationsTurnedOff", func(e *env) { e.setURL("") }, "notifications are off"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, nil)
			e := newEnv(t, rc.URL, time.Minute)
			e.finished(token)
			tt.before(e)
			if n := e.deliverDue(); n != 1 {
				t.Fatalf("claimed %d, want 1", n)
			}
			if rc.count() != 0 {
				t.Fatalf("the receiver got %d POSTs", rc.count())
			}
			log := e.log(token)
			if len(log) != 1 || log[0].Delivered || !strings.Contains(log[0].Error, tt.want) {
				t.Fatalf("delivery log %+v, want one row saying %q", log, tt.want)
			}
			e.clk.advance(time.Hour)
			if n := e.deliverDue(); n != 0 {
				t.Fatal("a withheld notification is claimed again")
			}
		})
	}
}

// A redirect is a failed attempt: the signed result goes nowhere else.
func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	elsewhere := newReceiver(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
	})
	e := newEnv(t, rc.URL, 0)
	e.finished(token)
	e.deliverDue()
	if rc.count() != 1 || elsewhere.count() != 0 {
		t.Fatalf("receiver %d POSTs, redirect target %d; want 1 and 0", rc.count(), elsewhere.count())
	}
	log := e.log(token)
	if len(log) != 1 || log[0].Delivered || log[0].StatusCode != 307 || !strings.Contains(log[0].Error, "not followed") {
		t.Fatalf("delivery log %+v", log)
	}
	e.clk.advance(time.Second)
	if n := e.deliverDue(); n != 1 {
		t.Fatalf("after a redirect, retry claimed %d, want 1", n)
	}
}

// A receiver that cannot be reached is retried like one answering 500.
func TestUnreachableIsRetried(t *testing.T) {
	t.Parallel()
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()
	e := newEnv(t, url, 0)
	e.finished(token)
	e.deliverDue()
	log := e.log(token)
	if len(log) != 1 || log[0].Delivered || log[0].StatusCode != 0 || log[0].Error == "" {
		t.Fatalf("delivery log %+v", log)
	}
	e.clk.advance(time.Second)
	if n := e.deliverDue(); n != 1 {
		t.Fatalf("retry claimed %d, want 1", n)
	}
}

// A receiver that never accepts is given up on when the retry window
// ends, on the real schedule.
func TestGiveUpAfterWindow(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	e := newEnv(t, rc.URL, 0)
	e.d.Backoff = nil // the real, jittered schedule
	e.finished(token)
	start := e.clk.Now()
	for e.clk.Now().Before(start.Add(store.NotifyRetryWindow + time.Hour)) {
		e.deliverDue()
		// Steps of 1% of the time so far: fine enough for waits that
		// grow with it, and few enough to keep the test quick.
		e.clk.advance(max(time.Second, e.clk.Now().Sub(start)/100))
	}
	log := e.log(token)
	// 7 scheduled waits add up to about 1h52m; then every 2h to 24h.
	if len(log) < 15 || len(log) > 20 {
		t.Fatalf("%d attempts in the window, want about 17", len(log))
	}
	// The last attempt gives up when its next one would fall after the
	// window; or, when the test's coarse clock steps past a due time that
	// was still inside it, the late claim ends the notification unsent.
	last := log[len(log)-1]
	if (!strings.Contains(last.Error, "giving up") && !strings.Contains(last.Error, "not sent: the retry window")) || last.Delivered {
		t.Fatalf("last row %+v, want it to say it gave up", last)
	}
	if n := e.deliverDue(); n != 0 {
		t.Errorf("%d claims after the window, want none: the notification should be finished", n)
	}
	sent := log
	if strings.HasPrefix(last.Error, "not sent:") {
		sent = log[:len(log)-1]
	}
	for i, a := range sent {
		if a.Attempt != i+1 || !a.At.Before(start.Add(store.NotifyRetryWindow)) {
			t.Errorf("row %d = %+v: attempt number or time outside the window", i, a)
		}
		if i > 0 && i <= 7 {
			wait := a.At.Sub(log[i-1].At)
			want := []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
				15 * time.Minute, 30 * time.Minute, time.Hour}[i-1]
			// ±10% jitter, plus the steps of the loop above.
			if wait < want*9/10 || wait > want*11/10+want/20+time.Second {
				t.Errorf("wait before attempt %d = %v, want about %v", i+1, wait, want)
			}
		}
	}
	if rc.count() != len(sent) {
		t.Fatalf("%d POSTs for %d attempts", rc.count(), len(sent))
	}
}

// Run delivers in the background and stops with its context.
func TestRun(t *testing.T) {
	t.Parallel()
	delivered := make(chan struct{}, 1)
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { delivered <- struct{}{} })
	e := newEnv(t, rc.URL, 0)
	e.d.PollInterval = 10 * time.Millisecond
	e.finished(token)

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.d.Run(rctx) }()
	select {
	case <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
	}
	// The log row follows the answer.
	deadline := time.Now().Add(10 * time.Second)
	for len(e.log(token)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	if log := e.log(token); len(log) != 1 || !log[0].Delivered {
		t.Fatalf("delivery log %+v", log)
	}
	if err := (&notify.Deliverer{}).Run(ctx); err == nil {
		t.Error("Run without a store: no error")
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for n, base := range map[int]time.Duration{
		1: 10 * time.Second, 2: 30 * time.Second, 3: time.Minute, 4: 5 * time.Minute,
		5: 15 * time.Minute, 6: 30 * time.Minute, 7: time.Hour, 8: 2 * time.Hour, 50: 2 * time.Hour,
	} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := notify.Backoff(n)
			if d < base*9/10 || d > base*11/10 {
				t.Fatalf("Backoff(%d) = %v, want %v ± 10%%", n, d, base)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Backoff(%d) is not jittered", n)
		}
	}
}

// A receiver slower than the client's timeout has failed the attempt.
func TestSlowReceiverIsRetried(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { <-release })
	defer close(release) // before the server's Close, which waits for handlers
	e := newEnv(t, rc.URL, 0)
	e.d.Client = notify.NewHTTPClient(50*time.Millisecond, true)
	e.finished(token)
	e.deliverDue()
	log := e.log(token)
	if len(log) != 1 || log[0].Delivered || log[0].StatusCode != 0 || !strings.Contains(log[0].Error, "Timeout") {
		t.Fatalf("delivery log %+v", log)
	}
	e.clk.advance(time.Second)
	if n := e.deliverDue(); n != 1 {
		t.Fatalf("retry claimed %d, want 1", n)
	}
}

// The default lease outlasts the slowest attempt the bounds allow: the
// claim, the Result read and the record (each bounded by the store) and
// the POST.
func TestDefaultLeaseOutlastsAnAttempt(t *testing.T) {
	t.Parallel()
	if worst := 3*postgres.DefaultOpTimeout + notify.DefaultTimeout; notify.DefaultLease <= worst {
		t.Fatalf("DefaultLease %v does not outlast an attempt of up to %v", notify.DefaultLease, worst)
	}
}

// A deliverer whose POST outlasts its lease finds, when it records the
// failure, that another deliverer claimed, delivered and finished the
// notification meanwhile: it logs that at info level and leaves the
// other's record alone, the notification finished.
func TestClaimLostToAnotherDeliverer(t *testing.T) {
	t.Parallel()
	var (
		e     *env
		other *notify.Deliverer
		again = make(chan int, 1)
	)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n != 1 {
			return // the other deliverer's POST: 200
		}
		// The first POST hangs past its lease, and meanwhile the other
		// deliverer claims the notification and delivers it.
		e.clk.advance(notify.DefaultLease)
		claimed, err := other.DeliverDue(ctx)
		if err != nil {
			t.Error(err)
		}
		again <- claimed
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	e = newEnv(t, rc.URL, 0)
	var logs logtest.Buffer
	e.d.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := *e.d
	o.Logger = slog.New(slog.DiscardHandler)
	other = &o
	e.finished(token)

	if n := e.deliverDue(); n != 1 {
		t.Fatalf("claimed %d, want 1", n)
	}
	select {
	case n := <-again:
		if n != 1 {
			t.Fatalf("the other deliverer claimed %d after the lease, want 1", n)
		}
	default:
		t.Fatal("the first POST did not reach the receiver")
	}
	if rc.count() != 2 {
		t.Fatalf("the receiver got %d POSTs, want 2", rc.count())
	}
	log := e.log(token)
	if len(log) != 1 || !log[0].Delivered || log[0].Attempt != 1 {
		t.Fatalf("delivery log %+v, want only the other deliverer's delivery", log)
	}
	lost := regexp.MustCompile(`(?m)^.*claim lost.*$`).FindString(logs.String())
	if !strings.Contains(lost, "level=INFO") || strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("the first deliverer's log, want the lost claim at INFO and no error:\n%s", logs.String())
	}
	// Finished: the failure did not schedule a retry.
	e.clk.advance(time.Hour)
	if n := e.deliverDue(); n != 0 {
		t.Fatalf("claimed %d after the delivery, want 0", n)
	}
	if rc.count() != 2 {
		t.Fatalf("the receiver got %d POSTs, want 2", rc.count())
	}
}

// A deliverer that reaches the POST after its lease ran out sends
// nothing and records nothing: the notification is another claim's.
func TestNoPostAfterTheLease(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	e := newEnv(t, rc.URL, 0)
	e.finished(token)
	ns, err := e.db.ClaimNotifications(ctx, e.clk.Now(), time.Minute, 10)
	if err != nil || len(ns) != 1 {
		t.Fatalf("claim = %v, %v", ns, err)
	}
	e.clk.advance(time.Minute)
	e.d.Deliver(ctx, ns[0])
	if rc.count() != 0 || len(e.log(token)) != 0 {
		t.Fatalf("after the lease: %d POSTs, log %+v; want none", rc.count(), e.log(token))
	}
	if n := e.deliverDue(); n != 1 || rc.count() != 1 {
		t.Fatalf("the next claim: %d claimed, %d POSTs; want 1 and 1", n, rc.count())
	}
	if log := e.log(token); len(log) != 1 || !log[0].Delivered {
		t.Fatalf("delivery log %+v", log)
	}
}
