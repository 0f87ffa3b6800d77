package notify

import (
	"math/rand/v2"
	"time"
)

// schedule is the wait after each failed attempt: quick retries for a
// receiver that blinked, then slower ones for one that is down, then
// every maxInterval until the retry window ends.
var schedule = []time.Duration{
	10 * time.Second,
	30 * time.Second,
	time.Minute,
	5 * time.Minute,
	15 * time.Minute,
	30 * time.Minute,
	time.Hour,
}

// maxInterval is the wait once the schedule is used up.
const maxInterval = 2 * time.Hour

// Backoff returns the wait after failed attempt n (1 for the first),
// jittered by ±10% so that the notifications of one outage do not all
// come back at the same instant.
func Backoff(n int) time.Duration {
	base := maxInterval
	if n >= 1 && n <= len(schedule) {
		base = schedule[n-1]
	}
	return base + time.Duration((rand.Float64()*0.2-0.1)*float64(base))
}

func (d *Deliverer) backoff(n int) time.Duration {
	if d.Backoff != nil {
		return d.Backoff(n)
	}
	return Backoff(n)
}
