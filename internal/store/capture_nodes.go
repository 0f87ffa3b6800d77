package store

import (
	"context"
	"time"
)

// Several glint nodes may serve one database behind a load balancer, and a
// browser's requests for one token may reach any of them: the capture
// WebSocket one node, start_flash another, validate_flash a third. The
// capture side's state that must hold across nodes therefore lives in the
// store, behind CaptureStore; everything else about a connection stays in
// the process that holds it.

// FlashSequence is a colour sequence that start_flash handed out and that
// validate_flash will consume (spec §2.3.2).
type FlashSequence struct {
	// ID is the seq_id, unique among all stored sequences.
	ID string
	// Token is the verification the sequence belongs to; only a
	// validate_flash for this token may take it.
	Token string
	// Challenge is the sequence itself, encoded by the capture side. The
	// store keeps the bytes as given and never looks inside.
	Challenge []byte
	// IssuedAt is when start_flash handed it out.
	IssuedAt time.Time
	// ExpiresAt is the last instant it may be taken: a take at a later
	// now refuses it (the sequence is stale).
	ExpiresAt time.Time
}

// CaptureStore keeps the capture state that several nodes share: which
// connection owns a token's capture (spec §5.4 item 10: a newer
// connection supersedes the older, wherever each one is served) and the
// HTTP fallback's pending sequences. All methods are safe for concurrent
// use, from several processes at once.
//
// Store embeds it, so every backend implements it; it is declared on its
// own as the capture flow's share of the store (session.Store embeds it
// too).
type CaptureStore interface {
	// ClaimCapture makes owner, a non-empty id that a connection draws
	// for itself at random, the capture owner of token's verification,
	// replacing whichever owner it had: the latest claim wins, without
	// regard to the verification's status or to who owned it before.
	// Returns ErrNotFound for an unknown token.
	ClaimCapture(ctx context.Context, token, owner string) error

	// CaptureOwner returns the owner of the latest ClaimCapture of token,
	// or "" if none was made. Returns ErrNotFound for an unknown token.
	// A connection calls it to learn that a newer one has taken over.
	CaptureOwner(ctx context.Context, token string) (string, error)

	// SaveFlashSequence stores seq, replacing any sequence stored for
	// seq.Token (one live sequence per token: the older one can no longer
	// be taken). Returns ErrNotFound if seq.Token has no verification,
	// and ErrConflict if seq.ID names another token's sequence. The
	// sequence is deleted with its verification, and by
	// PurgeVerifications when the verification is purged.
	SaveFlashSequence(ctx context.Context, seq *FlashSequence) error

	// TakeFlashSequence deletes the sequence id of token and returns it,
	// atomically, so that of concurrent takers exactly one gets it and
	// the others get ErrNotFound, as does any later take (single use).
	// Returns ErrNotFound, changing nothing, when token has no sequence
	// id (never stored, already taken, replaced, or another token's). A
	// sequence whose ExpiresAt is before now is deleted and refused with
	// ErrNotFound too: stale is as good as gone.
	TakeFlashSequence(ctx context.Context, token, id string, now time.Time) (*FlashSequence, error)
}
