package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxReplyBytes bounds what is read of a reply: get_result without
// return_image is a few hundred bytes, errors less.
const maxReplyBytes = 1 << 20

// Image is one photo sent as get_token's image_ref1: read once, sent many
// times.
type Image struct {
	Name string // the multipart file name
	Data []byte
}

// ReadImages reads the .jpg, .jpeg, .png and .bmp files of dir, in name
// order, skipping empty ones. No photo at all is an error: get_token needs
// one.
func ReadImages(dir string) ([]Image, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var images []Image
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".bmp":
		default:
			continue
		}
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
		if len(data) > 0 {
			images = append(images, Image{e.Name(), data})
		}
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("images: no .jpg, .jpeg, .png or .bmp files in %s", dir)
	}
	return images, nil
}

// badCase is one malformed call and the reply the FaceID contract
// documents for it (spec §0.1, §2.1, §2.2).
type badCase struct {
	name       string
	wantStatus int
	wantError  string
	build      func(r *runner, n int64) request
}

// notAnImage is sent as image_ref1 by the non-image case.
var notAnImage = []byte("this is not an image, just text pretending to be one\n")

// unknownToken is well-formed (32 URL-safe characters), so the server
// looks it up rather than refusing its shape.
const unknownToken = "glintLoadtestUnknownToken0000000"

var badCases = []badCase{
	{"missing-api-key", http.StatusBadRequest, "MISSING_ARGUMENTS:api_key", func(r *runner, n int64) request {
		q := r.tokenRequest(n, r.image(n).Data)
		q.fields = slices.DeleteFunc(q.fields, func(f [2]string) bool { return f[0] == "api_key" })
		return q
	}},
	{"wrong-secret", http.StatusForbidden, "AUTHENTICATION_ERROR", func(r *runner, n int64) request {
		q := r.tokenRequest(n, r.image(n).Data)
		q.set("api_secret", "not-the-secret")
		return q
	}},
	{"bad-life-time", http.StatusBadRequest, "BAD_ARGUMENTS:life_time", func(r *runner, n int64) request {
		q := r.tokenRequest(n, r.image(n).Data)
		q.set("life_time", "2") // below the documented 5–1440 minutes
		return q
	}},
	{"missing-image", http.StatusBadRequest, "MISSING_ARGUMENTS:image_ref1", func(r *runner, n int64) request {
		return r.tokenRequest(n, nil)
	}},
	{"not-an-image", http.StatusBadRequest, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1", func(r *runner, n int64) request {
		return r.tokenRequest(n, notAnImage)
	}},
	{"result-no-token", http.StatusBadRequest, "MISSING_ARGUMENTS:token", func(r *runner, n int64) request {
		return r.resultRequest("")
	}},
	{"result-unknown-token", http.StatusBadRequest, "INVALID_TOKEN", func(r *runner, n int64) request {
		return r.resultRequest(unknownToken)
	}},
	{"get-on-get-token", http.StatusNotFound, "API_NOT_FOUND", func(r *runner, n int64) request {
		// A known path with the wrong method is an unknown API to FaceID,
		// not a 405.
		return request{method: http.MethodGet, path: "/faceid/lite/raw/get_token"}
	}},
}

// request describes one HTTP request; the body is built per request from
// it and the cached image bytes.
type request struct {
	method, path string
	query        url.Values  // GET
	fields       [][2]string // POST multipart fields, in order
	image        []byte      // POST image_ref1, if non-nil
	imageName    string
}

func (q *request) set(name, value string) {
	for i := range q.fields {
		if q.fields[i][0] == name {
			q.fields[i][1] = value
			return
		}
	}
	q.fields = append(q.fields, [2]string{name, value})
}

func (r *runner) image(n int64) Image { return r.cfg.Images[n%int64(len(r.cfg.Images))] }

// tokenRequest is a valid get_token call with image (none if nil).
func (r *runner) tokenRequest(n int64, image []byte) request {
	return request{
		method: http.MethodPost,
		path:   "/faceid/lite/raw/get_token",
		fields: [][2]string{
			{"api_key", r.cfg.APIKey},
			{"api_secret", r.cfg.APISecret},
			{"comparison_type", "0"},
			{"uuid", "glint-loadtest"},
			{"biz_no", "loadtest-" + strconv.FormatInt(n, 10)},
			{"liveness_preferences", "none"},
			{"color_number", "6"},
			// The sample photos show several people; the largest face
			// is the reference, as a client would choose.
			{"fail_when_ref_multiple_faces", "0"},
			{"max_upload_times", "3"},
			// Long enough that a token polled late in a long run has not
			// expired (an expired one reads FAILED, and only 3 times).
			{"life_time", "60"},
		},
		image:     image,
		imageName: r.image(n).Name,
	}
}

