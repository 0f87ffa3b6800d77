package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"

	"github.com/glint-id/glint/client"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/session/sessiontest"
)

// The attacks of docs/liveness.md ("Attacks through the server"), run the
// way an attacker runs them: against a real `glint serve` with the real
// face engine, with nothing but the project's own simulator and a photo of
// the victim.

// attackServer is a `glint serve` with two keys: one as created by
// default, one that opted in to the upload fallback.
type attackServer struct {
	base          string
	plain, upload keyPair
	reference     []byte
	victim        *flashsim.Subject
	otherPerson   *flashsim.Subject
	logs          *logtest.Buffer
}

type keyPair struct{ key, secret string }

func (k keyPair) client(base string) *client.Client { return client.New(base, k.key, k.secret) }

// startAttackServer starts the server with serveArgs; the fallback key
// is created with uploadKeyArgs besides --allow-upload-fallback.
func startAttackServer(t *testing.T, serveArgs []string, uploadKeyArgs ...string) *attackServer {
	t.Helper()
	models := repoModels(t)
	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": models, "GLINT_LISTEN": "127.0.0.1:0"}
	plain := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "plain"))
	upload := mustJSON(t, mustRun(t, env, append([]string{"keys", "create", "--name", "fallback", "--allow-upload-fallback"}, uploadKeyArgs...)...))
	srv := serveInProcess(t, env, serveArgs...)
	subjects := sessiontest.Subjects(t)
	return &attackServer{
		base:  srv.base,
		plain: keyPair{plain["api_key"], plain["api_secret"]}, upload: keyPair{upload["api_key"], upload["api_secret"]},
		reference: referencePhoto(t, models), victim: subjects[0], otherPerson: subjects[1],
		logs: srv.logs,
	}
}

// token asks for a token whose reference is the victim's photo.
func (s *attackServer) token(t *testing.T, k keyPair, maxUploads int) string {
	t.Helper()
	return s.tokenFor(t, k, "victim", maxUploads)
}

// tokenFor asks for a token of end user uuid.
func (s *attackServer) tokenFor(t *testing.T, k keyPair, uuid string, maxUploads int) string {
	t.Helper()
	status, reply := postForm(t, s.base+"/faceid/lite/raw/get_token", map[string]string{
		"api_key": k.key, "api_secret": k.secret, "comparison_type": "0", "uuid": uuid,
		"max_upload_times": strconv.Itoa(maxUploads), "life_time": "60", "color_number": "6",
	}, map[string][]byte{"image_ref1": s.reference})
	if status != http.StatusOK {
		t.Fatalf("get_token: %d %v", status, reply)
	}
	return reply["token"].(string)
}

func (s *attackServer) result(t *testing.T, k keyPair, token string) *client.Result {
	t.Helper()
	r, err := k.client(s.base).GetResult(context.Background(), token, nil)
	if err != nil {
		t.Fatalf("get_result: %v", err)
	}
	return r
}

