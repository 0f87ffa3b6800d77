package api

import (
	"math/rand/v2"
	"net/url"
	"testing"
)

// unescapeQuery decodes in place exactly as url.QueryUnescape decodes.
func TestUnescapeQuery(t *testing.T) {
	cases := []string{"", "a", "a+b", "%41%62", "%4a%4A", "%", "%4", "%zz", "a%2", "100%", "%2B+%20", "é%C3%A9", "+%00+"}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "a+%0123456789abcdefABCDEFgz="
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, werr := url.QueryUnescape(s)
		got, gerr := unescapeQuery([]byte(s))
		if (werr != nil) != (gerr != nil) || (werr == nil && string(got) != want) {
			t.Errorf("%q: got %q, %v; want %q, %v", s, got, gerr, want, werr)
		}
	}
}
