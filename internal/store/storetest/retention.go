package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// createWithRetention stores a verification of a new key whose results are
// kept for retention (0: the default).
func createWithRetention(t *testing.T, s store.Store, keyID, token string, retention time.Duration) *store.Verification {
	t.Helper()
	if _, err := s.Key(ctx, keyID); errors.Is(err, store.ErrNotFound) {
		k := newKey(keyID)
		k.ResultRetention = retention
		mustCreateKey(t, s, k)
	}
	v := newVerification(token, keyID)
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func testKeyRetentionBounds(t *testing.T, s store.Store) {
	for _, d := range []time.Duration{-time.Minute, time.Second, store.MaxResultRetention + time.Second} {
		k := newKey(fmt.Sprint("k", int64(d)))
		k.ResultRetention = d
		if err := s.CreateKey(ctx, k); err == nil {
			t.Errorf("CreateKey with ResultRetention %v: no error", d)
		}
	}
	k := newKey("ok")
	mustCreateKey(t, s, k)
	k.ResultRetention = 25 * time.Hour
	if err := s.UpdateKey(ctx, k); err == nil {
		t.Error("UpdateKey with ResultRetention 25h: no error")
	}
}

func testUpdateKey(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	if err := s.CreateVerification(ctx, newVerification("before", "k")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetKeyNotify(ctx, "k", "https://h.example/n", []byte("sealed"), []byte("hash-of-k")); err != nil {
		t.Fatal(err)
	}
	k, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	k.Name, k.CallLimit, k.ResultRetention = "renamed", 7, 2*time.Hour
	k.NotifyURL, k.NotifySecret = "https://other.example/", []byte("stale") // SetKeyNotify's: ignored
	k.Calls, k.Disabled, k.SecretHash = 999, true, []byte("other")          // not settings: ignored
	if err := s.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "renamed" || got.CallLimit != 7 || got.ResultRetention != 2*time.Hour ||
		got.NotifyURL != "https://h.example/n" || string(got.NotifySecret) != "sealed" {
		t.Errorf("settings after UpdateKey = %+v", got)
	}
	if got.Calls != 1 || got.Disabled || string(got.SecretHash) != "hash-of-k" {
		t.Errorf("UpdateKey changed Calls/Disabled/SecretHash: %+v", got)
	}
	// Nor can it turn notifications off.
	got.NotifyURL, got.NotifySecret = "", nil
	if err := s.UpdateKey(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Key(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got.NotifyURL != "https://h.example/n" || string(got.NotifySecret) != "sealed" {
		t.Errorf("UpdateKey turned notifications off: %q, sealed %q", got.NotifyURL, got.NotifySecret)
	}
	if err := s.UpdateKey(ctx, newKey("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateKey of unknown key: %v", err)
	}

	// A verification keeps the retention its key had when it was issued.
	if err := s.CreateVerification(ctx, newVerification("after", "k")); err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]time.Duration{"before": store.MaxResultRetention, "after": 2 * time.Hour} {
		v, err := s.Verification(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if v.ResultRetention != want {
			t.Errorf("%s: ResultRetention = %v, want %v", token, v.ResultRetention, want)
		}
	}
}

func testReadResultKeyRetention(t *testing.T, s store.Store) {
	createWithRetention(t, s, "k", "tok", time.Hour)
	end := t0.Add(10 * time.Minute)
	finish(t, s, "tok", store.StatusOK, end)
	if r, err := s.ReadResult(ctx, "tok", "k", end.Add(59*time.Minute)); err != nil || r.ResultRetention != time.Hour {
		t.Fatalf("read within the key's hour = %+v, %v", r, err)
	}
	if _, err := s.ReadResult(ctx, "tok", "k", end.Add(time.Hour)); !errors.Is(err, store.ErrResultGone) {
		t.Errorf("read at terminal + 1h: %v, want ErrResultGone", err)
	}
}

func testPurge(t *testing.T, s store.Store) {
	end := t0.Add(5 * time.Minute)
	createWithRetention(t, s, "short", "old", time.Hour) // finished, retention over at the sweep
	finish(t, s, "old", store.StatusOK, end)
	createWithRetention(t, s, "short", "fresh", time.Hour) // finished, still readable
	finish(t, s, "fresh", store.StatusFailed, end.Add(30*time.Minute))
	createWithRetention(t, s, "long", "readout", 0) // read three times: nothing left to serve
	finish(t, s, "readout", store.StatusOK, end)
	for range store.MaxResultReads {
		if _, err := s.ReadResult(ctx, "readout", "long", end); err != nil {
			t.Fatal(err)
		}
	}
	createWithRetention(t, s, "short", "lapsed", time.Hour) // never started; life_time ends t0+60m
	createWithRetention(t, s, "long", "kept", 0)            // default day
	finish(t, s, "kept", store.StatusOK, end)
	if err := s.RecordUsage(ctx, store.UsageEvent{KeyID: "short", Endpoint: "get_token", Outcome: "OK", RequestID: "r"}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Usage(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	sweep := end.Add(61 * time.Minute)
	p, err := s.PurgeVerifications(ctx, sweep)
	if err != nil {
		t.Fatal(err)
	}
	if p.Records != 2 || p.Tombstones != 0 {
		t.Errorf("first sweep = %+v, want 2 records (old, readout)", p)
	}
	for token, purged := range map[string]bool{"old": true, "readout": true, "fresh": false, "lapsed": false, "kept": false} {
		v, err := s.Verification(ctx, token)
		if err != nil {
			t.Fatalf("%s: %v", token, err)
		}
		r, err := s.Result(ctx, token)
		if err != nil {
			t.Fatalf("%s: %v", token, err)
		}
		if !purged {
			if len(v.Refs) == 0 || !r.PurgedAt.IsZero() {
				t.Errorf("%s: purged too early (refs %d, PurgedAt %v)", token, len(v.Refs), r.PurgedAt)
			}
			continue
		}
		if len(v.Refs) != 0 || v.UUID != "" || v.BizNo != nil {
			t.Errorf("%s: personal data left: refs %d, uuid %q, biz_no %v", token, len(v.Refs), v.UUID, v.BizNo)
		}
		if r.Liveness != nil || r.Verify != nil || len(r.Images) != 0 || r.BizNo != nil {
			t.Errorf("%s: result data left: %+v", token, r)
		}
		if !r.PurgedAt.Equal(sweep) || r.Status != store.StatusOK || r.TerminalAt.IsZero() {
			t.Errorf("%s: tombstone = status %s, terminal %v, purged %v", token, r.Status, r.TerminalAt, r.PurgedAt)
		}
	}
	// The lapsed record was moved to FAILED at its ExpiresAt by the sweep
	// and is kept for its own hour from then.
	if r, _ := s.Result(ctx, "lapsed"); r.Status != store.StatusFailed || !r.TerminalAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("lapsed = %s at %v, want FAILED at life_time's end", r.Status, r.TerminalAt)
	}
	// A tombstone answers like a used-up result, never as unknown.
	if _, err := s.ReadResult(ctx, "readout", "long", sweep); !errors.Is(err, store.ErrResultGone) {
		t.Errorf("read of a purged result: %v, want ErrResultGone", err)
	}
	after, err := s.Usage(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("ledger changed by the purge:\n%v\nwant\n%v", after, before)
	}

	// Sweeping again purges nothing twice.
	if p, err := s.PurgeVerifications(ctx, sweep); err != nil || p != (store.Purge{}) {
		t.Errorf("second sweep = %+v, %v", p, err)
	}
	day := end.Add(store.MaxResultRetention)
	if p, err := s.PurgeVerifications(ctx, day); err != nil || p.Records != 3 {
		t.Errorf("sweep a day later = %+v, %v; want fresh, lapsed and kept", p, err)
	}
	if p, err := s.PurgeVerifications(ctx, sweep.Add(store.TombstoneRetention)); err != nil || p.Tombstones != 2 {
		t.Errorf("sweep after the tombstone retention = %+v, %v; want 2 tombstones", p, err)
	}
	if _, err := s.Result(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old tombstone: %v, want ErrNotFound", err)
	}
	if _, err := s.Result(ctx, "kept"); err != nil {
		t.Errorf("younger tombstone: %v", err)
	}
}

func testUsageEvents(t *testing.T, s store.Store) {
	for i, e := range []store.UsageEvent{
		{KeyID: "a", Endpoint: "get_token", Outcome: "OK", At: t0.Add(2 * time.Hour)},
		{KeyID: "a", Endpoint: store.BillableEndpoint, Outcome: "OK", Billed: true, At: t0},
		{KeyID: "b", Endpoint: "get_token", Outcome: "OK", At: t0.Add(time.Hour)},
		{KeyID: "a", Endpoint: "get_result", Outcome: "RESULT_NOT_FOUND", At: t0.Add(time.Hour)},
		{KeyID: "a", Endpoint: "get_token", Outcome: "BAD_ARGUMENTS", At: t0.Add(time.Hour)},
	} {
		e.RequestID = fmt.Sprint("r", i)
		if err := s.RecordUsage(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(key string, from, to time.Time) (got []string) {
		t.Helper()
		err := s.UsageEvents(ctx, key, from, to, func(e store.UsageEvent) error {
			got = append(got, e.RequestID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tc := range []struct {
		key      string
		from, to time.Time
		want     string
	}{
		{"a", time.Time{}, time.Time{}, "[r1 r3 r4 r0]"}, // by time, then insertion
		{"", time.Time{}, time.Time{}, "[r1 r2 r3 r4 r0]"},
		{"a", t0.Add(time.Hour), time.Time{}, "[r3 r4 r0]"},     // from is inclusive
		{"a", time.Time{}, t0.Add(2 * time.Hour), "[r1 r3 r4]"}, // to is exclusive
		{"b", t0, t0.Add(time.Hour), "[]"},
		{"nobody", time.Time{}, time.Time{}, "[]"},
	} {
		if got := fmt.Sprint(ids(tc.key, tc.from, tc.to)); got != tc.want {
			t.Errorf("UsageEvents(%q, %v, %v) = %s, want %s", tc.key, tc.from, tc.to, got, tc.want)
		}
	}
	// Usage totals the same range.
	counts, err := s.Usage(ctx, "a", t0.Add(time.Hour), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(counts); got != "[{a get_result RESULT_NOT_FOUND false 1} {a get_token BAD_ARGUMENTS false 1}]" {
		t.Errorf("Usage(a, [t0+1h, t0+2h)) = %s", got)
	}
	if counts, err := s.Usage(ctx, "", time.Time{}, t0.Add(time.Nanosecond)); err != nil || fmt.Sprint(counts) != "[{a verification OK true 1}]" {
		t.Errorf("Usage(all, [-, t0]) = %v, %v", counts, err)
	}
	var first store.UsageEvent
	stop := errors.New("stop")
	n := 0
	err = s.UsageEvents(ctx, "a", time.Time{}, time.Time{}, func(e store.UsageEvent) error {
		n++
		first = e
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("UsageEvents with a failing fn = %v after %d calls", err, n)
	}
	if !first.At.Equal(t0) || !first.Billed || first.Endpoint != store.BillableEndpoint || first.KeyID != "a" || first.Outcome != "OK" {
		t.Errorf("first event = %+v", first)
	}
}
