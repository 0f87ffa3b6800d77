// Package store defines Glint's persistent records and the Store interface
// that database backends implement.
//
// The interface is written for more than one backend: the embedded SQLite
// one in store/sqlite, and PostgreSQL in store/postgres for several nodes
// sharing one database. So methods take a context first, speak in the
// domain types below rather than rows, report failures through the
// sentinel errors of this package, and express every check-then-write that
// must not race (a call limit, a unique token) as a single method that the
// backend makes atomic in its own way. The conformance suite in
// store/storetest holds every backend to the same behaviour.
//
// Store is what a backend implements, not what its users take: each
// package that uses the store declares the few methods it calls
// (auth.KeyStore, api.Store, session.Store, notify.Store). Only cmd/glint,
// which opens the database and wires the service, and the conformance
// suite hold a whole Store.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors returned (possibly wrapped) by every Store.
var (
	// ErrNotFound means the record asked for, or one it refers to, does
	// not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict means a record with the same identity already exists,
	// or (SetKeyNotify) that the record changed since it was read.
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

	// OldSecretHash is the hash of the api_secret that the last rotation
	// replaced (Store.RotateKeySecret), which authenticates too until
	// OldSecretUntil: a key has at most two valid secrets at once. The
	// store returns both only while OldSecretUntil is after its clock;
	// afterwards, or when the rotation had no overlap, they read as nil
	// and the zero time. CreateKey and UpdateKey ignore them.
	OldSecretHash  []byte
	OldSecretUntil time.Time

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

	// ResultRetention is how long a terminal result of this key stays
	// readable, and its biometric data stored, between
	// MinResultRetention and MaxResultRetention; 0 means
	// MaxResultRetention (spec §4.5). A verification keeps the value its
	// key had when it was issued.
	ResultRetention time.Duration

	// NotifyURL, when set, receives a signed POST of the result each time
	// a verification of this key ends (see NotificationStore).
	NotifyURL string

	// NotifySecret is the key's api_secret sealed by package auth, kept
	// only while NotifyURL is set: the notification signatures need the
	// secret itself, which SecretHash cannot give back.
	NotifySecret []byte

	// AllowUploadFallback lets the key's tokens use the HTTP upload
	// fallback (start_flash, validate_flash), where the client receives
	// the whole colour sequence and uploads its frames afterwards. Its
	// verdict is weaker than the live channel's (docs/liveness.md, "The
	// upload fallback"), so it is off unless the key opts in; keys that
	// existed before the setting have it off.
	AllowUploadFallback bool

	// AttemptsPerUUID caps the capture attempts that one uuid (get_token's
	// end-user identifier) of this key may use within SubjectWindow,
	// counted across all the key's verifications of that uuid (see
	// Verification.Subject and CountAttempt), so that having fresh tokens
	// issued does not buy an attacker fresh attempts. Between
	// MinAttemptsPerUUID and MaxAttemptsPerUUID; 0 means
	// DefaultAttemptsPerUUID. The store keeps the effective value, so a
	// key read back never has 0. Unlike ResultRetention it is not copied
	// into verifications: a change applies from the next attempt on.
	AttemptsPerUUID int

	// RecordAttempts, when positive, records the capture attempts of the
	// key's tokens, at most this many over the key's life
	// (RecordingStore), for field testing with the people's consent;
	// 0, the default, records nothing. At most MaxRecordAttempts.
	RecordAttempts int

	// Recorded counts the attempts recorded so far (what RecordAttempts
	// is checked against). It is maintained by the store.
	Recorded int

	CreatedAt time.Time
}

// SecretRotation is the new secret of a key (Store.RotateKeySecret).
type SecretRotation struct {
	// SecretHash is the keyed hash of the new api_secret.
	SecretHash []byte
	// OldSecretUntil is when the replaced secret stops authenticating;
	// zero: at once.
	OldSecretUntil time.Time
	// NotifySecret is the new api_secret sealed for notifications; the
	// store stores it only if the key has notifications on. Both hashes
	// and this are required.
	NotifySecret []byte
}

