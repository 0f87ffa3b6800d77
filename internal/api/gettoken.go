package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"strconv"
	"strings"
	"time"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/faceid"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/store"
)

// tokenReply is get_token's success body (spec §2.1 "Response fields").
type tokenReply struct {
	*faceid.Meta
	Token string `json:"token"`
}

// tokenParams are get_token's validated parameters.
type tokenParams struct {
	bizNo                  *string
	colorNumber            int
	livenessPreferences    string
	language               string
	procedureType          string
	comparisonType         string
	uuid                   string
	refs                   [][]byte // image_ref1 and, if sent, image_ref2
	multiOriented          bool
	failOnMultiple         bool
	maxUploadTimes         int
	lifeTime               int // minutes
	returnMultifacesTag    bool
	faceOcclusionDetection bool
}

// getToken implements POST /faceid/lite/raw/get_token (spec §2.1). The
// checks follow the validation order of spec §0 and stop at the first
// failure: key and secret present, authentic; permission; missing fields in
// table order; malformed values in table order; image decoding; pixel
// size; faces. Within each image step image_ref1 goes before image_ref2.
func (h *Handler) getToken(c *call) {
	ctx := c.r.Context()
	// The credentials and step 2 are checked as soon as they are read:
	// a refusal is then known, and the photos are read past, not kept.
	f, err := h.readForm(c, tokenField, h.checkKey(c, func(k *store.Key) error {
		return auth.Authorize(k, c.client, auth.PermCompare)
	}))
	if c.bodyRefused(err) {
		return
	}
	if v, ok := f.get("biz_no"); ok {
		s := string(v)
		c.meta.BizNo = &s // echoed whenever supplied, even on failure
	}

	// 1. Credentials.
	key, ok := h.authenticate(c, f)
	if !ok {
		return
	}

	// 2. Permission, then the key's concurrency slot, held to the end.
	if err := auth.Authorize(key, c.client, auth.PermCompare); err != nil {
		c.fail(authorizationError(err), err)
		return
	}
	release, ok := h.acquire(c, key)
	if !ok {
		return
	}
	defer release()

	// 3 and 4. Missing, then malformed, parameters.
	p, perr := parseTokenParams(f)
	if perr != nil {
		c.fail(perr, nil)
		return
	}

	// 5–7. Images.
	refs, ierr, cause := h.references(c, p)
	if ierr != nil {
		c.fail(ierr, cause)
		return
	}

	now := h.cfg.Now()
	v := &store.Verification{
		Token:                    newToken(),
		KeyID:                    key.ID,
		BizNo:                    p.bizNo,
		UUID:                     p.uuid,
		ColorNumber:              p.colorNumber,
		LivenessPreferences:      p.livenessPreferences,
		Language:                 p.language,
		ProcedureType:            p.procedureType,
		ComparisonType:           p.comparisonType,
		MaxUploadTimes:           p.maxUploadTimes,
		LifeTime:                 time.Duration(p.lifeTime) * time.Minute,
		MultiOrientedDetection:   p.multiOriented,
		FailWhenRefMultipleFaces: p.failOnMultiple,
		ReturnMultifacesTag:      p.returnMultifacesTag,
		FaceOcclusionDetection:   p.faceOcclusionDetection,
		Refs:                     refs,
		Status:                   store.StatusNotStarted,
		IssuedAt:                 now,
		ExpiresAt:                now.Add(time.Duration(p.lifeTime) * time.Minute),
		Subject:                  h.cfg.Keys.SubjectDigest(key.ID, p.uuid),
	}
	// The call limit was checked up front, but concurrent calls may have
	// used it up since; the store re-checks atomically as it saves.
	err = h.cfg.Store.CreateVerification(ctx, v)
	if errors.Is(err, store.ErrLimitReached) {
		c.fail(errAuthorization(reasonLimitReached), nil)
		return
	}
	if err != nil {
		c.fail(errInternal, err)
		return
	}
	c.body = tokenReply{Meta: c.meta, Token: v.Token}
}

