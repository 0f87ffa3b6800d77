// Package auth issues and checks API keys.
//
// A key is a public ID (api_key) and a random secret (api_secret) of 160
// bits. Only a keyed hash of the secret is stored: HMAC-SHA256 under a
// server-wide pepper that lives in the data directory, not in the database.
// A request authenticates by presenting both; Authorize then applies the
// key's own rules (enabled, client IP, compare right, call limit), and a
// Limiter caps how many of its requests run at once. Rotate replaces a
// key's secret; the replaced one keeps authenticating for an overlap, so
// a key has at most two valid secrets.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// Errors returned by Authenticate, Authorize and Limiter. The API layer
// maps each to its FaceID error string.
var (
	// ErrAuthentication means the key is unknown or the secret is wrong.
	// The two are deliberately not told apart.
	ErrAuthentication = errors.New("auth: unknown api_key or wrong api_secret")

	// ErrDisabled means the key has been disabled by the operator.
	ErrDisabled = errors.New("auth: key disabled")

	// ErrIPNotAllowed means the client address is outside the key's
	// allow-list.
	ErrIPNotAllowed = errors.New("auth: client address not allowed for key")

	// ErrNoVerifyPermission means the key lacks the face-comparison right.
	ErrNoVerifyPermission = errors.New("auth: key has no compare permission")

	// ErrLimitReached means the key has used up its call limit.
	ErrLimitReached = errors.New("auth: key call limit reached")

	// ErrConcurrencyLimit means the key already has as many requests in
	// flight as it may. It is store.ErrConcurrencyLimit, so that a
	// Limiter kept in a database backend can refuse with it too.
	ErrConcurrencyLimit = store.ErrConcurrencyLimit
)

// DefaultConcurrency is the in-flight request cap of a key created without
// an explicit one.
const DefaultConcurrency = 10

// Secret is an api_secret. It redacts itself in structured logs so that a
// careless slog call cannot leak one.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// KeyStore is the part of store.Store that a Keyring needs.
type KeyStore interface {
	CreateKey(ctx context.Context, k *store.Key) error
	Key(ctx context.Context, id string) (*store.Key, error)
	RotateKeySecret(ctx context.Context, id string, r store.SecretRotation) error
}

// Keyring creates and authenticates keys.
type Keyring struct {
	Store KeyStore

	// Pepper keys the secret hash; see LoadPepper.
	Pepper []byte

	// Now is the clock from which Rotate counts an overlap; nil means
	// time.Now. When the overlap has ended is the store's to say (by its
	// own clock, as Key reads the key), so every node of one database
	// agrees.
	Now func() time.Time
}

// KeyOptions are the attributes of a new key.
type KeyOptions struct {
	Name           string
	NoCompare      bool
	AllowedIPs     []netip.Prefix
	CallLimit      int64 // 0 means unlimited
	Concurrency    int   // 0 means DefaultConcurrency
	AllowedOrigins []string
	// ResultRetention is store.Key's; 0 means the spec's one day.
	ResultRetention time.Duration
	// AllowUploadFallback is store.Key's: false keeps the key's tokens
	// off the HTTP upload fallback.
	AllowUploadFallback bool
	// AttemptsPerUUID is store.Key's; 0 means
	// store.DefaultAttemptsPerUUID.
	AttemptsPerUUID int
	// RecordAttempts is store.Key's: how many capture attempts to record
	// (0: none).
	RecordAttempts int
}

// lowercase, unpadded base32: alphanumeric, so IDs and secrets survive
// shells, URLs, form encodings and flag parsing (no leading '-') untouched.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const (
	idBytes     = 16 // 128 bits: IDs are public, this only makes collisions moot
	secretBytes = 20 // 160 bits: beyond any online or offline guessing
)

