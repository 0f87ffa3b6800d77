package store

import (
	"context"
	"fmt"
	"time"
)

// Consented attempt recording (docs/field-testing.md).
//
// An operator measuring liveness on real phones turns recording on for
// one key (Key.RecordAttempts); each capture attempt of its tokens is then
// kept, up to that many, as a Recording: the frames, the timeline, the
// client's diagnostics and the verdict, for replay through a later
// analysis. The content is the capture itself, biometric data like the
// best images, so the store keeps it sealed by package auth and deletes
// it with the verification's other personal data (PurgeVerifications).

// MaxRecordAttempts bounds Key.RecordAttempts: a field test needs a few
// hundred attempts per cell at most.
const MaxRecordAttempts = 100000

// CheckRecordAttempts reports whether n is an allowed Key.RecordAttempts.
func CheckRecordAttempts(n int) error {
	if n < 0 || n > MaxRecordAttempts {
		return fmt.Errorf("record attempts %d is outside [0, %d]", n, MaxRecordAttempts)
	}
	return nil
}

// RecordingLabel is what the operator says an attempt was (glint
// recordings label): who or what was in front of the camera, on which
// device and in which light. Empty fields are unlabelled.
type RecordingLabel struct {
	// Species is "genuine" or an attack species (flashsim's names).
	Species  string
	Device   string
	Lighting string
}

// Recording is one recorded capture attempt.
type Recording struct {
	ID      string
	KeyID   string
	Token   string
	Attempt int
	// Pass is the server's verdict on the attempt, kept in the clear for
	// listing; the verdict's detail is in Data.
	Pass bool
	// Data is the sealed content (see session.AttemptRecord); nil in
	// listings.
	Data      []byte
	Label     RecordingLabel
	CreatedAt time.Time
}

// RecordingStore keeps recorded attempts.
type RecordingStore interface {
	// SaveRecording stores r and counts it against its key's
	// RecordAttempts, atomically: when the key has recorded as many
	// attempts as RecordAttempts allows (always when it is 0), it
	// returns ErrLimitReached and stores nothing. A zero CreatedAt is set
	// to the store's clock. Refusals: ErrNotFound (no such key, or no
	// such verification of it, or one purged), ErrConflict (the ID is
	// taken).
	SaveRecording(ctx context.Context, r *Recording) error

	// Recordings returns the recordings of keyID (every key when empty),
	// without Data, ordered by CreatedAt, then ID.
	Recordings(ctx context.Context, keyID string) ([]*Recording, error)

	// Recording returns one recording with its Data, or ErrNotFound.
	Recording(ctx context.Context, id string) (*Recording, error)

	// LabelRecording replaces a recording's label. Returns ErrNotFound
	// for an unknown ID.
	LabelRecording(ctx context.Context, id string, l RecordingLabel) error

	// DeleteRecording deletes a recording; the key's count of recorded
	// attempts stays. Returns ErrNotFound for an unknown ID.
	DeleteRecording(ctx context.Context, id string) error
}
