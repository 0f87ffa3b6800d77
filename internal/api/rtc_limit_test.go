package api

import (
	"net/netip"
	"testing"
	"time"
)

func TestClientNet(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"2001:db8:1:2::", "2001:db8:1:2::"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::"},
		{"fe80::1%eth0", "fe80::"},
		{"::1", "::"},
	} {
		if got := clientNet(netip.MustParseAddr(tc.in)); got != netip.MustParseAddr(tc.want) {
			t.Errorf("clientNet(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := clientNet(netip.Addr{}); got.IsValid() {
		t.Errorf("clientNet of the invalid address = %s", got)
	}
}

// TestLimiterPerNetwork: an IPv6 client cannot walk around a limit by
// changing the address within its /64, nor an IPv4 client by writing its
// address as IPv4-mapped IPv6; neighbouring networks keep their own.
func TestLimiterPerNetwork(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	l := newLimiter[netip.Addr](0.001, 2)
	take := func(a string) bool { return l.allow(netip.MustParseAddr(a), now) }

	if !take("2001:db8:1:2::1") || !take("2001:db8:1:2:ffff::9") {
		t.Fatal("the burst was refused")
	}
	for _, a := range []string{"2001:db8:1:2::1", "2001:db8:1:2:dead:beef:0:1", "2001:db8:1:2:ffff:ffff:ffff:ffff"} {
		if take(a) {
			t.Errorf("%s got past its /64's spent bucket", a)
		}
		if l.has(netip.MustParseAddr(a), now) {
			t.Errorf("has(%s) with its /64's bucket spent", a)
		}
	}
	if !take("2001:db8:1:3::1") {
		t.Error("the next /64 shares the bucket")
	}

	if !take("192.0.2.7") || !take("::ffff:192.0.2.7") {
		t.Fatal("the IPv4 burst was refused")
	}
	if take("192.0.2.7") || take("::ffff:192.0.2.7") {
		t.Error("an IPv4 address got past its spent bucket (as itself or IPv4-mapped)")
	}
	if !take("192.0.2.8") {
		t.Error("IPv4 neighbours share a bucket")
	}
}
