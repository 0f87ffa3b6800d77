package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/api"
	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/imaging"
	"github.com/glint-id/glint/internal/imaging/imagingtest"
	"github.com/glint-id/glint/internal/logtest"
	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// Colours that tell the fake engine what to "find". Images are solid
// colours (or gray with a yellow corner marker), so JPEG round trips keep
// them recognisable.
var (
	gray   = color.RGBA{128, 128, 128, 255} // one face
	red    = color.RGBA{220, 20, 20, 255}   // no face
	blue   = color.RGBA{20, 20, 220, 255}   // two faces
	green  = color.RGBA{20, 220, 20, 255}   // the engine panics (when panicky)
	white  = color.RGBA{255, 255, 255, 255} // the engine blocks on its gate (when gated)
	yellow = color.RGBA{240, 240, 20, 255}  // orientation marker
)

// fakeEngine is the test double for the face engine. It "finds faces" by
// colour: see the variables above. An image whose mean colour is none of
// those, and has a yellow block in a corner, has one face that is only
// found when that corner is top-left (the photo is upright), or with
// MultiOriented after turning it.
type fakeEngine struct {
	panicky bool

	// gate, when non-nil, holds white images until closed; entered
	// receives one value per call that reached the gate.
	gate    chan struct{}
	entered chan struct{}

	mu    sync.Mutex
	calls int
}

func (e *fakeEngine) Reference(ctx context.Context, img image.Image, opts api.ReferenceOptions) (store.Reference, error) {
	e.mu.Lock()
	e.calls++
	e.mu.Unlock()
	start := time.Now()
	defer func() { api.ObserveStage(ctx, "detect", time.Since(start)) }()

	b := img.Bounds()
	if b.Min != (image.Point{}) {
		return store.Reference{}, fmt.Errorf("image bounds %v do not start at the origin", b)
	}
	one := store.Reference{
		Embedding: []float32{0.1, 0.2, 0.3, 0.4},
		Crop:      []byte{0xff, 0xd8, 0xff, 0xd9},
		Box:       image.Rect(1, 2, 3, 4),
		Model:     "fake-v1",
	}
	switch c := meanColor(img, b); {
	case imagingtest.Near(c, red, 30):
		return store.Reference{}, fmt.Errorf("fake: %w", api.ErrNoFace)
	case imagingtest.Near(c, blue, 30):
		if opts.FailOnMultiple {
			return store.Reference{}, fmt.Errorf("fake: 2 faces: %w", api.ErrMultipleFaces)
		}
		one.Box = image.Rect(0, 0, 40, 40) // "the largest"
		return one, nil
	case imagingtest.Near(c, green, 30) && e.panicky:
		panic("fake engine exploded")
	case imagingtest.Near(c, white, 10) && e.gate != nil:
		e.entered <- struct{}{}
		select {
		case <-e.gate:
			return one, nil
		case <-ctx.Done():
			return store.Reference{}, ctx.Err()
		}
	}
	// Orientation-sensitive images.
	for turn := 0; turn < 360; turn += 90 {
		if turn > 0 && !opts.MultiOriented {
			break
		}
		m := imaging.Rotate(img, turn)
		switch markerCorner(m) {
		case "top-left":
			return one, nil
		case "":
			return one, nil // no marker: a plain one-face photo
		}
	}
	return store.Reference{}, fmt.Errorf("fake: face is sideways: %w", api.ErrNoFace)
}

func meanColor(img image.Image, b image.Rectangle) color.RGBA {
	var r, g, bl, n uint64
	step := max(1, b.Dx()/32)
	for y := b.Min.Y; y < b.Max.Y; y += step {
		for x := b.Min.X; x < b.Max.X; x += step {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			r, g, bl, n = r+uint64(cr>>8), g+uint64(cg>>8), bl+uint64(cb>>8), n+1
		}
	}
	return color.RGBA{uint8(r / n), uint8(g / n), uint8(bl / n), 255}
}

// markerCorner names the corner holding the yellow marker, or "".
func markerCorner(img image.Image) string {
	b := img.Bounds()
	corners := []struct {
		name string
		x, y int
	}{
		{"top-left", 6, 6},
		{"top-right", b.Dx() - 7, 6},
		{"bottom-left", 6, b.Dy() - 7},
		{"bottom-right", b.Dx() - 7, b.Dy() - 7},
	}
	for _, c := range corners {
		if imagingtest.Near(img.At(c.x, c.y), yellow, 40) {
			return c.name
		}
	}
	return ""
}