// resultRequest is a get_result poll of token (none if empty).
func (r *runner) resultRequest(token string) request {
	q := url.Values{"api_key": {r.cfg.APIKey}, "api_secret": {r.cfg.APISecret}}
	if token != "" {
		q.Set("token", token)
	}
	return request{method: http.MethodGet, path: "/faceid/lite/raw/get_result", query: q}
}

// newRequest builds the HTTP request, its multipart body made afresh: the
// transport may still hold a body after the reply, so bodies are not
// pooled.
func (r *runner) newRequest(ctx context.Context, q request) (*http.Request, error) {
	u := r.cfg.URL + q.path
	if q.method != http.MethodPost {
		if len(q.query) > 0 {
			u += "?" + q.query.Encode()
		}
		return http.NewRequestWithContext(ctx, q.method, u, nil)
	}
	var body bytes.Buffer
	body.Grow(len(q.image) + 2048)
	mw := multipart.NewWriter(&body)
	for _, f := range q.fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
	}
	if q.image != nil {
		fw, err := mw.CreateFormFile("image_ref1", q.imageName)
		if err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
		if _, err := fw.Write(q.image); err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("multipart: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, u, bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req, nil
}

// outcome is what became of one request.
type outcome struct {
	kind    kind
	bad     int    // index in badCases, for kindBad
	status  int    // 0: no reply
	code    string // error_message up to ':', or a marker for a non-JSON error
	latency time.Duration
	// transport is set when no reply came (refused, reset, timed out).
	transport error
	// canceled is set when the run was interrupted mid-request; such a
	// request is not counted at all.
	canceled bool
	// unexpected describes how the outcome differs from the expected
	// one; empty when it matched.
	unexpected string
	token      string // issued by a successful get_token
}

// reply is the part of a FaceID reply the load generator reads.
type reply struct {
	ErrorMessage *string `json:"error_message"`
	Token        string  `json:"token"`
	Status       string  `json:"status"`
}

// do sends the n-th request of kind k and checks its reply.
func (r *runner) do(ctx context.Context, k kind, n int64) outcome {
	o := outcome{kind: k, bad: -1}
	var q request
	label := kindEndpoints[k]
	switch k {
	case kindToken:
		q = r.tokenRequest(n, r.image(n).Data)
		label += " " + r.image(n).Name
	case kindResult:
		q = r.resultRequest(r.tokens.pick(n))
	case kindBad:
		o.bad = int(n % int64(len(badCases)))
		q = badCases[o.bad].build(r, n)
		label += " " + badCases[o.bad].name
	}
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := r.newRequest(rctx, q)
	if err != nil {
		o.transport = err
		o.unexpected = fmt.Sprintf("%s: %v", label, err)
		return o
	}

	start := time.Now()
	resp, err := r.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
		resp.Body.Close()
	}
	o.latency = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			o.canceled = true
			return o
		}
		o.transport = redactURL(err, r.cfg.Timeout)
		o.unexpected = fmt.Sprintf("%s: %v", label, o.transport)
		return o
	}

	o.status = resp.StatusCode
	var rep reply
	jsonErr := json.Unmarshal(body, &rep)
	switch {
	case jsonErr == nil && rep.ErrorMessage != nil:
		o.code, _, _ = strings.Cut(*rep.ErrorMessage, ":")
	case jsonErr != nil && o.status >= 400:
		o.code = "(not JSON)"
	}
	got := fmt.Sprintf("%d", o.status)
	if rep.ErrorMessage != nil {
		got += " " + *rep.ErrorMessage
	} else if jsonErr != nil {
		got += " (not JSON)"
	}
	switch k {
	case kindToken:
		if o.status != http.StatusOK || jsonErr != nil || rep.Token == "" {
			o.unexpected = fmt.Sprintf("%s: got %s, want 200 with a token", label, got)
		}
		o.token = rep.Token
	case kindResult:
		if o.status != http.StatusOK || jsonErr != nil || rep.Status == "" {
			o.unexpected = fmt.Sprintf("%s: got %s, want 200 with a status", label, got)
		}
	case kindBad:
		bc := badCases[o.bad]
		if o.status != bc.wantStatus || rep.ErrorMessage == nil || *rep.ErrorMessage != bc.wantError {
			o.unexpected = fmt.Sprintf("%s: got %s, want %d %s", label, got, bc.wantStatus, bc.wantError)
		}
	}
	return o
}

// redactURL drops the URL from a client error: a get_result URL carries
// the secret in its query, and the error ends up in the report. A request
// that ran out of time says so.
func redactURL(err error, timeout time.Duration) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if ue.Timeout() || errors.Is(ue.Err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: no reply within %s: %w", ue.Op, timeout, ue.Err)
	}
	return fmt.Errorf("%s: %w", ue.Op, ue.Err)
}
