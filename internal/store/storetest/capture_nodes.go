package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

func owner(t *testing.T, s store.Store, token string) string {
	t.Helper()
	o, err := s.CaptureOwner(ctx, token)
	if err != nil {
		t.Fatalf("CaptureOwner(%s): %v", token, err)
	}
	return o
}

func testClaimCapture(t *testing.T, s store.Store) {
	if err := s.ClaimCapture(ctx, "ghost", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClaimCapture of an unknown token: %v, want ErrNotFound", err)
	}
	if _, err := s.CaptureOwner(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CaptureOwner of an unknown token: %v, want ErrNotFound", err)
	}
	mustCreateVerification(t, s, "tok", 3)
	mustCreateVerification(t, s, "other", 3)
	if o := owner(t, s, "tok"); o != "" {
		t.Fatalf("owner before any claim = %q, want none", o)
	}
	// The latest claim wins, whoever held the token before, including an
	// owner that had lost it.
	for _, o := range []string{"a", "b", "a"} {
		if err := s.ClaimCapture(ctx, "tok", o); err != nil {
			t.Fatal(err)
		}
		if got := owner(t, s, "tok"); got != o {
			t.Fatalf("owner after claim %q = %q", o, got)
		}
	}
	if o := owner(t, s, "other"); o != "" {
		t.Errorf("another token's claim changed this one's owner to %q", o)
	}
	// Claims do not depend on the verification's state.
	finish(t, s, "tok", store.StatusFailed, t0.Add(time.Minute))
	if err := s.ClaimCapture(ctx, "tok", "c"); err != nil {
		t.Fatalf("ClaimCapture of a finished verification: %v", err)
	}
	if o := owner(t, s, "tok"); o != "c" {
		t.Errorf("owner = %q, want c", o)
	}
}

