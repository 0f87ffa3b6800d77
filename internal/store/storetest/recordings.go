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

// recordingKey stores a key that records up to n attempts and one
// verification of it per token.
func recordingKey(t *testing.T, s store.Store, keyID string, n int, tokens ...string) {
	t.Helper()
	k := newKey(keyID)
	k.RecordAttempts = n
	mustCreateKey(t, s, k)
	for _, tok := range tokens {
		if err := s.CreateVerification(ctx, newVerification(tok, keyID)); err != nil {
			t.Fatal(err)
		}
	}
}

func newRecording(id, keyID, token string, attempt int) *store.Recording {
	return &store.Recording{
		ID: id, KeyID: keyID, Token: token, Attempt: attempt, Pass: attempt%2 == 1,
		Data:      []byte("sealed " + id),
		CreatedAt: t0.Add(time.Duration(attempt) * time.Second),
	}
}

func testRecordingRoundTrip(t *testing.T, s store.Store) {
	recordingKey(t, s, "rec", 2, "tok1", "tok2")
	recordingKey(t, s, "off", 0, "tok3")
	for i, id := range []string{"r1", "r2"} {
		if err := s.SaveRecording(ctx, newRecording(id, "rec", "tok1", i+1)); err != nil {
			t.Fatalf("SaveRecording(%s): %v", id, err)
		}
	}
	if err := s.SaveRecording(ctx, newRecording("r3", "rec", "tok2", 3)); !errors.Is(err, store.ErrLimitReached) {
		t.Errorf("third recording of a key recording 2: %v, want ErrLimitReached", err)
	}
	if err := s.SaveRecording(ctx, newRecording("r4", "off", "tok3", 1)); !errors.Is(err, store.ErrLimitReached) {
		t.Errorf("recording of a key that does not record: %v, want ErrLimitReached", err)
	}
	k, err := s.Key(ctx, "rec")
	if err != nil {
		t.Fatal(err)
	}
	if k.RecordAttempts != 2 || k.Recorded != 2 {
		t.Errorf("key = record %d, recorded %d; want 2, 2", k.RecordAttempts, k.Recorded)
	}

	// Raising the setting records more; UpdateKey keeps the count.
	k.RecordAttempts = 3
	k.Recorded = 0
	if err := s.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRecording(ctx, newRecording("r3", "rec", "tok2", 3)); err != nil {
		t.Fatalf("after raising the limit: %v", err)
	}
	if k, _ := s.Key(ctx, "rec"); k.RecordAttempts != 3 || k.Recorded != 3 {
		t.Errorf("key = record %d, recorded %d; want 3, 3", k.RecordAttempts, k.Recorded)
	}
	k.RecordAttempts = 4
	if err := s.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRecording(ctx, newRecording("r3", "rec", "tok2", 4)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("taken ID: %v, want ErrConflict", err)
	}
	if err := s.SaveRecording(ctx, newRecording("r5", "rec", "nope", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
	if err := s.SaveRecording(ctx, newRecording("r5", "rec", "tok3", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another key's token: %v, want ErrNotFound", err)
	}

	list, err := s.Recordings(ctx, "rec")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range list {
		got = append(got, fmt.Sprintf("%s %s %s %d %v %v", r.ID, r.KeyID, r.Token, r.Attempt, r.Pass, r.Data != nil))
		if !r.CreatedAt.Equal(t0.Add(time.Duration(r.Attempt) * time.Second)) {
			t.Errorf("%s: CreatedAt %v", r.ID, r.CreatedAt)
		}
	}
	want := []string{"r1 rec tok1 1 true false", "r2 rec tok1 2 false false", "r3 rec tok2 3 true false"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Recordings = %q, want %q", got, want)
	}
	if all, err := s.Recordings(ctx, ""); err != nil || len(all) != 3 {
		t.Errorf("all recordings: %d, %v", len(all), err)
	}
	if none, err := s.Recordings(ctx, "off"); err != nil || len(none) != 0 {
		t.Errorf("recordings of a key that records none: %d, %v", len(none), err)
	}

	l := store.RecordingLabel{Species: "genuine", Device: "Pixel 7 / Chrome", Lighting: "office"}
	if err := s.LabelRecording(ctx, "r2", l); err != nil {
		t.Fatal(err)
	}
	r, err := s.Recording(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Data, []byte("sealed r2")) || r.Label != l || r.Token != "tok1" || r.Attempt != 2 {
		t.Errorf("Recording(r2) = %+v", r)
	}
	if err := s.LabelRecording(ctx, "nope", l); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("label unknown: %v", err)
	}
	if _, err := s.Recording(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown recording: %v", err)
	}
	if err := s.DeleteRecording(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRecording(ctx, "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Recording(ctx, "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted recording: %v", err)
	}
	// A deletion gives no attempt back.
	if k, _ := s.Key(ctx, "rec"); k.Recorded != 3 {
		t.Errorf("recorded after a deletion = %d, want 3", k.Recorded)
	}
}

// testRecordingPurge: recordings are personal data of their verification
// and go with it.
func testRecordingPurge(t *testing.T, s store.Store) {
	k := newKey("rec")
	k.RecordAttempts = 10
	k.ResultRetention = time.Hour
	mustCreateKey(t, s, k)
	for _, tok := range []string{"old", "fresh"} {
		if err := s.CreateVerification(ctx, newVerification(tok, "rec")); err != nil {
			t.Fatal(err)
		}
	}
	for i, tok := range []string{"old", "old", "fresh"} {
		if err := s.SaveRecording(ctx, newRecording(fmt.Sprint("r", i), "rec", tok, i+1)); err != nil {
			t.Fatal(err)
		}
	}
	end := t0.Add(5 * time.Minute)
	finish(t, s, "old", store.StatusFailed, end)
	finish(t, s, "fresh", store.StatusOK, end.Add(30*time.Minute))
	if p, err := s.PurgeVerifications(ctx, end.Add(61*time.Minute)); err != nil || p.Records != 1 {
		t.Fatalf("purge = %+v, %v; want the old record", p, err)
	}
	list, err := s.Recordings(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Token != "fresh" {
		t.Errorf("after the purge: %d recordings, want fresh's only", len(list))
	}
	for _, id := range []string{"r0", "r1"} {
		if _, err := s.Recording(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("purged record's %s: %v, want ErrNotFound", id, err)
		}
	}
	if err := s.SaveRecording(ctx, newRecording("r9", "rec", "old", 9)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("recording of a purged record: %v, want ErrNotFound", err)
	}
	if err := s.DeleteKey(ctx, "rec"); err != nil {
		t.Fatal(err)
	}
	if list, err := s.Recordings(ctx, ""); err != nil || len(list) != 0 {
		t.Errorf("after DeleteKey: %d recordings, %v", len(list), err)
	}
}

func testRecordingConcurrent(t *testing.T, s store.Store) {
	recordingKey(t, s, "rec", 3, "tok")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok, lim int
	)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.SaveRecording(ctx, newRecording(fmt.Sprint("r", i), "rec", "tok", i+1))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrLimitReached):
				lim++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 3 || lim != 7 {
		t.Errorf("%d saved, %d refused; want 3 and 7", ok, lim)
	}
	if k, _ := s.Key(ctx, "rec"); k.Recorded != 3 {
		t.Errorf("recorded = %d, want 3", k.Recorded)
	}
}
