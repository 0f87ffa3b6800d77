package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/liveness"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session/sessiontest"
)

// nodeEnv returns the environment of a node with engine and its own data
// directory on the PostgreSQL database url, holding a copy of the pepper
// of the data directory seed, as every node of one database must.
func nodeEnv(t *testing.T, url, seed, engine string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	pepper, err := os.ReadFile(filepath.Join(seed, auth.PepperFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, auth.PepperFile), pepper, 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"GLINT_DATA": dir, "GLINT_DATABASE": url, envTestEngine: engine}
}

// TestTwoNodesPostgres runs two `glint serve` processes on one PostgreSQL
// database, each with its own data directory and a copy of the one
// pepper, and checks what must hold across nodes: a token issued on A is
// captured through B (start_flash on A, validate_flash on B) with the real
// face engine and a rendered genuine sequence, and its result read on A;
// the three reads of a result are counted across both; and a key's
// concurrency limit holds across both (on two more nodes, with a slow
// stub engine, so that the slots are held long enough to collide).
func TestTwoNodesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes and runs the face engine")
	}
	t.Parallel()
	models := repoModels(t)
	url := pgTestDatabase(t)
	// The first key, created here, makes the pepper every node copies.
	seed := t.TempDir()
	k := mustJSON(t, mustRun(t, map[string]string{"GLINT_DATA": seed, "GLINT_DATABASE": url}, "keys", "create", "--name", "two-nodes", "--allow-upload-fallback"))

	t.Run("CaptureAndReads", func(t *testing.T) {
		key, secret := k["api_key"], k["api_secret"]
		envA, envB := nodeEnv(t, url, seed, engineReal), nodeEnv(t, url, seed, engineReal)
		envA["GLINT_MODELS"], envB["GLINT_MODELS"] = models, models

		nodes := startNodes(t, []map[string]string{envA, envB})
		a, b := nodes[0], nodes[1]
		ref := referencePhoto(t, models)
		subjects := sessiontest.Subjects(t)

		status, reply := postForm(t, a.base+"/faceid/lite/raw/get_token", map[string]string{
			"api_key": key, "api_secret": secret, "comparison_type": "0", "uuid": "two-nodes",
			"max_upload_times": "2", "life_time": "60", "color_number": "6",
		}, map[string][]byte{"image_ref1": ref})
		if status != http.StatusOK {
			t.Fatalf("get_token on A: %d %v", status, reply)
		}
		token := reply["token"].(string)

		status, reply = postParts(t, a.base+"/faceid/lite/raw/start_flash", map[string]string{"token": token}, nil)
		if status != http.StatusOK {
			t.Fatalf("start_flash on A: %d %v", status, reply)
		}
		ch := flashChallenge(t, reply)
		seq, err := flashsim.Render(rand.New(rand.NewPCG(7, 1)), flashsim.Genuine, ch, subjects[0], subjects[1])
		if err != nil {
			t.Fatal(err)
		}
		frames, timeline := flashUpload(t, seq)
		status, reply = postParts(t, b.base+"/faceid/lite/raw/validate_flash",
			map[string]string{"token": token, "seq_id": ch.SeqID, "timeline": timeline}, frames)
		if status != http.StatusOK || reply["success"] != true || reply["status"] != "OK" {
			t.Fatalf("validate_flash on B of a sequence started on A: %d %v\nA:\n%s\nB:\n%s", status, reply, a.logs.String(), b.logs.String())
		}

		// Three reads in all, wherever they are made.
		status, r := readResult(t, a.base, key, secret, token)
		if status != http.StatusOK || r["status"] != "OK" {
			t.Fatalf("get_result on A: %d %v", status, r)
		}
		lr, _ := r["liveness_result"].(map[string]any)
		if lr["result"] != "PASS_UPLOAD" {
			t.Errorf("liveness_result %v, want PASS_UPLOAD", lr)
		}
		vr, _ := r["verify_result"].(map[string]any)
		ref1, _ := vr["result_ref1"].(map[string]any)
		confidence, _ := ref1["confidence"].(float64)
		thresholds, _ := ref1["thresholds"].(map[string]any)
		threshold, ok := thresholds["1e-3"].(float64)
		if !ok || confidence <= threshold {
			t.Errorf("verify_result %v: want a confidence above the 1e-3 threshold", vr)
		}
		t.Logf("verified across nodes: liveness %v, confidence %.2f (1e-3 threshold %.2f)", lr["result"], confidence, threshold)
		for i, n := range []*node{a, b, a, b} {
			status, r := readResult(t, n.base, key, secret, token)
			want, wantMsg := http.StatusOK, ""
			if i >= 2 {
				want, wantMsg = http.StatusBadRequest, "RESULT_NOT_FOUND"
			}
			if status != want || (wantMsg != "" && r["error_message"] != wantMsg) {
				t.Errorf("read %d of the result (on %s): %d %v, want %d %s", i+2, map[*node]string{a: "A", b: "B"}[n], status, r, want, wantMsg)
			}
		}
	})

	t.Run("ConcurrencyLimit", func(t *testing.T) {
		testConcurrencyAcrossNodes(t, url, seed)
	})
}

