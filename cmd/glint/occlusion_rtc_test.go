package main

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session/sessiontest"
)

// maskedSource films a subject whose mouth is bare before the gate
// passes and covered (sessiontest.Mask) from the first dense frame on: a
// person who pulls a mask up once the flashes begin.
type maskedSource struct{ cam *flashsim.LiveCamera }

func (s maskedSource) picture(t time.Time, screen func(time.Time) [3]float64, p phase, _ time.Time) *face.RGB {
	fr := s.cam.Frame(t, screen)
	if p == phaseMirror || fr.Face == nil {
		return fr.Img
	}
	img := &face.RGB{W: fr.Img.W, H: fr.Img.H, Pix: append([]uint8(nil), fr.Img.Pix...)}
	f := *fr.Face
	sessiontest.Mask(img, &f)
	return img
}

func (s maskedSource) fps() float64 { return s.cam.FPS() }

// TestServeOcclusion plays a capture through `glint serve` whose face is
// masked during the flashes: with face_occlusion_detection=1 the attempt
// fails its liveness and counts MOUTH_OCCLUSION; with 0 the mask is not
// counted nor reported.
func TestServeOcclusion(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	s := startAttackServer(t, nil)
	subject := sessiontest.UncoveredSubject(t)
	for i, detect := range []string{"1", "0"} {
		t.Run("detection="+detect, func(t *testing.T) {
			status, reply := postForm(t, s.base+"/faceid/lite/raw/get_token", map[string]string{
				"api_key": s.plain.key, "api_secret": s.plain.secret, "comparison_type": "0", "uuid": "masked",
				"max_upload_times": "3", "life_time": "60", "color_number": "6", "face_occlusion_detection": detect,
			}, map[string][]byte{"image_ref1": s.reference})
			if status != http.StatusOK {
				t.Fatalf("get_token: %d %v", status, reply)
			}
			token := reply["token"].(string)
			// Three attempts: on a loaded machine the client may fall
			// behind the colours and have an attempt reset unevaluated.
			cam := flashsim.NewLiveCamera(rand.New(rand.NewPCG(uint64(40+i), 11)), subject, flashsim.LiveOptions{})
			a := &rtcAttacker{t: t, src: maskedSource{cam}, env: cameraEnvReport}
			out := a.run(s.base, token)
			r := s.result(t, s.plain, token)
			logEvaluations(t, s.logs, token)
			if out.colours == 0 || r.Liveness == nil {
				t.Fatalf("status %s, %d colours, liveness %+v: the attempt was not evaluated\n%s", r.Status, out.colours, r.Liveness, s.logs.String())
			}
			l := r.Liveness
			if detect == "1" {
				if r.Status != "FAILED" || l.Result != "FAIL" || l.Details["MOUTH_OCCLUSION"] < 1 || l.FaceOcclusion == nil || *l.FaceOcclusion != 1 {
					t.Fatalf("status %s, liveness %+v (face_occlusion %v): want FAIL with MOUTH_OCCLUSION counted and face_occlusion 1", r.Status, l, l.FaceOcclusion)
				}
				return
			}
			// The liveness may fail all the same: the identity check sees
			// the face change when the mask goes up (reason "identity" in
			// the logs). Without detection the mask is neither counted nor
			// reported.
			if l.Details["MOUTH_OCCLUSION"] != 0 || l.FaceOcclusion != nil {
				t.Fatalf("status %s, liveness %+v (face_occlusion %v): want MOUTH_OCCLUSION 0, no face_occlusion", r.Status, l, l.FaceOcclusion)
			}
		})
	}
}
