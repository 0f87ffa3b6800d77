package faceid

import (
	"encoding/base64"
	"fmt"

	"github.com/glint-id/glint/internal/store"
)

// Result is get_result's success body (spec §2.2 "Response fields").
type Result struct {
	*Meta
	Status   store.Status    `json:"status"`
	Liveness *LivenessResult `json:"liveness_result,omitempty"`
	// Verify is left out when nil; an empty one, from a comparison with
	// no reference recorded, is sent as {}.
	Verify VerifyResult `json:"verify_result,omitzero"`
	Images *Images      `json:"images,omitempty"`
}

// Images is images (spec §4.4): the best frames as JPEG data URIs.
type Images struct {
	Best  string `json:"image_best,omitempty"`
	Best2 string `json:"image_best_2,omitempty"`
}

// Options are the get_result parameters that change what a result shows.
// The zero value asks for no images and keeps get_token's occlusion
// setting.
type Options struct {
	// ReturnImage is return_image: 0 for no images, 1 for image_best, 2
	// for image_best and image_best_2.
	ReturnImage int
	// Occlusion is face_occlusion_detection as given to get_result, which
	// overrides get_token's; nil when not given.
	Occlusion *bool
}

// NewResult shapes r for the wire as a caller asking with o sees it (spec
// §4). m becomes the body's envelope and is shared, not copied, so that a
// caller may fill time_used once the request is over.
func NewResult(m *Meta, r *store.Result, o Options) Result {
	res := Result{Meta: m, Status: r.Status}
	// An interim liveness result of a failed attempt (store's
	// SaveLiveness) is not the answer yet: results appear only with a
	// terminal status (§4.1).
	if !r.Status.Terminal() {
		return res
	}
	if r.Liveness != nil {
		occlusion := r.FaceOcclusionDetection
		if o.Occlusion != nil {
			occlusion = *o.Occlusion
		}
		res.Liveness = newLiveness(r.Liveness, r.ReturnMultifacesTag, occlusion)
	}
	res.Verify = newVerify(r.Verify)
	if r.Status == store.StatusOK && o.ReturnImage > 0 && len(r.Images) > 0 {
		imgs := &Images{Best: dataURI(r.Images[0])}
		if o.ReturnImage == 2 && len(r.Images) > 1 {
			imgs.Best2 = dataURI(r.Images[1])
		}
		res.Images = imgs
	}
	return res
}

// ResultJSON is the body of a result notification (package notify): what
// get_result answers for r when asked with no return_image and no
// face_occlusion_detection. requestID fills request_id, and time_used is
// 0, since no request was timed.
func ResultJSON(r *store.Result, requestID string) ([]byte, error) {
	b, err := Marshal(NewResult(&Meta{RequestID: requestID, BizNo: r.BizNo}, r, Options{}))
	if err != nil {
		return nil, fmt.Errorf("faceid: render result: %w", err)
	}
	return b, nil
}

func dataURI(jpeg []byte) string {
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpeg)
}