// solid returns a w×h image of one colour.
func solid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

// uprightMarked returns a gray image with the yellow marker top-left: the
// fake engine's "upright face".
func uprightMarked(w, h int) *image.RGBA {
	m := solid(w, h, gray)
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			m.Set(x, y, yellow)
		}
	}
	return m
}

// env is a running server with a fresh SQLite store and one ordinary key.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	h      *api.Handler
	db     *sqlite.DB
	keys   *auth.Keyring
	engine *fakeEngine
	logs   *logtest.Buffer

	key, secret string
}

func newEnv(tb testing.TB, engine *fakeEngine, configure func(*api.Config)) *env {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	db := sqlite.New(filepath.Join(dir, "glint.db"))
	if err := db.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	pepper, err := auth.LoadPepper(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if engine == nil {
		engine = &fakeEngine{}
	}
	logs := &logtest.Buffer{}
	cfg := api.Config{
		Store:      db,
		Keys:       &auth.Keyring{Store: db, Pepper: pepper},
		References: engine,
		Logger:     slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if configure != nil {
		configure(&cfg)
	}
	h, err := api.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{t: tb, h: h, db: db, keys: cfg.Keys, engine: engine, logs: logs}
	e.srv = httptest.NewServer(h)
	tb.Cleanup(func() {
		e.srv.Close()
		db.Close()
	})
	e.key, e.secret = e.newKey(auth.KeyOptions{Name: "default"})
	return e
}

// sqliteStore is the SQLite store newEnv puts in cfg, for a configure
// function that builds more of the service on it: a session manager
// takes more of the store than the API does.
func sqliteStore(cfg *api.Config) *sqlite.DB { return cfg.Store.(*sqlite.DB) }

func (e *env) newKey(opts auth.KeyOptions) (string, string) {
	e.t.Helper()
	id, secret, err := e.keys.Create(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, string(secret)
}

// field is one form field; file fields are sent with a filename.
type field struct {
	name  string
	value []byte
	file  bool
}

type params []field

func (p params) set(name, value string) params {
	return p.replace(field{name: name, value: []byte(value)})
}

func (p params) setFile(name string, data []byte) params {
	return p.replace(field{name: name, value: data, file: true})
}

func (p params) replace(f field) params {
	out := append(params{}, p...)
	for i := range out {
		if out[i].name == f.name {
			out[i] = f
			return out
		}
	}
	return append(out, f)
}

func (p params) del(names ...string) params {
	var out params
	for _, f := range p {
		drop := false
		for _, n := range names {
			drop = drop || f.name == n
		}
		if !drop {
			out = append(out, f)
		}
	}
	return out
}

// multipartBody encodes fields as multipart/form-data, in order.
func (p params) multipart(tb testing.TB) ([]byte, string) {
	tb.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range p {
		var (
			w   io.Writer
			err error
		)
		if f.file {
			w, err = mw.CreateFormFile(f.name, f.name+".img")
		} else {
			w, err = mw.CreateFormField(f.name)
		}
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(f.value)
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// reply is a decoded JSON answer.
type reply struct {
	status int
	raw    []byte
	fields map[string]any
	header http.Header
}

func (r reply) str(name string) string {
	s, _ := r.fields[name].(string)
	return s
}

func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, raw: raw, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.fields); err != nil {
			e.t.Fatalf("bad JSON %q: %v", raw, err)
		}
	}
	return r
}

func (e *env) post(p params) reply {
	e.t.Helper()
	body, ct := p.multipart(e.t)
	req, err := http.NewRequest("POST", e.srv.URL+"/faceid/lite/raw/get_token", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return e.do(req)
}

// valid returns a complete, valid get_token request for the env's key.
func (e *env) valid() params {
	return params{
		{name: "api_key", value: []byte(e.key)},
		{name: "api_secret", value: []byte(e.secret)},
		{name: "comparison_type", value: []byte("0")},
		{name: "uuid", value: []byte("user-1")},
		{name: "max_upload_times", value: []byte("5")},
		{name: "life_time", value: []byte("60")},
		{name: "image_ref1", value: grayPNG, file: true},
	}
}