// tokenFields are get_token's parameters (spec §2.1).
var tokenFields = map[string]bool{
	"api_key": true, "api_secret": true, "biz_no": true, "color_number": true,
	"liveness_preferences": true, "language": true, "procedure_type": true,
	"comparison_type": true, "uuid": true, "image_ref1": true, "image_ref2": true,
	"multi_oriented_detection": true, "fail_when_ref_multiple_faces": true,
	"max_upload_times": true, "life_time": true, "return_multifaces_tag": true,
	"face_occlusion_detection": true,
}

// tokenField reports whether get_token reads a field: its parameters, and
// any further image_refN, which it refuses.
func tokenField(name string) bool {
	return tokenFields[name] || strings.HasPrefix(name, "image_ref")
}

func authorizationError(err error) *apiError {
	switch {
	case errors.Is(err, auth.ErrDisabled):
		return errAuthorization(reasonDiscontinued)
	case errors.Is(err, auth.ErrIPNotAllowed):
		return errAuthorization(reasonIPNotAllowed)
	case errors.Is(err, auth.ErrNoVerifyPermission):
		return errAuthorization(reasonNoVerifyPermission)
	case errors.Is(err, auth.ErrLimitReached):
		return errAuthorization(reasonLimitReached)
	}
	return errInternal
}

// parseTokenParams applies steps 3 and 4 of the validation order: first
// every required field that is missing, then every malformed value, each in
// the order of the spec's parameter table.
func parseTokenParams(f *form) (*tokenParams, *apiError) {
	// Step 3, table order: comparison_type, uuid, image_ref1,
	// max_upload_times, life_time (api_key/api_secret came first).
	for _, name := range []string{"comparison_type", "uuid", "image_ref1", "max_upload_times", "life_time"} {
		if _, ok := f.text(name); !ok {
			return nil, errMissing(name)
		}
	}

	// Step 4, table order.
	p := &tokenParams{
		colorNumber:         6,
		livenessPreferences: "none",
		language:            "0",
		procedureType:       "raw_flash",
		failOnMultiple:      true,
	}
	if v, ok := f.get("biz_no"); ok {
		if len(v) > 128 { // bytes, not characters (spec §6 #24)
			return nil, errBad("biz_no")
		}
		s := string(v)
		p.bizNo = &s
	}
	if v, ok := f.text("color_number"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 4 && n != 6 && n != 8) {
			return nil, errBad("color_number")
		}
		p.colorNumber = n
	}
	var bad *apiError
	enum := func(name string, dst *string, allowed ...string) {
		v, ok := f.text(name)
		if !ok || bad != nil {
			return
		}
		for _, a := range allowed {
			if v == a {
				*dst = v
				return
			}
		}
		bad = errBad(name)
	}
	flag := func(name string, dst *bool) {
		var s string
		enum(name, &s, "0", "1")
		if s != "" {
			*dst = s == "1"
		}
	}
	intRange := func(name string, dst *int, lo, hi int) {
		v, _ := f.text(name) // present: checked in step 3
		if bad != nil {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad = errBad(name)
			return
		}
		*dst = n
	}
	enum("liveness_preferences", &p.livenessPreferences, "none")
	enum("language", &p.language, "0", "1")
	enum("procedure_type", &p.procedureType, "raw_flash")
	enum("comparison_type", &p.comparisonType, "0")
	if bad == nil {
		p.uuid, _ = f.text("uuid")
		if len(p.uuid) > 512 {
			bad = errBad("uuid")
		}
	}
	if bad == nil {
		// image_ref1 and image_ref2 have no malformed-value rule of their
		// own (bad images are steps 5–7); the image_ref2 row forbids a
		// third reference (spec §6 #5).
		if name, ok := f.extraRef(); ok {
			bad = errBad(name)
		}
	}
	flag("multi_oriented_detection", &p.multiOriented)
	flag("fail_when_ref_multiple_faces", &p.failOnMultiple)
	intRange("max_upload_times", &p.maxUploadTimes, 2, 5)
	intRange("life_time", &p.lifeTime, 5, 1440)
	flag("return_multifaces_tag", &p.returnMultifacesTag)
	flag("face_occlusion_detection", &p.faceOcclusionDetection)
	if bad != nil {
		return nil, bad
	}

	ref1, _ := f.get("image_ref1")
	p.refs = [][]byte{ref1}
	if ref2, ok := f.get("image_ref2"); ok && len(ref2) > 0 {
		p.refs = append(p.refs, ref2)
	}
	return p, nil
}

