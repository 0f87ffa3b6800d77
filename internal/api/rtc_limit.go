package api

import (
	"net/netip"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate float64, burst int) bool {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else {
		b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// addrLimiter rate-limits new channel connections per client address,
// so one address cannot open sessions (each a goroutine pair, a face
// analysis worker and a store row lookup) faster than a person retries.
type addrLimiter struct {
	rate  float64
	burst int

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	swept   time.Time
}

func newAddrLimiter(rate float64, burst int) *addrLimiter {
	return &addrLimiter{rate: rate, burst: burst, buckets: map[netip.Addr]*bucket{}}
}

// allow takes a token for addr.
func (l *addrLimiter) allow(addr netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A bucket idle long enough to be full again is the same as no
	// bucket: drop those now and then, so the map does not grow with
	// every address ever seen.
	full := time.Duration(float64(l.burst) / l.rate * float64(time.Second))
	if now.Sub(l.swept) > full {
		for a, b := range l.buckets {
			if now.Sub(b.last) > full {
				delete(l.buckets, a)
			}
		}
		l.swept = now
	}
	b := l.buckets[addr]
	if b == nil {
		b = &bucket{}
		l.buckets[addr] = b
	}
	return b.take(now, l.rate, l.burst)
}
