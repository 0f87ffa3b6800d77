package api

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr returns the address a request comes from, for IP allow-lists.
//
// It is the TCP peer, unless the peer is one of the trusted proxies: then
// X-Forwarded-For is read from the right (the entry the proxy appended) to
// the left, skipping further trusted proxies, and the first other address
// is the client. Entries left of that are whatever the client chose to
// send and are never believed. An unparsable entry where the client should
// be yields the invalid Addr, which no allow-list admits.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap().WithZone("")
	if !inPrefixes(trusted, addr) {
		return addr
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}
		}
		a = a.Unmap().WithZone("")
		if !inPrefixes(trusted, a) {
			return a
		}
		addr = a
	}
	// Every hop was a trusted proxy: the leftmost is as close to the
	// client as we can tell.
	return addr
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
