// Package storetest is the conformance suite for store.Store
// implementations. A backend's tests call Run with a constructor for empty
// stores; every backend must pass the same suite.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// Run runs the conformance suite. newStore must return a new, empty,
// opened store for each call; Run closes it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Ping", testPing},
		{"KeyRoundTrip", testKeyRoundTrip},
		{"KeyDefaults", testKeyDefaults},
		{"KeyConflict", testKeyConflict},
		{"KeyNotFound", testKeyNotFound},
		{"KeysOrdered", testKeysOrdered},
		{"KeyDisable", testKeyDisable},
		{"KeyRotate", testKeyRotate},
		{"KeyRotateExpiry", testKeyRotateExpiry},
		{"KeyRotateTwice", testKeyRotateTwice},
		{"KeyRotateConcurrent", testKeyRotateConcurrent},
		{"KeySetNotify", testKeySetNotify},
		{"VerificationRoundTrip", testVerificationRoundTrip},
		{"VerificationNotFound", testVerificationNotFound},
		{"VerificationTokenConflict", testVerificationTokenConflict},
		{"VerificationUnknownKey", testVerificationUnknownKey},
		{"CallLimit", testCallLimit},
		{"CallLimitConcurrent", testCallLimitConcurrent},
		{"DeleteKeyCascades", testDeleteKeyCascades},
		{"Usage", testUsage},
		{"CaptureLifecycle", testCaptureLifecycle},
		{"CaptureRefusals", testCaptureRefusals},
		{"CaptureExpiry", testCaptureExpiry},
		{"ExpireSweep", testExpireSweep},
		{"AttemptsConcurrent", testAttemptsConcurrent},
		{"FinishConcurrent", testFinishConcurrent},
		{"Billing", testBilling},
		{"ResultNotFound", testResultNotFound},
		{"ResultsDeletedWithKey", testResultsDeletedWithKey},
		{"ReadResultCounting", testReadResultCounting},
		{"ReadResultRetention", testReadResultRetention},
		{"ReadResultOwnership", testReadResultOwnership},
		{"ReadResultExpiry", testReadResultExpiry},
		{"ReadResultConcurrent", testReadResultConcurrent},
		{"ReadRaceFinish", onOneStore(raceReadFinish)},
		{"ReadRaceExpiry", onOneStore(raceReadExpiry)},
		{"ReadRacePurge", onOneStore(raceReadPurge)},
		{"KeyRetentionBounds", testKeyRetentionBounds},
		{"UpdateKey", testUpdateKey},
		{"ReadResultKeyRetention", testReadResultKeyRetention},
		{"Purge", testPurge},
		{"UsageEvents", testUsageEvents},
		{"ClaimCapture", testClaimCapture},
		{"ClaimCaptureConcurrent", testClaimCaptureConcurrent},
		{"FlashSequenceRoundTrip", testFlashSequenceRoundTrip},
		{"FlashSequenceRefusals", testFlashSequenceRefusals},
		{"FlashSequenceOnePerToken", testFlashSequenceOnePerToken},
		{"FlashSequenceStale", testFlashSequenceStale},
		{"FlashSequenceTakeConcurrent", testFlashSequenceTakeConcurrent},
		{"FlashSequenceDeleted", testFlashSequenceDeleted},
		{"NotifyQueued", testNotifyQueued},
		{"NotifyDueAtTerminal", testNotifyDueAtTerminal},
		{"NotifyOnce", testNotifyOnce},
		{"NotifyFollowsKey", testNotifyFollowsKey},
		{"NotifyClaimLease", testNotifyClaimLease},
		{"NotifyRecordDelivery", testNotifyRecordDelivery},
		{"NotifyClaimLost", testNotifyClaimLost},
		{"NotifyGone", testNotifyGone},
		{"NotifyDeliveries", testNotifyDeliveries},
		{"KeyCaptureSettings", testKeyCaptureSettings},
		{"SubjectRoundTrip", testSubjectRoundTrip},
		{"SubjectBudget", testSubjectBudget},
		{"SubjectBudgetWindow", testSubjectBudgetWindow},
		{"SubjectBudgetPurge", testSubjectBudgetPurge},
		{"SubjectBudgetDeleteKey", testSubjectBudgetDeleteKey},
		{"SubjectBudgetConcurrent", testSubjectBudgetConcurrent},
		{"RecordingRoundTrip", testRecordingRoundTrip},
		{"RecordingPurge", testRecordingPurge},
		{"RecordingConcurrent", testRecordingConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

// t0 has a non-zero nanosecond part and a non-UTC zone, to catch backends
// that truncate or mangle times.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 2*3600))

func newKey(id string) *store.Key {
	return &store.Key{
		ID:          id,
		Name:        "key " + id,
		SecretHash:  []byte("hash-of-" + id),
		CanCompare:  true,
		Concurrency: 10,
		CreatedAt:   t0,
	}
}

func mustCreateKey(t *testing.T, s store.Store, k *store.Key) {
	t.Helper()
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatalf("CreateKey(%s): %v", k.ID, err)
	}
}