// testConcurrencyAcrossNodes fires waves of concurrent get_token calls of
// a key with --concurrency 2, split between two nodes whose engine holds
// each call for a while, and checks from the engines' logged intervals
// that no more than two calls were ever in the engine at once, across
// both nodes. Each such call holds a slot while in the engine, so the
// intervals' overlap is at most the slots': with a limit counted per node
// it would reach four.
func testConcurrencyAcrossNodes(t *testing.T, url, seed string) {
	const (
		limit = 2
		delay = 500 * time.Millisecond
		waves = 3
		calls = 12 // per wave, half on each node
	)
	envC, envD := nodeEnv(t, url, seed, engineSlow), nodeEnv(t, url, seed, engineSlow)
	k := mustJSON(t, mustRun(t, envC, "keys", "create", "--name", "concurrency", "--concurrency", fmt.Sprint(limit)))
	key, secret := k["api_key"], k["api_secret"]
	envC[envTestEngineDelay], envD[envTestEngineDelay] = delay.String(), delay.String()
	nodes := startNodes(t, []map[string]string{envC, envD})
	c, d := nodes[0], nodes[1]

	ct, body := tokenForm(t, key, secret, "concurrency")
	outcomes := map[string]int{}
	var mu sync.Mutex
	for range waves {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range calls {
			n := c
			if i%2 == 1 {
				n = d
			}
			wg.Go(func() {
				<-start
				status, _, msg, err := postGetToken(n.base, ct, body)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("get_token: %v", err)
					return
				}
				outcomes[fmt.Sprintf("%d %s", status, msg)]++
			})
		}
		close(start)
		wg.Wait()
	}

	intervals := slices.Concat(engineCalls(t, c), engineCalls(t, d))
	peak := maxOverlap(intervals)
	ok, refused := outcomes["200 "], outcomes["403 CONCURRENCY_LIMIT_EXCEEDED"]
	if ok+refused != waves*calls {
		t.Errorf("outcomes %v: want only 200 and 403 CONCURRENCY_LIMIT_EXCEEDED", outcomes)
	}
	if len(intervals) != ok {
		t.Errorf("%d engine calls logged for %d successful get_token calls", len(intervals), ok)
	}
	if peak > limit {
		t.Errorf("%d get_token calls were in the engine at once across the nodes; the key allows %d", peak, limit)
	}
	if peak < limit || refused == 0 {
		t.Errorf("peak %d, %d refused: the load did not reach the limit", peak, refused)
	}
	// Every slot was given back: no lease is left.
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var leases int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM leases`).Scan(&leases); err != nil {
		t.Fatal(err)
	}
	if leases != 0 {
		t.Errorf("%d leases left after the load", leases)
	}
	t.Logf("%d waves of %d calls on two nodes, limit %d: %v; at most %d in the engine at once", waves, calls, limit, outcomes, peak)
}

// interval is one engine call, from the slow engine's log.
type interval struct{ start, end int64 }

// engineCalls returns the engine calls n logged.
func engineCalls(t *testing.T, n *node) []interval {
	t.Helper()
	var out []interval
	for line := range strings.SplitSeq(n.logs.String(), "\n") {
		var raw struct {
			Msg     string `json:"msg"`
			StartNs int64  `json:"start_ns"`
			EndNs   int64  `json:"end_ns"`
		}
		if json.Unmarshal([]byte(line), &raw) != nil || raw.Msg != engineCallMsg {
			continue
		}
		out = append(out, interval{raw.StartNs, raw.EndNs})
	}
	return out
}

// maxOverlap returns the largest number of intervals that hold one instant.
func maxOverlap(iv []interval) int {
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for _, v := range iv {
		edges = append(edges, edge{v.start, 1}, edge{v.end, -1})
	}
	// At equal times an end goes first: touching intervals do not overlap.
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta
	})
	cur, peak := 0, 0
	for _, e := range edges {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
}

// referencePhoto returns a reference photo of the person
// sessiontest.Subjects renders first: the same face of the same sample
// photo, found by the same rule (the first significant near-frontal
// face), cut out with a margin that leaves the other people out.
func referencePhoto(t *testing.T, models string) []byte {
	t.Helper()
	eng, err := face.Load(os.DirFS(models), face.Config{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(face.SamplePhoto(models, 3))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(data, 4096)
	if err != nil {
		t.Fatal(err)
	}
	photo := face.FromImage(img)
	for _, f := range eng.Significant(eng.Detect(photo, nil)) {
		if math.Abs(f.Quality.Yaw) > 16 || math.Abs(f.Quality.Pitch) > 16 {
			continue
		}
		m := 0.4 * max(f.Box.W, f.Box.H)
		crop := photo.Crop(face.Rect{X: f.Box.X - m, Y: f.Box.Y - m, W: f.Box.W + 2*m, H: f.Box.H + 2*m})
		return imagingtest.JPEG(t, crop.RGBA())
	}
	t.Fatal("no near-frontal face in sample3.jpg")
	return nil
}

// flashChallenge rebuilds the challenge a start_flash reply describes.
func flashChallenge(t *testing.T, reply map[string]any) liveness.Challenge {
	t.Helper()
	ch := liveness.Challenge{}
	ch.SeqID, _ = reply["seq_id"].(string)
	colors, _ := reply["colors"].([]any)
	holds, _ := reply["hold_ms"].([]any)
	if ch.SeqID == "" || len(colors) == 0 || len(colors) != len(holds) {
		t.Fatalf("start_flash reply %v", reply)
	}
	for i, c := range colors {
		j := slices.IndexFunc(liveness.Palette, func(p liveness.Color) bool { return p.Hex() == c })
		if j < 0 {
			t.Fatalf("colour %v is not in the palette", c)
		}
		ch.Colors = append(ch.Colors, liveness.Palette[j])
		ch.Holds = append(ch.Holds, time.Duration(holds[i].(float64))*time.Millisecond)
	}
	return ch
}

// flashUpload encodes a rendered sequence as validate_flash's frames and
// timeline (spec §2.3.2): each frame a JPEG named after its capture time
// in milliseconds from the first frame, the timeline the times each
// colour was shown on that clock. The simulator's 144-pixel frames are
// enlarged twice first: the detector misses faces that small.
func flashUpload(t *testing.T, seq flashsim.Sequence) ([]formPart, string) {
	t.Helper()
	origin := seq.Frames[0].T
	ms := func(at time.Time) float64 { return float64(at.Sub(origin)) / float64(time.Millisecond) }
	var frames []formPart
	for _, f := range seq.Frames {
		frames = append(frames, formPart{"frames", fmt.Sprintf("%.3f.jpg", ms(f.T)), imagingtest.JPEG(t, enlarge(f.Img, 2).RGBA())})
	}
	var tl []map[string]any
	for i, s := range seq.Shown {
		tl = append(tl, map[string]any{"index": i + 1, "t_ms": ms(s)})
	}
	b, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	return frames, string(b)
}

// enlarge enlarges img k times by pixel repetition.
func enlarge(img *face.RGB, k int) *face.RGB {
	out := face.NewRGB(img.W*k, img.H*k)
	for y := range out.H {
		for x := range out.W {
			copy(out.Pix[3*(y*out.W+x):][:3], img.Pix[3*((y/k)*img.W+x/k):][:3])
		}
	}
	return out
}
