package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// hookURL is the NotifyURL of the keys created by notifyKey.
const hookURL = "https://hooks.example/glint"

// notifyKey creates a key with notifications on.
func notifyKey(t *testing.T, s store.Store, id string) *store.Key {
	t.Helper()
	k := newKey(id)
	k.NotifyURL = hookURL + "/" + id
	k.NotifySecret = []byte("sealed-secret-of-" + id)
	mustCreateKey(t, s, k)
	return k
}

// createFor stores a new verification of keyID.
func createFor(t *testing.T, s store.Store, token, keyID string) *store.Verification {
	t.Helper()
	v := newVerification(token, keyID)
	if err := s.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// claimTokens claims every notification due at now (with a lease long
// enough to outlast the test) and returns them by token.
func claimTokens(t *testing.T, s store.Store, now time.Time) map[string]store.Notification {
	t.Helper()
	ns, err := s.ClaimNotifications(ctx, now, time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	byToken := map[string]store.Notification{}
	for _, n := range ns {
		if _, dup := byToken[n.Token]; dup {
			t.Fatalf("token %s claimed twice in one call", n.Token)
		}
		byToken[n.Token] = n
	}
	return byToken
}

func sortedTokens(m map[string]store.Notification) []string {
	var ts []string
	for t := range m {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// Every path to OK or FAILED queues one notification, and only for keys
// with a NotifyURL; it is due from the terminal time on.
func testNotifyQueued(t *testing.T, s store.Store) {
	hooked := notifyKey(t, s, "hooked")
	mustCreateKey(t, s, newKey("plain"))
	var expiresAt time.Time
	for _, tok := range []string{"ok", "failed", "sweep", "hello", "attempt", "read", "pending", "processing"} {
		expiresAt = createFor(t, s, tok, "hooked").ExpiresAt
	}
	createFor(t, s, "plain-ok", "plain")
	createFor(t, s, "plain-expired", "plain")

	okAt, failedAt := t0.Add(time.Minute), t0.Add(2*time.Minute)
	finish(t, s, "ok", store.StatusOK, okAt)
	finish(t, s, "failed", store.StatusFailed, failedAt)
	finish(t, s, "plain-ok", store.StatusOK, okAt)
	for _, tok := range []string{"attempt", "processing"} {
		if _, err := s.BeginCapture(ctx, tok, t0); err != nil {
			t.Fatal(err)
		}
	}
	if got := claimTokens(t, s, expiresAt.Add(-time.Second)); !reflect.DeepEqual(sortedTokens(got), []string{"failed", "ok"}) {
		t.Fatalf("due before any expiry: %v, want failed and ok", sortedTokens(got))
	}

	// The expiry transition, on each path that applies it.
	late := expiresAt.Add(time.Minute)
	if n, err := s.ExpireVerifications(ctx, late, "sweep"); err != nil || n != 1 {
		t.Fatalf("ExpireVerifications = %d, %v", n, err)
	}
	if n, err := s.ExpireVerifications(ctx, late, "plain-expired"); err != nil || n != 1 {
		t.Fatalf("ExpireVerifications = %d, %v", n, err)
	}
	if _, err := s.BeginCapture(ctx, "hello", late); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("BeginCapture: %v, want ErrExpired", err)
	}
	if _, err := s.CountAttempt(ctx, "attempt", late); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("CountAttempt: %v, want ErrExpired", err)
	}
	if _, err := s.ReadResult(ctx, "read", "hooked", late); err != nil {
		t.Fatalf("ReadResult: %v", err)
	}

	// Leases from the first claim still hide ok and failed.
	got := claimTokens(t, s, late)
	want := []string{"attempt", "hello", "read", "sweep"}
	if !reflect.DeepEqual(sortedTokens(got), want) {
		t.Fatalf("claimed %v, want %v", sortedTokens(got), want)
	}
	for tok, n := range got {
		if n.KeyID != "hooked" || n.URL != hooked.NotifyURL || string(n.Secret) != string(hooked.NotifySecret) ||
			n.Attempts != 0 || n.ID == 0 {
			t.Errorf("%s: notification %+v", tok, n)
		}
		if !n.CreatedAt.Equal(expiresAt) {
			t.Errorf("%s: CreatedAt %v, want the expiry time %v", tok, n.CreatedAt, expiresAt)
		}
		if !n.NextAttemptAt.Equal(late.Add(time.Hour)) {
			t.Errorf("%s: NextAttemptAt %v, want the lease's end %v", tok, n.NextAttemptAt, late.Add(time.Hour))
		}
	}
	all := claimTokens(t, s, late.Add(2*time.Hour))
	if want := []string{"attempt", "failed", "hello", "ok", "read", "sweep"}; !reflect.DeepEqual(sortedTokens(all), want) {
		t.Fatalf("after the leases: %v, want %v", sortedTokens(all), want)
	}
	if n := all["ok"]; !n.CreatedAt.Equal(okAt) {
		t.Errorf("ok: CreatedAt %v, want the terminal time %v", n.CreatedAt, okAt)
	}
	if n := all["failed"]; !n.CreatedAt.Equal(failedAt) {
		t.Errorf("failed: CreatedAt %v, want the terminal time %v", n.CreatedAt, failedAt)
	}
}

// A notification is due at the terminal time, not before.
func testNotifyDueAtTerminal(t *testing.T, s store.Store) {
	notifyKey(t, s, "k")
	createFor(t, s, "tok", "k")
	at := t0.Add(5 * time.Minute)
	finish(t, s, "tok", store.StatusOK, at)
	if got := claimTokens(t, s, at.Add(-time.Nanosecond)); len(got) != 0 {
		t.Fatalf("claimed before the terminal time: %v", sortedTokens(got))
	}
	if got := claimTokens(t, s, at); len(got) != 1 {
		t.Fatalf("claimed at the terminal time: %v", sortedTokens(got))
	}
}

// Nothing that follows the first terminal transition queues another.
func testNotifyOnce(t *testing.T, s store.Store) {
	notifyKey(t, s, "k")
	v := createFor(t, s, "tok", "k")
	at := t0.Add(time.Minute)
	finish(t, s, "tok", store.StatusOK, at)
	if err := s.FinishVerification(ctx, "tok", &store.Outcome{Status: store.StatusFailed, At: at}); !errors.Is(err, store.ErrFinished) {
		t.Fatalf("second finish: %v", err)
	}
	late := v.ExpiresAt.Add(time.Hour)
	if _, err := s.ExpireVerifications(ctx, late, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginCapture(ctx, "tok", late); !errors.Is(err, store.ErrFinished) {
		t.Fatalf("BeginCapture after the end: %v", err)
	}
	for range store.MaxResultReads {
		if _, err := s.ReadResult(ctx, "tok", "k", at); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int64
	for i := range 3 {
		// Each claim's lease has run out by the next one.
		ns, err := s.ClaimNotifications(ctx, late.Add(time.Duration(i)*time.Hour), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 {
			t.Fatalf("claim %d returned %d notifications, want 1", i+1, len(ns))
		}
		ids = append(ids, ns[0].ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("one token, notification IDs %v", ids)
	}
}

// Turning notifications on later does not notify what already ended;
// turning them off leaves queued notifications without a secret, so the
// deliverer drops them.
func testNotifyFollowsKey(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	createFor(t, s, "before", "k")
	createFor(t, s, "after", "k")
	at := t0.Add(time.Minute)
	finish(t, s, "before", store.StatusOK, at)

	k, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetKeyNotify(ctx, k.ID, hookURL, []byte("sealed"), k.SecretHash); err != nil {
		t.Fatal(err)
	}
	finish(t, s, "after", store.StatusFailed, at)
	got := claimTokens(t, s, at)
	if !reflect.DeepEqual(sortedTokens(got), []string{"after"}) {
		t.Fatalf("claimed %v, want only the verification that ended after notifications were turned on", sortedTokens(got))
	}

	if err := s.SetKeyNotify(ctx, k.ID, "", nil, k.SecretHash); err != nil {
		t.Fatal(err)
	}
	got = claimTokens(t, s, at.Add(2*time.Hour))
	if n, ok := got["after"]; !ok || n.Secret != nil || n.URL != hookURL {
		t.Fatalf("after turning notifications off: %+v, want the queued URL and a nil Secret", got)
	}
}

// Claims are leased: a claimed notification is hidden until the lease
// ends, concurrent claimers never share one, limit and order hold.
func testNotifyClaimLease(t *testing.T, s store.Store) {
	const count = 12
	notifyKey(t, s, "k")
	for i := range count {
		tok := fmt.Sprintf("t%02d", i)
		createFor(t, s, tok, "k")
		// Later tokens end earlier: the claim order is by terminal time.
		finish(t, s, tok, store.StatusOK, t0.Add(time.Duration(count-i)*time.Minute))
	}
	now := t0.Add(time.Hour)
	first, err := s.ClaimNotifications(ctx, now, time.Minute, 3)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, n := range first {
		order = append(order, n.Token)
	}
	if want := []string{"t11", "t10", "t09"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("first claim %v, want the 3 oldest %v", order, want)
	}
	if ns, err := s.ClaimNotifications(ctx, now, time.Minute, 0); err != nil || len(ns) != 0 {
		t.Fatalf("claim with limit 0 = %v, %v", ns, err)
	}

	// The rest, by concurrent claimers of one each.
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		seen       = map[string]int{}
		unexpected []error
	)
	for range 2 * count {
		wg.Go(func() {
			ns, err := s.ClaimNotifications(ctx, now.Add(30*time.Second), time.Minute, 1)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				unexpected = append(unexpected, err)
			}
			for _, n := range ns {
				seen[n.Token]++
			}
		})
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("claim errors: %v", unexpected)
	}
	for tok, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times by concurrent claimers", tok, n)
		}
	}
	if len(seen) != count-3 {
		t.Fatalf("concurrent claimers got %d notifications, want the %d unleased", len(seen), count-3)
	}
	for _, n := range first {
		if seen[n.Token] > 0 {
			t.Errorf("%s claimed again within its lease", n.Token)
		}
	}

	// The first leases end at now + 1m; the others' at now + 1m30s.
	if got := claimTokens(t, s, now.Add(time.Minute-time.Nanosecond)); len(got) != 0 {
		t.Fatalf("claimed before any lease ended: %v", sortedTokens(got))
	}
	if got := claimTokens(t, s, now.Add(time.Minute)); len(got) != 3 {
		t.Fatalf("claimed when the first leases ended: %v, want 3", sortedTokens(got))
	}
	if _, err := s.ClaimNotifications(ctx, now, 0, 1); err == nil {
		t.Error("claim with a zero lease: no error")
	}
}

// RecordDelivery logs the attempt and reschedules or finishes the
// notification.
func testNotifyRecordDelivery(t *testing.T, s store.Store) {
	k := notifyKey(t, s, "k")
	createFor(t, s, "tok", "k")
	at := t0.Add(time.Minute)
	finish(t, s, "tok", store.StatusOK, at)
	n := claimTokens(t, s, at)["tok"]

	fail := store.DeliveryAttempt{
		NotificationID: n.ID, Token: "tok", KeyID: "k", URL: k.NotifyURL,
		Attempt: 1, At: at.Add(time.Second), Duration: 1234567 * time.Nanosecond,
		StatusCode: 500, Error: "HTTP 500 Internal Server Error",
	}
	next := at.Add(10 * time.Minute)
	if err := s.RecordDelivery(ctx, fail, next); err != nil {
		t.Fatal(err)
	}
	// The new due time replaces the claim's lease, earlier or later.
	if got := claimTokens(t, s, next.Add(-time.Nanosecond)); len(got) != 0 {
		t.Fatalf("claimed before the next attempt is due: %v", sortedTokens(got))
	}
	again := claimTokens(t, s, next)["tok"]
	if again.ID != n.ID || again.Attempts != 1 {
		t.Fatalf("rescheduled notification %+v, want ID %d with 1 attempt", again, n.ID)
	}

	ok := fail
	ok.Attempt, ok.At, ok.StatusCode, ok.Error, ok.Delivered = 2, next.Add(time.Second), 204, "", true
	if err := s.RecordDelivery(ctx, ok, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := claimTokens(t, s, next.Add(48*time.Hour)); len(got) != 0 {
		t.Fatalf("a finished notification was claimed: %v", sortedTokens(got))
	}

	log, err := s.Deliveries(ctx, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 {
		t.Fatalf("delivery log has %d rows, want 2: %+v", len(log), log)
	}
	for i, want := range []store.DeliveryAttempt{fail, ok} {
		got := log[i]
		if !got.At.Equal(want.At) {
			t.Errorf("row %d At = %v, want %v", i, got.At, want.At)
		}
		got.At, want.At = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d = %+v\nwant     %+v", i, got, want)
		}
	}

	// A zero At is the store's clock.
	createFor(t, s, "tok2", "k")
	finish(t, s, "tok2", store.StatusFailed, at)
	n2 := claimTokens(t, s, at.Add(72*time.Hour))["tok2"]
	if err := s.RecordDelivery(ctx, store.DeliveryAttempt{NotificationID: n2.ID, Token: "tok2", KeyID: "k", Attempt: 1,
		Error: "given up"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if log, err := s.Deliveries(ctx, "k", "tok2"); err != nil || len(log) != 1 || log[0].At.IsZero() {
		t.Fatalf("row with a zero At: %+v, %v", log, err)
	}
}

// A purged or deleted verification takes its notification with it; the
// delivery log stays.
func testNotifyGone(t *testing.T, s store.Store) {
	notifyKey(t, s, "k")
	notifyKey(t, s, "doomed")
	at := t0.Add(time.Minute)
	for _, tc := range []struct{ token, key string }{{"purged", "k"}, {"kept", "k"}, {"deleted", "doomed"}} {
		createFor(t, s, tc.token, tc.key)
		finish(t, s, tc.token, store.StatusOK, at)
	}
	ns := claimTokens(t, s, at)
	if len(ns) != 3 {
		t.Fatalf("claimed %v, want 3", sortedTokens(ns))
	}
	attempt := func(tok string) store.DeliveryAttempt {
		n := ns[tok]
		return store.DeliveryAttempt{NotificationID: n.ID, Token: tok, KeyID: n.KeyID, URL: n.URL, Attempt: 1,
			At: at, StatusCode: 503, Error: "HTTP 503"}
	}
	for _, tok := range []string{"purged", "deleted"} {
		if err := s.RecordDelivery(ctx, attempt(tok), at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	// Reading the result three times makes it purgeable at once.
	for range store.MaxResultReads {
		if _, err := s.ReadResult(ctx, "purged", "k", at); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := s.PurgeVerifications(ctx, at.Add(time.Second)); err != nil || p.Records != 1 {
		t.Fatalf("PurgeVerifications = %+v, %v; want 1 record", p, err)
	}
	if r, err := s.Result(ctx, "purged"); err != nil || r.PurgedAt.IsZero() {
		t.Fatalf("purged record: %+v, %v", r, err)
	}
	if err := s.DeleteKey(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"purged", "deleted"} {
		if err := s.RecordDelivery(ctx, attempt(tok), at.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: RecordDelivery = %v, want ErrNotFound", tok, err)
		}
	}
	if got := claimTokens(t, s, at.Add(48*time.Hour)); !reflect.DeepEqual(sortedTokens(got), []string{"kept"}) {
		t.Fatalf("claimed %v after purge and delete, want only kept", sortedTokens(got))
	}
	// The refused RecordDelivery logged nothing; the earlier rows stay.
	for _, key := range []string{"k", "doomed"} {
		log, err := s.Deliveries(ctx, key, "")
		if err != nil || len(log) != 1 || log[0].Attempt != 1 {
			t.Errorf("delivery log of key %s = %+v, %v; want the one row recorded before", key, log, err)
		}
	}
	// The log lives as long as the tombstones.
	if _, err := s.PurgeVerifications(ctx, at.Add(store.TombstoneRetention-time.Second)); err != nil {
		t.Fatal(err)
	}
	if log, err := s.Deliveries(ctx, "k", ""); err != nil || len(log) != 1 {
		t.Errorf("delivery log before TombstoneRetention = %+v, %v", log, err)
	}
	if _, err := s.PurgeVerifications(ctx, at.Add(store.TombstoneRetention)); err != nil {
		t.Fatal(err)
	}
	if log, err := s.Deliveries(ctx, "k", ""); err != nil || len(log) != 0 {
		t.Errorf("delivery log after TombstoneRetention = %+v, %v; want it pruned", log, err)
	}
}

// Deliveries filters by key and token and orders by time, then insertion.
func testNotifyDeliveries(t *testing.T, s store.Store) {
	notifyKey(t, s, "a")
	notifyKey(t, s, "b")
	at := t0.Add(time.Minute)
	for _, tc := range []struct{ token, key string }{{"a1", "a"}, {"a2", "a"}, {"b1", "b"}} {
		createFor(t, s, tc.token, tc.key)
		finish(t, s, tc.token, store.StatusOK, at)
	}
	ns := claimTokens(t, s, at)
	// Recorded out of time order; two rows share a time.
	for _, r := range []struct {
		token   string
		attempt int
		at      time.Duration
	}{
		{"a2", 1, 3 * time.Second},
		{"a1", 1, 1 * time.Second},
		{"b1", 1, 2 * time.Second},
		{"a1", 2, 5 * time.Second},
		{"a2", 2, 5 * time.Second},
	} {
		n := ns[r.token]
		if err := s.RecordDelivery(ctx, store.DeliveryAttempt{NotificationID: n.ID, Token: r.token, KeyID: n.KeyID,
			URL: n.URL, Attempt: r.attempt, At: at.Add(r.at), StatusCode: 500}, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	rows := func(key, token string) []string {
		t.Helper()
		log, err := s.Deliveries(ctx, key, token)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range log {
			out = append(out, fmt.Sprintf("%s#%d", a.Token, a.Attempt))
		}
		return out
	}
	for _, tt := range []struct {
		key, token string
		want       []string
	}{
		{"a", "", []string{"a1#1", "a2#1", "a1#2", "a2#2"}},
		{"a", "a2", []string{"a2#1", "a2#2"}},
		{"b", "", []string{"b1#1"}},
		{"b", "a1", nil},
		{"nobody", "", nil},
	} {
		if got := rows(tt.key, tt.token); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Deliveries(%q, %q) = %v, want %v", tt.key, tt.token, got, tt.want)
		}
	}
}

// A claim whose lease ran out is lost to the next claimer: the first
// claimer's late RecordDelivery changes and logs nothing (ErrClaimLost),
// so it can neither reopen what the second delivered nor record its
// attempt over the second's. A repeated record of an attempt already
// recorded is refused the same way.
func testNotifyClaimLost(t *testing.T, s store.Store) {
	notifyKey(t, s, "k")
	createFor(t, s, "tok", "k")
	at := t0.Add(time.Minute)
	finish(t, s, "tok", store.StatusOK, at)
	const lease = time.Minute
	claim := func(now time.Time) []store.Notification {
		t.Helper()
		ns, err := s.ClaimNotifications(ctx, now, lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	first := claim(at)
	if len(first) != 1 {
		t.Fatalf("first claim returned %d notifications, want 1", len(first))
	}
	if ns := claim(at.Add(lease - time.Nanosecond)); len(ns) != 0 {
		t.Fatalf("claimed again within the lease: %+v", ns)
	}
	second := claim(at.Add(lease))
	if len(second) != 1 || second[0].ID != first[0].ID || second[0].Attempts != 0 {
		t.Fatalf("claim after the lease = %+v, want notification %d with no attempt recorded", second, first[0].ID)
	}
	attempt := func(n store.Notification, at time.Time) store.DeliveryAttempt {
		return store.DeliveryAttempt{NotificationID: n.ID, Token: n.Token, KeyID: n.KeyID, URL: n.URL,
			Attempt: n.Attempts + 1, At: at}
	}
	delivered := attempt(second[0], at.Add(lease+time.Second))
	delivered.StatusCode, delivered.Delivered = 204, true
	if err := s.RecordDelivery(ctx, delivered, time.Time{}); err != nil {
		t.Fatal(err)
	}

	// The first claimer's POST failed, slowly; it would retry in a minute.
	late := attempt(first[0], at.Add(lease+2*time.Second))
	late.StatusCode, late.Error = 503, "HTTP 503 Service Unavailable"
	err := s.RecordDelivery(ctx, late, late.At.Add(time.Minute))
	if !errors.Is(err, store.ErrClaimLost) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("late RecordDelivery of a finished notification = %v, want ErrClaimLost", err)
	}
	// Nor may it finish it a second time, or with a later number.
	late.StatusCode, late.Error, late.Delivered = 200, "", true
	if err := s.RecordDelivery(ctx, late, time.Time{}); !errors.Is(err, store.ErrClaimLost) {
		t.Fatalf("late delivered RecordDelivery = %v, want ErrClaimLost", err)
	}
	late.Attempt = 2
	if err := s.RecordDelivery(ctx, late, time.Time{}); !errors.Is(err, store.ErrClaimLost) {
		t.Fatalf("RecordDelivery of attempt 2 of a finished notification = %v, want ErrClaimLost", err)
	}
	if got := claimTokens(t, s, at.Add(48*time.Hour)); len(got) != 0 {
		t.Fatalf("a late record reopened the notification: claimed %v", sortedTokens(got))
	}
	log, err := s.Deliveries(ctx, "k", "tok")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || !log[0].Delivered || log[0].Attempt != 1 || !log[0].At.Equal(delivered.At) {
		t.Fatalf("delivery log %+v, want only the second claimer's row", log)
	}

	// An unfinished notification: once attempt 1 is recorded, a repeat
	// of attempt 1 (a claimer overtaken before it recorded anything) is
	// refused, and the recorded schedule stands.
	createFor(t, s, "tok2", "k")
	finish(t, s, "tok2", store.StatusOK, at)
	n := claimTokens(t, s, at.Add(72*time.Hour))["tok2"]
	fail := attempt(n, at.Add(72*time.Hour+time.Second))
	fail.StatusCode, fail.Error = 500, "HTTP 500 Internal Server Error"
	next := fail.At.Add(10 * time.Minute)
	if err := s.RecordDelivery(ctx, fail, next); err != nil {
		t.Fatal(err)
	}
	dup := fail
	dup.At = fail.At.Add(time.Second)
	for _, later := range []time.Time{next.Add(time.Hour), {}} {
		if err := s.RecordDelivery(ctx, dup, later); !errors.Is(err, store.ErrClaimLost) {
			t.Fatalf("repeated attempt 1 (next %v) = %v, want ErrClaimLost", later, err)
		}
	}
	skip := fail
	skip.Attempt = 3
	if err := s.RecordDelivery(ctx, skip, next.Add(time.Hour)); !errors.Is(err, store.ErrClaimLost) {
		t.Fatalf("attempt 3 after attempt 1 = %v, want ErrClaimLost", err)
	}
	if got := claimTokens(t, s, next.Add(-time.Nanosecond)); len(got) != 0 {
		t.Fatalf("claimed before the recorded next attempt: %v", sortedTokens(got))
	}
	again := claimTokens(t, s, next)["tok2"]
	if again.ID != n.ID || again.Attempts != 1 {
		t.Fatalf("after the refused records: %+v, want ID %d with 1 attempt", again, n.ID)
	}
	if log, err := s.Deliveries(ctx, "k", "tok2"); err != nil || len(log) != 1 || !log[0].At.Equal(fail.At) {
		t.Fatalf("delivery log of tok2 = %+v, %v; want only the first record", log, err)
	}
	// The next claimer's attempt 2 is recorded.
	ok := attempt(again, next.Add(time.Second))
	ok.StatusCode, ok.Delivered = 200, true
	if err := s.RecordDelivery(ctx, ok, time.Time{}); err != nil {
		t.Fatalf("attempt 2 = %v", err)
	}

	// Claimers racing to record one attempt: exactly one wins.
	createFor(t, s, "tok3", "k")
	finish(t, s, "tok3", store.StatusOK, at)
	n3 := claimTokens(t, s, at.Add(96*time.Hour))["tok3"]
	const racers = 8
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		won, lost  int
		unexpected []error
	)
	for i := range racers {
		wg.Go(func() {
			a := attempt(n3, at.Add(96*time.Hour+time.Duration(i+1)*time.Second))
			a.StatusCode, a.Error = 502, fmt.Sprintf("racer %d", i)
			err := s.RecordDelivery(ctx, a, a.At.Add(time.Hour))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrClaimLost):
				lost++
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != racers-1 || len(unexpected) > 0 {
		t.Fatalf("%d racers recorded attempt 1, %d lost their claim, errors %v; want 1, %d, none", won, lost, unexpected, racers-1)
	}
	if log, err := s.Deliveries(ctx, "k", "tok3"); err != nil || len(log) != 1 {
		t.Fatalf("delivery log of tok3 = %+v, %v; want the winner's row only", log, err)
	}
}
