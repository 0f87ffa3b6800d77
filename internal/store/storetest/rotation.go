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

// The rotation tests run on the store's own clock, which the suite does
// not set: an overlap ending an hour from now has not ended when the key
// is read back, one that ended a minute ago has.

// rotation is a SecretRotation to hash with the replaced secret valid
// until until.
func rotation(hash string, until time.Time) store.SecretRotation {
	return store.SecretRotation{
		SecretHash:     []byte(hash),
		OldSecretUntil: until,
		NotifySecret:   []byte("sealed-" + hash),
	}
}

func mustRotate(t *testing.T, s store.Store, id string, r store.SecretRotation) *store.Key {
	t.Helper()
	if err := s.RotateKeySecret(ctx, id, r); err != nil {
		t.Fatalf("RotateKeySecret(%s, %s): %v", id, r.SecretHash, err)
	}
	k, err := s.Key(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// checkSecrets checks a key's current and replaced secret hashes.
func checkSecrets(t *testing.T, k *store.Key, current, old string) {
	t.Helper()
	if string(k.SecretHash) != current {
		t.Errorf("SecretHash = %q, want %q", k.SecretHash, current)
	}
	if old == "" {
		if k.OldSecretHash != nil || !k.OldSecretUntil.IsZero() {
			t.Errorf("OldSecretHash = %q until %v, want none", k.OldSecretHash, k.OldSecretUntil)
		}
		return
	}
	if string(k.OldSecretHash) != old {
		t.Errorf("OldSecretHash = %q, want %q", k.OldSecretHash, old)
	}
}

// testKeyRotate: the new hash replaces the secret, the replaced one stays
// until the overlap ends with its time intact, the sealed secret of a key
// with notifications is replaced and a key without keeps none, and
// nothing else of the key changes.
func testKeyRotate(t *testing.T, s store.Store) {
	hooked := newKey("hooked")
	hooked.NotifyURL, hooked.NotifySecret = "https://hooks.example/", []byte("sealed-hash-of-hooked")
	hooked.CallLimit = 5
	mustCreateKey(t, s, hooked)
	mustCreateKey(t, s, newKey("plain"))
	if err := s.CreateVerification(ctx, newVerification("tok-rot", "hooked")); err != nil {
		t.Fatal(err)
	}
	before, err := s.Key(ctx, "hooked")
	if err != nil {
		t.Fatal(err)
	}
	checkSecrets(t, before, "hash-of-hooked", "")

	// A time with nanoseconds and a zone, to catch truncation.
	until := time.Now().Add(time.Hour).Truncate(time.Second).Add(123456789).In(t0.Location())
	k := mustRotate(t, s, "hooked", rotation("new-hooked", until))
	checkSecrets(t, k, "new-hooked", "hash-of-hooked")
	if !k.OldSecretUntil.Equal(until) {
		t.Errorf("OldSecretUntil = %v, want %v", k.OldSecretUntil, until)
	}
	if string(k.NotifySecret) != "sealed-new-hooked" || k.NotifyURL != "https://hooks.example/" {
		t.Errorf("notifications after rotation: %q, sealed %q", k.NotifyURL, k.NotifySecret)
	}
	if k.Calls != before.Calls || k.CallLimit != 5 || k.Name != before.Name || !k.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("rotation changed the key: %+v, was %+v", k, before)
	}
	if _, err := s.Verification(ctx, "tok-rot"); err != nil {
		t.Errorf("the key's verification after rotation: %v", err)
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == "hooked" {
			checkSecrets(t, k, "new-hooked", "hash-of-hooked")
		}
	}

	// Notifications off: the sealed secret is not stored.
	p := mustRotate(t, s, "plain", rotation("new-plain", until))
	checkSecrets(t, p, "new-plain", "hash-of-plain")
	if p.NotifySecret != nil {
		t.Errorf("a key without notifications got a sealed secret %q", p.NotifySecret)
	}

	// UpdateKey leaves the secrets alone.
	k.Name, k.SecretHash, k.OldSecretHash = "renamed", []byte("forged"), nil
	if err := s.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if k, err = s.Key(ctx, "hooked"); err != nil {
		t.Fatal(err)
	}
	checkSecrets(t, k, "new-hooked", "hash-of-hooked")

	// Nor can writing back the key as read before the rotation (keys set
	// racing keys rotate) restore the sealed retiring secret.
	if err := s.UpdateKey(ctx, before); err != nil {
		t.Fatal(err)
	}
	if k, err = s.Key(ctx, "hooked"); err != nil {
		t.Fatal(err)
	}
	if string(k.NotifySecret) != "sealed-new-hooked" || k.NotifyURL != "https://hooks.example/" {
		t.Errorf("UpdateKey of the key read before the rotation: notifications %q, sealed %q; want the resealed secret",
			k.NotifyURL, k.NotifySecret)
	}

	if err := s.RotateKeySecret(ctx, "nosuchkey", rotation("x", until)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown key: %v, want ErrNotFound", err)
	}
	if err := s.RotateKeySecret(ctx, "plain", store.SecretRotation{NotifySecret: []byte("s")}); err == nil {
		t.Error("a rotation without a hash was accepted")
	}
	if k, _ := s.Key(ctx, "plain"); k == nil || string(k.SecretHash) != "new-plain" {
		t.Errorf("a refused rotation changed the key: %+v", k)
	}
}

// testKeyRotateExpiry: an overlap that has ended by the store's clock, or
// none at all, leaves only the new secret.
func testKeyRotateExpiry(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("ended"))
	mustCreateKey(t, s, newKey("none"))
	checkSecrets(t, mustRotate(t, s, "ended", rotation("new-ended", time.Now().Add(-time.Minute))), "new-ended", "")
	checkSecrets(t, mustRotate(t, s, "none", rotation("new-none", time.Time{})), "new-none", "")
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		checkSecrets(t, k, "new-"+k.ID, "")
	}
}

