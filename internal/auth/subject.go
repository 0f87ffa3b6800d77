package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// The per-uuid attempt budget (store.Key.AttemptsPerUUID) counts a
// person's capture attempts across every token issued for them, and its
// records outlive the verifications they came from. They must not keep
// the uuid, which identifies the person to the integrator: they keep a
// digest of it instead, keyed so that a leaked database alone cannot
// confirm a guessed uuid (uuids are often account numbers or e-mail
// addresses, easy to enumerate), and bound to the key so that one
// integrator's "user-42" is not another's.

// subjectLabel derives the subject-digest key from the pepper. A distinct
// label keeps it independent of the secret hashes (HMAC under the pepper
// itself) and of the sealing key.
const subjectLabel = "glint subject digest v1"

// SubjectDigest returns the store.Verification.Subject of keyID's uuid:
// HMAC-SHA256, under a key derived from the pepper, of the key ID's
// length, the key ID and the uuid. The same pair always gives the same 32
// bytes on every node that has the pepper; a different key or uuid gives
// unrelated ones.
func (r *Keyring) SubjectDigest(keyID, uuid string) []byte {
	k := hmac.New(sha256.New, r.Pepper)
	k.Write([]byte(subjectLabel))
	m := hmac.New(sha256.New, k.Sum(nil))
	// The length prefix makes the encoding of the pair unambiguous,
	// whatever characters the key ID holds.
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(keyID))))
	m.Write([]byte(keyID))
	m.Write([]byte(uuid))
	return m.Sum(nil)
}
