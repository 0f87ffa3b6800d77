package faceid

import "github.com/glint-id/glint/internal/store"

// LivenessResult is liveness_result (spec §4.2).
type LivenessResult struct {
	// Result is store.LivenessPass, store.LivenessFail or
	// store.LivenessPassUpload.
	Result          string           `json:"result"`
	Details         LivenessDetails  `json:"details"`
	FaceGenuineness *FaceGenuineness `json:"face_genuineness,omitempty"`
	// Transport is store.TransportRTC or store.TransportUpload; empty
	// for results stored before it was recorded.
	Transport string `json:"transport,omitempty"`
	// MultipleFaces is 1 when more than one face was seen; shown only to
	// callers that set return_multifaces_tag.
	MultipleFaces *int `json:"multiple_faces,omitempty"`
	// FaceOcclusion is 1 when the face was found occluded; shown only
	// when occlusion detection is on.
	FaceOcclusion *int `json:"face_occlusion,omitempty"`
}

// LivenessDetails are the counters of user mistakes (spec §4.2), with
// Megvii's names. Its fields are store.LivenessDetails' in the same
// order, so that one converts to the other and a counter added to the
// store without a wire name does not compile.
type LivenessDetails struct {
	FaceNotFound   int `json:"FACE_NOT_FOUND"`
	SideFace       int `json:"SIDE_FACE"`
	UpdownFace     int `json:"UPDOWN_FACE"`
	EyeOcclusion   int `json:"EYE_OCCLUSION"`
	MouthOcclusion int `json:"MOUTH_OCCLUSION"`
	AwayFromCamera int `json:"AWAY_FROM_CAMERA"`
	CloseToCamera  int `json:"CLOSE_TO_CAMERA"`
	OutOfImage     int `json:"OUT_OF_IMAGE"`
	MultipleFaces  int `json:"MULTIPLE_FACES"`
	UploadTimes    int `json:"UPLOAD_TIMES"`
}

// FaceGenuineness is face_genuineness, the attack-type scores among spec
// §4.2's optional extras, with the Lite API's names. Like
// LivenessDetails, it converts from its store twin.
type FaceGenuineness struct {
	ScreenReplayConfidence  float64  `json:"screen_replay_confidence"`
	ScreenReplayThreshold   float64  `json:"screen_replay_threshold"`
	SyntheticFaceConfidence float64  `json:"synthetic_face_confidence"`
	SyntheticFaceThreshold  float64  `json:"synthetic_face_threshold"`
	FaceReplaced            int      `json:"face_replaced"`
	InjectionSuspected      int      `json:"injection_suspected"`
	InjectionSignals        []string `json:"injection_signals,omitempty"`
}

// newLiveness shapes lr with the optional flags the caller asked for and
// no others (spec §4.2). A flag the capture did not record is derived
// from the mistake counters where they settle it.
func newLiveness(lr *store.LivenessResult, multifaces, occlusion bool) *LivenessResult {
	out := &LivenessResult{
		Result:    lr.Result,
		Details:   LivenessDetails(lr.Details),
		Transport: lr.Transport,
	}
	if g := lr.FaceGenuineness; g != nil {
		fg := FaceGenuineness(*g)
		out.FaceGenuineness = &fg
	}
	if multifaces {
		out.MultipleFaces = lr.MultipleFaces
		if out.MultipleFaces == nil {
			out.MultipleFaces = flag(lr.Details.MultipleFaces > 0)
		}
	}
	if occlusion {
		out.FaceOcclusion = lr.FaceOcclusion
		if out.FaceOcclusion == nil {
			out.FaceOcclusion = flag(lr.Details.EyeOcclusion > 0 || lr.Details.MouthOcclusion > 0)
		}
	}
	return out
}

func flag(b bool) *int {
	n := 0
	if b {
		n = 1
	}
	return &n
}
