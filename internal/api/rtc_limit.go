package api

import (
	"math"
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
	b.refill(now, rate, burst)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time, rate float64, burst int) {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else {
		b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
}

// limiter rate-limits events per key — a client address, a token — with
// a token bucket each, so that one client cannot do something (open a
// channel session, start or upload a fallback sequence) faster than a
// person retries. Client addresses (netip.Addr keys) share a bucket per
// network, as clientNet draws them.
type limiter[K comparable] struct {
	rate  float64
	burst int

	mu      sync.Mutex
	buckets map[K]*bucket
	swept   time.Time
}

func newLimiter[K comparable](rate float64, burst int) *limiter[K] {
	return &limiter[K]{rate: rate, burst: burst, buckets: map[K]*bucket{}}
}

// allow takes a token for k.
func (l *limiter[K]) allow(k K, now time.Time) bool {
	return l.bucket(k, now, true)
}

// has reports whether k has a token, without taking it.
func (l *limiter[K]) has(k K, now time.Time) bool {
	return l.bucket(k, now, false)
}

func (l *limiter[K]) bucket(k K, now time.Time, take bool) bool {
	if a, ok := any(k).(netip.Addr); ok {
		k = any(clientNet(a)).(K)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A bucket idle long enough to be full again is the same as no
	// bucket: drop those now and then, so the map does not grow with
	// every key ever seen.
	full := time.Duration(float64(l.burst) / l.rate * float64(time.Second))
	if now.Sub(l.swept) > full {
		for a, b := range l.buckets {
			if now.Sub(b.last) > full {
				delete(l.buckets, a)
			}
		}
		l.swept = now
	}
	b := l.buckets[k]
	if b == nil {
		b = &bucket{}
		l.buckets[k] = b
	}
	if !take {
		b.refill(now, l.rate, l.burst)
		return b.tokens >= 1
	}
	return b.take(now, l.rate, l.burst)
}

// throttle is one client address's share of a limiter, as a session sees
// it (session.Throttle).
type throttle struct {
	l    *limiter[netip.Addr]
	addr netip.Addr
	now  func() time.Time
}

func (t throttle) Allow(take bool) bool {
	if take {
		return t.l.allow(t.addr, t.now())
	}
	return t.l.has(t.addr, t.now())
}

// retryAfter is how long until k has a token again, in whole seconds (at
// least 1), for a Retry-After header.
func (l *limiter[K]) retryAfter() int {
	return max(1, int(math.Ceil(1/l.rate)))
}

// clientNet is the network a client address is limited as: an IPv4
// address alone, an IPv6 address with the rest of its /64. One IPv6
// subscriber usually gets a whole /64 (often more) and picks any address
// in it at will, so per address an IPv6 client would have 2^64 buckets.
// IPv4-mapped IPv6 addresses count as the IPv4 address they map; zones
// are dropped.
func clientNet(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	if !a.Is6() {
		return a
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a
	}
	return p.Addr()
}
