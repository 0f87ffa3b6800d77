package auth_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

// fakeClock is a settable clock shared by a keyring and its store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustAuthenticate(t *testing.T, kr *auth.Keyring, id string, secret auth.Secret, what string) {
	t.Helper()
	if _, err := kr.Authenticate(ctx, id, string(secret)); err != nil {
		t.Errorf("%s: %v, want accepted", what, err)
	}
}

func mustRefuse(t *testing.T, kr *auth.Keyring, id string, secret auth.Secret, what string) {
	t.Helper()
	if _, err := kr.Authenticate(ctx, id, string(secret)); !errors.Is(err, auth.ErrAuthentication) {
		t.Errorf("%s: %v, want ErrAuthentication", what, err)
	}
}

func TestRotateOverlap(t *testing.T) {
	t.Parallel()
	kr, db, _ := mustKeyring(t)
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	kr.Now, db.Now = clock.Now, clock.Now
	id, first, err := kr.Create(ctx, auth.KeyOptions{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := kr.Rotate(ctx, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || len(second) != len(first) {
		t.Fatalf("rotated secret %q after %q", second, first)
	}
	mustAuthenticate(t, kr, id, first, "old secret within the overlap")
	mustAuthenticate(t, kr, id, second, "new secret")
	k, err := kr.Authenticate(ctx, id, string(first))
	if err != nil {
		t.Fatal(err)
	}
	if kr.IsCurrent(k, first) || !kr.IsCurrent(k, second) {
		t.Error("IsCurrent does not tell the new secret from the old")
	}

	clock.Advance(time.Hour - time.Nanosecond)
	mustAuthenticate(t, kr, id, first, "old secret at the overlap's last instant")
	clock.Advance(time.Nanosecond)
	mustRefuse(t, kr, id, first, "old secret once the overlap ended")
	mustAuthenticate(t, kr, id, second, "new secret after the overlap")

	// A second rotation during an overlap retires the secret that overlap
	// was for: at most two secrets are valid.
	third, err := kr.Rotate(ctx, id, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fourth, err := kr.Rotate(ctx, id, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, kr, id, second, "secret two rotations back")
	mustAuthenticate(t, kr, id, third, "secret one rotation back")
	mustAuthenticate(t, kr, id, fourth, "newest secret")

	// No overlap: the old secret fails at once, and so does the one whose
	// overlap was running.
	fifth, err := kr.Rotate(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []auth.Secret{first, second, third, fourth} {
		mustRefuse(t, kr, id, s, "earlier secret after a rotation without overlap")
	}
	mustAuthenticate(t, kr, id, fifth, "secret of a rotation without overlap")
	mustRefuse(t, kr, id, fifth+"x", "wrong secret")
}

func TestRotateRefusals(t *testing.T) {
	t.Parallel()
	kr, _, _ := mustKeyring(t)
	id, secret, err := kr.Create(ctx, auth.KeyOptions{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	for _, overlap := range []time.Duration{-time.Second, auth.MaxRotationOverlap + time.Nanosecond} {
		if _, err := kr.Rotate(ctx, id, overlap); err == nil || !strings.Contains(err.Error(), "overlap") {
			t.Errorf("overlap %s: %v, want refused", overlap, err)
		}
	}
	if _, err := kr.Rotate(ctx, "nosuchkey", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown key: %v, want ErrNotFound", err)
	}
	mustAuthenticate(t, kr, id, secret, "secret after refused rotations")
	if _, err := kr.Rotate(ctx, id, auth.MaxRotationOverlap); err != nil {
		t.Errorf("the longest overlap: %v", err)
	}
	mustAuthenticate(t, kr, id, secret, "old secret within the longest overlap")
}

// TestRotateReseals: a key with notifications on gets its sealed secret
// replaced by the new one; a key without stays without.
func TestRotateReseals(t *testing.T) {
	t.Parallel()
	kr, db, _ := mustKeyring(t)
	id, secret, err := kr.Create(ctx, auth.KeyOptions{Name: "hooked"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := db.Key(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kr.SealSecret(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetKeyNotify(ctx, id, "https://hooks.example/", sealed, k.SecretHash); err != nil {
		t.Fatal(err)
	}
	plain, _, err := kr.Create(ctx, auth.KeyOptions{Name: "plain"})
	if err != nil {
		t.Fatal(err)
	}

	next, err := kr.Rotate(ctx, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if k, err = db.Key(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, err := kr.OpenSecret(id, k.NotifySecret); err != nil || got != next {
		t.Errorf("sealed secret after rotation opens to %q, %v; want the new secret", got, err)
	}
	if _, err := kr.Rotate(ctx, plain, time.Hour); err != nil {
		t.Fatal(err)
	}
	if k, err = db.Key(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if k.NotifySecret != nil {
		t.Errorf("key without notifications got a sealed secret %q", k.NotifySecret)
	}
}
