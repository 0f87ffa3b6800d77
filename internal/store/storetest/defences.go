package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// The capture defences: a key's upload fallback opt-in and the per-uuid
// attempt budget (Key.AllowUploadFallback, Key.AttemptsPerUUID,
// Verification.Subject, ErrSubjectAttempts).

// Subjects as package auth would compute them; the store only compares
// the bytes.
var (
	subjectA = []byte("subject digest of user-42 ......")
	subjectB = []byte("subject digest of user-43 ......")
)

// budgetKey creates key id with the given attempts per uuid.
func budgetKey(t *testing.T, s store.Store, id string, attempts int) {
	t.Helper()
	k := newKey(id)
	k.AttemptsPerUUID = attempts
	mustCreateKey(t, s, k)
}

// begunFor stores a verification of keyID for subject, open for capture
// from t0 for two days with maxUploads attempts, and begins its capture at
// t0.
func begunFor(t *testing.T, s store.Store, token, keyID string, subject []byte, maxUploads int) {
	t.Helper()
	v := newVerification(token, keyID)
	v.Subject = subject
	v.MaxUploadTimes = maxUploads
	v.LifeTime = 48 * time.Hour
	v.ExpiresAt = t0.Add(v.LifeTime)
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginCapture(ctx, token, t0); err != nil {
		t.Fatalf("BeginCapture(%s): %v", token, err)
	}
}

// attempt counts one attempt of token at now and fails the test unless
// the outcome is want (nil: counted).
func attempt(t *testing.T, s store.Store, token string, now time.Time, want error) {
	t.Helper()
	_, err := s.CountAttempt(ctx, token, now)
	if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("CountAttempt(%s, t0+%v) = %v, want %v", token, now.Sub(t0), err, want)
	}
}

// begin calls BeginCapture of token at now and fails the test unless the
// outcome is want (nil: admitted).
func begin(t *testing.T, s store.Store, token string, now time.Time, want error) {
	t.Helper()
	_, err := s.BeginCapture(ctx, token, now)
	if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("BeginCapture(%s, t0+%v) = %v, want %v", token, now.Sub(t0), err, want)
	}
}

func attemptsOf(t *testing.T, s store.Store, token string) int {
	t.Helper()
	v, err := s.Verification(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return v.Attempts
}

func testKeyCaptureSettings(t *testing.T, s store.Store) {
	in := newKey("on")
	in.AllowUploadFallback, in.AttemptsPerUUID = true, 3
	mustCreateKey(t, s, in)
	mustCreateKey(t, s, newKey("off"))
	got, err := s.Key(ctx, "on")
	if err != nil || !got.AllowUploadFallback || got.AttemptsPerUUID != 3 {
		t.Fatalf("Key(on) = %+v, %v; want the fallback allowed and 3 attempts per uuid", got, err)
	}
	keys, err := s.Keys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("Keys = %v, %v", keys, err)
	}
	for _, k := range keys {
		if want := k.ID == "on"; k.AllowUploadFallback != want {
			t.Errorf("Keys: %s has AllowUploadFallback %v, want %v", k.ID, k.AllowUploadFallback, want)
		}
	}

	// UpdateKey turns the fallback off and on and changes the budget,
	// storing 0 as the default.
	for _, c := range []struct {
		fallback       bool
		attempts, want int
	}{
		{false, 0, store.DefaultAttemptsPerUUID},
		{true, store.MaxAttemptsPerUUID, store.MaxAttemptsPerUUID},
		{false, store.MinAttemptsPerUUID, store.MinAttemptsPerUUID},
	} {
		got.AllowUploadFallback, got.AttemptsPerUUID = c.fallback, c.attempts
		if err := s.UpdateKey(ctx, got); err != nil {
			t.Fatal(err)
		}
		k, err := s.Key(ctx, "on")
		if err != nil || k.AllowUploadFallback != c.fallback || k.AttemptsPerUUID != c.want {
			t.Fatalf("after UpdateKey(%v, %d): %+v, %v; want %v, %d", c.fallback, c.attempts, k, err, c.fallback, c.want)
		}
	}
	if k, _ := s.Key(ctx, "off"); k.AllowUploadFallback || k.AttemptsPerUUID != store.DefaultAttemptsPerUUID {
		t.Errorf("the other key changed: %+v", k)
	}

	// Out of bounds, on creation and on update.
	for _, n := range []int{-1, store.MaxAttemptsPerUUID + 1} {
		k := newKey(fmt.Sprint("bad", n))
		k.AttemptsPerUUID = n
		if err := s.CreateKey(ctx, k); err == nil {
			t.Errorf("CreateKey with AttemptsPerUUID %d: no error", n)
		}
		got.AttemptsPerUUID = n
		if err := s.UpdateKey(ctx, got); err == nil {
			t.Errorf("UpdateKey with AttemptsPerUUID %d: no error", n)
		}
	}
	if k, _ := s.Key(ctx, "on"); k.AttemptsPerUUID != store.MinAttemptsPerUUID {
		t.Errorf("a refused UpdateKey changed the budget to %d", k.AttemptsPerUUID)
	}
}