func testClaimCaptureConcurrent(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	const claimers = 20
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for i := range claimers {
		wg.Go(func() { errs <- s.ClaimCapture(ctx, "tok", fmt.Sprint("owner-", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// One of them, whole: claims never interleave.
	got := owner(t, s, "tok")
	var n int
	if _, err := fmt.Sscanf(got, "owner-%d", &n); err != nil || n < 0 || n >= claimers || got != fmt.Sprint("owner-", n) {
		t.Fatalf("owner after concurrent claims = %q, want one of the claimers", got)
	}
}

// sequence returns a sequence of token issued at t0 and valid for ttl.
func sequence(id, token string, ttl time.Duration) *store.FlashSequence {
	return &store.FlashSequence{
		ID:        id,
		Token:     token,
		Challenge: []byte(`{"colors":["#FF0000"],"holds":[0,255,1]}` + id),
		IssuedAt:  t0,
		ExpiresAt: t0.Add(ttl),
	}
}

func mustSaveSequence(t *testing.T, s store.Store, seq *store.FlashSequence) {
	t.Helper()
	if err := s.SaveFlashSequence(ctx, seq); err != nil {
		t.Fatalf("SaveFlashSequence(%s): %v", seq.ID, err)
	}
}

func testFlashSequenceRoundTrip(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	want := sequence("seq-1", "tok", 2*time.Minute)
	want.Challenge = append(want.Challenge, 0, 0xff) // any bytes
	mustSaveSequence(t, s, want)
	got, err := s.TakeFlashSequence(ctx, "tok", "seq-1", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Token != want.Token || !bytes.Equal(got.Challenge, want.Challenge) {
		t.Errorf("took %+v\nwant %+v", got, want)
	}
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times %v..%v, want %v..%v", got.IssuedAt, got.ExpiresAt, want.IssuedAt, want.ExpiresAt)
	}
	// Single use.
	if _, err := s.TakeFlashSequence(ctx, "tok", "seq-1", t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second take: %v, want ErrNotFound", err)
	}
}

func testFlashSequenceRefusals(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	mustCreateVerification(t, s, "other", 3)
	mustSaveSequence(t, s, sequence("seq", "tok", time.Minute))
	mustSaveSequence(t, s, sequence("seq-other", "other", time.Minute))
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"save for an unknown token", func() error { return s.SaveFlashSequence(ctx, sequence("x", "ghost", time.Minute)) }, store.ErrNotFound},
		{"save another token's id", func() error { return s.SaveFlashSequence(ctx, sequence("seq-other", "tok", time.Minute)) }, store.ErrConflict},
		{"take an unknown id", func() error { _, err := s.TakeFlashSequence(ctx, "tok", "nope", t0); return err }, store.ErrNotFound},
		{"take for an unknown token", func() error { _, err := s.TakeFlashSequence(ctx, "ghost", "seq", t0); return err }, store.ErrNotFound},
		{"take another token's sequence", func() error { _, err := s.TakeFlashSequence(ctx, "other", "seq", t0); return err }, store.ErrNotFound},
		{"take with an empty id", func() error { _, err := s.TakeFlashSequence(ctx, "tok", "", t0); return err }, store.ErrNotFound},
	} {
		if err := tc.call(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The refusals consumed nothing, and the conflict left the other
	// token's sequence (and this token's) as they were.
	for token, id := range map[string]string{"tok": "seq", "other": "seq-other"} {
		got, err := s.TakeFlashSequence(ctx, token, id, t0)
		if err != nil {
			t.Errorf("take %s after the refusals: %v", id, err)
			continue
		}
		if want := sequence(id, token, time.Minute); !bytes.Equal(got.Challenge, want.Challenge) {
			t.Errorf("%s's challenge became %q", id, got.Challenge)
		}
	}
}

func testFlashSequenceOnePerToken(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	mustSaveSequence(t, s, sequence("first", "tok", time.Minute))
	mustSaveSequence(t, s, sequence("second", "tok", time.Minute))
	if _, err := s.TakeFlashSequence(ctx, "tok", "first", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("take of a replaced sequence: %v, want ErrNotFound", err)
	}
	if _, err := s.TakeFlashSequence(ctx, "tok", "second", t0); err != nil {
		t.Errorf("take of the newer sequence: %v", err)
	}
	// Saving the same sequence again keeps it takeable (an idempotent retry).
	mustSaveSequence(t, s, sequence("third", "tok", time.Minute))
	mustSaveSequence(t, s, sequence("third", "tok", time.Minute))
	if _, err := s.TakeFlashSequence(ctx, "tok", "third", t0); err != nil {
		t.Errorf("take of a sequence saved twice: %v", err)
	}
}

func testFlashSequenceStale(t *testing.T, s store.Store) {
	const ttl = 2 * time.Minute
	for i, tc := range []struct {
		name string
		at   time.Duration // after IssuedAt
		ok   bool
	}{
		{"at issue", 0, true},
		{"at the last instant", ttl, true},
		{"a nanosecond late", ttl + time.Nanosecond, false},
		{"long after", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, id := fmt.Sprint("tok-", i), fmt.Sprint("seq-", i)
			mustCreateVerification(t, s, token, 3)
			mustSaveSequence(t, s, sequence(id, token, ttl))
			_, err := s.TakeFlashSequence(ctx, token, id, t0.Add(tc.at))
			switch {
			case tc.ok && err != nil:
				t.Fatalf("take: %v", err)
			case !tc.ok && !errors.Is(err, store.ErrNotFound):
				t.Fatalf("take of a stale sequence: %v, want ErrNotFound", err)
			}
			// Taken or refused, it is gone: a take in its lifetime finds
			// nothing.
			if _, err := s.TakeFlashSequence(ctx, token, id, t0); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("take after a take: %v, want ErrNotFound", err)
			}
		})
	}
}

func testFlashSequenceTakeConcurrent(t *testing.T, s store.Store) {
	mustCreateVerification(t, s, "tok", 3)
	mustSaveSequence(t, s, sequence("seq", "tok", time.Minute))
	const takers = 20
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		taken, notFound   int
		unexpected        []error
		start             = make(chan struct{})
		challengesUnequal bool
	)
	for range takers {
		wg.Go(func() {
			<-start
			seq, err := s.TakeFlashSequence(ctx, "tok", "seq", t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				taken++
				challengesUnequal = !bytes.Equal(seq.Challenge, sequence("seq", "tok", time.Minute).Challenge)
			case errors.Is(err, store.ErrNotFound):
				notFound++
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected errors: %v", unexpected)
	}
	if taken != 1 || notFound != takers-1 || challengesUnequal {
		t.Fatalf("%d takes succeeded and %d found nothing (challenge intact: %v), want 1 and %d",
			taken, notFound, !challengesUnequal, takers-1)
	}
}

func testFlashSequenceDeleted(t *testing.T, s store.Store) {
	// Valid for two days, so that only the deletion explains a refusal.
	const ttl = 48 * time.Hour
	createWithRetention(t, s, "short", "purged", time.Hour)
	createWithRetention(t, s, "short", "kept", time.Hour)
	createWithRetention(t, s, "gone", "deleted", 0)
	for _, token := range []string{"purged", "kept", "deleted"} {
		mustSaveSequence(t, s, sequence("seq-"+token, token, ttl))
	}
	end := t0.Add(5 * time.Minute)
	finish(t, s, "purged", store.StatusOK, end)
	if p, err := s.PurgeVerifications(ctx, end.Add(61*time.Minute)); err != nil || p.Records != 1 {
		t.Fatalf("PurgeVerifications = %+v, %v; want the finished record purged", p, err)
	}
	if err := s.DeleteKey(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, newKey("gone")); err != nil {
		t.Fatal(err)
	}
	// A new verification of the same token finds no sequence of the old.
	if err := s.CreateVerification(ctx, newVerification("deleted", "gone")); err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]error{"purged": store.ErrNotFound, "deleted": store.ErrNotFound, "kept": nil} {
		if _, err := s.TakeFlashSequence(ctx, token, "seq-"+token, t0); !errors.Is(err, want) {
			t.Errorf("%s: take = %v, want %v", token, err, want)
		}
	}
}