// ErrConcurrencyLimit means a key already has as many requests in flight
// as its Concurrency allows. Concurrency limiters refuse with it
// (auth.Limiter: auth.LocalLimiter within one process, postgres.Limiter
// across the nodes of one database). It is declared here, beside Key, so
// that a backend can refuse with it without importing package auth, which
// exports the same error as auth.ErrConcurrencyLimit; its text keeps that
// name's prefix.
var ErrConcurrencyLimit = errors.New("auth: key concurrency limit exceeded")

// The per-uuid attempt budget (Key.AttemptsPerUUID).
const (
	// SubjectWindow is the sliding window over which a uuid's capture
	// attempts are counted.
	SubjectWindow = 24 * time.Hour

	// DefaultAttemptsPerUUID is the budget of a key that sets none: two
	// tokens' worth of attempts at FaceID's largest max_upload_times (5).
	// A person who fails a verification can still be sent through a
	// second one in full, while an attacker who gets the integrator to
	// issue token after token for a victim's account has ten tries at
	// the camera a day instead of an unlimited number.
	DefaultAttemptsPerUUID = 10

	// MinAttemptsPerUUID and MaxAttemptsPerUUID bound a key's
	// AttemptsPerUUID. Beyond a thousand a day the budget would no longer
	// slow anyone down.
	MinAttemptsPerUUID = 1
	MaxAttemptsPerUUID = 1000
)

