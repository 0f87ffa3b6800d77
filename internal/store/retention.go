package store

import (
	"context"
	"fmt"
	"time"
)

// Bounds of a key's ResultRetention. The spec keeps results one day
// (§4.5); a key may ask for less, never more.
const (
	MinResultRetention = time.Minute
	MaxResultRetention = ResultRetention
)

// TombstoneRetention is how long a purged verification's tombstone
// (token, key, status and times; no personal data) is kept, so that
// get_result keeps answering RESULT_NOT_FOUND rather than INVALID_TOKEN
// for a token it once issued. Then the row goes too.
const TombstoneRetention = 30 * 24 * time.Hour

// CheckResultRetention reports whether d is an allowed Key.ResultRetention
// (0 meaning the default).
func CheckResultRetention(d time.Duration) error {
	if d == 0 || (d >= MinResultRetention && d <= MaxResultRetention) {
		return nil
	}
	return fmt.Errorf("result retention %s is outside [%s, %s]", d, MinResultRetention, MaxResultRetention)
}

// Purge counts what one PurgeVerifications call removed.
type Purge struct {
	// Records is how many verifications lost their data and became
	// tombstones.
	Records int
	// Tombstones is how many tombstones older than TombstoneRetention were
	// deleted.
	Tombstones int
}

// RetentionStore deletes what the retention rules of spec §4.5 no longer
// allow Glint to keep.
type RetentionStore interface {
	// PurgeVerifications applies the expiry transition to every record
	// due at now (as ExpireVerifications does), then purges each terminal
	// record whose result can no longer be read: now ≥ TerminalAt +
	// ResultRetention, or all MaxResultReads reads made. Purging deletes
	// the record's references (embeddings, crops, originals), best
	// images, liveness and verify results, uuid, its Subject digest and
	// biz_no, its recordings (RecordingStore), and any notification still
	// queued for it, and sets
	// PurgedAt; the usage ledger and the delivery log are kept. The
	// deleted bytes must not stay readable in the backend's files
	// (SQLite: secure_delete, then a WAL checkpoint). Tombstones purged,
	// and delivery log rows written, before now − TombstoneRetention are
	// deleted, and the per-uuid attempt records older than SubjectWindow
	// (the budget no longer counts them).
	PurgeVerifications(ctx context.Context, now time.Time) (Purge, error)
}
