package main

import (
	"bytes"
	"encoding/json"
	"image"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
)

// repoModels is the models folder `make models` fills at the repository
// root. `make test` fetches it first, so its absence fails the test.
func repoModels(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	// `make models` fetches the sample photos with the networks.
	if _, err := os.Stat(face.SamplePhoto(dir, 1)); err != nil {
		t.Fatalf("models missing (run `make models`): %v", err)
	}
	return dir
}

// TestGetTokenRealEngine runs get_token through the real serve command and
// the real face engine on the pinned package's sample photos and on images
// made here: faces are counted, turned photos found, EXIF obeyed.
func TestGetTokenRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine")
	}
	models := repoModels(t)
	read := func(n int) []byte {
		b, err := os.ReadFile(face.SamplePhoto(models, n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	group := read(1) // three faces
	img, _, err := imaging.Decode(group, 0)
	if err != nil {
		t.Fatal(err)
	}
	// One face of the group photo, cut out with a margin: a single-face
	// reference made from the package's photo.
	single := face.FromImage(img).Crop(face.Rect{X: 330, Y: 260, W: 340, H: 420}).RGBA()
	singleJPEG := imagingtest.JPEG(t, single)
	sideways := face.FromImage(single).Rotate(90).RGBA()
	sidewaysJPEG := imagingtest.JPEG(t, sideways)
	// EXIF orientation 6 says "turn 90° clockwise to display": store the
	// face turned 90° counter-clockwise, as a phone held sideways does.
	exifJPEG := imagingtest.WithExifOrientation(imagingtest.JPEG(t, face.FromImage(single).Rotate(270).RGBA()), 6, false)
	noFace := imagingtest.JPEG(t, imagingtest.Gradient(400, 300))

	base, key, secret := startServe(t, models)
	tests := []struct {
		name   string
		fields map[string]string
		files  map[string][]byte
		status int
		errMsg string
	}{
		{"SingleFace", nil, map[string][]byte{"image_ref1": singleJPEG}, 200, ""},
		{"TwoReferences", nil, map[string][]byte{"image_ref1": singleJPEG, "image_ref2": singleJPEG}, 200, ""},
		{"GroupPhoto", nil, map[string][]byte{"image_ref1": group}, 400, "MULTIPLE_FACES:image_ref1"},
		{"GroupPhotoLargestFace", map[string]string{"fail_when_ref_multiple_faces": "0"}, map[string][]byte{"image_ref1": group}, 200, ""},
		{"NoFace", nil, map[string][]byte{"image_ref1": noFace}, 400, "NO_FACE_FOUND:image_ref1"},
		{"NoFaceRef2", nil, map[string][]byte{"image_ref1": singleJPEG, "image_ref2": noFace}, 400, "NO_FACE_FOUND:image_ref2"},
		{"GroupRef2", nil, map[string][]byte{"image_ref1": singleJPEG, "image_ref2": group}, 400, "MULTIPLE_FACES:image_ref2"},
		{"SidewaysMultiOriented", map[string]string{"multi_oriented_detection": "1"}, map[string][]byte{"image_ref1": sidewaysJPEG}, 200, ""},
		{"ExifOrientation", nil, map[string][]byte{"image_ref1": exifJPEG}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]string{"api_key": key, "api_secret": secret, "comparison_type": "0", "uuid": "u-1",
				"max_upload_times": "3", "life_time": "60", "biz_no": "b-" + tt.name}
			for k, v := range tt.fields {
				fields[k] = v
			}
			status, reply := postForm(t, base+"/faceid/lite/raw/get_token", fields, tt.files)
			if status != tt.status || reply["error_message"] != nilIfEmpty(tt.errMsg) {
				t.Fatalf("got %d %v, want %d %q", status, reply, tt.status, tt.errMsg)
			}
			if reply["biz_no"] != "b-"+tt.name {
				t.Errorf("biz_no not echoed: %v", reply)
			}
			if tt.status == 200 && len(reply["token"].(string)) < 32 {
				t.Errorf("token %v too short", reply["token"])
			}
		})
	}
}