// CheckAttemptsPerUUID reports whether n is an allowed Key.AttemptsPerUUID
// (0 meaning the default).
func CheckAttemptsPerUUID(n int) error {
	if n == 0 || (n >= MinAttemptsPerUUID && n <= MaxAttemptsPerUUID) {
		return nil
	}
	return fmt.Errorf("attempts per uuid %d is outside [%d, %d]", n, MinAttemptsPerUUID, MaxAttemptsPerUUID)
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

	// ResultRetention is the key's ResultRetention when the verification
	// was created (the store copies it; never zero once stored).
	ResultRetention time.Duration

	// Subject names the person the verification is for, for the per-uuid
	// attempt budget (Key.AttemptsPerUUID): a keyed digest of (KeyID,
	// UUID) that package auth computes under the installation's pepper
	// (auth.Keyring.SubjectDigest). The budget's records keep the digest,
	// never the uuid, so they can outlive the record's purge without
	// keeping who it was for; PurgeVerifications blanks Subject with
	// UUID. nil (or empty) means the verification is not budgeted.
	Subject []byte

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

	// UpdateKey replaces the settings of the key k.ID with k's: Name,
	// CanCompare, AllowedIPs, CallLimit, Concurrency, AllowedOrigins,
	// ResultRetention, AllowUploadFallback, AttemptsPerUUID and
	// RecordAttempts. The secrets (SecretHash, OldSecretHash,
	// OldSecretUntil), the notification settings (NotifyURL,
	// NotifySecret), Disabled, Calls, Recorded and CreatedAt are left
	// alone: notification settings change only through SetKeyNotify,
	// which is conditional on the secret hash, and RotateKeySecret, so
	// that writing back a key read before a rotation cannot restore a
	// NotifySecret sealed with the retiring secret. Returns ErrNotFound
	// for an unknown ID.
	UpdateKey(ctx context.Context, k *Key) error

	// SetKeyNotify sets the NotifyURL and NotifySecret of key id to url
	// and sealed, provided its SecretHash is still secretHash, the hash
	// of the secret that was sealed: a rotation since that secret was
	// checked would otherwise leave notifications signed with the
	// retiring secret. Nothing else of the key changes. Returns
	// ErrNotFound for an unknown ID and ErrConflict, writing nothing, if
	// the secret hash is another.
	SetKeyNotify(ctx context.Context, id, url string, sealed, secretHash []byte) error

	// RotateKeySecret replaces the secret of key id in one atomic step:
	// SecretHash becomes r.SecretHash; the hash it replaces becomes
	// OldSecretHash until r.OldSecretUntil, replacing any earlier old
	// hash (a zero OldSecretUntil drops the replaced hash at once); and
	// NotifySecret, if the key has one (notifications on), becomes
	// r.NotifySecret. Everything else (settings, Calls, verifications,
	// usage) is left alone. Returns ErrNotFound for an unknown ID.
	RotateKeySecret(ctx context.Context, id string, r SecretRotation) error

	// DeleteKey removes a key, its verification records, their
	// recordings and the attempts recorded for its per-uuid budget; its usage ledger rows stay, as
	// billing history. Returns ErrNotFound for an unknown ID.
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
	// is empty, of the rows with from ≤ At < to (a zero from or to leaves
	// that side open), ordered by key, endpoint, outcome and billing flag.
	Usage(ctx context.Context, keyID string, from, to time.Time) ([]UsageCount, error)

	// UsageEvents calls fn for each ledger row of keyID (every key when
	// empty) with from ≤ At < to, ordered by At then insertion, and stops
	// at fn's first error, which it returns. A zero from or to leaves that
	// side open.
	UsageEvents(ctx context.Context, keyID string, from, to time.Time, fn func(UsageEvent) error) error

	// BeginCapture admits a capture (a channel hello or a fallback
	// start_flash) for token at now and returns the record. A record in
	// NOT_STARTED moves to PROCESSING; one in PROCESSING stays. Refusals,
	// checked in this order: ErrNotFound; ErrFinished (OK or FAILED);
	// ErrExpired (now ≥ ExpiresAt: the record is moved to FAILED, its
	// terminal time being ExpiresAt); ErrAttemptsExhausted (Attempts ≥
	// MaxUploadTimes; nothing changes); ErrSubjectAttempts (the record
	// has a Subject whose budget, counted as CountAttempt counts it, is
	// spent at now; nothing changes), so that a new token for a
	// throttled uuid is refused at its first hello or start_flash.
	BeginCapture(ctx context.Context, token string, now time.Time) (*Verification, error)

	// CountAttempt counts one attempt (an evaluated colour sequence, or
	// one abandoned after its first colour) and returns the attempts
	// used, atomically: Attempts grows only while it is below
	// MaxUploadTimes, so concurrent callers never exceed the budget.
	// Refusals: ErrNotFound, ErrFinished, ErrNotStarted, ErrExpired (with
	// the expiry transition), ErrAttemptsExhausted, and, only when none
	// of those applies, ErrSubjectAttempts.
	//
	// The per-uuid budget: when the record has a Subject, the attempt is
	// also recorded for (KeyID, Subject) at now, in the same
	// transaction, unless the attempts already recorded for that pair
	// with now − SubjectWindow < at ≤ now have reached the key's
	// AttemptsPerUUID; then the call returns ErrSubjectAttempts and
	// writes nothing (Attempts does not grow either). The check and the
	// record are atomic across every verification of the pair and every
	// node, so concurrent callers never exceed that budget. The records
	// outlive their verification: PurgeVerifications deletes those older
	// than SubjectWindow, DeleteKey those of its key.
	CountAttempt(ctx context.Context, token string, now time.Time) (int, error)

	// SaveLiveness stores the liveness result of a failed attempt while
	// the verification goes on (PROCESSING), so that a later FAILED
	// outcome, possibly from another connection, can carry it. Refusals:
	// ErrNotFound, ErrFinished, ErrNotStarted.
	SaveLiveness(ctx context.Context, token string, lr *LivenessResult) error

	// FinishVerification moves a verification from PROCESSING to o.Status
	// (OK or FAILED) and stores o, exactly once: of concurrent callers
	// one succeeds and the others get ErrFinished. Refusals: ErrNotFound,
	// ErrFinished, ErrNotStarted. Expiry is not checked: an attempt that
	// began in time may finish after it. Reaching OK with a verify result
	// appends the token's one billable event (endpoint BillableEndpoint,
	// outcome "OK", spec §4.6) to the usage ledger in the same
	// transaction, so it is counted exactly once or not at all.
	FinishVerification(ctx context.Context, token string, o *Outcome) error

	// ExpireVerifications moves to FAILED every verification that is not
	// terminal and whose ExpiresAt is at or before now, recording
	// ExpiresAt as its terminal time, and returns how many it moved. A
	// non-empty token limits it to that verification.
	ExpireVerifications(ctx context.Context, now time.Time, token string) (int, error)

	// Result returns the stored outcome of a verification, or
	// ErrNotFound.
	Result(ctx context.Context, token string) (*Result, error)

	// ReadResult is get_result's read of keyID's verification token at
	// now (spec §4.5). It first applies the expiry transition if it is
	// due, then, if the record is terminal, counts one read and returns
	// the result with it. The read is counted only while fewer than
	// MaxResultReads have been, now is before TerminalAt plus the
	// verification's ResultRetention and the record has not been purged
	// (Result.ReadRefusal); deciding and counting are atomic against
	// every other call on every node, so a terminal result is returned,
	// counted, or refused for one of those reasons, never because the
	// record changed during the call: a finish or an expiry that commits
	// meanwhile yields either the state before it or the counted result.
	// A record that is not terminal, and not due to expire, is returned
	// as it is, uncounted and without images. Since get_result is polled,
	// that read, like a refusal of a result already terminal, writes
	// nothing and takes no write lock. Refusals: ErrNotFound (unknown
	// token, or one of another key: nothing is counted or changed);
	// ErrResultGone (reads used up, retention over, or purged).
	ReadResult(ctx context.Context, token, keyID string, now time.Time) (*Result, error)

	RetentionStore
	NotificationStore
	CaptureStore
	RecordingStore

	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error

	// Close releases the store's resources.
	Close() error
}

