package api

import (
	"errors"
	"net/http"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/faceid"
	"github.com/glint-id/glint/internal/store"
)

// errResultNotFound is get_result's answer once a result may no longer be
// read (spec §2.2); its INVALID_TOKEN is the fallback's errInvalidToken.
var errResultNotFound = &apiError{http.StatusBadRequest, "RESULT_NOT_FOUND"}

// resultParams are get_result's validated parameters.
type resultParams struct {
	token string
	// show holds return_image and face_occlusion_detection, which change
	// what the result shows.
	show faceid.Options
}

// resultFields are get_result's parameters.
var resultFields = map[string]bool{
	"api_key": true, "api_secret": true, "token": true,
	"return_image": true, "face_occlusion_detection": true,
}

func resultField(name string) bool { return resultFields[name] }

// getResult implements GET /faceid/lite/raw/get_result and its POST form
// (spec §2.2), with get_token's validation order (spec §0): credentials,
// permission, missing fields, malformed values, then the token itself.
func (h *Handler) getResult(c *call) {
	ctx := c.r.Context()
	f, err := h.resultForm(c)
	if c.bodyRefused(err) {
		return
	}

	// 1. Credentials.
	key, ok := h.authenticate(c, f)
	if !ok {
		return
	}

	// 2. Permission. Neither the compare right nor the call limit applies:
	// reading a result costs no call, and a key whose limit was reached by
	// its last get_token must still be able to read that token's result.
	if key.Disabled {
		c.fail(errAuthorization(reasonDiscontinued), auth.ErrDisabled)
		return
	}
	if !auth.IPAllowed(key.AllowedIPs, c.client) {
		c.fail(errAuthorization(reasonIPNotAllowed), auth.ErrIPNotAllowed)
		return
	}
	release, ok := h.acquire(c, key)
	if !ok {
		return
	}
	defer release()

	// 3 and 4.
	p, perr := parseResultParams(f)
	if perr != nil {
		c.fail(perr, nil)
		return
	}
	if !wellFormedToken(p.token) {
		c.fail(errInvalidToken, nil)
		return
	}

	r, err := h.cfg.Store.ReadResult(ctx, p.token, key.ID, h.cfg.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.fail(errInvalidToken, nil)
		return
	case errors.Is(err, store.ErrResultGone):
		c.fail(errResultNotFound, err)
		return
	case err != nil:
		c.fail(errInternal, err)
		return
	}
	// The token is known and the caller's: biz_no is now theirs to see.
	c.meta.BizNo = r.BizNo
	c.body = faceid.NewResult(c.meta, r, p.show)
}

// resultForm reads the fields from the query string for GET and from the
// body for POST, as FaceID clients send them (spec §0); the other place
// is ignored so that one request has one set of values.
func (h *Handler) resultForm(c *call) (*form, error) {
	if c.r.Method == http.MethodPost {
		return h.readForm(c, resultField, h.checkKey(c, func(k *store.Key) error {
			if k.Disabled || !auth.IPAllowed(k.AllowedIPs, c.client) {
				return auth.ErrDisabled // refused at step 2 below
			}
			return nil
		}))
	}
	f := &form{fields: map[string][]byte{}, wanted: resultField}
	if err := f.parseURLEncoded([]byte(c.r.URL.RawQuery)); err != nil {
		f.malformed = err
	}
	return f, nil
}

// parseResultParams applies steps 3 and 4 in the order of the spec's
// parameter table.
func parseResultParams(f *form) (*resultParams, *apiError) {
	token, ok := f.text("token")
	if !ok {
		return nil, errMissing("token")
	}
	p := &resultParams{token: token}
	if v, ok := f.text("return_image"); ok {
		switch v {
		case "0", "1", "2":
			p.show.ReturnImage = int(v[0] - '0')
		default:
			return nil, errBad("return_image")
		}
	}
	if v, ok := f.text("face_occlusion_detection"); ok {
		switch v {
		case "0", "1":
			on := v == "1"
			p.show.Occlusion = &on
		default:
			return nil, errBad("face_occlusion_detection")
		}
	}
	return p, nil
}

// wellFormedToken reports whether s could be a token of newToken, so that
// junk is refused without a database look-up.
func wellFormedToken(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z', '0' <= b && b <= '9', b == '-', b == '_':
		default:
			return false
		}
	}
	return true
}
