// Package faceid holds the FaceID H5 RAW wire shapes of results: the body
// get_result answers (spec §2.2) with its liveness_result (§4.2),
// verify_result (§4.3) and images (§4.4), and the envelope every reply
// opens with (§0).
//
// Package api sends these shapes to callers of get_result and package
// notify posts the same body to a key's notification URL, so that a
// receiver reads one document whichever way it came. NewResult shapes a
// stored result (store.Result) for a caller's options; Marshal encodes it
// as the endpoints do; ResultJSON does both for a notification.
//
// The store keeps its own JSON encoding of liveness and verify results:
// that one is a row format, which rows already written pin down, while
// this one is a contract with integrators (spec faceid-h5-raw.md). The two
// spell the same names today, but neither follows the other on its own.
package faceid

import (
	"bytes"
	"encoding/json"
)

// Meta opens every FaceID reply (spec §0).
type Meta struct {
	// RequestID has Megvii's shape "<unix seconds>,<uuid4>".
	RequestID string `json:"request_id"`
	// TimeUsed is the request's duration in milliseconds.
	TimeUsed int64 `json:"time_used"`
	// BizNo is echoed verbatim whenever the caller supplied it; nil
	// leaves the field out.
	BizNo *string `json:"biz_no,omitempty"`
}

// Marshal encodes v as every FaceID reply is encoded. biz_no is echoed
// verbatim, so HTML escaping, which would turn "<" into \u003c, is off;
// and the body ends with the closing brace, without encoding/json's
// newline.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