func newVerification(token, keyID string) *store.Verification {
	biz := "order-1"
	return &store.Verification{
		Token:                    token,
		KeyID:                    keyID,
		BizNo:                    &biz,
		UUID:                     "user-42",
		ColorNumber:              6,
		LivenessPreferences:      "none",
		Language:                 "0",
		ProcedureType:            "raw_flash",
		ComparisonType:           "0",
		MaxUploadTimes:           5,
		LifeTime:                 60 * time.Minute,
		FailWhenRefMultipleFaces: true,
		Status:                   store.StatusNotStarted,
		IssuedAt:                 t0,
		ExpiresAt:                t0.Add(60 * time.Minute),
		Refs: []store.Reference{{
			Index:     1,
			Model:     "test-model-v1",
			Embedding: []float32{0.25, -1.5, 3.0e-7, 42},
			Crop:      []byte{0xff, 0xd8, 1, 2, 3, 0xff, 0xd9},
			Box:       image.Rect(10, 20, 110, 140),
		}},
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func testKeyRoundTrip(t *testing.T, s store.Store) {
	want := &store.Key{
		ID:              "k1",
		Name:            "Acme prod",
		SecretHash:      []byte{0, 1, 2, 0xfe, 0xff},
		Disabled:        true,
		CanCompare:      false,
		AllowedIPs:      []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("192.0.2.7/32")},
		CallLimit:       100,
		Concurrency:     3,
		AllowedOrigins:  []string{"https://a.example", "https://b.example:8443"},
		ResultRetention: 90 * time.Minute,
		NotifyURL:       "https://hooks.example/glint",
		NotifySecret:    []byte{9, 8, 7},
		CreatedAt:       t0,

		AllowUploadFallback: true,
		AttemptsPerUUID:     7,
	}
	in := *want
	mustCreateKey(t, s, &in)
	got, err := s.Key(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Key = %+v\nwant  %+v", got, want)
	}
}

func testKeyDefaults(t *testing.T, s store.Store) {
	k := &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1, Calls: 99}
	mustCreateKey(t, s, k)
	got, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() {
		t.Error("zero CreatedAt was not filled in")
	}
	if got.Calls != 0 {
		t.Errorf("new key has Calls = %d", got.Calls)
	}
	if got.AllowedIPs != nil || got.AllowedOrigins != nil {
		t.Errorf("empty lists came back as %#v, %#v", got.AllowedIPs, got.AllowedOrigins)
	}
	if got.ResultRetention != store.MaxResultRetention || got.NotifyURL != "" || got.NotifySecret != nil {
		t.Errorf("defaults: ResultRetention %v, NotifyURL %q, NotifySecret %v; want %v, empty, nil",
			got.ResultRetention, got.NotifyURL, got.NotifySecret, store.MaxResultRetention)
	}
	if got.AllowUploadFallback || got.AttemptsPerUUID != store.DefaultAttemptsPerUUID {
		t.Errorf("defaults: AllowUploadFallback %v, AttemptsPerUUID %d; want false, %d",
			got.AllowUploadFallback, got.AttemptsPerUUID, store.DefaultAttemptsPerUUID)
	}
}

