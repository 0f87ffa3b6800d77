package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateAddress is the error of a connection refused because the
// receiver's address is not a public one (see CheckAddr).
var ErrPrivateAddress = errors.New("not a public address")

var (
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598, carrier-grade NAT
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // RFC 1122: "this host on this network"
	nat64       = netip.MustParsePrefix("64:ff9b::/96")  // RFC 6052: IPv4 addresses behind NAT64
	broadcast   = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// CheckAddr returns an error wrapping ErrPrivateAddress, saying which kind
// of address a is, unless a is a public unicast address. Refused are
// loopback, private (RFC 1918 and IPv6 unique local), link-local (where
// cloud metadata services listen), unspecified, multicast and broadcast
// addresses, the shared address space of carrier-grade NAT and
// 0.0.0.0/8; IPv4 addresses mapped into IPv6, or behind the NAT64 prefix,
// are judged as IPv4.
func CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	var kind string
	switch {
	case !a.IsValid():
		kind = "an invalid address"
	case a.IsLoopback():
		kind = "a loopback address"
	case a.IsUnspecified() || thisNetwork.Contains(a):
		kind = "an unspecified address"
	case a.IsPrivate():
		kind = "a private address"
	case a.IsLinkLocalUnicast():
		kind = "a link-local address"
	case a.IsMulticast() || a == broadcast:
		kind = "a multicast or broadcast address"
	case sharedSpace.Contains(a):
		kind = "a carrier-grade NAT address"
	default:
		return nil
	}
	return fmt.Errorf("%s is %s: %w", a, kind, ErrPrivateAddress)
}

// guardedDialer returns a dialer that refuses, as the connection is made,
// any address CheckAddr refuses. The check runs on the address actually
// dialled, after name resolution, so a name that resolves to a public
// address when the URL is set and to a private one later (DNS rebinding)
// is refused all the same.
func guardedDialer() *net.Dialer {
	return &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			a, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("notify: dialling %q: %w", address, err)
			}
			if err := CheckAddr(a); err != nil {
				return fmt.Errorf("refused to connect: %w; notifications go only to public addresses unless serve has --notify-allow-private", err)
			}
			return nil
		},
	}
}

// newTransport is http.DefaultTransport's configuration with, unless
// allowPrivate, the guarded dialer and no proxy: a proxy would make the
// connections itself, to addresses the guard never sees.
func newTransport(allowPrivate bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if !allowPrivate {
		t.Proxy = nil
		t.DialContext = guardedDialer().DialContext
	}
	return t
}