func testSubjectRoundTrip(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	v := newVerification("tok", "k")
	v.Subject = subjectA
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Verification(ctx, "tok"); err != nil || !reflect.DeepEqual(got.Subject, subjectA) {
		t.Fatalf("Subject = %q, %v; want %q", got.Subject, err, subjectA)
	}
	// An empty subject is no subject: not budgeted.
	v = newVerification("empty", "k")
	v.Subject = []byte{}
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Verification(ctx, "empty"); err != nil || len(got.Subject) != 0 {
		t.Fatalf("empty Subject came back as %q, %v", got.Subject, err)
	}
}

func testSubjectBudget(t *testing.T, s store.Store) {
	budgetKey(t, s, "k", 4)
	budgetKey(t, s, "other", 4)
	now := t0.Add(time.Minute)

	// The uuid's attempts add up over its tokens, whatever each token's
	// own budget.
	begunFor(t, s, "a1", "k", subjectA, 2)
	begunFor(t, s, "a2", "k", subjectA, 5)
	attempt(t, s, "a1", now, nil)
	attempt(t, s, "a1", now, nil)
	attempt(t, s, "a1", now, store.ErrAttemptsExhausted)
	attempt(t, s, "a2", now, nil)
	attempt(t, s, "a2", now, nil)
	attempt(t, s, "a2", now, store.ErrSubjectAttempts)
	if n := attemptsOf(t, s, "a2"); n != 2 {
		t.Fatalf("a refused attempt was counted: a2 has %d attempts, want 2", n)
	}
	// The token's own refusals come first.
	attempt(t, s, "a1", now, store.ErrAttemptsExhausted)
	begin(t, s, "a1", now, store.ErrAttemptsExhausted)
	// A token that is capturing is refused a new capture.
	begin(t, s, "a2", now, store.ErrSubjectAttempts)
	if v, _ := s.Verification(ctx, "a2"); v.Status != store.StatusProcessing || v.Attempts != 2 {
		t.Errorf("refused BeginCapture changed a2: status %s, %d attempts", v.Status, v.Attempts)
	}
	// A new token of the uuid is refused at its first hello, and stays
	// NOT_STARTED.
	v := newVerification("a3", "k")
	v.Subject = subjectA
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "a3", now, store.ErrSubjectAttempts)
	if v, _ := s.Verification(ctx, "a3"); v.Status != store.StatusNotStarted || v.Attempts != 0 {
		t.Errorf("refused BeginCapture changed a3: status %s, %d attempts", v.Status, v.Attempts)
	}
	// A spent budget still lets a verification end.
	if err := s.FinishVerification(ctx, "a2", &store.Outcome{Status: store.StatusFailed, At: now}); err != nil {
		t.Errorf("FinishVerification with the uuid's budget spent: %v", err)
	}

	// Another uuid of the key, the same subject under another key, and a
	// verification without a subject each have budgets of their own, or
	// none.
	begunFor(t, s, "b", "k", subjectB, 5)
	for range 4 {
		attempt(t, s, "b", now, nil)
	}
	attempt(t, s, "b", now, store.ErrSubjectAttempts)
	begunFor(t, s, "o", "other", subjectA, 5)
	for range 4 {
		attempt(t, s, "o", now, nil)
	}
	begunFor(t, s, "none", "k", nil, 5)
	for range 5 {
		attempt(t, s, "none", now, nil)
	}
	attempt(t, s, "none", now, store.ErrAttemptsExhausted)

	// The key's budget applies as it is now: raising it gives the uuid
	// what it adds.
	k, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	k.AttemptsPerUUID = 5
	if err := s.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "a3", now, nil)
	attempt(t, s, "a3", now, nil)
	attempt(t, s, "a3", now, store.ErrSubjectAttempts)
}

func testSubjectBudgetWindow(t *testing.T, s store.Store) {
	budgetKey(t, s, "k", 3)
	begunFor(t, s, "tok", "k", subjectA, 5)
	early, late := t0.Add(time.Minute), t0.Add(time.Hour)
	attempt(t, s, "tok", early, nil)
	attempt(t, s, "tok", late, nil)
	attempt(t, s, "tok", late, nil)
	attempt(t, s, "tok", late, store.ErrSubjectAttempts)
	// Each attempt counts for SubjectWindow after it, up to the instant:
	// the early one still counts just before early + SubjectWindow, no
	// longer at it.
	attempt(t, s, "tok", early.Add(store.SubjectWindow-time.Nanosecond), store.ErrSubjectAttempts)
	attempt(t, s, "tok", early.Add(store.SubjectWindow), nil)
	attempt(t, s, "tok", early.Add(store.SubjectWindow), store.ErrSubjectAttempts)
	// Past late + SubjectWindow only the last one counts.
	v := newVerification("next", "k")
	v.Subject = subjectA
	v.LifeTime = 48 * time.Hour
	v.ExpiresAt = t0.Add(v.LifeTime)
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "next", late.Add(store.SubjectWindow-time.Nanosecond), store.ErrSubjectAttempts)
	begin(t, s, "next", late.Add(store.SubjectWindow), nil)
	attempt(t, s, "next", late.Add(store.SubjectWindow), nil)
	attempt(t, s, "next", late.Add(store.SubjectWindow), nil)
	attempt(t, s, "next", late.Add(store.SubjectWindow), store.ErrSubjectAttempts)
}