// TestGetTokenMixedLoad sends 200 good and bad requests, 16 at a time, to
// the real server and engine: none may fail with a 5xx.
func TestGetTokenMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face engine 50 times")
	}
	models := repoModels(t)
	group, err := os.ReadFile(face.SamplePhoto(models, 2))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(group, 0)
	if err != nil {
		t.Fatal(err)
	}
	single := imagingtest.JPEG(t, face.FromImage(img).Crop(face.Rect{X: 0, Y: 0, W: 640, H: 640}).RGBA())
	noFace := imagingtest.PNG(t, imagingtest.Noise(300, 200, 7))
	base, key, secret := startServe(t, models, "--concurrency", "16")
	good := map[string]string{"api_key": key, "api_secret": secret, "comparison_type": "0", "uuid": "load",
		"max_upload_times": "3", "life_time": "60", "fail_when_ref_multiple_faces": "0"}
	with := func(k, v string) map[string]string {
		m := maps.Clone(good)
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		fields map[string]string
		files  map[string][]byte
	}{
		{good, map[string][]byte{"image_ref1": single}},
		{good, map[string][]byte{"image_ref1": noFace}},
		{with("uuid", ""), map[string][]byte{"image_ref1": single}},
		{with("api_secret", "wrong"), map[string][]byte{"image_ref1": single}},
		{with("life_time", "2"), map[string][]byte{"image_ref1": single}},
		{good, map[string][]byte{"image_ref1": []byte("not an image")}},
		{good, map[string][]byte{"image_ref1": group}},
		{with("color_number", "7"), nil},
	}
	statuses := make(chan int, 200)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := cases[i%len(cases)]
			status, reply := postForm(t, base+"/faceid/lite/raw/get_token", c.fields, c.files)
			if status >= 500 {
				t.Errorf("request %d: %d %v", i, status, reply)
			}
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 50 || count[400] != 125 || count[403] != 25 {
		t.Errorf("statuses %v, want 50×200, 125×400, 25×403", count)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// startServe runs `glint serve` in-process on a free loopback port with the
// real engine and returns its base URL and a fresh key.
func startServe(t testing.TB, models string, keyArgs ...string) (base, key, secret string) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"GLINT_DATA": dir, "GLINT_MODELS": models, "GLINT_LISTEN": "127.0.0.1:0"}
	k := mustJSON(t, mustRun(t, env, append([]string{"keys", "create", "--name", "e2e"}, keyArgs...)...))
	return serveInProcess(t, env).base, k["api_key"], k["api_secret"]
}

func postForm(t testing.TB, url string, fields map[string]string, files map[string][]byte) (int, map[string]any) {
	t.Helper()
	var parts []formPart
	for k, v := range files {
		parts = append(parts, formPart{field: k, name: k + ".jpg", data: v})
	}
	return postParts(t, url, fields, parts)
}

// formPart is one file part of a multipart form.
type formPart struct {
	field, name string
	data        []byte
}

// postParts posts a multipart form of fields and file parts and decodes
// the JSON reply.
func postParts(t testing.TB, url string, fields map[string]string, parts []formPart) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, p := range parts {
		w, err := mw.CreateFormFile(p.field, p.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	resp, err := http.Post(url, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatalf("%s: status %d, body not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, reply
}

// BenchmarkGetTokenRealEngine times get_token end to end (HTTP, multipart,
// decode, detection, landmarks, embedding, storage) for a 2-megapixel
// single-face JPEG made from the package's sample photo, and reports the
// median and 95th percentile.
func BenchmarkGetTokenRealEngine(b *testing.B) {
	models := repoModels(b)
	data, err := os.ReadFile(face.SamplePhoto(models, 1))
	if err != nil {
		b.Fatal(err)
	}
	img, _, err := imaging.Decode(data, 0)
	if err != nil {
		b.Fatal(err)
	}
	crop := face.FromImage(img).Crop(face.Rect{X: 330, Y: 260, W: 340, H: 420}).RGBA()
	big := image.NewRGBA(image.Rect(0, 0, 1296, 1600)) // 2.07 MP
	xdraw.CatmullRom.Scale(big, big.Bounds(), crop, crop.Bounds(), xdraw.Src, nil)
	jpg := imagingtest.JPEG(b, big)

	base, key, secret := startServe(b, models)
	fields := map[string]string{"api_key": key, "api_secret": secret, "comparison_type": "0", "uuid": "bench",
		"max_upload_times": "3", "life_time": "60"}
	files := map[string][]byte{"image_ref1": jpg}
	lat := make([]float64, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if status, reply := postForm(b, base+"/faceid/lite/raw/get_token", fields, files); status != 200 {
			b.Fatalf("get_token: %d %v", status, reply)
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*95/100], "p95-ms")
}
