package faceid

import (
	"strconv"

	"github.com/glint-id/glint/internal/store"
)

// VerifyResult is verify_result (spec §4.3): the comparison with each
// reference photo, keyed "result_ref1" and "result_ref2" by the
// reference's number.
type VerifyResult map[string]RefResult

// RefResult is the comparison with one reference.
type RefResult struct {
	// Confidence is in [0, 100], higher for more alike.
	Confidence float64 `json:"confidence"`
	// Thresholds maps false-accept rates ("1e-3" … "1e-6") to the
	// confidence that reaches them.
	Thresholds map[string]float64 `json:"thresholds"`
}

// newVerify shapes v; nil stays nil, so that the field is left out.
func newVerify(v *store.VerifyResult) VerifyResult {
	if v == nil {
		return nil
	}
	out := make(VerifyResult, len(v.Refs))
	for _, r := range v.Refs {
		out["result_ref"+strconv.Itoa(r.Index)] = RefResult{Confidence: r.Confidence, Thresholds: r.Thresholds}
	}
	return out
}