func testSubjectBudgetPurge(t *testing.T, s store.Store) {
	k := newKey("k")
	k.AttemptsPerUUID, k.ResultRetention = 2, time.Hour
	mustCreateKey(t, s, k)

	// A finished verification is purged, and its subject blanked with
	// the uuid, but the attempts it used still count.
	begunFor(t, s, "done", "k", subjectA, 5)
	attempt(t, s, "done", t0, nil)
	attempt(t, s, "done", t0.Add(time.Minute), nil)
	end := t0.Add(2 * time.Minute)
	if err := s.FinishVerification(ctx, "done", &store.Outcome{Status: store.StatusFailed, At: end}); err != nil {
		t.Fatal(err)
	}
	sweep := end.Add(time.Hour)
	if p, err := s.PurgeVerifications(ctx, sweep); err != nil || p.Records != 1 {
		t.Fatalf("PurgeVerifications = %+v, %v; want the finished record purged", p, err)
	}
	if v, err := s.Verification(ctx, "done"); err != nil || v.Subject != nil || v.UUID != "" {
		t.Fatalf("purged record = %+v, %v; want no subject and no uuid", v, err)
	}
	v := newVerification("again", "k")
	v.Subject = subjectA
	v.IssuedAt, v.ExpiresAt = sweep, sweep.Add(48*time.Hour)
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "again", sweep, store.ErrSubjectAttempts)

	// A sweep deletes the attempts older than the window and keeps the
	// others: a count at an instant when the deleted one would still be
	// in the window finds only the kept one. (The store takes its times
	// from callers, which lets the test look back.)
	if _, err := s.PurgeVerifications(ctx, t0.Add(store.SubjectWindow+30*time.Second)); err != nil {
		t.Fatal(err)
	}
	begin(t, s, "again", t0.Add(2*time.Minute), nil)
	attempt(t, s, "again", t0.Add(2*time.Minute), nil)
	attempt(t, s, "again", t0.Add(2*time.Minute), store.ErrSubjectAttempts)
}

func testSubjectBudgetDeleteKey(t *testing.T, s store.Store) {
	budgetKey(t, s, "k", 1)
	budgetKey(t, s, "other", 1)
	begunFor(t, s, "tok", "k", subjectA, 5)
	begunFor(t, s, "o", "other", subjectA, 5)
	attempt(t, s, "tok", t0, nil)
	attempt(t, s, "o", t0, nil)
	if err := s.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	// A key created again under the same ID starts with no attempts
	// recorded; the other key's stay.
	budgetKey(t, s, "k", 1)
	begunFor(t, s, "tok2", "k", subjectA, 5)
	attempt(t, s, "tok2", t0, nil)
	attempt(t, s, "tok2", t0, store.ErrSubjectAttempts)
	attempt(t, s, "o", t0, store.ErrSubjectAttempts)
}

// testSubjectBudgetConcurrent counts attempts of one uuid from many
// callers over several tokens at once: the budget must hold exactly,
// however the backend serialises them.
func testSubjectBudgetConcurrent(t *testing.T, s store.Store) {
	const budget, tokens, callers = 7, 5, 20
	budgetKey(t, s, "k", budget)
	for i := range tokens {
		begunFor(t, s, fmt.Sprint("tok", i), "k", subjectA, 5)
	}
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		counted    int
		refused    int
		unexpected []error
	)
	for i := range callers {
		wg.Go(func() {
			_, err := s.CountAttempt(ctx, fmt.Sprint("tok", i%tokens), t0.Add(time.Minute))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				counted++
			case errors.Is(err, store.ErrSubjectAttempts):
				refused++
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected errors: %v", unexpected)
	}
	if counted != budget || refused != callers-budget {
		t.Fatalf("%d attempts counted and %d refused, want %d and %d", counted, refused, budget, callers-budget)
	}
	total := 0
	for i := range tokens {
		total += attemptsOf(t, s, fmt.Sprint("tok", i))
	}
	if total != budget {
		t.Fatalf("the tokens hold %d attempts between them, want %d", total, budget)
	}
	begunFor(t, s, "late", "k", subjectB, 5) // another uuid is unaffected
	attempt(t, s, "late", t0.Add(time.Minute), nil)
}