func testKeyConflict(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("dup"))
	if err := s.CreateKey(ctx, newKey("dup")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateKey: %v, want ErrConflict", err)
	}
}

func testKeyNotFound(t *testing.T, s store.Store) {
	if _, err := s.Key(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Key: %v", err)
	}
	if err := s.SetKeyDisabled(ctx, "nope", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetKeyDisabled: %v", err)
	}
	if err := s.DeleteKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteKey: %v", err)
	}
}

func testKeysOrdered(t *testing.T, s store.Store) {
	if keys, err := s.Keys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("empty store: %v, %v", keys, err)
	}
	for i, id := range []string{"c", "a", "b"} {
		k := newKey(id)
		k.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		mustCreateKey(t, s, k)
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	if want := []string{"c", "a", "b"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("Keys order %v, want %v (by creation time)", ids, want)
	}
}

func testKeyDisable(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	for _, disabled := range []bool{true, true, false, true, false} {
		if err := s.SetKeyDisabled(ctx, "k", disabled); err != nil {
			t.Fatal(err)
		}
		k, err := s.Key(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if k.Disabled != disabled {
			t.Fatalf("Disabled = %v, want %v", k.Disabled, disabled)
		}
	}
}

func testVerificationRoundTrip(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	want := newVerification("tok-1", "k")
	want.MultiOrientedDetection = true
	want.ReturnMultifacesTag = true
	want.FaceOcclusionDetection = true
	want.FailWhenRefMultipleFaces = false
	want.Refs = append(want.Refs, store.Reference{
		Index:     2,
		Model:     "test-model-v1",
		Embedding: []float32{1, 2},
		Crop:      []byte{9},
		Box:       image.Rect(0, 0, 5, 5),
		Original:  []byte("original photo bytes"),
	})
	if err := s.CreateVerification(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Verification(ctx, "tok-1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times %v..%v, want %v..%v", got.IssuedAt, got.ExpiresAt, want.IssuedAt, want.ExpiresAt)
	}
	g, w := *got, *want
	g.IssuedAt, g.ExpiresAt, w.IssuedAt, w.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("Verification = %+v\nwant           %+v", g, w)
	}

	// biz_no absent and biz_no empty are different things to echo.
	for i, biz := range []*string{nil, new(string)} {
		v := newVerification(fmt.Sprintf("tok-biz-%d", i), "k")
		v.BizNo = biz
		if err := s.CreateVerification(ctx, v); err != nil {
			t.Fatal(err)
		}
		got, err := s.Verification(ctx, v.Token)
		if err != nil {
			t.Fatal(err)
		}
		if (got.BizNo == nil) != (biz == nil) || (biz != nil && *got.BizNo != *biz) {
			t.Errorf("BizNo %v came back as %v", biz, got.BizNo)
		}
	}
}

func testVerificationNotFound(t *testing.T, s store.Store) {
	if _, err := s.Verification(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Verification: %v, want ErrNotFound", err)
	}
}

