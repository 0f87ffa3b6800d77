package session

import (
	"net/url"
	"strings"
)

// OriginAllowed reports whether a page at origin (the Origin header) may
// use a token of a key whose allowed origins are allowed: an empty list
// allows every page, otherwise the origin must equal an entry by scheme,
// host and port (case-insensitive, default ports implied). With a list
// set, a missing Origin and the opaque origin "null" are refused: every
// browser sends one on these requests, and a client that does not is not
// the SDK.
func OriginAllowed(allowed []string, origin string) bool {
	if len(allowed) == 0 {
		return true
	}
	o, ok := normOrigin(origin)
	if !ok {
		return false
	}
	for _, a := range allowed {
		if n, ok := normOrigin(a); ok && n == o {
			return true
		}
	}
	return false
}

// normOrigin returns scheme://host:port in lower case.
func normOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http", "ws":
			port = "80"
		case "https", "wss":
			port = "443"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port, true
}