// references runs steps 5–7 on the reference photos: decode each (sniffing
// the header first, so an oversized one is never decoded), then check each
// one's size, then find each one's face. The first failure is returned with
// its internal cause.
func (h *Handler) references(c *call, p *tokenParams) ([]store.Reference, *apiError, error) {
	ctx := c.r.Context()
	name := func(i int) string { return "image_ref" + strconv.Itoa(i+1) }

	imgs := make([]image.Image, len(p.refs))
	tooLarge := -1
	for i, data := range p.refs {
		t0 := time.Now()
		img, _, err := imaging.Decode(data, h.cfg.MaxImageSide)
		ObserveStage(ctx, "decode", time.Since(t0))
		switch {
		case errors.Is(err, imaging.ErrTooLarge):
			// Reported at step 6, unless a later image fails step 5.
			if tooLarge < 0 {
				tooLarge = i
			}
		case err != nil:
			return nil, errImage(codeUnsupportedFormat, name(i)), err
		}
		imgs[i] = img
	}
	if tooLarge >= 0 {
		return nil, errImage(codeInvalidImageSize, name(tooLarge)), nil
	}

	opts := ReferenceOptions{MultiOriented: p.multiOriented, FailOnMultiple: p.failOnMultiple}
	refs := make([]store.Reference, len(imgs))
	for i, img := range imgs {
		ref, err := h.cfg.References.Reference(ctx, img, opts)
		switch {
		case errors.Is(err, ErrNoFace):
			return nil, errImage(codeNoFaceFound, name(i)), nil
		case errors.Is(err, ErrMultipleFaces):
			return nil, errImage(codeMultipleFaces, name(i)), nil
		case err != nil:
			return nil, errInternal, fmt.Errorf("%s: face engine: %w", name(i), err)
		}
		ref.Index, ref.Original = i+1, nil
		if h.cfg.KeepReferenceImages {
			ref.Original = p.refs[i]
		}
		refs[i] = ref
	}
	return refs, nil, nil
}

// newToken returns 32 URL-safe characters carrying 192 random bits
// (spec §2.1 token [P]).
func newToken() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authenticate is step 1 of every endpoint's validation (spec §0):
// api_key and api_secret present, then authentic. On failure it has
// answered the call and reports false.
func (h *Handler) authenticate(c *call, f *form) (*store.Key, bool) {
	apiKey, ok := f.text("api_key")
	if !ok {
		c.fail(errMissing("api_key"), nil)
		return nil, false
	}
	apiSecret, ok := f.text("api_secret")
	if !ok {
		c.fail(errMissing("api_secret"), nil)
		return nil, false
	}
	var key *store.Key
	var err error
	if e := c.early; e != nil && e.apiKey == apiKey && e.apiSecret == apiSecret {
		key, err = e.key, e.err // checked while the body was read
	} else {
		key, err = h.cfg.Keys.Authenticate(c.r.Context(), apiKey, apiSecret)
	}
	if errors.Is(err, auth.ErrAuthentication) {
		c.fail(errAuthentication, nil)
		return nil, false
	}
	if err != nil {
		c.fail(errInternal, err)
		return nil, false
	}
	c.keyID = key.ID
	return key, true
}

// acquire takes one of the key's concurrency slots, to be released when
// the call ends. On failure it has answered the call and reports false.
func (h *Handler) acquire(c *call, key *store.Key) (release func(), ok bool) {
	release, err := h.cfg.Limiter.Acquire(c.r.Context(), key.ID, key.Concurrency)
	if errors.Is(err, auth.ErrConcurrencyLimit) {
		c.fail(errConcurrency, nil)
		return nil, false
	}
	if err != nil {
		c.fail(errInternal, err)
		return nil, false
	}
	return release, true
}
