// Package store defines Glint's persistent records and the Store interface
// that database backends implement.
//
// The interface is written for more than one backend: the embedded SQLite
// one in store/sqlite today and PostgreSQL later. So methods take a context
// first, speak in the domain types below rather than rows, report failures
// through the sentinel errors of this package, and express every
// check-then-write that must not race (a call limit, a unique token) as a
// single method that the backend makes atomic in its own way. The
// conformance suite in store/storetest holds every backend to the same
// behaviour.
package store

import (
	"context"
	"errors"
	"image"
	"net/netip"
	"time"
)

// Sentinel errors returned (possibly wrapped) by every Store.
var (
	// ErrNotFound means the record asked for, or one it refers to, does
	// not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict means a record with the same identity already exists.
	ErrConflict = errors.New("store: conflict")

	// ErrLimitReached means a key has used all the successful calls its
	// call limit allows; nothing was written.
	ErrLimitReached = errors.New("store: call limit reached")
)

// Key is an API key: the credentials and limits of one integrator.
type Key struct {
	// ID is the public api_key.
	ID   string
	Name string

	// SecretHash is a keyed hash of api_secret (see package auth); the
	// secret itself is never stored.
	SecretHash []byte

	// Disabled keys are refused with AUTHORIZATION_ERROR:API_KEY_BE_DISCONTINUED.
	Disabled bool

	// CanCompare grants the face-comparison right that get_token needs.
	CanCompare bool

	// AllowedIPs, when not empty, lists the client networks the key may
	// be used from.
	AllowedIPs []netip.Prefix

	// CallLimit caps the number of successful calls; 0 means unlimited.
	CallLimit int64

	// Calls counts successful calls so far (what CallLimit is checked
	// against). It is maintained by the store.
	Calls int64

	// Concurrency caps the requests of this key in flight at once.
	Concurrency int

	// AllowedOrigins lists browser origins allowed to use tokens of this
	// key from a web page; empty means any.
	AllowedOrigins []string

	CreatedAt time.Time
}

// Status is the lifecycle state of a verification (spec §4.1).
type Status string

// Verification states.
const (
	StatusNotStarted Status = "NOT_STARTED"
	StatusProcessing Status = "PROCESSING"
	StatusOK         Status = "OK"
	StatusFailed     Status = "FAILED"
)

// Reference is the face taken from one reference photo (image_ref1 or
// image_ref2) at get_token time.
type Reference struct {
	// Index is 1 for image_ref1, 2 for image_ref2.
	Index int

	// Model names the face model that produced Embedding, so embeddings of
	// different models are never compared.
	Model     string
	Embedding []float32

	// Crop is the aligned face, JPEG-encoded.
	Crop []byte

	// Box is the face's bounding box in the upright photo.
	Box image.Rectangle

	// Original is the uploaded photo, kept only when the operator asked
	// for it (audit); nil otherwise.
	Original []byte
}

// Verification is the record that a get_token call creates and the capture
// flow later advances (spec §2.1 "server side effects").
type Verification struct {
	Token string
	KeyID string

	// BizNo is nil when the caller did not supply biz_no.
	BizNo *string
	UUID  string

	ColorNumber         int
	LivenessPreferences string
	Language            string
	ProcedureType       string
	ComparisonType      string
	MaxUploadTimes      int
	LifeTime            time.Duration

	MultiOrientedDetection   bool
	FailWhenRefMultipleFaces bool
	ReturnMultifacesTag      bool
	FaceOcclusionDetection   bool

	Refs []Reference

	Status   Status
	Attempts int
	Fetches  int

	IssuedAt  time.Time
	ExpiresAt time.Time
}

// UsageEvent is one row of the usage ledger: one API call by one key.
type UsageEvent struct {
	KeyID    string
	Endpoint string

	// Outcome is "OK" or the error code (the part of error_message before
	// any colon).
	Outcome string

	// Billed marks billable events (spec §4.6).
	Billed    bool
	RequestID string
	At        time.Time
}

// UsageCount aggregates ledger rows with the same key, endpoint, outcome
// and billing flag.
type UsageCount struct {
	KeyID    string
	Endpoint string
	Outcome  string
	Billed   bool
	Count    int64
}

// Store persists keys, verification records and the usage ledger. All
// methods are safe for concurrent use.
type Store interface {
	// CreateKey stores a new key. Calls is ignored (a new key has made
	// none); a zero CreatedAt is set to the store's clock. Returns
	// ErrConflict if the ID is taken.
	CreateKey(ctx context.Context, k *Key) error

	// Key returns the key with the given ID, or ErrNotFound.
	Key(ctx context.Context, id string) (*Key, error)

	// Keys returns all keys ordered by creation time, then ID.
	Keys(ctx context.Context) ([]*Key, error)

	// SetKeyDisabled disables or re-enables a key. Returns ErrNotFound
	// for an unknown ID.
	SetKeyDisabled(ctx context.Context, id string, disabled bool) error

	// DeleteKey removes a key and its verification records; its usage
	// ledger rows stay, as billing history. Returns ErrNotFound for an
	// unknown ID.
	DeleteKey(ctx context.Context, id string) error

	// CreateVerification stores v with its references and counts one
	// successful call against v.KeyID, atomically: if the key's call limit
	// is already used up it returns ErrLimitReached and stores nothing.
	// Returns ErrNotFound if the key does not exist and ErrConflict if the
	// token is taken.
	CreateVerification(ctx context.Context, v *Verification) error

	// Verification returns the record for a token with its references, or
	// ErrNotFound.
	Verification(ctx context.Context, token string) (*Verification, error)

	// RecordUsage appends one event to the usage ledger. A zero At is set
	// to the store's clock. The key need not exist any more.
	RecordUsage(ctx context.Context, e UsageEvent) error

	// Usage returns ledger totals for one key, or for all keys when keyID
	// is empty, ordered by key, endpoint, outcome and billing flag.
	Usage(ctx context.Context, keyID string) ([]UsageCount, error)

	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error

	// Close releases the store's resources.
	Close() error
}
