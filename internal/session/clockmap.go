package session

import (
	"math"
	"time"
)

// clockMap maps the client's clock to the server's.
//
// Every frame carries its capture time on the client's clock, c, and is
// stamped with its arrival on the server's, a. With skew s between the
// clocks and a delay d ≥ 0 (encoding, queueing, network) a − c = s + d,
// so the minimum of a − c over the frames seen is s + d_min: the skew,
// too large by the fastest delay observed (tens of milliseconds on a
// live connection, and shrinking as frames accumulate). Client times are
// mapped with that minimum. Relative timing between client events — a
// frame against a shown acknowledgement, which is what the reflection
// timing check compares — is exact whatever the estimate's error; the
// error only matters against the server's own clock, where it makes
// client events look up to d_min late, and the acknowledgement check
// allows for it (AckTolerance).
//
// A client that lies about its timestamps cannot gain much: a frame whose
// mapped capture time lies in the future of its arrival lowers the
// minimum (shifting everything earlier, which the acknowledgement check
// then catches against the server's send times), and a frame stamped as
// captured long before it arrived is dropped (MaxFrameDelay).
type clockMap struct {
	have   bool
	offset time.Duration
}

// maxClientMs bounds plausible epoch-millisecond timestamps (year 2286).
const maxClientMs = 1e13

// validClientMs reports whether ms can be a client capture time.
func validClientMs(ms float64) bool {
	return !math.IsNaN(ms) && !math.IsInf(ms, 0) && ms > 0 && ms < maxClientMs
}

func clientTime(ms float64) time.Time {
	return time.Unix(0, 0).Add(time.Duration(ms * float64(time.Millisecond)))
}

// observe takes one frame's capture time and arrival.
func (c *clockMap) observe(captureMs float64, arrival time.Time) {
	d := arrival.Sub(clientTime(captureMs))
	if !c.have || d < c.offset {
		c.have, c.offset = true, d
	}
}

// server maps a client time to the server's clock.
func (c *clockMap) server(ms float64) time.Time {
	return clientTime(ms).Add(c.offset)
}
