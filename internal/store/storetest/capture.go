package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// mustCreateVerification stores a new verification of key "k" (created
// if needed) with the given attempt budget.
func mustCreateVerification(t *testing.T, s store.Store, token string, maxUploads int) *store.Verification {
	t.Helper()
	if _, err := s.Key(ctx, "k"); errors.Is(err, store.ErrNotFound) {
		mustCreateKey(t, s, newKey("k"))
	}
	v := newVerification(token, "k")
	v.MaxUploadTimes = maxUploads
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func sampleLiveness(result string) *store.LivenessResult {
	return &store.LivenessResult{
		Result: result,
		Details: store.LivenessDetails{
			FaceNotFound: 2, SideFace: 1, UpdownFace: 3, EyeOcclusion: 4, MouthOcclusion: 5,
			AwayFromCamera: 6, CloseToCamera: 7, OutOfImage: 8, MultipleFaces: 9, UploadTimes: 2,
		},
		FaceGenuineness: &store.FaceGenuineness{
			ScreenReplayConfidence: 0.125, ScreenReplayThreshold: 0.5,
			SyntheticFaceConfidence: 0.0625, SyntheticFaceThreshold: 0.5,
			FaceReplaced: 1,
		},
		Transport: store.TransportRTC,
	}
}

func testCaptureLifecycle(t *testing.T, s store.Store) {
	v := mustCreateVerification(t, s, "tok", 3)
	now := t0.Add(time.Minute)

	got, err := s.BeginCapture(ctx, "tok", now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusProcessing || got.Attempts != 0 || len(got.Refs) != len(v.Refs) {
		t.Fatalf("after BeginCapture: status %s, attempts %d, %d refs", got.Status, got.Attempts, len(got.Refs))
	}
	// A second connection for the same token is admitted too.
	if _, err := s.BeginCapture(ctx, "tok", now); err != nil {
		t.Fatalf("second BeginCapture: %v", err)
	}
	if r, err := s.Result(ctx, "tok"); err != nil || r.Status != store.StatusProcessing || !r.TerminalAt.IsZero() || r.Liveness != nil {
		t.Fatalf("Result while processing = %+v, %v", r, err)
	}

	for want := 1; want <= 2; want++ {
		n, err := s.CountAttempt(ctx, "tok", now)
		if err != nil || n != want {
			t.Fatalf("CountAttempt = %d, %v; want %d", n, err, want)
		}
	}
	interim := sampleLiveness(store.LivenessFail)
	if err := s.SaveLiveness(ctx, "tok", interim); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Result(ctx, "tok"); err != nil || !reflect.DeepEqual(r.Liveness, interim) || r.Attempts != 2 {
		t.Fatalf("Result after SaveLiveness = %+v, %v", r, err)
	}

	out := &store.Outcome{
		Status:   store.StatusOK,
		Liveness: sampleLiveness(store.LivenessPass),
		Verify: &store.VerifyResult{Refs: []store.RefMatch{
			{Index: 1, Confidence: 81.25, Thresholds: map[string]float64{"1e-3": 62.5, "1e-4": 69.25, "1e-5": 74.5, "1e-6": 78}},
			{Index: 2, Confidence: 12.5, Thresholds: map[string]float64{"1e-3": 62.5}},
		}},
		Images: [][]byte{{0xff, 0xd8, 1, 0xff, 0xd9}, {0xff, 0xd8, 2, 0xff, 0xd9}},
		At:     now.Add(time.Second),
	}
	if err := s.FinishVerification(ctx, "tok", out); err != nil {
		t.Fatal(err)
	}
	r, err := s.Result(ctx, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if r.Token != "tok" || r.Status != store.StatusOK || r.Attempts != 2 {
		t.Errorf("Result = %+v", r)
	}
	if !r.TerminalAt.Equal(out.At) {
		t.Errorf("TerminalAt = %v, want %v", r.TerminalAt, out.At)
	}
	if !reflect.DeepEqual(r.Liveness, out.Liveness) {
		t.Errorf("Liveness = %+v\nwant       %+v", r.Liveness, out.Liveness)
	}
	if !reflect.DeepEqual(r.Verify, out.Verify) {
		t.Errorf("Verify = %+v\nwant     %+v", r.Verify, out.Verify)
	}
	if len(r.Images) != 2 || !bytes.Equal(r.Images[0], out.Images[0]) || !bytes.Equal(r.Images[1], out.Images[1]) {
		t.Errorf("Images = %x, want %x", r.Images, out.Images)
	}
	if got, _ := s.Verification(ctx, "tok"); got.Status != store.StatusOK {
		t.Errorf("Verification status = %s after finishing", got.Status)
	}

	// Terminal: every capture call is refused, the outcome kept.
	if _, err := s.BeginCapture(ctx, "tok", now); !errors.Is(err, store.ErrFinished) {
		t.Errorf("BeginCapture after finish: %v", err)
	}
	if _, err := s.CountAttempt(ctx, "tok", now); !errors.Is(err, store.ErrFinished) {
		t.Errorf("CountAttempt after finish: %v", err)
	}
	if err := s.SaveLiveness(ctx, "tok", interim); !errors.Is(err, store.ErrFinished) {
		t.Errorf("SaveLiveness after finish: %v", err)
	}
	if err := s.FinishVerification(ctx, "tok", &store.Outcome{Status: store.StatusFailed}); !errors.Is(err, store.ErrFinished) {
		t.Errorf("second FinishVerification: %v", err)
	}
	if n, err := s.ExpireVerifications(ctx, t0.Add(24*time.Hour), ""); err != nil || n != 0 {
		t.Errorf("ExpireVerifications on a finished record = %d, %v", n, err)
	}
	if r2, _ := s.Result(ctx, "tok"); r2.Status != store.StatusOK || len(r2.Images) != 2 {
		t.Errorf("refused calls changed the result: %+v", r2)
	}
}

func testCaptureRefusals(t *testing.T, s store.Store) {
	now := t0.Add(time.Minute)
	for name, call := range map[string]func(string) error{
		"BeginCapture": func(tok string) error { _, err := s.BeginCapture(ctx, tok, now); return err },
		"CountAttempt": func(tok string) error { _, err := s.CountAttempt(ctx, tok, now); return err },
		"SaveLiveness": func(tok string) error { return s.SaveLiveness(ctx, tok, sampleLiveness(store.LivenessFail)) },
		"FinishVerification": func(tok string) error {
			return s.FinishVerification(ctx, tok, &store.Outcome{Status: store.StatusFailed})
		},
	} {
		if err := call("ghost"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of an unknown token: %v, want ErrNotFound", name, err)
		}
	}

	// Before the first hello nothing but BeginCapture is allowed.
	mustCreateVerification(t, s, "fresh", 2)
	if _, err := s.CountAttempt(ctx, "fresh", now); !errors.Is(err, store.ErrNotStarted) {
		t.Errorf("CountAttempt before BeginCapture: %v", err)
	}
	if err := s.SaveLiveness(ctx, "fresh", sampleLiveness(store.LivenessFail)); !errors.Is(err, store.ErrNotStarted) {
		t.Errorf("SaveLiveness before BeginCapture: %v", err)
	}
	if err := s.FinishVerification(ctx, "fresh", &store.Outcome{Status: store.StatusFailed}); !errors.Is(err, store.ErrNotStarted) {
		t.Errorf("FinishVerification before BeginCapture: %v", err)
	}
	if v, _ := s.Verification(ctx, "fresh"); v.Status != store.StatusNotStarted {
		t.Errorf("refused calls changed the status to %s", v.Status)
	}
	if err := s.FinishVerification(ctx, "fresh", &store.Outcome{Status: store.StatusProcessing}); err == nil {
		t.Error("FinishVerification accepted a non-terminal status")
	}

	// The budget: attempts stop at max_upload_times, and a new capture is
	// refused once it is spent.
	if _, err := s.BeginCapture(ctx, "fresh", now); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.CountAttempt(ctx, "fresh", now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CountAttempt(ctx, "fresh", now); !errors.Is(err, store.ErrAttemptsExhausted) {
		t.Errorf("third CountAttempt of 2: %v", err)
	}
	if _, err := s.BeginCapture(ctx, "fresh", now); !errors.Is(err, store.ErrAttemptsExhausted) {
		t.Errorf("BeginCapture with no attempts left: %v", err)
	}
	v, _ := s.Verification(ctx, "fresh")
	if v.Attempts != 2 || v.Status != store.StatusProcessing {
		t.Errorf("after refusals: attempts %d, status %s", v.Attempts, v.Status)
	}
	// A spent budget still lets the last attempt's outcome be stored.
	if err := s.FinishVerification(ctx, "fresh", &store.Outcome{Status: store.StatusFailed, Liveness: sampleLiveness(store.LivenessFail)}); err != nil {
		t.Errorf("FinishVerification with the budget spent: %v", err)
	}
}

func testCaptureExpiry(t *testing.T, s store.Store) {
	v := mustCreateVerification(t, s, "old", 3)
	if _, err := s.BeginCapture(ctx, "old", t0); err != nil {
		t.Fatal(err)
	}
	late := v.ExpiresAt // the window is [IssuedAt, ExpiresAt)
	if _, err := s.CountAttempt(ctx, "old", late); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("CountAttempt at expiry: %v, want ErrExpired", err)
	}
	r, err := s.Result(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.StatusFailed || !r.TerminalAt.Equal(v.ExpiresAt) || r.Attempts != 0 {
		t.Fatalf("after expiry: %+v, want FAILED at %v with no attempt", r, v.ExpiresAt)
	}
	// Now it is finished, not expired.
	if _, err := s.BeginCapture(ctx, "old", late); !errors.Is(err, store.ErrFinished) {
		t.Errorf("BeginCapture after the expiry transition: %v", err)
	}

	// An expired record never seen by the SDK is refused at hello.
	v2 := mustCreateVerification(t, s, "never", 3)
	if _, err := s.BeginCapture(ctx, "never", v2.ExpiresAt.Add(time.Hour)); !errors.Is(err, store.ErrExpired) {
		t.Errorf("BeginCapture after expiry: %v", err)
	}
	if r, _ := s.Result(ctx, "never"); r.Status != store.StatusFailed || !r.TerminalAt.Equal(v2.ExpiresAt) {
		t.Errorf("expired at hello: %+v", r)
	}
}

func testExpireSweep(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "a", 3) // NOT_STARTED
	mustCreateVerification(t, s, "b", 3)
	mustCreateVerification(t, s, "c", 3)
	mustCreateVerification(t, s, "done", 3)
	young := newVerification("young", "k")
	young.IssuedAt, young.ExpiresAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
	if err := s.CreateVerification(ctx, young); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"b", "done"} {
		if _, err := s.BeginCapture(ctx, tok, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FinishVerification(ctx, "done", &store.Outcome{Status: store.StatusOK}); err != nil {
		t.Fatal(err)
	}
	late := t0.Add(61 * time.Minute)
	if n, err := s.ExpireVerifications(ctx, t0.Add(59*time.Minute), ""); err != nil || n != 0 {
		t.Fatalf("sweep before expiry = %d, %v", n, err)
	}
	if n, err := s.ExpireVerifications(ctx, late, "a"); err != nil || n != 1 {
		t.Fatalf("sweep of one token = %d, %v", n, err)
	}
	if n, err := s.ExpireVerifications(ctx, late, ""); err != nil || n != 2 {
		t.Fatalf("sweep = %d, %v; want b and c", n, err)
	}
	want := map[string]store.Status{
		"a": store.StatusFailed, "b": store.StatusFailed, "c": store.StatusFailed,
		"done": store.StatusOK, "young": store.StatusNotStarted,
	}
	for tok, st := range want {
		r, err := s.Result(ctx, tok)
		if err != nil || r.Status != st {
			t.Errorf("%s: %+v, %v; want %s", tok, r, err, st)
		}
	}
	if n, err := s.ExpireVerifications(ctx, late, ""); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v", n, err)
	}
}

func testAttemptsConcurrent(t *testing.T, s store.Store) {
	const max, callers = 4, 16
	mustCreateVerification(t, s, "tok", max)
	if _, err := s.BeginCapture(ctx, "tok", t0); err != nil {
		t.Fatal(err)
	}
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		seen       = map[int]bool{}
		exhausted  int
		unexpected []error
	)
	for range callers {
		wg.Go(func() {
			n, err := s.CountAttempt(ctx, "tok", t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && !seen[n]:
				seen[n] = true
			case errors.Is(err, store.ErrAttemptsExhausted):
				exhausted++
			default:
				unexpected = append(unexpected, fmt.Errorf("n=%d: %w", n, err))
			}
		})
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected results: %v", unexpected)
	}
	if len(seen) != max || exhausted != callers-max {
		t.Fatalf("%d attempts counted (%v), %d refused; want %d and %d", len(seen), seen, exhausted, max, callers-max)
	}
	if v, _ := s.Verification(ctx, "tok"); v.Attempts != max {
		t.Fatalf("Attempts = %d, want %d", v.Attempts, max)
	}
}

func testFinishConcurrent(t *testing.T, s store.Store) {
	const callers = 8
	mustCreateVerification(t, s, "tok", 3)
	if _, err := s.BeginCapture(ctx, "tok", t0); err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  []int
		finished int
		other    []error
	)
	for i := range callers {
		wg.Go(func() {
			st := store.StatusOK
			if i%2 == 1 {
				st = store.StatusFailed
			}
			err := s.FinishVerification(ctx, "tok", &store.Outcome{
				Status: st,
				Images: [][]byte{{byte(i)}},
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, i)
			case errors.Is(err, store.ErrFinished):
				finished++
			default:
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	if len(winners) != 1 || finished != callers-1 {
		t.Fatalf("%d winners, %d refused; want exactly one winner", len(winners), finished)
	}
	r, err := s.Result(ctx, "tok")
	if err != nil {
		t.Fatal(err)
	}
	w := winners[0]
	wantStatus := store.StatusOK
	if w%2 == 1 {
		wantStatus = store.StatusFailed
	}
	if r.Status != wantStatus || len(r.Images) != 1 || r.Images[0][0] != byte(w) {
		t.Fatalf("stored %s with images %v; the winner was %d", r.Status, r.Images, w)
	}
}

// testBilling checks spec §4.6: one billable event per verification that
// reaches OK with a verify result, none for FAILED, none twice.
func testBilling(t *testing.T, s store.Store) {
	for _, tok := range []string{"ok", "failed", "ok-no-verify"} {
		mustCreateVerification(t, s, tok, 3)
		if _, err := s.BeginCapture(ctx, tok, t0); err != nil {
			t.Fatal(err)
		}
	}
	verify := &store.VerifyResult{}
	if err := s.FinishVerification(ctx, "ok", &store.Outcome{Status: store.StatusOK, Verify: verify}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishVerification(ctx, "ok", &store.Outcome{Status: store.StatusOK, Verify: verify}); !errors.Is(err, store.ErrFinished) {
		t.Fatalf("second finish: %v, want ErrFinished", err)
	}
	if err := s.FinishVerification(ctx, "failed", &store.Outcome{Status: store.StatusFailed, Liveness: sampleLiveness("FAIL")}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishVerification(ctx, "ok-no-verify", &store.Outcome{Status: store.StatusOK}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.Usage(ctx, "k", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var billed int64
	for _, c := range counts {
		if c.Billed {
			billed += c.Count
			if c.Endpoint != store.BillableEndpoint || c.Outcome != "OK" {
				t.Errorf("billed row %+v", c)
			}
		}
	}
	if billed != 1 {
		t.Fatalf("%d billable events, want 1: %+v", billed, counts)
	}
}

func testResultNotFound(t *testing.T, s store.Store) {
	if _, err := s.Result(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Result: %v, want ErrNotFound", err)
	}
	if n, err := s.ExpireVerifications(ctx, t0, "nope"); err != nil || n != 0 {
		t.Fatalf("ExpireVerifications of an unknown token = %d, %v", n, err)
	}
}

func testResultsDeletedWithKey(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	if _, err := s.BeginCapture(ctx, "tok", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishVerification(ctx, "tok", &store.Outcome{Status: store.StatusOK, Images: [][]byte{{1, 2, 3}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Result(ctx, "tok"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("result of a deleted key's verification: %v", err)
	}
}
