package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session/sessiontest"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// TestRecordingsRoundTrip runs the field kit through a running serve: a
// key recording one attempt records exactly one, sealed; exported,
// labelled and replayed by liveness-eval --recordings it gives the
// server's verdict back exactly; the purge takes it; a key that does not
// record records nothing.
func TestRecordingsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	models := repoModels(t)
	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": models, "GLINT_LISTEN": "127.0.0.1:0"}
	plain := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "plain"))
	rec := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "field", "--record-attempts", "1"))
	srv := serveInProcess(t, env)
	subjects := sessiontest.Subjects(t)
	s := &attackServer{base: srv.base, plain: keyPair{plain["api_key"], plain["api_secret"]},
		upload: keyPair{rec["api_key"], rec["api_secret"]}, reference: referencePhoto(t, models),
		victim: subjects[0], otherPerson: subjects[1], logs: srv.logs}
	recKey := s.upload

	play := func(k keyPair, attempts int, seed uint64) string {
		token := s.token(t, k, attempts)
		cam := flashsim.NewLiveCamera(rand.New(rand.NewPCG(seed, 11)), s.victim, flashsim.LiveOptions{})
		a := &rtcAttacker{t: t, src: liveSource{cam}, env: cameraEnvReport}
		a.run(s.base, token)
		return token
	}
	// Two attempts allowed: the first is recorded, any second is not.
	recorded := play(recKey, 2, 21)
	play(recKey, 2, 22) // the key's one recording is used
	play(s.plain, 2, 23)

	list := func() []recordingListing {
		var out []recordingListing
		for _, line := range strings.Split(strings.TrimSpace(mustRun(t, env, "recordings", "list", "--json")), "\n") {
			if line == "" {
				continue
			}
			var l recordingListing
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return out
	}
	ls := list()
	if len(ls) != 1 || ls[0].Token != recorded || ls[0].Attempt != 1 || ls[0].Key != recKey.key {
		t.Fatalf("recordings = %+v, want one: attempt 1 of %s", ls, recorded)
	}
	evs := evaluations(s.logs, recorded)
	if len(evs) == 0 || ls[0].Pass != evs[0].Pass {
		t.Fatalf("recorded verdict %v, server's evaluations %+v", ls[0].Pass, evs)
	}
	id := ls[0].ID

	// Sealed at rest: the stored bytes hold neither a JPEG nor the
	// record's own header.
	db := sqlite.New(filepath.Join(dir, dbFile))
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Recording(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Data) < 10000 || bytes.Contains(r.Data, []byte{0xff, 0xd8, 0xff}) || bytes.Contains(r.Data, []byte("GLINTREC")) ||
		bytes.Contains(r.Data, []byte("capture_ms")) {
		t.Fatalf("recording data (%d bytes) is not sealed", len(r.Data))
	}

	mustRun(t, env, "recordings", "label", "--species", "genuine", "--device", "simulated phone", "--lighting", "lab", id)
	out := filepath.Join(t.TempDir(), "export")
	mustRun(t, env, "recordings", "export", "--out", filepath.Join(out, id), id)
	var rep fieldReport
	if err := json.Unmarshal([]byte(mustRun(t, env, "liveness-eval", "--recordings", out, "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Attempts != 1 || rep.Reproduced != 1 || len(rep.Replayed) != 1 {
		t.Fatalf("replay report = %+v, want the one attempt reproduced", rep)
	}
	a := rep.Replayed[0]
	if a.Pass != evs[0].Pass || a.Reason != evs[0].Reason || a.Species != "genuine" || a.Device != "simulated phone" || a.Lighting != "lab" {
		t.Errorf("replayed %+v, server evaluated %+v", a, evs[0])
	}
	var cells []string
	for _, c := range rep.Cells {
		cells = append(cells, c.By+"/"+c.Value+"/"+c.Species+"/"+c.Metric)
	}
	if strings.Join(cells, " ") != "all//genuine/BPCER device/simulated phone/genuine/BPCER lighting/lab/genuine/BPCER" {
		t.Errorf("cells = %q", cells)
	}

	// The purge of the verification's data takes the recording.
	for range 3 {
		s.result(t, recKey, recorded)
	}
	if _, err := db.PurgeVerifications(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, l := range list() {
		if l.ID == id {
			t.Fatalf("recording %s outlived its verification's purge", id)
		}
	}
}
