package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// finish drives token through BeginCapture to a terminal status at at.
func finish(t *testing.T, s store.Store, token string, status store.Status, at time.Time) {
	t.Helper()
	if _, err := s.BeginCapture(ctx, token, t0); err != nil {
		t.Fatal(err)
	}
	o := &store.Outcome{Status: status, Liveness: sampleLiveness(store.LivenessPass), At: at}
	if status == store.StatusOK {
		o.Images = [][]byte{{0xff, 0xd8, 1, 0xff, 0xd9}}
	}
	if err := s.FinishVerification(ctx, token, o); err != nil {
		t.Fatal(err)
	}
}

func testReadResultCounting(t *testing.T, s store.Store) {
	v := mustCreateVerification(t, s, "tok", 3)
	now := t0.Add(time.Minute)

	// Reads before the end are free, however many.
	for range 5 {
		r, err := s.ReadResult(ctx, "tok", "k", now)
		if err != nil || r.Status != store.StatusNotStarted || r.Fetches != 0 {
			t.Fatalf("ReadResult NOT_STARTED = %+v, %v", r, err)
		}
	}
	if _, err := s.BeginCapture(ctx, "tok", now); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r, err := s.ReadResult(ctx, "tok", "k", now)
		if err != nil || r.Status != store.StatusProcessing || r.Fetches != 0 {
			t.Fatalf("ReadResult PROCESSING = %+v, %v", r, err)
		}
	}

	at := now.Add(time.Second)
	if err := s.FinishVerification(ctx, "tok", &store.Outcome{
		Status: store.StatusOK, Liveness: sampleLiveness(store.LivenessPass),
		Images: [][]byte{{0xff, 0xd8, 7, 0xff, 0xd9}}, At: at,
	}); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= store.MaxResultReads; want++ {
		r, err := s.ReadResult(ctx, "tok", "k", at)
		if err != nil {
			t.Fatalf("terminal read %d: %v", want, err)
		}
		if r.Fetches != want || r.Status != store.StatusOK || len(r.Images) != 1 || r.Liveness == nil {
			t.Fatalf("terminal read %d = %+v", want, r)
		}
		if r.KeyID != "k" || r.BizNo == nil || *r.BizNo != *v.BizNo || r.ReturnMultifacesTag || r.FaceOcclusionDetection {
			t.Fatalf("copied fields of read %d = %+v", want, r)
		}
	}
	if _, err := s.ReadResult(ctx, "tok", "k", at); !errors.Is(err, store.ErrResultGone) {
		t.Fatalf("read %d: %v, want ErrResultGone", store.MaxResultReads+1, err)
	}
	// The plain Result is not a get_result read and is not limited.
	if r, err := s.Result(ctx, "tok"); err != nil || r.Fetches != store.MaxResultReads {
		t.Fatalf("Result after the reads = %+v, %v", r, err)
	}
}

func testReadResultRetention(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	at := t0.Add(10 * time.Minute)
	finish(t, s, "tok", store.StatusFailed, at)
	end := at.Add(store.ResultRetention)
	if r, err := s.ReadResult(ctx, "tok", "k", end.Add(-time.Nanosecond)); err != nil || r.Status != store.StatusFailed {
		t.Fatalf("read just before retention ends = %+v, %v", r, err)
	}
	if _, err := s.ReadResult(ctx, "tok", "k", end); !errors.Is(err, store.ErrResultGone) {
		t.Fatalf("read as retention ends: %v, want ErrResultGone", err)
	}
	// A refused read does not use a read up.
	if r, _ := s.Result(ctx, "tok"); r.Fetches != 1 {
		t.Fatalf("Fetches = %d after one good read and one late one", r.Fetches)
	}
}

func testReadResultOwnership(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	mustCreateKey(t, s, newKey("other"))
	finish(t, s, "tok", store.StatusOK, t0.Add(time.Minute))
	now := t0.Add(2 * time.Minute)
	for range store.MaxResultReads + 1 {
		if _, err := s.ReadResult(ctx, "tok", "other", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("read by another key: %v, want ErrNotFound", err)
		}
	}
	if _, err := s.ReadResult(ctx, "nope", "k", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read of an unknown token: %v, want ErrNotFound", err)
	}
	// Another key's attempts used none of the owner's reads.
	for i := range store.MaxResultReads {
		if _, err := s.ReadResult(ctx, "tok", "k", now); err != nil {
			t.Fatalf("owner's read %d: %v", i+1, err)
		}
	}
}

func testReadResultExpiry(t *testing.T, s store.Store) {
	v := mustCreateVerification(t, s, "tok", 3)
	r, err := s.ReadResult(ctx, "tok", "k", v.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.StatusFailed || !r.TerminalAt.Equal(v.ExpiresAt) || r.Fetches != 1 || r.Liveness != nil {
		t.Fatalf("read at expiry = %+v, want FAILED at %v, counted", r, v.ExpiresAt)
	}

	// First read long after expiry: the transition happens, and sticks,
	// but retention has already run out.
	v2 := mustCreateVerification(t, s, "late", 3)
	late := v2.ExpiresAt.Add(store.ResultRetention)
	if _, err := s.ReadResult(ctx, "late", "k", late); !errors.Is(err, store.ErrResultGone) {
		t.Fatalf("read a day after expiry: %v, want ErrResultGone", err)
	}
	if r, _ := s.Result(ctx, "late"); r.Status != store.StatusFailed || !r.TerminalAt.Equal(v2.ExpiresAt) || r.Fetches != 0 {
		t.Fatalf("after the late read: %+v", r)
	}
}

func testReadResultConcurrent(t *testing.T, s store.Store) {
	const callers = 50
	mustCreateVerification(t, s, "tok", 3)
	at := t0.Add(time.Minute)
	finish(t, s, "tok", store.StatusOK, at)
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		seen       = map[int]bool{}
		gone       int
		unexpected []error
	)
	for range callers {
		wg.Go(func() {
			r, err := s.ReadResult(ctx, "tok", "k", at)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && !seen[r.Fetches]:
				seen[r.Fetches] = true
			case errors.Is(err, store.ErrResultGone):
				gone++
			default:
				unexpected = append(unexpected, fmt.Errorf("result %+v: %w", r, err))
			}
		})
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected results: %v", unexpected)
	}
	if len(seen) != store.MaxResultReads || gone != callers-store.MaxResultReads {
		t.Fatalf("%d reads succeeded (%v), %d refused; want %d and %d",
			len(seen), seen, gone, store.MaxResultReads, callers-store.MaxResultReads)
	}
}