func testVerificationTokenConflict(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	if err := s.CreateVerification(ctx, newVerification("same", "k")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVerification(ctx, newVerification("same", "k")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate token: %v, want ErrConflict", err)
	}
	// The failed call must not have been counted.
	k, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if k.Calls != 1 {
		t.Fatalf("Calls = %d after one success and one conflict, want 1", k.Calls)
	}
}

func testVerificationUnknownKey(t *testing.T, s store.Store) {
	if err := s.CreateVerification(ctx, newVerification("t", "ghost")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateVerification for unknown key: %v, want ErrNotFound", err)
	}
}

func testCallLimit(t *testing.T, s store.Store) {
	k := newKey("k")
	k.CallLimit = 3
	mustCreateKey(t, s, k)
	for i := range 3 {
		if err := s.CreateVerification(ctx, newVerification(fmt.Sprint("t", i), "k")); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if err := s.CreateVerification(ctx, newVerification("t3", "k")); !errors.Is(err, store.ErrLimitReached) {
		t.Fatalf("call 4: %v, want ErrLimitReached", err)
	}
	if _, err := s.Verification(ctx, "t3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused verification was stored: %v", err)
	}
	got, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got.Calls != 3 {
		t.Fatalf("Calls = %d, want 3", got.Calls)
	}

	// Unlimited keys count too.
	mustCreateKey(t, s, newKey("free"))
	for i := range 5 {
		if err := s.CreateVerification(ctx, newVerification(fmt.Sprint("f", i), "free")); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Key(ctx, "free"); got.Calls != 5 {
		t.Fatalf("unlimited key Calls = %d, want 5", got.Calls)
	}
}

func testCallLimitConcurrent(t *testing.T, s store.Store) {
	const limit, callers = 5, 20
	k := newKey("k")
	k.CallLimit = limit
	mustCreateKey(t, s, k)
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		ok, limited    int
		unexpectedErrs []error
	)
	for i := range callers {
		wg.Go(func() {
			err := s.CreateVerification(ctx, newVerification(fmt.Sprint("c", i), "k"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrLimitReached):
				limited++
			default:
				unexpectedErrs = append(unexpectedErrs, err)
			}
		})
	}
	wg.Wait()
	if len(unexpectedErrs) > 0 {
		t.Fatalf("unexpected errors: %v", unexpectedErrs)
	}
	if ok != limit || limited != callers-limit {
		t.Fatalf("%d succeeded and %d were limited, want %d and %d", ok, limited, limit, callers-limit)
	}
	if got, _ := s.Key(ctx, "k"); got.Calls != limit {
		t.Fatalf("Calls = %d, want %d", got.Calls, limit)
	}
}

func testDeleteKeyCascades(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	mustCreateKey(t, s, newKey("other"))
	if err := s.CreateVerification(ctx, newVerification("t", "k")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateVerification(ctx, newVerification("t-other", "other")); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordUsage(ctx, store.UsageEvent{KeyID: "k", Endpoint: "get_token", Outcome: "OK", RequestID: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Key(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted key: %v", err)
	}
	if _, err := s.Verification(ctx, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("verification of deleted key: %v", err)
	}
	if _, err := s.Verification(ctx, "t-other"); err != nil {
		t.Errorf("other key's verification: %v", err)
	}
	if u, err := s.Usage(ctx, "k", time.Time{}, time.Time{}); err != nil || len(u) != 1 {
		t.Errorf("ledger of deleted key = %v, %v; want it kept", u, err)
	}
}

func testUsage(t *testing.T, s store.Store) {
	events := []store.UsageEvent{
		{KeyID: "b", Endpoint: "get_token", Outcome: "OK"},
		{KeyID: "a", Endpoint: "get_token", Outcome: "OK"},
		{KeyID: "a", Endpoint: "get_token", Outcome: "BAD_ARGUMENTS"},
		{KeyID: "a", Endpoint: "get_token", Outcome: "OK"},
		{KeyID: "a", Endpoint: "get_result", Outcome: "OK", Billed: true},
		{KeyID: "a", Endpoint: "get_result", Outcome: "OK", Billed: false, At: t0},
	}
	for i, e := range events {
		e.RequestID = fmt.Sprint("r", i)
		if err := s.RecordUsage(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Usage(ctx, "a", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UsageCount{
		{KeyID: "a", Endpoint: "get_result", Outcome: "OK", Billed: false, Count: 1},
		{KeyID: "a", Endpoint: "get_result", Outcome: "OK", Billed: true, Count: 1},
		{KeyID: "a", Endpoint: "get_token", Outcome: "BAD_ARGUMENTS", Count: 1},
		{KeyID: "a", Endpoint: "get_token", Outcome: "OK", Count: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Usage(a) = %+v\nwant %+v", got, want)
	}
	all, err := s.Usage(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[4].KeyID != "b" {
		t.Errorf("Usage(all) = %+v", all)
	}
	if none, err := s.Usage(ctx, "nobody", time.Time{}, time.Time{}); err != nil || len(none) != 0 {
		t.Errorf("Usage(nobody) = %v, %v", none, err)
	}
}