// Create makes a new key and returns its ID and secret. The secret is not
// stored and cannot be recovered; show it to the operator once.
func (r *Keyring) Create(ctx context.Context, opts KeyOptions) (id string, secret Secret, err error) {
	if len(r.Pepper) == 0 {
		return "", "", errors.New("auth: no pepper")
	}
	if opts.CallLimit < 0 {
		return "", "", fmt.Errorf("auth: call limit %d is negative", opts.CallLimit)
	}
	if opts.Concurrency < 0 {
		return "", "", fmt.Errorf("auth: concurrency %d is negative", opts.Concurrency)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	id = encoding.EncodeToString(randomBytes(idBytes))
	secret = Secret(encoding.EncodeToString(randomBytes(secretBytes)))
	k := &store.Key{
		ID:                  id,
		Name:                opts.Name,
		SecretHash:          r.hash(id, string(secret)),
		CanCompare:          !opts.NoCompare,
		AllowedIPs:          opts.AllowedIPs,
		CallLimit:           opts.CallLimit,
		Concurrency:         opts.Concurrency,
		AllowedOrigins:      opts.AllowedOrigins,
		ResultRetention:     opts.ResultRetention,
		AllowUploadFallback: opts.AllowUploadFallback,
		AttemptsPerUUID:     opts.AttemptsPerUUID,
		RecordAttempts:      opts.RecordAttempts,
	}
	if err := r.Store.CreateKey(ctx, k); err != nil {
		return "", "", fmt.Errorf("auth: create key: %w", err)
	}
	return id, secret, nil
}

// Authenticate returns the key for id if secret is its secret, and
// ErrAuthentication otherwise. Store failures are returned wrapped as they
// are, so that an outage is not mistaken for a bad secret.
func (r *Keyring) Authenticate(ctx context.Context, id, secret string) (*store.Key, error) {
	k, err := r.Store.Key(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Hash anyway so an unknown key costs what a known one does.
		r.hash(id, secret)
		return nil, ErrAuthentication
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	// Both comparisons run whatever the first gave. OldSecretHash is set
	// only during a rotation's overlap: the store leaves it out once the
	// overlap has ended.
	h := r.hash(id, secret)
	current := hmac.Equal(h, k.SecretHash)
	old := len(k.OldSecretHash) > 0 && hmac.Equal(h, k.OldSecretHash)
	if !current && !old {
		return nil, ErrAuthentication
	}
	return k, nil
}

// Rotation overlaps: how long a rotated-out secret keeps authenticating.
const (
	// DefaultRotationOverlap gives integrators a day to deploy the new
	// secret.
	DefaultRotationOverlap = 24 * time.Hour
	// MaxRotationOverlap bounds the overlap: a secret being retired,
	// perhaps because it leaked, must not stay valid indefinitely.
	MaxRotationOverlap = 30 * 24 * time.Hour
)

// Rotate gives key id a new secret and returns it; like Create's, it is
// not stored and cannot be recovered. The secret it replaces keeps
// authenticating for overlap (0: not at all, at most
// MaxRotationOverlap), then only the new one does. A key has at most two
// valid secrets: rotating again during an overlap drops the secret that
// overlap was for. If the key has notifications on, their sealed secret
// is replaced in the same step, so that every notification sent from
// then on, queued ones included, is signed with the new secret. The key's
// settings, usage and verifications are untouched. Returns an error
// wrapping store.ErrNotFound for an unknown key.
func (r *Keyring) Rotate(ctx context.Context, id string, overlap time.Duration) (Secret, error) {
	if len(r.Pepper) == 0 {
		return "", errors.New("auth: no pepper")
	}
	if overlap < 0 || overlap > MaxRotationOverlap {
		return "", fmt.Errorf("auth: rotation overlap %s is not between 0 and %s", overlap, MaxRotationOverlap)
	}
	secret := Secret(encoding.EncodeToString(randomBytes(secretBytes)))
	sealed, err := r.SealSecret(id, secret)
	if err != nil {
		return "", err
	}
	rot := store.SecretRotation{SecretHash: r.hash(id, string(secret)), NotifySecret: sealed}
	if overlap > 0 {
		rot.OldSecretUntil = r.now().Add(overlap)
	}
	if err := r.Store.RotateKeySecret(ctx, id, rot); err != nil {
		return "", fmt.Errorf("auth: rotate secret: %w", err)
	}
	return secret, nil
}

// IsCurrent reports whether secret is k's current secret, and not one
// being rotated out: only the current secret may be sealed to sign
// notifications. The comparison is constant-time.
func (r *Keyring) IsCurrent(k *store.Key, secret Secret) bool {
	return hmac.Equal(r.hash(k.ID, string(secret)), k.SecretHash)
}

func (r *Keyring) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// hash is HMAC-SHA256(pepper, id || 0x00 || secret).
//
// Why a keyed fast hash and not bcrypt/scrypt/argon2: those are slow on
// purpose to protect low-entropy human passwords from offline guessing.
// Our secrets are 160 random bits, so guessing is hopeless at any speed,
// while a deliberately slow hash on every API request would hand anyone who
// can reach the server (no valid key needed) a cheap way to burn its CPU.
// The pepper, kept outside the database, means a leaked database alone
// does not even allow checking a guessed secret. Binding the ID stops a
// hash being copied from one key row to another.
func (r *Keyring) hash(id, secret string) []byte {
	m := hmac.New(sha256.New, r.Pepper)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Permission is a right a request needs beyond a valid key.
type Permission int

// Permissions.
const (
	// PermCompare is the right to face comparison, which get_token needs.
	PermCompare Permission = 1 << iota
)

// Authorize applies a key's rules to a request from client needing perms.
// It checks, in order: disabled, client IP, permissions, call limit. An
// invalid client address fails an IP allow-list.
func Authorize(k *store.Key, client netip.Addr, perms Permission) error {
	if k.Disabled {
		return ErrDisabled
	}
	if !IPAllowed(k.AllowedIPs, client) {
		return ErrIPNotAllowed
	}
	if perms&PermCompare != 0 && !k.CanCompare {
		return ErrNoVerifyPermission
	}
	if k.CallLimit > 0 && k.Calls >= k.CallLimit {
		return ErrLimitReached
	}
	return nil
}

// IPAllowed reports whether client is in one of allowed; an empty list
// allows everyone.
func IPAllowed(allowed []netip.Prefix, client netip.Addr) bool {
	if len(allowed) == 0 {
		return true
	}
	client = client.Unmap()
	for _, p := range allowed {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes; a bare
// address means just that address.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("bad address or CIDR %q", f)
			}
			a = a.Unmap()
			ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("bad CIDR %q", f)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error (Go 1.24+); it crashes the
	// program rather than hand out predictable bytes.
	rand.Read(b)
	return b
}
