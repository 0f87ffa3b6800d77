package api_test

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzGetTokenForm feeds arbitrary bodies and content types to get_token
// through the real handler and store. Whatever arrives, the reply is one of
// the documented statuses with a well-formed envelope: never a panic, never
// a 5xx.
func FuzzGetTokenForm(f *testing.F) {
	e := newEnv(f, nil, nil)
	valid := e.valid().set("biz_no", "b")
	body, ct := valid.multipart(f)
	f.Add(body, ct)
	f.Add(body[:len(body)/2], ct)
	body2, ct2 := valid.setFile("image_ref2", truncJPEG).setFile("image_ref3", grayPNG).multipart(f)
	f.Add(body2, ct2)
	body3, ct3 := valid.setFile("image_ref1", hugePNG).set("color_number", "x").multipart(f)
	f.Add(body3, ct3)
	form := url.Values{"api_key": {e.key}, "api_secret": {e.secret}, "comparison_type": {"0"}, "uuid": {"u"},
		"max_upload_times": {"5"}, "life_time": {"60"}, "image_ref1": {string(grayPNG)}}
	f.Add([]byte(form.Encode()), "application/x-www-form-urlencoded")
	f.Add([]byte("api_key=%zz&&=&api_secret"), "application/x-www-form-urlencoded")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\nk\r\n--x--"), "multipart/form-data; boundary=x")
	f.Add([]byte{}, "multipart/form-data; boundary=")
	f.Add([]byte("{}"), "application/json")

	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := httptest.NewRequest("POST", "/faceid/lite/raw/get_token", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		checkEnvelope(t, rec.Code, rec.Body.Bytes(), rec.Header().Get("Content-Type"))
	})
}
