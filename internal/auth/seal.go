package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Sealing keeps an api_secret recoverable by this installation only.
//
// Result notifications are signed with the key's api_secret (an HMAC for
// X-Glint-Signature, and Megvii's legacy sha1(api_secret + data)), so the
// server must be able to get the secret back, which the keyed hash kept
// for authentication deliberately does not allow. While a key has
// notifications on, its secret is therefore also stored sealed:
// AES-256-GCM under a key derived from the pepper. The pepper lives in the
// data directory, not in the database, so a leaked database (or backup of
// it) still reveals no secret; the key ID is authenticated with the
// ciphertext, so a sealed secret copied onto another key's row does not
// open.

// ErrSealed means a sealed secret could not be opened: it was damaged,
// tampered with, moved to another key, or sealed under another pepper
// (another installation, or a replaced pepper file).
var ErrSealed = errors.New("auth: sealed secret cannot be opened")

// sealVersion is the first byte of every sealed secret, so that the format
// (cipher, key derivation) can change without guessing at old values.
const sealVersion = 1

// sealLabel derives the sealing key from the pepper. A distinct label
// keeps the sealing key independent of the secret hashes, which HMAC
// under the pepper itself.
const sealLabel = "glint notify-secret seal v1"

// Seal encrypts secret for the key id under pepper. Each call uses a fresh
// random nonce, so sealing one secret twice gives different bytes.
func Seal(pepper []byte, id string, secret Secret) ([]byte, error) {
	return seal(pepper, sealLabel, id, []byte(secret))
}

// Open decrypts what Seal produced for the same pepper and key id. Any
// mismatch or damage is ErrSealed.
func Open(pepper []byte, id string, sealed []byte) (Secret, error) {
	plain, err := open(pepper, sealLabel, id, sealed)
	return Secret(plain), err
}

// recordingLabel derives the key that seals recorded capture attempts
// (store.Recording): a key of its own, so that a sealed recording never
// opens as a secret nor the reverse.
const recordingLabel = "glint recording seal v1"

// SealRecording seals a recorded capture attempt, as Seal does a secret,
// under the keyring's pepper and bound to the recording's id.
func (r *Keyring) SealRecording(id string, plain []byte) ([]byte, error) {
	return seal(r.Pepper, recordingLabel, id, plain)
}

// OpenRecording opens what SealRecording produced for the same id; any
// mismatch or damage is ErrSealed.
func (r *Keyring) OpenRecording(id string, sealed []byte) ([]byte, error) {
	return open(r.Pepper, recordingLabel, id, sealed)
}

func seal(pepper []byte, label, id string, plain []byte) ([]byte, error) {
	aead, err := sealAEAD(pepper, label)
	if err != nil {
		return nil, err
	}
	out := []byte{sealVersion}
	return aead.Seal(out, nil, plain, sealAD(id)), nil
}

func open(pepper []byte, label, id string, sealed []byte) ([]byte, error) {
	aead, err := sealAEAD(pepper, label)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+aead.Overhead() {
		return nil, fmt.Errorf("%d bytes: %w", len(sealed), ErrSealed)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("format version %d: %w", sealed[0], ErrSealed)
	}
	plain, err := aead.Open(nil, nil, sealed[1:], sealAD(id))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", id, ErrSealed)
	}
	return plain, nil
}

// SealSecret is Seal under the keyring's pepper.
func (r *Keyring) SealSecret(id string, secret Secret) ([]byte, error) {
	return Seal(r.Pepper, id, secret)
}

// OpenSecret is Open under the keyring's pepper.
func (r *Keyring) OpenSecret(id string, sealed []byte) (Secret, error) {
	return Open(r.Pepper, id, sealed)
}

func sealAEAD(pepper []byte, label string) (cipher.AEAD, error) {
	if len(pepper) == 0 {
		return nil, errors.New("auth: no pepper")
	}
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(label))
	block, err := aes.NewCipher(m.Sum(nil)) // 32 bytes: AES-256
	if err != nil {
		return nil, fmt.Errorf("auth: seal: %w", err)
	}
	// A random 96-bit nonce per seal is safe far beyond the seals an
	// installation makes under one label (one per key and notify change;
	// one per recorded attempt, which keys cap); the bound is about 2³².
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("auth: seal: %w", err)
	}
	return aead, nil
}

// sealAD is the additional data: the format version and the key ID.
func sealAD(id string) []byte {
	return append([]byte{sealVersion}, id...)
}
