package store

import (
	"fmt"
	"time"
)

// ReadRefusal reports why ReadResult may not count a read of r, a
// terminal result, at now: ErrResultGone wrapped with the reason (the
// record was purged, its MaxResultReads reads are made, or its retention
// is over), or nil when the read may be counted.
//
// Each reason, once true of a record, stays true: a purge is never
// undone, Fetches never goes down, and neither TerminalAt nor
// ResultRetention changes once the record is terminal. So a backend may
// refuse on any committed state of the record it has read, without a
// lock, and the reason is still true when the caller hears it; only a read
// it counts has to be decided on the record as it stands when the count is
// written (see the backends' ReadResult).
func (r *Result) ReadRefusal(now time.Time) error {
	switch {
	case !r.PurgedAt.IsZero():
		return fmt.Errorf("purged at %s: %w", r.PurgedAt.Format(time.RFC3339Nano), ErrResultGone)
	case r.Fetches >= MaxResultReads:
		return fmt.Errorf("%d of %d reads made: %w", r.Fetches, MaxResultReads, ErrResultGone)
	case !now.Before(r.TerminalAt.Add(r.ResultRetention)):
		return fmt.Errorf("terminal at %s, kept %s: %w", r.TerminalAt.Format(time.RFC3339Nano), r.ResultRetention,
			ErrResultGone)
	}
	return nil
}
