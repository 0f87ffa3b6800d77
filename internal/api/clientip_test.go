package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string // "" = invalid
	}{
		{"PeerOnly", "203.0.113.7:5555", nil, trusted, "203.0.113.7"},
		{"UntrustedPeerXFFIgnored", "203.0.113.7:5555", []string{"198.51.100.1"}, trusted, "203.0.113.7"},
		{"NoTrustedProxiesXFFIgnored", "10.0.0.1:5555", []string{"198.51.100.1"}, nil, "10.0.0.1"},
		{"TrustedPeer", "10.0.0.1:5555", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"SpoofedLeftEntry", "10.0.0.1:5555", []string{"1.2.3.4, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"ChainOfProxies", "10.0.0.1:5555", []string{"198.51.100.1, 10.0.0.2", "10.0.0.3"}, trusted, "198.51.100.1"},
		{"AllTrusted", "10.0.0.1:5555", []string{"10.0.0.9, 10.0.0.2"}, trusted, "10.0.0.9"},
		{"TrustedNoHeader", "10.0.0.1:5555", nil, trusted, "10.0.0.1"},
		{"Garbage", "10.0.0.1:5555", []string{"not-an-ip"}, trusted, ""},
		{"GarbageLeftOfClient", "10.0.0.1:5555", []string{"junk, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"IPv6Peer", "[::1]:80", []string{"2001:db8::5"}, trusted, "2001:db8::5"},
		{"MappedPeer", "[::ffff:203.0.113.7]:80", nil, trusted, "203.0.113.7"},
		{"BadRemote", "pipe", nil, trusted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := clientAddr(r, tt.trusted)
			if tt.want == "" {
				if got.IsValid() {
					t.Fatalf("got %v, want invalid", got)
				}
				return
			}
			if got != netip.MustParseAddr(tt.want) {
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
}
