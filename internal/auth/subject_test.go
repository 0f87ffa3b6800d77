package auth_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

func TestSubjectDigest(t *testing.T) {
	t.Parallel()
	pepper := bytes.Repeat([]byte{7}, 32)
	kr := &auth.Keyring{Pepper: pepper}
	d := kr.SubjectDigest("key1", "user-42")
	if len(d) != sha256.Size {
		t.Fatalf("digest of %d bytes, want %d", len(d), sha256.Size)
	}
	// Another node with the same pepper computes the same digest.
	if again := (&auth.Keyring{Pepper: bytes.Clone(pepper)}).SubjectDigest("key1", "user-42"); !bytes.Equal(again, d) {
		t.Fatal("the same pepper, key and uuid gave another digest")
	}
	others := map[string][]byte{
		"another uuid":   kr.SubjectDigest("key1", "user-43"),
		"another key":    kr.SubjectDigest("key2", "user-42"),
		"shifted split":  kr.SubjectDigest("key1u", "ser-42"),
		"another pepper": (&auth.Keyring{Pepper: bytes.Repeat([]byte{8}, 32)}).SubjectDigest("key1", "user-42"),
	}
	for name, o := range others {
		if bytes.Equal(o, d) {
			t.Errorf("%s gave the same digest", name)
		}
	}
	// The derivation is not the secret hash's (HMAC under the pepper
	// itself, of id || 0 || secret), so a subject digest can never stand
	// in for a secret hash or the other way round.
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte("key1\x00user-42"))
	if bytes.Equal(m.Sum(nil), d) {
		t.Error("the subject digest equals the secret hash of the same strings")
	}
	if bytes.Contains(d, []byte("user-42")) {
		t.Error("the digest holds the uuid")
	}
}

func TestCreateStoresCaptureSettings(t *testing.T) {
	t.Parallel()
	kr, db, _ := mustKeyring(t)
	id, _, err := kr.Create(ctx, auth.KeyOptions{Name: "f", AllowUploadFallback: true, AttemptsPerUUID: 4})
	if err != nil {
		t.Fatal(err)
	}
	k, err := db.Key(ctx, id)
	if err != nil || !k.AllowUploadFallback || k.AttemptsPerUUID != 4 {
		t.Fatalf("key = %+v, %v; want the fallback allowed and 4 attempts per uuid", k, err)
	}
	id, _, err = kr.Create(ctx, auth.KeyOptions{Name: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := db.Key(ctx, id); err != nil || k.AllowUploadFallback || k.AttemptsPerUUID != store.DefaultAttemptsPerUUID {
		t.Fatalf("default key = %+v, %v; want no fallback and %d attempts per uuid", k, err, store.DefaultAttemptsPerUUID)
	}
	if _, _, err := kr.Create(ctx, auth.KeyOptions{Name: "bad", AttemptsPerUUID: store.MaxAttemptsPerUUID + 1}); err == nil {
		t.Error("Create accepted an attempts-per-uuid budget above the maximum")
	}
}