// Errors of the capture lifecycle (see the capture methods of Store).
var (
	// ErrExpired means the verification's life_time has elapsed. The call
	// that reports it has moved the record to FAILED if it was not
	// terminal yet (the expiry transition of spec §4.5).
	ErrExpired = errors.New("store: verification expired")

	// ErrFinished means the verification is already OK or FAILED.
	ErrFinished = errors.New("store: verification already finished")

	// ErrAttemptsExhausted means every attempt max_upload_times allows
	// has been counted.
	ErrAttemptsExhausted = errors.New("store: no attempts left")

	// ErrNotStarted means the call needs a verification in PROCESSING and
	// no capture has begun (status NOT_STARTED).
	ErrNotStarted = errors.New("store: capture not started")

	// ErrSubjectAttempts means the uuid's capture attempts within
	// SubjectWindow are spent: as many attempts are recorded for the
	// verification's key and Subject in the window as the key's
	// AttemptsPerUUID allows, whichever of the uuid's tokens used them.
	ErrSubjectAttempts = errors.New("store: the uuid's capture attempts within the window are spent")
)

// ErrResultGone means a terminal result may no longer be read: its reads
// are used up or its retention is over (get_result's RESULT_NOT_FOUND).
var ErrResultGone = errors.New("store: result no longer readable")

// Read limits of a terminal result (spec §4.5).
const (
	// MaxResultReads is how many times a terminal result can be read.
	MaxResultReads = 3

	// ResultRetention is how long after TerminalAt a result can be read
	// by default, and at most (spec §4.5: one day).
	ResultRetention = 24 * time.Hour
)

// Terminal reports whether s is a final state (OK or FAILED).
func (s Status) Terminal() bool { return s == StatusOK || s == StatusFailed }

// Liveness outcomes (liveness_result.result, spec §4.2).
const (
	LivenessPass = "PASS"
	LivenessFail = "FAIL"
	// LivenessPassUpload is the verdict of frames uploaded through the
	// HTTP fallback that passed the analysis. The client knew every colour
	// and chose every timestamp before uploading, so software can render
	// such a sequence from a photo: it is not a PASS, and no acceptance
	// rule that asks for PASS takes it (docs/liveness.md, "The upload
	// fallback").
	LivenessPassUpload = "PASS_UPLOAD"
)