// TestAttackUploadRender is the attack of issue #10: the victim's photo,
// rendered by the project's simulator into a "genuine" flash sequence for
// exactly the colours start_flash handed out, uploaded through the
// fallback. By default the fallback is off; a key that opted in gets a
// verdict that no documented acceptance rule takes.
func TestAttackUploadRender(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	s := startAttackServer(t, nil)

	t.Run("Default", func(t *testing.T) {
		token := s.token(t, s.plain, 3)
		for _, endpoint := range []string{"start_flash", "validate_flash"} {
			status, reply := postParts(t, s.base+"/faceid/lite/raw/"+endpoint,
				map[string]string{"token": token, "seq_id": "x", "timeline": "[]"}, nil)
			if status != http.StatusForbidden || reply["error_message"] != "AUTHORIZATION_ERROR:DENIED" {
				t.Errorf("%s for a key without the fallback: %d %v", endpoint, status, reply)
			}
		}
		if r := s.result(t, s.plain, token); r.Status != client.StatusNotStarted {
			t.Errorf("status %s after refused fallback calls, want NOT_STARTED", r.Status)
		}
	})

	t.Run("OptedIn", func(t *testing.T) {
		token := s.token(t, s.upload, 3)
		status, reply := postParts(t, s.base+"/faceid/lite/raw/start_flash", map[string]string{"token": token}, nil)
		if status != http.StatusOK {
			t.Fatalf("start_flash: %d %v", status, reply)
		}
		ch := flashChallenge(t, reply)
		seq, err := flashsim.Render(rand.New(rand.NewPCG(10, 1)), flashsim.Genuine, ch, s.victim, s.otherPerson)
		if err != nil {
			t.Fatal(err)
		}
		frames, timeline := flashUpload(t, seq)
		status, reply = postParts(t, s.base+"/faceid/lite/raw/validate_flash",
			map[string]string{"token": token, "seq_id": ch.SeqID, "timeline": timeline}, frames)
		if status != http.StatusOK || reply["status"] != "OK" {
			t.Fatalf("validate_flash: %d %v\n%s", status, reply, s.logs.String())
		}
		r := s.result(t, s.upload, token)
		if r.Liveness == nil || r.Liveness.Result != client.LivenessPassUpload || r.Liveness.Transport != client.TransportUpload {
			t.Fatalf("liveness_result %+v, want PASS_UPLOAD over upload", r.Liveness)
		}
		// The documented acceptance rule (README, client.Passed): not at
		// any false-accept rate, however well the photo matches.
		for _, far := range []string{client.FAR1e3, client.FAR1e4, client.FAR1e5, client.FAR1e6} {
			if r.Passed(far) {
				t.Errorf("Passed(%s) accepts a rendered photo uploaded through the fallback", far)
			}
		}
		if !r.PassedAllowingUpload(client.FAR1e3) {
			t.Errorf("PassedAllowingUpload(1e-3) = false for %+v %+v: the opted-in verdict should be readable", r.Liveness, r.Verify.Ref1)
		}
		t.Logf("uploaded render: liveness %s, confidence %.2f", r.Liveness.Result, r.Verify.Ref1.Confidence)
	})
}

// TestAttackAttemptBudgets tries, as an attacker with many tokens would,
// to buy more attempts than the budgets allow: fresh tokens for the same
// person hit the key's per-uuid budget, and fresh people from the same
// address hit the address's. Each refusal comes before anything is
// counted or rendered.
func TestAttackAttemptBudgets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	s := startAttackServer(t, []string{"--address-attempts", "4", "--address-attempt-interval", "1h"}, "--attempts-per-uuid", "2")
	start := func(token string) (int, map[string]any) {
		return postParts(t, s.base+"/faceid/lite/raw/start_flash", map[string]string{"token": token}, nil)
	}
	// Two attempts of the victim's, on one token.
	first := s.tokenFor(t, s.upload, "victim", 5)
	for i := range 2 {
		if status, reply := start(first); status != http.StatusOK {
			t.Fatalf("attempt %d: %d %v", i+1, status, reply)
		}
	}
	// A fresh token for the victim: the person's budget is spent.
	second := s.tokenFor(t, s.upload, "victim", 5)
	if status, reply := start(second); status != http.StatusForbidden || reply["error_message"] != "AUTHORIZATION_ERROR:MORE_RETRY_TIMES" {
		t.Fatalf("a new token for a person whose attempts are spent: %d %v", status, reply)
	}
	if r := s.result(t, s.upload, second); r.Status != client.StatusNotStarted {
		t.Errorf("the refused token is %s, want NOT_STARTED (it ends at its expiry)", r.Status)
	}
	// Another person, same address: the fourth attempt from it.
	if status, reply := start(s.tokenFor(t, s.upload, "someone", 5)); status != http.StatusOK {
		t.Fatalf("another person: %d %v", status, reply)
	}
	// And a fifth: the address's budget is spent, for every person and
	// transport.
	fifth := s.tokenFor(t, s.upload, "third", 5)
	status, reply := start(fifth)
	if status != http.StatusForbidden || reply["error_message"] != "CONCURRENCY_LIMIT_EXCEEDED" {
		t.Fatalf("past the address's attempts: %d %v", status, reply)
	}
	a := &rtcAttacker{t: t, src: liveSource{flashsim.NewLiveCamera(rand.New(rand.NewPCG(5, 5)), s.victim, flashsim.LiveOptions{})},
		env: cameraEnvReport}
	out := a.run(s.base, s.tokenFor(t, s.plain, "fourth", 2))
	if out.errMsg == nil || out.errMsg["code"] != "TOO_MANY_ATTEMPTS" || out.colours != 0 {
		t.Fatalf("the channel past the address's attempts: error %v, %d colours", out.errMsg, out.colours)
	}
}
