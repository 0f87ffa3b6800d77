package auth_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/glint-id/glint/internal/auth"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	pepper := bytes.Repeat([]byte{7}, 32)
	const id, secret = "key-1", auth.Secret("ogv64nobbaeouq36c6pqah73ayv2ueb2")
	sealed, err := auth.Seal(pepper, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(secret)) {
		t.Fatal("sealed bytes contain the secret in clear")
	}
	got, err := auth.Open(pepper, id, sealed)
	if err != nil || got != secret {
		t.Fatalf("Open = %q, %v; want %q", got, err, secret)
	}
	again, err := auth.Seal(pepper, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one secret are equal: the nonce is not fresh")
	}
	// An empty secret round-trips too (nothing in the format forbids it).
	if s, err := auth.Seal(pepper, id, ""); err != nil {
		t.Fatal(err)
	} else if got, err := auth.Open(pepper, id, s); err != nil || got != "" {
		t.Fatalf("empty secret: %q, %v", got, err)
	}
}

func TestOpenRefusesTampering(t *testing.T) {
	t.Parallel()
	pepper := bytes.Repeat([]byte{7}, 32)
	sealed, err := auth.Seal(pepper, "key-1", "the-secret")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	for _, tt := range []struct {
		name   string
		pepper []byte
		id     string
		sealed []byte
	}{
		{"VersionByte", pepper, "key-1", flip(0)},
		{"Nonce", pepper, "key-1", flip(1)},
		{"Ciphertext", pepper, "key-1", flip(14)},
		{"Tag", pepper, "key-1", flip(len(sealed) - 1)},
		{"Truncated", pepper, "key-1", sealed[:len(sealed)-1]},
		{"Short", pepper, "key-1", sealed[:5]},
		{"Empty", pepper, "key-1", nil},
		{"OtherKey", pepper, "key-2", sealed},
		{"OtherPepper", bytes.Repeat([]byte{8}, 32), "key-1", sealed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.Open(tt.pepper, tt.id, tt.sealed)
			if !errors.Is(err, auth.ErrSealed) {
				t.Fatalf("Open = %q, %v; want ErrSealed", got, err)
			}
		})
	}
	if _, err := auth.Seal(nil, "key-1", "s"); err == nil {
		t.Error("Seal without a pepper succeeded")
	}
}

func TestKeyringSealsUnderItsPepper(t *testing.T) {
	t.Parallel()
	kr, _, dir := mustKeyring(t)
	id, secret, err := kr.Create(ctx, auth.KeyOptions{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kr.SealSecret(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	// The pepper file is the key: another keyring loading it opens the
	// secret, one with another pepper does not.
	pepper, err := os.ReadFile(filepath.Join(dir, auth.PepperFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := auth.Open(pepper, id, sealed); err != nil || got != secret {
		t.Fatalf("Open with the pepper file = %q, %v", got, err)
	}
	if got, err := kr.OpenSecret(id, sealed); err != nil || got != secret {
		t.Fatalf("OpenSecret = %q, %v", got, err)
	}
	other := &auth.Keyring{Store: kr.Store, Pepper: bytes.Repeat([]byte{1}, 32)}
	if _, err := other.OpenSecret(id, sealed); !errors.Is(err, auth.ErrSealed) {
		t.Fatalf("foreign pepper: %v", err)
	}
}

func TestSealRecording(t *testing.T) {
	r := &auth.Keyring{Pepper: []byte("0123456789abcdef0123456789abcdef")}
	plain := []byte("\xff\xd8\xff\xe0 frames and a manifest")
	sealed, err := r.SealRecording("rec1", plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain[:4]) {
		t.Error("sealed recording holds its plaintext")
	}
	got, err := r.OpenRecording("rec1", sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("OpenRecording = %q, %v", got, err)
	}
	if _, err := r.OpenRecording("rec2", sealed); !errors.Is(err, auth.ErrSealed) {
		t.Errorf("moved to another id: %v, want ErrSealed", err)
	}
	// A recording's key is not a secret's.
	if _, err := r.OpenSecret("rec1", sealed); !errors.Is(err, auth.ErrSealed) {
		t.Errorf("opened as a secret: %v, want ErrSealed", err)
	}
}
