package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Verification statuses (Result.Status).
const (
	StatusNotStarted = "NOT_STARTED"
	StatusProcessing = "PROCESSING"
	StatusOK         = "OK"
	StatusFailed     = "FAILED"
)

// False-accept rates that key RefResult.Thresholds, lenient to strict.
const (
	FAR1e3 = "1e-3"
	FAR1e4 = "1e-4"
	FAR1e5 = "1e-5"
	FAR1e6 = "1e-6"
)

// DefaultTimeout bounds a whole call of a Client without its own
// HTTPClient. get_token runs face detection on the photos, which can take
// a few seconds on a busy server.
const DefaultTimeout = 2 * time.Minute

// maxReplyBytes bounds what is read of a reply: a result with two best
// images as data URIs is a few megabytes.
const maxReplyBytes = 64 << 20

// Client calls one Glint service with one key. Its fields may be set
// before first use; it is safe for concurrent use after that.
type Client struct {
	// BaseURL is the service's scheme and host, e.g.
	// "https://glint.example"; the API paths are appended to it.
	BaseURL   string
	APIKey    string
	APISecret string

	// HTTPClient sends the requests; nil means one with DefaultTimeout.
	HTTPClient *http.Client
}

// New returns a Client for the service at baseURL and the key apiKey.
func New(baseURL, apiKey, apiSecret string) *Client {
	return &Client{
		BaseURL:    strings.TrimSuffix(baseURL, "/"),
		APIKey:     apiKey,
		APISecret:  apiSecret,
		HTTPClient: &http.Client{Timeout: DefaultTimeout},
	}
}

// Error is a refusal from the service: a reply other than 200, with
// FaceID's error_message.
type Error struct {
	// StatusCode is the HTTP status, e.g. 400 or 403.
	StatusCode int
	// Message is error_message, e.g. "MISSING_ARGUMENTS:uuid", or the
	// reply's text when it was not JSON (413's "Request Entity Too
	// Large").
	Message string
	// RequestID is the reply's request_id, for the operator's logs.
	RequestID string
}

func (e *Error) Error() string {
	return fmt.Sprintf("glint: HTTP %d: %s", e.StatusCode, e.Message)
}

// Code is the part of Message before any colon, e.g. "MISSING_ARGUMENTS".
func (e *Error) Code() string {
	code, _, _ := strings.Cut(e.Message, ":")
	return code
}

// Detail is the part of Message after the colon, e.g. "uuid"; "" if none.
func (e *Error) Detail() string {
	_, detail, _ := strings.Cut(e.Message, ":")
	return detail
}

// GetTokenRequest holds get_token's parameters. Zero values are left out
// of the request, so the service applies its defaults.
type GetTokenRequest struct {
	// UUID identifies the end user (required).
	UUID string
	// BizNo is echoed in every reply about this verification.
	BizNo string
	// ComparisonType defaults to "0", the only value the API accepts.
	ComparisonType string
	// MaxUploadTimes is the number of attempts, 2 to 5 (required).
	MaxUploadTimes int
	// LifeTime is how long the token may be used to capture, in whole
	// minutes from 5 minutes to 24 hours (required).
	LifeTime time.Duration

	ColorNumber         int
	LivenessPreferences string
	Language            string
	ProcedureType       string

	// MultiOrientedDetection retries detection with the photos turned.
	MultiOrientedDetection bool
	// UseLargestFace takes the largest of several faces in a reference
	// photo instead of refusing it with MULTIPLE_FACES.
	UseLargestFace         bool
	ReturnMultifacesTag    bool
	FaceOcclusionDetection bool

	// ImageRef1 is the reference photo (required); ImageRef2 an optional
	// second one. JPEG, PNG or BMP.
	ImageRef1 io.Reader
	ImageRef2 io.Reader
}

// Token is get_token's reply.
type Token struct {
	RequestID string `json:"request_id"`
	TimeUsed  int64  `json:"time_used"`
	BizNo     string `json:"biz_no,omitempty"`
	// Token is what the capture page or SDK is started with.
	Token string `json:"token"`
}

