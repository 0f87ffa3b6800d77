package store

import (
	"context"
	"errors"
	"time"
)

// Notification is one queued signed POST of a verification's result to
// its key's NotifyURL. The store queues it, in the same transaction, when
// a verification of a key with a NotifyURL first becomes OK or FAILED;
// purging or deleting the verification deletes it.
type Notification struct {
	ID    int64
	Token string
	KeyID string
	// URL is the key's NotifyURL when the notification was queued.
	URL string
	// Secret is the key's NotifySecret now (sealed api_secret); nil if the
	// key has turned notifications off since.
	Secret []byte
	// Attempts counts the deliveries tried so far.
	Attempts int
	// CreatedAt is the verification's terminal time; deliveries are tried
	// until CreatedAt + NotifyRetryWindow.
	CreatedAt     time.Time
	NextAttemptAt time.Time
}

// NotifyRetryWindow is how long a notification is retried.
const NotifyRetryWindow = 24 * time.Hour

// DeliveryAttempt is one row of the delivery log: one POST of a
// notification and what came of it.
type DeliveryAttempt struct {
	NotificationID int64
	Token          string
	KeyID          string
	URL            string
	// Attempt numbers the deliveries of one notification from 1.
	Attempt int
	At      time.Time
	// Duration is how long the POST took.
	Duration time.Duration
	// StatusCode is the receiver's HTTP status; 0 when no response came.
	StatusCode int
	// Error says why the attempt failed ("" when delivered).
	Error string
	// Delivered is true for a 2xx answer.
	Delivered bool
}

// ErrClaimLost is RecordDelivery's answer when the caller's claim has
// been overtaken: the notification still exists but is finished, or its
// Attempts is no longer a.Attempt-1 because another claimer's attempt was
// recorded since the claim (the caller's lease ran out). The other
// claimer's record stands; nothing was written.
//
// The attempt number is the fence: each number is recorded at most once
// per notification, in order, and a finished notification is never
// reopened, so a late record can neither resend what another claimer
// delivered nor log an attempt twice. Only when a claimer's lease runs
// out before it records anything does the next claimer hold the same
// number; then the first of the two to record wins.
var ErrClaimLost = errors.New("store: notification claim lost")

// NotificationStore queues notifications and keeps their delivery log.
// Several processes may deliver from one store: a claim hides a
// notification from other claimers for a lease.
type NotificationStore interface {
	// ClaimNotifications returns up to limit notifications that are due
	// at now (NextAttemptAt ≤ now, neither delivered nor given up),
	// oldest first, and moves each one's NextAttemptAt to now + lease so
	// that no concurrent caller gets it until the lease runs out.
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error)

	// RecordDelivery records the attempt a, made under a claim of the
	// notification a.NotificationID whose Attempts was a.Attempt-1. If
	// the notification is not finished and its Attempts is still
	// a.Attempt-1, it appends a to the delivery log and updates the
	// notification, in one transaction: Attempts becomes a.Attempt; a
	// zero next finishes it (delivered, or given up), otherwise the next
	// attempt is due at next. Otherwise it changes and logs nothing and
	// returns ErrNotFound if the notification is gone (its verification
	// was purged or deleted), or ErrClaimLost if it is finished or
	// another attempt has been recorded since the claim.
	RecordDelivery(ctx context.Context, a DeliveryAttempt, next time.Time) error

	// Deliveries returns the delivery log of keyID, limited to token when
	// it is not empty, oldest first.
	Deliveries(ctx context.Context, keyID, token string) ([]DeliveryAttempt, error)
}