// testKeyRotateTwice: a second rotation during the overlap replaces the
// old secret, so that at most two are valid; one without overlap ends the
// previous overlap at once.
func testKeyRotateTwice(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	until := time.Now().Add(time.Hour)
	checkSecrets(t, mustRotate(t, s, "k", rotation("second", until)), "second", "hash-of-k")
	k := mustRotate(t, s, "k", rotation("third", until.Add(time.Minute)))
	checkSecrets(t, k, "third", "second")
	if !k.OldSecretUntil.Equal(until.Add(time.Minute)) {
		t.Errorf("OldSecretUntil = %v, want the second rotation's %v", k.OldSecretUntil, until.Add(time.Minute))
	}
	checkSecrets(t, mustRotate(t, s, "k", rotation("fourth", time.Time{})), "fourth", "")
	// After an ended overlap the next rotation keeps only the hash it
	// replaces, never the expired one.
	checkSecrets(t, mustRotate(t, s, "k", rotation("fifth", until)), "fifth", "fourth")
}

// testKeyRotateConcurrent: rotations racing on one key serialize: the
// result is one of them, and its old secret is the one it replaced
// (another racer's or the original), never lost to a torn write.
func testKeyRotateConcurrent(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	const n = 8
	until := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.RotateKeySecret(ctx, "k", rotation(fmt.Sprintf("racer-%d", i), until))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("RotateKeySecret: %v", err)
		}
	}
	k, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	valid := map[string]bool{"hash-of-k": true}
	for i := range n {
		valid[fmt.Sprintf("racer-%d", i)] = true
	}
	if !valid[string(k.SecretHash)] || string(k.SecretHash) == "hash-of-k" {
		t.Errorf("SecretHash %q is none of the rotations'", k.SecretHash)
	}
	if !valid[string(k.OldSecretHash)] || bytes.Equal(k.OldSecretHash, k.SecretHash) {
		t.Errorf("OldSecretHash %q after SecretHash %q: not the hash a rotation replaced", k.OldSecretHash, k.SecretHash)
	}
}

// testKeySetNotify: SetKeyNotify writes the URL and sealed secret while
// the secret hash is the one given; after a rotation between the read and
// the write it is refused with ErrConflict and the key is left as the
// rotation made it.
func testKeySetNotify(t *testing.T, s store.Store) {
	mustCreateKey(t, s, newKey("k"))
	before, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetKeyNotify(ctx, "k", "https://hooks.example/", []byte("sealed-k"), before.SecretHash); err != nil {
		t.Fatalf("SetKeyNotify: %v", err)
	}
	k, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if k.NotifyURL != "https://hooks.example/" || string(k.NotifySecret) != "sealed-k" {
		t.Errorf("notifications: %q, sealed %q", k.NotifyURL, k.NotifySecret)
	}
	if k.Name != before.Name || k.CallLimit != before.CallLimit || !k.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("SetKeyNotify changed the key: %+v, was %+v", k, before)
	}
	checkSecrets(t, k, "hash-of-k", "")

	// Read, then a rotation, then the write with the hash read: refused.
	read, err := s.Key(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustRotate(t, s, "k", rotation("new-k", time.Now().Add(time.Hour)))
	err = s.SetKeyNotify(ctx, "k", "https://other.example/", []byte("sealed-old-k"), read.SecretHash)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetKeyNotify after a rotation: %v, want ErrConflict", err)
	}
	if k, err = s.Key(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if k.NotifyURL != rotated.NotifyURL || !bytes.Equal(k.NotifySecret, rotated.NotifySecret) ||
		string(k.NotifySecret) != "sealed-new-k" {
		t.Errorf("a refused SetKeyNotify changed notifications: %q, sealed %q", k.NotifyURL, k.NotifySecret)
	}
	checkSecrets(t, k, "new-k", "hash-of-k")

	// With the new hash it goes through.
	if err := s.SetKeyNotify(ctx, "k", "https://other.example/", []byte("sealed-new-k2"), []byte("new-k")); err != nil {
		t.Fatalf("SetKeyNotify with the new hash: %v", err)
	}
	if k, _ = s.Key(ctx, "k"); k == nil || k.NotifyURL != "https://other.example/" || string(k.NotifySecret) != "sealed-new-k2" {
		t.Errorf("after SetKeyNotify with the new hash: %+v", k)
	}

	if err := s.SetKeyNotify(ctx, "nosuchkey", "https://hooks.example/", []byte("s"), []byte("h")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown key: %v, want ErrNotFound", err)
	}
}
