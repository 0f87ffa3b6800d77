package sdk

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPageEmbedding: a token whose key lists origins gets a page that
// those origins, and only they, may frame, told the origins to post its
// outcome to; any other token keeps the unframeable page.
func TestPageEmbedding(t *testing.T) {
	var asked []string
	h := HandlerWith(func(_ context.Context, token string) []string {
		asked = append(asked, token)
		switch token {
		case "framed":
			return []string{"https://a.example", "http://b.example:8080"}
		case "hostile":
			// Nothing from the store may widen the policy or break out
			// of the attribute.
			return []string{"*", "https://a.example; script-src *", `https://x"><script>`, "https://ok.example"}
		}
		return nil
	})
	get := func(target string) (*http.Response, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec.Result(), rec.Body.String()
	}

	res, page := get("/h5/verify?token=framed")
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors https://a.example http://b.example:8080") || strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("framed: CSP %q", csp)
	}
	if xfo := res.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("framed: X-Frame-Options %q would forbid every frame", xfo)
	}
	if coop := res.Header.Get("Cross-Origin-Opener-Policy"); coop != "unsafe-none" {
		t.Errorf("framed: COOP %q severs the opener", coop)
	}
	if !strings.Contains(page, `<html data-origins="https://a.example http://b.example:8080" lang="en"`) {
		t.Errorf("framed: page lacks data-origins:\n%.200s", page)
	}
	plain, _ := get("/h5/verify?token=other")
	if res.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("the page with origins has the plain page's ETag")
	}

	res, page = get("/h5/verify?token=hostile")
	csp = res.Header.Get("Content-Security-Policy")
	if !strings.HasSuffix(csp, "frame-ancestors https://ok.example") || strings.Count(csp, "script-src") != 1 {
		t.Errorf("hostile: CSP %q", csp)
	}
	if !strings.Contains(page, `data-origins="https://ok.example"`) || strings.Contains(page, "<script>") {
		t.Errorf("hostile: page %.200s", page)
	}

	asked = nil
	for _, target := range []string{"/h5/verify", "/h5/verify?token=", "/h5/verify?token=other",
		"/h5/verify?token=" + strings.Repeat("x", maxTokenLen+1)} {
		res, page := get(target)
		if csp := res.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", target, csp)
		}
		if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Cross-Origin-Opener-Policy") != "same-origin" {
			t.Errorf("%s: X-Frame-Options %q, COOP %q", target, res.Header.Get("X-Frame-Options"), res.Header.Get("Cross-Origin-Opener-Policy"))
		}
		if strings.Contains(page, "data-origins") {
			t.Errorf("%s: page names origins", target)
		}
	}
	if len(asked) != 1 || asked[0] != "other" {
		t.Errorf("looked up %q; want only the plausible token", asked)
	}

	// Assets and the SDK are not the page: no lookup, no policy.
	asked = nil
	res, _ = get("/h5/verify.js?token=framed")
	if len(asked) != 0 || res.Header.Get("Content-Security-Policy") != "" {
		t.Errorf("asset: looked up %q, CSP %q", asked, res.Header.Get("Content-Security-Policy"))
	}
}
