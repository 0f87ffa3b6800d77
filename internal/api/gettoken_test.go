package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/bmp"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/store"
)

func mustPNG(m image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func mustJPEG(m image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func mustGIF(m image.Image) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, m, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func mustBMP(m image.Image) []byte {
	var b bytes.Buffer
	if err := bmp.Encode(&b, m); err != nil {
		panic(err)
	}
	return b.Bytes()
}

var (
	grayPNG   = mustPNG(solid(64, 64, gray))
	grayJPEG  = mustJPEG(solid(64, 64, gray))
	grayBMP   = mustBMP(solid(64, 64, gray))
	grayWebP  = imagingtest.WebPLossless(64, 64, gray, false)
	grayGIF   = mustGIF(solid(64, 64, gray))
	redPNG    = mustPNG(solid(64, 64, red))
	bluePNG   = mustPNG(solid(64, 64, blue))
	greenPNG  = mustPNG(solid(64, 64, green))
	whitePNG  = mustPNG(solid(64, 64, white))
	hugePNG   = imagingtest.PNGWithSize(60000, 60000)
	widePNG   = mustPNG(solid(4097, 1, gray))
	edgePNG   = mustPNG(solid(4096, 2, gray))
	notImage  = []byte("this is not an image, it is a sentence")
	truncJPEG = func() []byte { j := mustJPEG(imagingtest.Noise(128, 128, 7)); return j[:len(j)/2] }()

	// A phone photo stored sideways: the pixels are turned 90° counter-
	// clockwise, and EXIF orientation 6 says "turn 90° clockwise to show".
	sidewaysPixels = mustJPEG(imaging.Orient(uprightMarked(96, 64), 8))
	exifRotated    = imagingtest.WithExifOrientation(sidewaysPixels, 6, false)
)

// TestGetTokenConformance walks the rows of the spec's get_token parameter
// and error tables (§0.1, §2.1) and the validation order of §0.
func TestGetTokenConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	disabledKey, disabledSecret := e.newKey(auth.KeyOptions{Name: "disabled"})
	if err := e.db.SetKeyDisabled(context.Background(), disabledKey, true); err != nil {
		t.Fatal(err)
	}
	noCmpKey, noCmpSecret := e.newKey(auth.KeyOptions{Name: "no-compare", NoCompare: true})
	farKey, farSecret := e.newKey(auth.KeyOptions{Name: "far", AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	nearKey, nearSecret := e.newKey(auth.KeyOptions{Name: "near", AllowedIPs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	as := func(p params, key, secret string) params { return p.set("api_key", key).set("api_secret", secret) }
	v := e.valid()

	const ok = ""
	tests := []struct {
		name   string
		p      params
		status int
		want   string // error_message; "" = success
	}{
		{"OK", v, 200, ok},
		{"OKMinimalWithAllOptional", v.set("biz_no", "b").set("color_number", "8").set("liveness_preferences", "none").
			set("language", "1").set("procedure_type", "raw_flash").set("multi_oriented_detection", "1").
			set("fail_when_ref_multiple_faces", "0").set("return_multifaces_tag", "1").set("face_occlusion_detection", "1").
			setFile("image_ref2", grayPNG), 200, ok},

		// Step 1: credentials.
		{"MissingAPIKey", v.del("api_key"), 400, "MISSING_ARGUMENTS:api_key"},
		{"EmptyAPIKey", v.set("api_key", ""), 400, "MISSING_ARGUMENTS:api_key"},
		{"MissingAPISecret", v.del("api_secret"), 400, "MISSING_ARGUMENTS:api_secret"},
		{"MissingBothNamesKeyFirst", v.del("api_key", "api_secret"), 400, "MISSING_ARGUMENTS:api_key"},
		{"MissingEverything", params{}, 400, "MISSING_ARGUMENTS:api_key"},
		{"UnknownKey", v.set("api_key", "nosuchkey"), 403, "AUTHENTICATION_ERROR"},
		{"WrongSecret", v.set("api_secret", e.secret+"x"), 403, "AUTHENTICATION_ERROR"},
		{"OtherKeysSecret", v.set("api_secret", noCmpSecret), 403, "AUTHENTICATION_ERROR"},
		{"AuthenticationBeforeMissingFields", params{}.set("api_key", e.key).set("api_secret", "wrong"), 403, "AUTHENTICATION_ERROR"},
		{"AuthenticationBeforeBadValues", v.set("api_secret", "wrong").set("color_number", "5"), 403, "AUTHENTICATION_ERROR"},
		{"MissingSecretBeforeBadKey", v.set("api_key", "nosuchkey").del("api_secret"), 400, "MISSING_ARGUMENTS:api_secret"},

		// Step 2: permission.
		{"Discontinued", as(v, disabledKey, disabledSecret), 403, "AUTHORIZATION_ERROR:API_KEY_BE_DISCONTINUED"},
		{"DiscontinuedBeforeMissing", as(params{}, disabledKey, disabledSecret), 403, "AUTHORIZATION_ERROR:API_KEY_BE_DISCONTINUED"},
		{"NoVerifyPermission", as(v, noCmpKey, noCmpSecret), 403, "AUTHORIZATION_ERROR:NO_VERIFY_PERMISSION"},
		{"NoVerifyPermissionBeforeMissing", as(v.del("comparison_type", "uuid"), noCmpKey, noCmpSecret), 403, "AUTHORIZATION_ERROR:NO_VERIFY_PERMISSION"},
		{"IPNotAllowed", as(v, farKey, farSecret), 403, "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},
		{"IPNotAllowedBeforeBadValues", as(v.set("life_time", "0"), farKey, farSecret), 403, "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},
		{"IPAllowed", as(v, nearKey, nearSecret), 200, ok},

		// Step 3: missing fields, in table order.
		{"MissingComparisonType", v.del("comparison_type"), 400, "MISSING_ARGUMENTS:comparison_type"},
		{"MissingUUID", v.del("uuid"), 400, "MISSING_ARGUMENTS:uuid"},
		{"MissingImageRef1", v.del("image_ref1"), 400, "MISSING_ARGUMENTS:image_ref1"},
		{"EmptyImageRef1", v.setFile("image_ref1", nil), 400, "MISSING_ARGUMENTS:image_ref1"},
		{"MissingMaxUploadTimes", v.del("max_upload_times"), 400, "MISSING_ARGUMENTS:max_upload_times"},
		{"MissingLifeTime", v.del("life_time"), 400, "MISSING_ARGUMENTS:life_time"},
		{"MissingAllButCredentials", v.del("comparison_type", "uuid", "image_ref1", "max_upload_times", "life_time"), 400, "MISSING_ARGUMENTS:comparison_type"},
		{"MissingUUIDAndLifeTime", v.del("uuid", "life_time"), 400, "MISSING_ARGUMENTS:uuid"},
		{"MissingImageAndLifeTime", v.del("image_ref1", "life_time"), 400, "MISSING_ARGUMENTS:image_ref1"},
		{"MissingBeforeBadValue", v.set("color_number", "5").del("life_time"), 400, "MISSING_ARGUMENTS:life_time"},
		{"MissingBeforeBadImage", v.setFile("image_ref1", notImage).del("uuid"), 400, "MISSING_ARGUMENTS:uuid"},

		// Step 4: malformed values, in table order.
		{"BizNo128Bytes", v.set("biz_no", strings.Repeat("b", 128)), 200, ok},
		{"BizNo129Bytes", v.set("biz_no", strings.Repeat("b", 129)), 400, "BAD_ARGUMENTS:biz_no"},
		{"BizNoCountsBytes", v.set("biz_no", strings.Repeat("é", 65)), 400, "BAD_ARGUMENTS:biz_no"},
		{"ColorNumber4", v.set("color_number", "4"), 200, ok},
		{"ColorNumber5", v.set("color_number", "5"), 400, "BAD_ARGUMENTS:color_number"},
		{"ColorNumberText", v.set("color_number", "six"), 400, "BAD_ARGUMENTS:color_number"},
		{"ColorNumberFloat", v.set("color_number", "6.0"), 400, "BAD_ARGUMENTS:color_number"},
		{"ColorNumberEmptyIsDefault", v.set("color_number", ""), 200, ok},
		{"LivenessPreferencesBad", v.set("liveness_preferences", "strict"), 400, "BAD_ARGUMENTS:liveness_preferences"},
		{"Language1", v.set("language", "1"), 200, ok},
		{"LanguageBad", v.set("language", "en"), 400, "BAD_ARGUMENTS:language"},
		{"ProcedureTypeBad", v.set("procedure_type", "video"), 400, "BAD_ARGUMENTS:procedure_type"},
		{"ComparisonType1", v.set("comparison_type", "1"), 400, "BAD_ARGUMENTS:comparison_type"},
		{"ComparisonTypeText", v.set("comparison_type", "x"), 400, "BAD_ARGUMENTS:comparison_type"},
		{"UUID512Bytes", v.set("uuid", strings.Repeat("u", 512)), 200, ok},
		{"UUID513Bytes", v.set("uuid", strings.Repeat("u", 513)), 400, "BAD_ARGUMENTS:uuid"},
		{"ImageRef3", v.setFile("image_ref3", grayPNG), 400, "BAD_ARGUMENTS:image_ref3"},
		{"ImageRef3AsText", v.set("image_ref3", "x"), 400, "BAD_ARGUMENTS:image_ref3"},
		{"ImageRef7", v.setFile("image_ref7", grayPNG), 400, "BAD_ARGUMENTS:image_ref7"},
		{"ImageRef4And3", v.setFile("image_ref4", grayPNG).setFile("image_ref3", grayPNG), 400, "BAD_ARGUMENTS:image_ref3"},
		{"MultiOrientedBad", v.set("multi_oriented_detection", "2"), 400, "BAD_ARGUMENTS:multi_oriented_detection"},
		{"FailWhenMultipleBad", v.set("fail_when_ref_multiple_faces", "yes"), 400, "BAD_ARGUMENTS:fail_when_ref_multiple_faces"},
		{"MaxUploadTimes2", v.set("max_upload_times", "2"), 200, ok},
		{"MaxUploadTimes1", v.set("max_upload_times", "1"), 400, "BAD_ARGUMENTS:max_upload_times"},
		{"MaxUploadTimes6", v.set("max_upload_times", "6"), 400, "BAD_ARGUMENTS:max_upload_times"},
		{"MaxUploadTimesText", v.set("max_upload_times", "five"), 400, "BAD_ARGUMENTS:max_upload_times"},
		{"LifeTime5", v.set("life_time", "5"), 200, ok},
		{"LifeTime1440", v.set("life_time", "1440"), 200, ok},
		{"LifeTime4", v.set("life_time", "4"), 400, "BAD_ARGUMENTS:life_time"},
		{"LifeTime1441", v.set("life_time", "1441"), 400, "BAD_ARGUMENTS:life_time"},
		{"LifeTimeHuge", v.set("life_time", "99999999999999999999999"), 400, "BAD_ARGUMENTS:life_time"},
		{"LifeTimeUnit", v.set("life_time", "60m"), 400, "BAD_ARGUMENTS:life_time"},
		{"ReturnMultifacesTagBad", v.set("return_multifaces_tag", "true"), 400, "BAD_ARGUMENTS:return_multifaces_tag"},
		{"FaceOcclusionBad", v.set("face_occlusion_detection", "on"), 400, "BAD_ARGUMENTS:face_occlusion_detection"},
		{"BadOrderBizNoFirst", v.set("face_occlusion_detection", "2").set("biz_no", strings.Repeat("x", 200)), 400, "BAD_ARGUMENTS:biz_no"},
		{"BadOrderColorBeforeLifeTime", v.set("life_time", "1").set("color_number", "1"), 400, "BAD_ARGUMENTS:color_number"},
		{"BadOrderUUIDBeforeImageRef3", v.setFile("image_ref3", grayPNG).set("uuid", strings.Repeat("u", 600)), 400, "BAD_ARGUMENTS:uuid"},
		{"BadOrderImageRef3BeforeMultiOriented", v.set("multi_oriented_detection", "x").setFile("image_ref3", grayPNG), 400, "BAD_ARGUMENTS:image_ref3"},
		{"BadOrderMaxUploadBeforeLifeTime", v.set("life_time", "0").set("max_upload_times", "0"), 400, "BAD_ARGUMENTS:max_upload_times"},
		{"BadValueBeforeBadImage", v.setFile("image_ref1", notImage).set("return_multifaces_tag", "9"), 400, "BAD_ARGUMENTS:return_multifaces_tag"},

		// Step 5: decoding.
		{"JPEG", v.setFile("image_ref1", grayJPEG), 200, ok},
		{"BMP", v.setFile("image_ref1", grayBMP), 200, ok},
		{"WebP", v.setFile("image_ref1", grayWebP), 200, ok},
		{"GIF", v.setFile("image_ref1", grayGIF), 200, ok},
		{"ImageAsPlainField", v.del("image_ref1").set("image_ref1", string(grayPNG)), 200, ok},
		{"NotAnImage", v.setFile("image_ref1", notImage), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1"},
		{"TruncatedJPEG", v.setFile("image_ref1", truncJPEG), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1"},
		{"Ref2NotAnImage", v.setFile("image_ref2", notImage), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref2"},
		{"EmptyRef2IsAbsent", v.setFile("image_ref2", nil), 200, ok},
		{"Ref1BeforeRef2", v.setFile("image_ref1", notImage).setFile("image_ref2", truncJPEG), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref1"},
		{"DecodingBeforeSize", v.setFile("image_ref1", hugePNG).setFile("image_ref2", notImage), 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_ref2"},

		// Step 6: pixel size.
		{"HugeHeader", v.setFile("image_ref1", hugePNG), 400, "INVALID_IMAGE_SIZE:image_ref1"},
		{"Wide4097", v.setFile("image_ref1", widePNG), 400, "INVALID_IMAGE_SIZE:image_ref1"},
		{"Edge4096", v.setFile("image_ref1", edgePNG), 200, ok},
		{"Ref2Huge", v.setFile("image_ref2", hugePNG), 400, "INVALID_IMAGE_SIZE:image_ref2"},
		{"SizeBeforeFaces", v.setFile("image_ref1", redPNG).setFile("image_ref2", hugePNG), 400, "INVALID_IMAGE_SIZE:image_ref2"},

		// Step 7: faces.
		{"NoFace", v.setFile("image_ref1", redPNG), 400, "NO_FACE_FOUND:image_ref1"},
		{"NoFaceRef2", v.setFile("image_ref2", redPNG), 400, "NO_FACE_FOUND:image_ref2"},
		{"MultipleFaces", v.setFile("image_ref1", bluePNG), 400, "MULTIPLE_FACES:image_ref1"},
		{"MultipleFacesExplicit", v.setFile("image_ref1", bluePNG).set("fail_when_ref_multiple_faces", "1"), 400, "MULTIPLE_FACES:image_ref1"},
		{"MultipleFacesTakeLargest", v.setFile("image_ref1", bluePNG).set("fail_when_ref_multiple_faces", "0"), 200, ok},
		{"MultipleFacesRef2", v.setFile("image_ref2", bluePNG), 400, "MULTIPLE_FACES:image_ref2"},
		{"FacesRef1First", v.setFile("image_ref1", bluePNG).setFile("image_ref2", redPNG), 400, "MULTIPLE_FACES:image_ref1"},
		{"ExifRotatedIsUpright", v.setFile("image_ref1", exifRotated).set("multi_oriented_detection", "0"), 200, ok},
		{"SidewaysWithoutExif", v.setFile("image_ref1", sidewaysPixels), 400, "NO_FACE_FOUND:image_ref1"},
		{"SidewaysMultiOriented", v.setFile("image_ref1", sidewaysPixels).set("multi_oriented_detection", "1"), 200, ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.p.set("biz_no", "ord-77")
			if slices.ContainsFunc(tt.p, func(f field) bool { return f.name == "biz_no" }) {
				p = tt.p
			}
			r := e.post(p)
			checkReply(t, r, tt.status, tt.want)
			bizNo, _ := p.get("biz_no")
			if got, ok := r.fields["biz_no"]; !ok || got != bizNo {
				t.Errorf("biz_no = %v, want %q echoed", got, bizNo)
			}
		})
	}
}

func (p params) get(name string) (string, bool) {
	for _, f := range p {
		if f.name == name {
			return string(f.value), true
		}
	}
	return "", false
}

var requestIDRe = regexp.MustCompile(`^([0-9]+),[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// checkReply checks the envelope of a FaceID reply: status, error_message
// (absent on success), request_id shape, time_used, Content-Type.
func checkReply(t *testing.T, r reply, status int, wantErr string) {
	t.Helper()
	if r.status != status || r.str("error_message") != wantErr {
		t.Fatalf("got %d %q, want %d %q (body %s)", r.status, r.str("error_message"), status, wantErr, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if _, present := r.fields["error_message"]; present == (wantErr == "") {
		t.Errorf("error_message presence wrong in %s", r.raw)
	}
	m := requestIDRe.FindStringSubmatch(r.str("request_id"))
	if m == nil {
		t.Errorf("request_id %q is not \"<unix-seconds>,<uuid4>\"", r.str("request_id"))
	} else if sec, _ := strconv.ParseInt(m[1], 10, 64); time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Errorf("request_id seconds %d far from now", sec)
	}
	if tu, ok := r.fields["time_used"].(float64); !ok || tu < 0 || tu != float64(int64(tu)) {
		t.Errorf("time_used %v is not a non-negative integer", r.fields["time_used"])
	}
	allowed := map[string]bool{"request_id": true, "time_used": true, "biz_no": true, "token": wantErr == "", "error_message": wantErr != ""}
	for k := range r.fields {
		if !allowed[k] {
			t.Errorf("unexpected field %q in %s", k, r.raw)
		}
	}
	if wantErr == "" {
		tok := r.str("token")
		if len(tok) != 32 || strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("token %q is not 32 URL-safe characters", tok)
		}
	}
}

func TestGetTokenSuccessRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	before := time.Now()
	r := e.post(e.valid().set("biz_no", "ord-77").set("color_number", "8").set("language", "1").
		set("life_time", "90").set("max_upload_times", "3").set("multi_oriented_detection", "1").
		set("fail_when_ref_multiple_faces", "0").set("face_occlusion_detection", "1").setFile("image_ref2", grayJPEG))
	checkReply(t, r, 200, "")
	if r.str("biz_no") != "ord-77" {
		t.Fatalf("biz_no %q", r.str("biz_no"))
	}
	// Field order as in FaceID's examples.
	if !regexp.MustCompile(`^\{"request_id":"[^"]+","time_used":\d+,"biz_no":"ord-77","token":"[^"]+"\}$`).Match(r.raw) {
		t.Errorf("reply shape %s", r.raw)
	}

	v, err := e.db.Verification(context.Background(), r.str("token"))
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyID != e.key || *v.BizNo != "ord-77" || v.UUID != "user-1" || v.ColorNumber != 8 || v.Language != "1" ||
		v.MaxUploadTimes != 3 || v.LifeTime != 90*time.Minute || !v.MultiOrientedDetection ||
		v.FailWhenRefMultipleFaces || !v.FaceOcclusionDetection || v.ReturnMultifacesTag ||
		v.LivenessPreferences != "none" || v.ProcedureType != "raw_flash" || v.ComparisonType != "0" ||
		v.Status != store.StatusNotStarted || v.Attempts != 0 || v.Fetches != 0 {
		t.Errorf("record %+v", v)
	}
	if v.IssuedAt.Before(before.Add(-time.Second)) || !v.ExpiresAt.Equal(v.IssuedAt.Add(90*time.Minute)) {
		t.Errorf("issued %v expires %v", v.IssuedAt, v.ExpiresAt)
	}
	if len(v.Refs) != 2 || v.Refs[0].Index != 1 || v.Refs[1].Index != 2 {
		t.Fatalf("refs %+v", v.Refs)
	}
	for _, ref := range v.Refs {
		if ref.Model != "fake-v1" || len(ref.Embedding) != 4 || len(ref.Crop) == 0 || ref.Original != nil {
			t.Errorf("ref %+v", ref)
		}
	}

	// Defaults, and no biz_no when none was sent.
	r = e.post(e.valid())
	checkReply(t, r, 200, "")
	if _, ok := r.fields["biz_no"]; ok {
		t.Errorf("biz_no present though not sent: %s", r.raw)
	}
	v, err = e.db.Verification(context.Background(), r.str("token"))
	if err != nil {
		t.Fatal(err)
	}
	if v.BizNo != nil || v.ColorNumber != 6 || v.Language != "0" || v.MultiOrientedDetection || !v.FailWhenRefMultipleFaces || len(v.Refs) != 1 {
		t.Errorf("defaults %+v", v)
	}

	// An empty biz_no was supplied, so it is echoed.
	r = e.post(e.valid().set("biz_no", ""))
	checkReply(t, r, 200, "")
	if b, ok := r.fields["biz_no"]; !ok || b != "" {
		t.Errorf("empty biz_no not echoed: %s", r.raw)
	}
}

func TestKeepReferenceImages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, func(c *api.Config) { c.KeepReferenceImages = true })
	r := e.post(e.valid().setFile("image_ref2", grayJPEG))
	checkReply(t, r, 200, "")
	v, err := e.db.Verification(context.Background(), r.str("token"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Refs[0].Original, grayPNG) || !bytes.Equal(v.Refs[1].Original, grayJPEG) {
		t.Fatal("originals not kept")
	}
}

func TestURLEncodedAndOtherBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	post := func(ct, body string) reply {
		req, _ := http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/get_token", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		return e.do(req)
	}
	form := url.Values{
		"api_key": {e.key}, "api_secret": {e.secret}, "comparison_type": {"0"}, "uuid": {"u"},
		"max_upload_times": {"5"}, "life_time": {"60"}, "biz_no": {"b<&>"},
	}
	r := post("application/x-www-form-urlencoded", form.Encode())
	checkReply(t, r, 400, "MISSING_ARGUMENTS:image_ref1")
	if !bytes.Contains(r.raw, []byte(`"biz_no":"b<&>"`)) {
		t.Errorf("biz_no not echoed verbatim: %s", r.raw)
	}
	form.Set("color_number", "7")
	checkReply(t, post("application/x-www-form-urlencoded; charset=utf-8", form.Encode()), 400, "MISSING_ARGUMENTS:image_ref1")
	form.Set("image_ref1", string(grayPNG))
	checkReply(t, post("application/x-www-form-urlencoded", form.Encode()), 400, "BAD_ARGUMENTS:color_number")
	form.Del("color_number")
	checkReply(t, post("application/x-www-form-urlencoded", form.Encode()), 200, "")
	// Thousands of junk fields neither hide the real ones nor pile up.
	junk := strings.Repeat("junk=1&", 20000) + "x%zz=1&" + form.Encode()
	checkReply(t, post("application/x-www-form-urlencoded", junk), 200, "")
	var many params
	for i := range 5000 {
		many = many.set(fmt.Sprint("f", i), "v")
	}
	body, ct := append(many, e.valid()...).multipart(t)
	checkReply(t, post(ct, string(body)), 200, "")

	checkReply(t, post("application/x-www-form-urlencoded", "api_secret=x"), 400, "MISSING_ARGUMENTS:api_key")
	checkReply(t, post("application/json", `{"api_key":"x","api_secret":"y"}`), 400, "MISSING_ARGUMENTS:api_key")
	checkReply(t, post("", ""), 400, "MISSING_ARGUMENTS:api_key")
	checkReply(t, post("multipart/form-data", "no boundary"), 400, "MISSING_ARGUMENTS:api_key")

	// A multipart body cut off inside the image: the fields before it
	// count, the half image does not.
	body, ct = e.valid().multipart(t)
	cut := bytes.Index(body, grayPNG[:50]) + 40
	checkReply(t, post(ct, string(body[:cut])), 400, "MISSING_ARGUMENTS:image_ref1")
}

// Bodies over 20 MB get 413 with a plain-text body, whether the client
// announced the length or streamed it chunked.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	const limit = api.DefaultMaxBodyBytes
	tests := []struct {
		name    string
		size    int64
		chunked bool
		want    int
	}{
		{"ContentLengthOver", limit + 1, false, 413},
		{"ChunkedOver", limit + 1, true, 413},
		{"ChunkedFarOver", 3 * limit, true, 413},
		{"ContentLengthAtLimit", limit, false, 400},
		{"ChunkedAtLimit", limit, true, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A multipart body whose only part is padding: at the limit it
			// is a well-formed request missing api_key.
			body := paddedMultipart(tt.size)
			var rd io.Reader = bytes.NewReader(body.bytes)
			if tt.chunked {
				rd = io.MultiReader(rd) // hides the length: Transfer-Encoding: chunked
			}
			req, _ := http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/get_token", rd)
			req.Header.Set("Content-Type", body.contentType)
			if tt.chunked && req.ContentLength != 0 {
				t.Fatal("request is not chunked")
			}
			r := e.do(req)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d (%s)", r.status, tt.want, r.raw)
			}
			if tt.want == 413 {
				if string(r.raw) != "Request Entity Too Large" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
					t.Fatalf("413 body %q type %q", r.raw, r.header.Get("Content-Type"))
				}
				return
			}
			checkReply(t, r, 400, "MISSING_ARGUMENTS:api_key")
		})
	}
}

type sizedBody struct {
	bytes       []byte
	contentType string
}

func paddedMultipart(size int64) sizedBody {
	const boundary = "glintboundary"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"padding\"\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	b := make([]byte, 0, size)
	b = append(b, head...)
	b = append(b, bytes.Repeat([]byte{'p'}, int(size)-len(head)-len(tail))...)
	b = append(b, tail...)
	return sizedBody{b, "multipart/form-data; boundary=" + boundary}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/faceid/lite/raw/get_token"},
		{"PUT", "/faceid/lite/raw/get_token"},
		{"DELETE", "/faceid/lite/raw/get_token"},
		{"POST", "/faceid/lite/raw/get_tokens"},
		{"POST", "/faceid/lite/raw/get_token/"},
		{"POST", "//faceid/lite/raw/get_token"},
		{"POST", "/faceid/lite/raw/../raw/get_token"},
		{"POST", "/facoid/lite/raw/get_token"},
		{"POST", "/faceid/lite/raw/nope"},
		{"POST", "/healthz"},
		{"POST", "/metrics"},
	} {
		req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader("api_key=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r := e.do(req)
		if r.status != 404 || string(r.raw) != `{"error_message":"API_NOT_FOUND"}` || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %q %q", tt.method, tt.path, r.status, r.raw, r.header.Get("Content-Type"))
		}
	}
}

func TestPanicIsInternalError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &fakeEngine{panicky: true}, nil)
	r := e.post(e.valid().setFile("image_ref1", greenPNG).set("biz_no", "p"))
	checkReply(t, r, 500, "INTERNAL_ERROR")
	if r.str("biz_no") != "p" {
		t.Errorf("biz_no not echoed on 500: %s", r.raw)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, r.str("request_id")) || !strings.Contains(logs, "fake engine exploded") {
		t.Errorf("panic not logged with its request id:\n%s", logs)
	}
	// The server survives.
	checkReply(t, e.post(e.valid()), 200, "")
	// And the ledger knows.
	if n := usageCount(t, e, e.key, "INTERNAL_ERROR"); n != 1 {
		t.Errorf("ledger has %d INTERNAL_ERROR rows", n)
	}
}

func usageCount(t *testing.T, e *env, key, outcome string) int64 {
	t.Helper()
	counts, err := e.db.Usage(context.Background(), key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range counts {
		if c.Outcome == outcome && c.Endpoint == "get_token" {
			if c.Billed {
				t.Errorf("get_token billed: %+v", c)
			}
			n += c.Count
		}
	}
	return n
}

func TestCallLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	key, secret := e.newKey(auth.KeyOptions{CallLimit: 2})
	p := e.valid().set("api_key", key).set("api_secret", secret)
	checkReply(t, e.post(p), 200, "")
	// Failures do not count against the limit.
	checkReply(t, e.post(p.setFile("image_ref1", redPNG)), 400, "NO_FACE_FOUND:image_ref1")
	checkReply(t, e.post(p.del("uuid")), 400, "MISSING_ARGUMENTS:uuid")
	checkReply(t, e.post(p), 200, "")
	for range 2 {
		checkReply(t, e.post(p), 403, "AUTHORIZATION_ERROR:LIMIT_REACHED")
	}
	// LIMIT_REACHED is a permission error: it comes before missing fields.
	checkReply(t, e.post(p.del("uuid")), 403, "AUTHORIZATION_ERROR:LIMIT_REACHED")
	if ok, lim := usageCount(t, e, key, "OK"), usageCount(t, e, key, "AUTHORIZATION_ERROR"); ok != 2 || lim != 3 {
		t.Errorf("ledger OK=%d AUTHORIZATION_ERROR=%d", ok, lim)
	}
}

// Concurrent calls of one limited key never get more successes than the
// limit, even though each passes the up-front check.
func TestCallLimitConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	key, secret := e.newKey(auth.KeyOptions{CallLimit: 5, Concurrency: 16})
	p := e.valid().set("api_key", key).set("api_secret", secret)
	results := postConcurrently(e, 16, func(int) params { return p })
	if results[200] != 5 || results[403] != 11 || len(results) != 2 {
		t.Fatalf("results by status %v, want 5×200 and 11×403", results)
	}
}

func postConcurrently(e *env, n int, req func(i int) params) map[int]int {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[int]int{}
	)
	for i := range n {
		wg.Go(func() {
			r := e.post(req(i))
			mu.Lock()
			results[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{gate: make(chan struct{}), entered: make(chan struct{}, 64)}
	e := newEnv(t, eng, nil)
	key, secret := e.newKey(auth.KeyOptions{Concurrency: 3})
	p := e.valid().set("api_key", key).set("api_secret", secret)
	blocked := p.setFile("image_ref1", whitePNG)

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { checkReply(t, e.post(blocked), 200, "") })
	}
	for range 3 {
		<-eng.entered
	}
	checkReply(t, e.post(p), 403, "CONCURRENCY_LIMIT_EXCEEDED")
	// Another key is unaffected.
	checkReply(t, e.post(e.valid()), 200, "")
	close(eng.gate)
	wg.Wait()
	checkReply(t, e.post(p), 200, "")
}

// 16 concurrent requests of one key with the default concurrency of 10:
// exactly 10 run, 6 are refused, and the 10 then succeed.
func TestSixteenConcurrentRequestsOfOneKey(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{gate: make(chan struct{}), entered: make(chan struct{}, 64)}
	e := newEnv(t, eng, nil)
	p := e.valid().setFile("image_ref1", whitePNG)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[string]int{}
		refused = make(chan struct{}, 16)
	)
	for range 16 {
		wg.Go(func() {
			r := e.post(p)
			mu.Lock()
			results[fmt.Sprint(r.status, " ", r.str("error_message"))]++
			mu.Unlock()
			if r.status == 403 {
				refused <- struct{}{}
			}
		})
	}
	for range auth.DefaultConcurrency {
		<-eng.entered
	}
	for range 16 - auth.DefaultConcurrency {
		<-refused
	}
	close(eng.gate)
	wg.Wait()
	want := map[string]int{"200 ": 10, "403 CONCURRENCY_LIMIT_EXCEEDED": 6}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Fatalf("results %v, want %v", results, want)
	}
}

func TestTrustedProxy(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	behind := newEnv(t, nil, func(c *api.Config) { c.TrustedProxies = loopback })
	direct := newEnv(t, nil, nil)
	for _, tt := range []struct {
		name string
		e    *env
		xff  string
		want string
	}{
		{"ProxiedAllowed", behind, "203.0.113.5", ""},
		{"ProxiedDenied", behind, "198.51.100.1", "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},
		{"SpoofedLeftmost", behind, "203.0.113.5, 198.51.100.1", "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},
		{"NoHeaderIsProxyItself", behind, "", "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},
		{"UntrustedPeerHeaderIgnored", direct, "203.0.113.5", "AUTHORIZATION_ERROR:IP_NOT_ALLOWED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, secret := tt.e.newKey(auth.KeyOptions{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
			body, ct := tt.e.valid().set("api_key", key).set("api_secret", secret).multipart(t)
			req, _ := http.NewRequest("POST", tt.e.srv.URL+"/faceid/lite/raw/get_token", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			status := 200
			if tt.want != "" {
				status = 403
			}
			checkReply(t, tt.e.do(req), status, tt.want)
		})
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, func(c *api.Config) { c.PublicMetrics = true })
	get := func(path string) reply {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		return e.do(req)
	}
	if r := get("/healthz"); r.status != 200 {
		t.Errorf("healthz %d", r.status)
	}
	if r := get("/readyz"); r.status != 200 {
		t.Errorf("readyz %d", r.status)
	}

	checkReply(t, e.post(e.valid()), 200, "")
	checkReply(t, e.post(e.valid().del("uuid")), 400, "MISSING_ARGUMENTS:uuid")
	r := get("/metrics")
	if r.status != 200 {
		t.Fatalf("metrics %d", r.status)
	}
	for _, want := range []string{
		`glint_http_requests_total{code="OK",endpoint="get_token",status="200"} 1`,
		`glint_http_requests_total{code="MISSING_ARGUMENTS",endpoint="get_token",status="400"} 1`,
		`glint_http_request_duration_seconds_count{endpoint="get_token"} 2`,
		`glint_engine_stage_duration_seconds_count{stage="decode"} 1`,
		`glint_engine_stage_duration_seconds_count{stage="detect"} 1`,
		`go_goroutines`,
	} {
		if !bytes.Contains(r.raw, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}

	e.db.Close()
	if r := get("/readyz"); r.status != 503 {
		t.Errorf("readyz with a closed store: %d", r.status)
	}
}

// The acceptance load: 200 mixed good and bad requests at
// concurrency 16, no 5xx.
func TestMixedLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	key, secret := e.newKey(auth.KeyOptions{Concurrency: 16})
	good := e.valid().set("api_key", key).set("api_secret", secret)
	variants := []params{
		good,
		good.setFile("image_ref1", redPNG),
		good.setFile("image_ref1", hugePNG),
		good.setFile("image_ref1", truncJPEG),
		good.set("life_time", "0"),
		good.del("uuid"),
		good.set("api_secret", "wrong"),
		good.setFile("image_ref2", bluePNG),
		good.setFile("image_ref1", exifRotated),
	}
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 16)
		mu    sync.Mutex
		stats = map[int]int{}
	)
	for i := range 200 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := e.post(variants[i%len(variants)])
			mu.Lock()
			stats[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for status, n := range stats {
		if status >= 500 {
			t.Errorf("%d × %d", n, status)
		}
	}
	if stats[200] == 0 || stats[400] == 0 || stats[403] == 0 {
		t.Errorf("mix not exercised: %v", stats)
	}
}

// The reply never carries anything but the documented fields, even with
// odd input; json.Valid guards the fuzz target below as well.
func checkEnvelope(t *testing.T, status int, body []byte, contentType string) {
	t.Helper()
	switch status {
	case 200, 400, 403:
	case 413:
		if string(body) != "Request Entity Too Large" {
			t.Fatalf("413 body %q", body)
		}
		return
	default:
		t.Fatalf("status %d: %s", status, body)
	}
	if contentType != "application/json" || !json.Valid(body) {
		t.Fatalf("not JSON: %q %q", contentType, body)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	if _, ok := m["request_id"].(string); !ok {
		t.Fatalf("no request_id: %s", body)
	}
	if _, ok := m["time_used"].(float64); !ok {
		t.Fatalf("no time_used: %s", body)
	}
	if _, hasErr := m["error_message"]; hasErr == (status == 200) {
		t.Fatalf("error_message vs status %d: %s", status, body)
	}
}

// BenchmarkGetToken2MP measures get_token end to end over HTTP for a 2 MP
// JPEG, with the fake engine: the service's own cost (upload, parse,
// decode, store) without face detection. It reports p50 and p95.
func BenchmarkGetToken2MP(b *testing.B) {
	e := newEnv(b, nil, nil)
	photo := mustJPEG(imagingtest.Gradient(1732, 1155))
	body, ct := e.valid().setFile("image_ref1", photo).multipart(b)
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/get_token", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		start := time.Now()
		r := e.do(req)
		lat = append(lat, time.Since(start))
		if r.status != 200 {
			b.Fatalf("%d %s", r.status, r.raw)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
}