// GetToken asks for a verification token for the person in the reference
// photos.
func (c *Client) GetToken(ctx context.Context, req GetTokenRequest) (*Token, error) {
	if req.ImageRef1 == nil {
		return nil, errors.New("client: GetToken needs ImageRef1")
	}
	if req.LifeTime%time.Minute != 0 {
		return nil, fmt.Errorf("client: LifeTime %s is not a whole number of minutes", req.LifeTime)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := []struct{ name, value string }{
		{"api_key", c.APIKey},
		{"api_secret", c.APISecret},
		{"comparison_type", orDefault(req.ComparisonType, "0")},
		{"uuid", req.UUID},
		{"biz_no", req.BizNo},
		{"max_upload_times", intOrEmpty(req.MaxUploadTimes)},
		{"life_time", intOrEmpty(int(req.LifeTime / time.Minute))},
		{"color_number", intOrEmpty(req.ColorNumber)},
		{"liveness_preferences", req.LivenessPreferences},
		{"language", req.Language},
		{"procedure_type", req.ProcedureType},
		{"multi_oriented_detection", flagOrEmpty(req.MultiOrientedDetection, "1")},
		{"fail_when_ref_multiple_faces", flagOrEmpty(req.UseLargestFace, "0")},
		{"return_multifaces_tag", flagOrEmpty(req.ReturnMultifacesTag, "1")},
		{"face_occlusion_detection", flagOrEmpty(req.FaceOcclusionDetection, "1")},
	}
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		if err := mw.WriteField(f.name, f.value); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	for _, img := range []struct {
		name string
		r    io.Reader
	}{{"image_ref1", req.ImageRef1}, {"image_ref2", req.ImageRef2}} {
		if img.r == nil {
			continue
		}
		w, err := mw.CreateFormFile(img.name, img.name+".jpg")
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		if _, err := io.Copy(w, img.r); err != nil {
			return nil, fmt.Errorf("client: read %s: %w", img.name, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/faceid/lite/raw/get_token", &body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	hreq.Header.Set("Content-Type", mw.FormDataContentType())
	var t Token
	if err := c.do(hreq, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetResultOptions are get_result's optional parameters.
type GetResultOptions struct {
	// ReturnImage asks for the best frame (1) or two (2) with an OK
	// result.
	ReturnImage int
	// FaceOcclusionDetection, when set, overrides the get_token setting
	// for the face_occlusion flag in the liveness result.
	FaceOcclusionDetection *bool
}

// GetResult reads the result of the verification token. opts may be nil.
func (c *Client) GetResult(ctx context.Context, token string, opts *GetResultOptions) (*Result, error) {
	q := url.Values{"api_key": {c.APIKey}, "api_secret": {c.APISecret}, "token": {token}}
	if opts != nil {
		if opts.ReturnImage != 0 {
			q.Set("return_image", strconv.Itoa(opts.ReturnImage))
		}
		if o := opts.FaceOcclusionDetection; o != nil {
			v := "0"
			if *o {
				v = "1"
			}
			q.Set("face_occlusion_detection", v)
		}
	}
	// POST, which the service accepts like GET, keeps the secret out of
	// URLs and so out of proxy and access logs.
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/faceid/lite/raw/get_result",
		strings.NewReader(q.Encode()))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var r Result
	if err := c.do(hreq, &r); err != nil {
		return nil, err
	}
	r.Token = token
	return &r, nil
}

// do sends req and decodes a 200 reply into v, or returns an *Error.
func (c *Client) do(req *http.Request, v any) error {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return fmt.Errorf("client: read reply: %w", err)
	}
	if len(body) > maxReplyBytes {
		return fmt.Errorf("client: reply larger than %d bytes", maxReplyBytes)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{StatusCode: resp.StatusCode}
		var reply struct {
			RequestID    string `json:"request_id"`
			ErrorMessage string `json:"error_message"`
		}
		if json.Unmarshal(body, &reply) == nil && reply.ErrorMessage != "" {
			e.Message, e.RequestID = reply.ErrorMessage, reply.RequestID
		} else {
			e.Message = strings.TrimSpace(string(body[:min(len(body), 512)]))
		}
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("client: decode reply: %w", err)
	}
	return nil
}

// Result is get_result's reply, and the data of a notification.
type Result struct {
	// Token is the verification's token: the one GetResult was asked
	// for, or the signed token of a notification. It is not part of
	// get_result's JSON.
	Token string `json:"-"`

	RequestID string `json:"request_id"`
	TimeUsed  int64  `json:"time_used"`
	// BizNo is the biz_no given to get_token, if any.
	BizNo string `json:"biz_no,omitempty"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Liveness and Verify are set once the verification has ended, and
	// only if an attempt was evaluated.
	Liveness *Liveness     `json:"liveness_result,omitempty"`
	Verify   *VerifyResult `json:"verify_result,omitempty"`
	// Images are set only when asked for and Status is OK.
	Images *Images `json:"images,omitempty"`
}

// Liveness results (Liveness.Result).
const (
	// LivenessPass: the live face passed over the real-time channel.
	LivenessPass = "PASS"
	LivenessFail = "FAIL"
	// LivenessPassUpload: frames uploaded through the HTTP fallback
	// passed the analysis. The client knew every colour in advance and
	// chose every timestamp, so software can produce such frames from a
	// photo; only keys that opted in to the fallback get it, and Passed
	// never accepts it (see PassedAllowingUpload).
	LivenessPassUpload = "PASS_UPLOAD"
)

// Transports of a liveness result (Liveness.Transport).
const (
	TransportRTC    = "rtc"
	TransportUpload = "upload"
)

// Liveness is liveness_result.
type Liveness struct {
	// Result is one of the Liveness constants.
	Result string `json:"result"`
	// Details counts the person's mistakes by kind (FACE_NOT_FOUND,
	// SIDE_FACE, …) and UPLOAD_TIMES, the attempts used. They explain a
	// result; they do not decide it.
	Details         map[string]int   `json:"details"`
	FaceGenuineness *FaceGenuineness `json:"face_genuineness,omitempty"`
	// Transport is "rtc" or "upload".
	Transport string `json:"transport,omitempty"`
	// MultipleFaces is 1 when several faces were seen; set only if
	// get_token asked for return_multifaces_tag.
	MultipleFaces *int `json:"multiple_faces,omitempty"`
	// FaceOcclusion is 1 when the face was occluded; set only with
	// occlusion detection on.
	FaceOcclusion *int `json:"face_occlusion,omitempty"`
}

// FaceGenuineness holds attack scores in [0, 1]: a confidence above its
// threshold means that attack is suspected.
type FaceGenuineness struct {
	ScreenReplayConfidence  float64 `json:"screen_replay_confidence"`
	ScreenReplayThreshold   float64 `json:"screen_replay_threshold"`
	SyntheticFaceConfidence float64 `json:"synthetic_face_confidence"`
	SyntheticFaceThreshold  float64 `json:"synthetic_face_threshold"`
	// FaceReplaced is 1 when the person changed during the verification.
	FaceReplaced int `json:"face_replaced"`
	// InjectionSuspected is 1 when the pictures looked made by software
	// rather than taken by a camera; InjectionSignals say why.
	InjectionSuspected int      `json:"injection_suspected"`
	InjectionSignals   []string `json:"injection_signals,omitempty"`
}

// VerifyResult is verify_result: the comparison with each reference.
type VerifyResult struct {
	Ref1 *RefResult `json:"result_ref1,omitempty"`
	Ref2 *RefResult `json:"result_ref2,omitempty"`
}

// RefResult compares the captured face with one reference photo.
type RefResult struct {
	// Confidence is in [0, 100], higher for more alike.
	Confidence float64 `json:"confidence"`
	// Thresholds maps the FAR constants to the confidence reaching that
	// false-accept rate. Read them from each result: they may change.
	Thresholds map[string]float64 `json:"thresholds"`
}

// Images are the best frames as "data:image/jpeg;base64,…" URIs; see
// DecodeImage.
type Images struct {
	Best  string `json:"image_best,omitempty"`
	Best2 string `json:"image_best_2,omitempty"`
}

// Passed reports whether r accepts the person at the false-accept rate
// far (one of the FAR constants): the status is OK, liveness passed over
// the real-time channel with no injection suspected, and every
// reference's confidence reaches that rate's threshold from this same
// result. A verdict of the upload fallback (PASS_UPLOAD) is not accepted.
func (r *Result) Passed(far string) bool { return r.accepts(far, false) }

// PassedAllowingUpload is Passed that also accepts a verdict of the HTTP
// upload fallback (LivenessPassUpload), for keys that opted in to it and
// accept its weaker guarantee: software that renders a photo can pass it.
func (r *Result) PassedAllowingUpload(far string) bool { return r.accepts(far, true) }

func (r *Result) accepts(far string, upload bool) bool {
	if r.Status != StatusOK || r.Liveness == nil || r.Verify == nil {
		return false
	}
	l := r.Liveness
	switch {
	case l.Result == LivenessPass && l.Transport == TransportRTC:
	case upload && l.Result == LivenessPassUpload && l.Transport == TransportUpload:
	default:
		return false
	}
	if g := l.FaceGenuineness; g != nil && g.InjectionSuspected != 0 {
		return false
	}
	refs := 0
	for _, ref := range []*RefResult{r.Verify.Ref1, r.Verify.Ref2} {
		if ref == nil {
			continue
		}
		th, ok := ref.Thresholds[far]
		if !ok || ref.Confidence < th {
			return false
		}
		refs++
	}
	return refs > 0
}

// DecodeImage returns the JPEG bytes of an Images data URI.
func DecodeImage(dataURI string) ([]byte, error) {
	const prefix = "data:image/jpeg;base64,"
	if !strings.HasPrefix(dataURI, prefix) {
		return nil, errors.New("client: not a JPEG data URI")
	}
	b, err := base64.StdEncoding.DecodeString(dataURI[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("client: image: %w", err)
	}
	return b, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func intOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// flagOrEmpty returns value when set, "" (left to the service's default)
// otherwise.
func flagOrEmpty(set bool, value string) string {
	if set {
		return value
	}
	return ""
}
