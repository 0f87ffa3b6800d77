package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultMaxBodyBytes is FaceID's cap on a whole request body (spec §0).
const DefaultMaxBodyBytes = 20 << 20

// errTooLarge means the body exceeded the cap; the reply is 413.
var errTooLarge = errors.New("request body too large")

// form is a parsed request body: the first value of every field.
//
// Fields are looked up by exact name. Files and plain fields share one
// namespace, so an image sent as a plain multipart field (no filename) is
// still an image; FaceID clients differ in how they send them.
type form struct {
	fields map[string][]byte

	// wanted filters the fields kept, so that a body of many small
	// junk fields cannot make the map grow beyond a few entries.
	wanted func(name string) bool

	// malformed records why parsing stopped early, for the log; the
	// fields read before that point are kept and validated as usual.
	malformed error
}

// get returns a field and whether it was sent at all (even empty).
func (f *form) get(name string) ([]byte, bool) {
	v, ok := f.fields[name]
	return v, ok
}

// text returns a field as a string when it was sent with a non-empty value.
// An empty value counts as absent: clients that serialise "unset" as ""
// then get the default or MISSING_ARGUMENTS, not a confusing BAD_ARGUMENTS.
func (f *form) text(name string) (string, bool) {
	v, ok := f.fields[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return string(v), true
}

// extraRef returns the lowest-numbered image_refN field with N ≥ 3, if any.
func (f *form) extraRef() (string, bool) {
	best, bestN := "", 0
	for name := range f.fields {
		num, ok := strings.CutPrefix(name, "image_ref")
		if !ok || num == "" || num[0] == '0' || num[0] == '+' {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 3 {
			continue
		}
		if best == "" || n < bestN {
			best, bestN = name, n
		}
	}
	return best, best != ""
}

// maxFields caps the distinct fields kept from one body.
const maxFields = 64

// keep stores the first value of a wanted field.
func (f *form) keep(name string, value []byte) {
	if _, dup := f.fields[name]; dup || name == "" || len(f.fields) >= maxFields {
		return
	}
	if f.wanted != nil && !f.wanted(name) {
		return
	}
	f.fields[name] = value
}

// readForm reads a multipart/form-data or application/x-www-form-urlencoded
// body of at most limit bytes, keeping the fields for which wanted returns
// true (all if wanted is nil). Any other content type yields an empty form.
// It returns errTooLarge if the body (announced or actually sent, chunked
// or not) is longer than limit; other read problems leave a partial form.
//
// Parts are streamed from the connection and kept in memory only; unlike
// Request.ParseMultipartForm nothing spills to temporary files, and since
// the whole body is capped at limit, so is the memory one request holds.
func readForm(w http.ResponseWriter, r *http.Request, limit int64, wanted func(string) bool) (*form, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	f := &form{fields: map[string][]byte{}, wanted: wanted}

	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch mediaType {
	case "multipart/form-data":
		err = f.readMultipart(body, params["boundary"])
	case "application/x-www-form-urlencoded":
		err = f.readURLEncoded(body)
	}
	if tooLarge(err) {
		return nil, errTooLarge
	}
	if err != nil {
		f.malformed = err
	}
	// Whatever the body held, it counts against the cap: a 30 MB body of
	// an unknown type, or with junk after the last part, is still 413.
	if _, err := io.Copy(io.Discard, body); tooLarge(err) {
		return nil, errTooLarge
	}
	return f, nil
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func (f *form) readMultipart(body io.Reader, boundary string) error {
	if boundary == "" {
		return errors.New("multipart body without boundary")
	}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := p.FormName()
		data, err := io.ReadAll(p)
		p.Close()
		if err != nil {
			// A part cut short is dropped whole: a truncated image must
			// not be mistaken for a complete one.
			return err
		}
		f.keep(name, data)
	}
}

func (f *form) readURLEncoded(body io.Reader) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	// Parsed here rather than by url.ParseQuery, which builds a map of
	// every pair (and gives up on all of them past 10000).
	var bad error
	for rest := string(data); rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			bad = err // keep going: one bad pair does not spoil the others
			continue
		}
		f.keep(name, []byte(value))
	}
	return bad
}