// Transports a liveness result was captured over (liveness_result.transport).
const (
	TransportRTC    = "rtc"
	TransportUpload = "upload"
)

// LivenessDetails are the counters of user mistakes of spec §4.2. They
// explain a result; they never decide it. The JSON names, Megvii's, are
// part of LivenessResult's row encoding.
type LivenessDetails struct {
	FaceNotFound   int `json:"FACE_NOT_FOUND"`
	SideFace       int `json:"SIDE_FACE"`
	UpdownFace     int `json:"UPDOWN_FACE"`
	EyeOcclusion   int `json:"EYE_OCCLUSION"`
	MouthOcclusion int `json:"MOUTH_OCCLUSION"`
	AwayFromCamera int `json:"AWAY_FROM_CAMERA"`
	CloseToCamera  int `json:"CLOSE_TO_CAMERA"`
	OutOfImage     int `json:"OUT_OF_IMAGE"`
	MultipleFaces  int `json:"MULTIPLE_FACES"`
	// UploadTimes is the number of attempts used.
	UploadTimes int `json:"UPLOAD_TIMES"`
}

// Add adds o's counters to d's, except UploadTimes, which counts attempts
// of the whole verification rather than events and is set, not summed.
func (d *LivenessDetails) Add(o LivenessDetails) {
	d.FaceNotFound += o.FaceNotFound
	d.SideFace += o.SideFace
	d.UpdownFace += o.UpdownFace
	d.EyeOcclusion += o.EyeOcclusion
	d.MouthOcclusion += o.MouthOcclusion
	d.AwayFromCamera += o.AwayFromCamera
	d.CloseToCamera += o.CloseToCamera
	d.OutOfImage += o.OutOfImage
	d.MultipleFaces += o.MultipleFaces
}

// FaceGenuineness holds the attack-type scores of spec §4.2's optional
// extras, with the Lite API's names. Each confidence and threshold is in
// [0, 1]; a confidence above its threshold means that attack is suspected.
type FaceGenuineness struct {
	ScreenReplayConfidence  float64 `json:"screen_replay_confidence"`
	ScreenReplayThreshold   float64 `json:"screen_replay_threshold"`
	SyntheticFaceConfidence float64 `json:"synthetic_face_confidence"`
	SyntheticFaceThreshold  float64 `json:"synthetic_face_threshold"`
	// FaceReplaced is 1 when the person changed during the verification.
	FaceReplaced int `json:"face_replaced"`
	// InjectionSuspected is 1 when the pictures looked made by software
	// rather than taken by a camera (an injected stream); InjectionSignals
	// name the signals raised (docs/liveness.md, "Injection").
	InjectionSuspected int      `json:"injection_suspected"`
	InjectionSignals   []string `json:"injection_signals,omitempty"`
}

// LivenessResult is the liveness verdict that get_result shows as
// liveness_result (spec §4.2). Backends store it as its JSON, so these
// names are a row format that rows already written hold; what callers
// receive is shaped by package faceid.
type LivenessResult struct {
	// Result is LivenessPass or LivenessFail.
	Result          string           `json:"result"`
	Details         LivenessDetails  `json:"details"`
	FaceGenuineness *FaceGenuineness `json:"face_genuineness,omitempty"`
	// Transport is TransportRTC or TransportUpload.
	Transport string `json:"transport,omitempty"`
	// MultipleFaces is 1 when more than one face was seen during the
	// verification; nil when the capture did not decide it. get_result
	// shows it only to callers that set return_multifaces_tag.
	MultipleFaces *int `json:"multiple_faces,omitempty"`
	// FaceOcclusion is 1 when the face was found occluded; nil when the
	// capture did not decide it. get_result shows it only when occlusion
	// detection is on.
	FaceOcclusion *int `json:"face_occlusion,omitempty"`
}

// RefMatch is the comparison of the captured face with one reference.
type RefMatch struct {
	// Index is the reference's number: 1 for image_ref1, 2 for image_ref2.
	Index int
	// Confidence is in [0, 100], higher for more alike.
	Confidence float64
	// Thresholds maps false-accept rates ("1e-3" … "1e-6") to the
	// confidence that reaches them.
	Thresholds map[string]float64
}

// VerifyResult is the comparison that get_result shows as verify_result
// (spec §4.3): one RefMatch per reference. Backends store it as JSON of
// the form {"result_ref1": {...}, "result_ref2": {...}}, which
// MarshalJSON and UnmarshalJSON write and read: a row format that rows
// already written hold. What callers receive is shaped by package faceid.
type VerifyResult struct {
	Refs []RefMatch
}

type refMatchJSON struct {
	Confidence float64            `json:"confidence"`
	Thresholds map[string]float64 `json:"thresholds"`
}

// MarshalJSON implements json.Marshaler.
func (v VerifyResult) MarshalJSON() ([]byte, error) {
	m := make(map[string]refMatchJSON, len(v.Refs))
	for _, r := range v.Refs {
		m["result_ref"+strconv.Itoa(r.Index)] = refMatchJSON{Confidence: r.Confidence, Thresholds: r.Thresholds}
	}
	return json.Marshal(m)
}

// UnmarshalJSON implements json.Unmarshaler. Keys other than result_refN
// are ignored.
func (v *VerifyResult) UnmarshalJSON(b []byte) error {
	var m map[string]refMatchJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	v.Refs = v.Refs[:0]
	for k, r := range m {
		n, err := strconv.Atoi(strings.TrimPrefix(k, "result_ref"))
		if err != nil || !strings.HasPrefix(k, "result_ref") || n < 1 {
			continue
		}
		v.Refs = append(v.Refs, RefMatch{Index: n, Confidence: r.Confidence, Thresholds: r.Thresholds})
	}
	slices.SortFunc(v.Refs, func(a, b RefMatch) int { return a.Index - b.Index })
	return nil
}

// BillableEndpoint names the ledger rows FinishVerification writes: one
// billable event per verification that reaches OK with a verify result.
const BillableEndpoint = "verification"

// MaxImages is how many best images an Outcome may carry (image_best and
// image_best_2, spec §4.4).
const MaxImages = 2

// Outcome is what FinishVerification stores when a verification ends.
type Outcome struct {
	// Status is StatusOK or StatusFailed.
	Status Status
	// Liveness replaces any result SaveLiveness stored; nil clears it
	// (no attempt was evaluated).
	Liveness *LivenessResult
	// Verify is set when the comparison ran.
	Verify *VerifyResult
	// Images are the best frames as JPEG, best first, at most MaxImages.
	// They are the only media a verification keeps.
	Images [][]byte
	// At is terminal_at; zero means the store's clock.
	At time.Time
}

// Check reports whether o is an outcome a store may record: a terminal
// status and at most MaxImages images.
func (o *Outcome) Check() error {
	if !o.Status.Terminal() {
		return fmt.Errorf("finish with non-terminal status %q", o.Status)
	}
	if len(o.Images) > MaxImages {
		return fmt.Errorf("%d images, at most %d are kept", len(o.Images), MaxImages)
	}
	return nil
}

// Result is the stored outcome of a verification, what get_result reads.
// While the verification is not terminal, Liveness may hold the result of
// a failed attempt (see SaveLiveness), which the API does not show yet.
type Result struct {
	Token string
	// KeyID, BizNo and the two flags are copied from the Verification, so
	// get_result need not load its references.
	KeyID                  string
	BizNo                  *string
	ReturnMultifacesTag    bool
	FaceOcclusionDetection bool
	// Fetches counts the terminal reads made by ReadResult, this one
	// included.
	Fetches int

	Status   Status
	Attempts int
	Liveness *LivenessResult
	Verify   *VerifyResult
	Images   [][]byte
	// TerminalAt is when the status became OK or FAILED; zero before.
	TerminalAt time.Time
	// ResultRetention is the verification's (see Verification).
	ResultRetention time.Duration
	// PurgedAt is when PurgeVerifications deleted the record's data, which
	// leaves only the identity, status and times; zero before.
	PurgedAt time.Time
}
