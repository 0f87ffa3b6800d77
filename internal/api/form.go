package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

// DefaultMaxBodyBytes is FaceID's cap on a whole request body (spec §0).
const DefaultMaxBodyBytes = 20 << 20

// Defaults of the limits on reading request bodies (Config).
const (
	// DefaultBodyBudget is the request-body bytes all requests together
	// may hold in memory: a dozen maximum-size uploads.
	DefaultBodyBudget = 256 << 20

	// DefaultBodyReadersPerAddress is how many requests from one client
	// address (an IPv6 /64) may be reading their bodies at once.
	DefaultBodyReadersPerAddress = 8

	// DefaultBodyReadTimeout is how long a request may take to send its
	// body: 20 MB in 30 s is 5.6 Mbit/s.
	DefaultBodyReadTimeout = 30 * time.Second

	// DefaultBodyWait is how long a request waits for budget or for its
	// address's turn before it is refused.
	DefaultBodyWait = 2 * time.Second
)

// bodyGrace is what a request may buffer before its credentials are
// checked without counting against the share of the budget such requests
// have together: enough for the fields FaceID clients send first, so that
// attackers who fill that share cannot keep a legitimate request from
// proving its key.
const bodyGrace = 64 << 10

// lingerAfterRefusal bounds how long the server may go on reading a body
// it refused (413, budget, address limit): net/http reads up to 256 KiB
// more after the reply, so as to close the connection gracefully and let
// a client still sending read the reply rather than a reset.
const lingerAfterRefusal = time.Second

// maxPartHeader caps the header of one multipart part, which the
// multipart package would otherwise let grow to 10 MB outside the budget.
const maxPartHeader = 32 << 10

// Chunks in which a part is read: each is reserved before it is allocated.
const (
	firstChunk = 512
	maxChunk   = 1 << 20
)

var (
	// errTooLarge means the body exceeded the cap; the reply is 413.
	errTooLarge = errors.New("request body too large")

	// errBodyBudget and errBodyReaders refuse a request for now (403
	// CONCURRENCY_LIMIT_EXCEEDED): the bytes it needs or its address's
	// turn could not be had in time.
	errBodyBudget  = errors.New("request-body memory budget exhausted")
	errBodyReaders = errors.New("too many requests from this address reading a body")

	// errBodyTimeout means the body was not sent within BodyReadTimeout;
	// the reply is 408.
	errBodyTimeout = errors.New("request body not received in time")

	// errClientGone means the client hung up while sending the body.
	errClientGone = errors.New("client closed the connection while sending the body")

	errPartHeader = errors.New("multipart part header too long")
	errBadEscape  = errors.New("invalid URL escape")
)

// bodyRefused answers a call whose body could not be read (an error of
// readForm or readUpload) and reports whether it did; other errors are a
// malformed body, validated as far as it goes.
func (c *call) bodyRefused(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errTooLarge):
		c.tooLarge = true
	case errors.Is(err, errBodyTimeout):
		c.timedOut = true
	case errors.Is(err, errClientGone):
		c.gone = true
	case errors.Is(err, errBodyBudget), errors.Is(err, errBodyReaders):
		c.w.Header().Set("Retry-After", "1")
		c.fail(errConcurrency, err)
	default:
		return false
	}
	return true
}

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

	// refused is set when a check made while reading (checkKey) found
	// the answer, a refusal: the rest of the body is read, not kept.
	refused bool
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

// wants reports whether a field would be kept: wanted, and the first of
// its name. Parts that are not are skipped without being buffered.
func (f *form) wants(name string) bool {
	if _, dup := f.fields[name]; dup || name == "" || len(f.fields) >= maxFields {
		return false
	}
	return f.wanted == nil || f.wanted(name)
}

// keep stores the first value of a wanted field, and reports whether it did.
func (f *form) keep(name string, value []byte) bool {
	if !f.wants(name) {
		return false
	}
	f.fields[name] = value
	return true
}

// readForm reads a multipart/form-data or application/x-www-form-urlencoded
// body of at most MaxBodyBytes, keeping the fields for which wanted returns
// true (all if wanted is nil). Any other content type yields an empty form.
//
// check, if not nil, is called after each field kept from a multipart
// body; once it reports true (the reply is a refusal, whatever follows)
// the form is marked refused, and nothing more is kept but a biz_no
// (readMultipart).
//
// It returns errTooLarge if the body (announced or actually sent, chunked
// or not) is longer than the cap, or another error that bodyRefused
// answers when the body could not be read (budget, address limit,
// timeout, client gone); other read problems leave a partial form.
//
// Parts are streamed from the connection and kept in memory only, within
// the budget of bodyLimits (unlike Request.ParseMultipartForm nothing
// spills to temporary files); unwanted parts are read past, not kept.
func (h *Handler) readForm(c *call, wanted func(string) bool, check func(*form) bool) (*form, error) {
	f := &form{fields: map[string][]byte{}, wanted: wanted}
	b, err := h.openBody(c)
	if err != nil {
		return nil, err
	}
	mediaType, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	switch mediaType {
	case "multipart/form-data":
		err = b.readMultipart(f, params["boundary"], check)
	case "application/x-www-form-urlencoded":
		var data []byte
		data, err = b.readAll(b.body, b.limit+1)
		if err == nil {
			err = f.parseURLEncoded(data)
		}
	}
	if err := b.finish(err); err != nil {
		return nil, err
	}
	if err != nil {
		f.malformed = err
	}
	return f, nil
}

// parseURLEncoded keeps the wanted fields of a query string or URL-encoded
// body. It decodes in place: the values kept are slices of data.
func (f *form) parseURLEncoded(data []byte) error {
	// Parsed here rather than by url.ParseQuery, which builds a map of
	// every pair (and gives up on all of them past 10000), and copies.
	var bad error
	for rest := data; len(rest) > 0; {
		var pair []byte
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			pair, rest = rest, nil
		}
		if len(pair) == 0 {
			continue
		}
		k, v := pair, pair[len(pair):]
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		name, err1 := unescapeQuery(k)
		value, err2 := unescapeQuery(v)
		if err := errors.Join(err1, err2); err != nil {
			bad = err // keep going: one bad pair does not spoil the others
			continue
		}
		f.keep(string(name), value)
	}
	return bad
}

// unescapeQuery decodes a query component in place, as url.QueryUnescape
// does ("+" is a space, "%XX" a byte), returning the decoded prefix of b.
func unescapeQuery(b []byte) ([]byte, error) {
	j := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '+':
			b[j] = ' '
		case '%':
			if i+2 >= len(b) || unhex(b[i+1]) < 0 || unhex(b[i+2]) < 0 {
				return nil, errBadEscape
			}
			b[j] = byte(unhex(b[i+1])<<4 | unhex(b[i+2]))
			i += 2
		default:
			b[j] = c
		}
		j++
	}
	return b[:j], nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// readMultipart reads the parts of a multipart body into f, the wanted
// ones within the budget, the others skipped unbuffered; see readForm for
// check. Once the answer is known to be a refusal, only biz_no can still
// change it, being echoed even then (spec §0): the rest of the body is
// read, for it and for the cap (413), but nothing else is kept.
//
// Why not stop reading at once: a client that sends its whole body before
// it reads the reply (most do) would then find the connection reset under
// its upload, and a mistyped secret would look like a network failure.
// The reading is bounded by BodyReadTimeout and the client address's
// turns; what matters under attack, the memory, is not spent.
func (b *bodyReader) readMultipart(f *form, boundary string, check func(*form) bool) error {
	if boundary == "" {
		return errors.New("multipart body without boundary")
	}
	mr := b.multipart(boundary)
	for {
		p, err := b.nextPart(mr)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := p.FormName()
		if !f.wants(name) || (f.refused && name != "biz_no") {
			// Skipped, not buffered (NextPart reads past it).
			continue
		}
		data, err := b.readAll(p, b.limit+1) // the body's cap stops it first
		if err != nil {
			// A part cut short is dropped whole: a truncated image must
			// not be mistaken for a complete one.
			return err
		}
		if !f.keep(name, data) {
			b.drop(data)
		}
		if check != nil && !f.refused && check(f) {
			f.refused = true
		}
	}
}

// bodyLimits bound what request bodies cost: the bytes buffered by all
// requests together (the budget, of which requests whose credentials are
// not yet known to be valid may hold only a share), and the requests of
// one client address reading a body at once.
type bodyLimits struct {
	budget  int64
	anonMax int64
	perAddr int
	wait    time.Duration

	mu      sync.Mutex
	used    int64 // bytes held by all requests
	anon    int64 // bytes held by requests not trusted (yet)
	readers map[netip.Addr]int
	wake    chan struct{} // closed and replaced whenever something is given back
}

func newBodyLimits(budget int64, perAddr int, wait time.Duration) *bodyLimits {
	return &bodyLimits{
		budget: budget, anonMax: budget / 2, perAddr: perAddr, wait: wait,
		readers: map[netip.Addr]int{}, wake: make(chan struct{}),
	}
}

// inUse returns the bytes held now (for the metrics).
func (l *bodyLimits) inUse() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used
}

// await runs try under the lock until it succeeds, waiting for whatever
// is given back meanwhile, at most l.wait.
func (l *bodyLimits) await(ctx context.Context, try func() bool) bool {
	var timeout <-chan time.Time
	for {
		l.mu.Lock()
		if try() {
			l.mu.Unlock()
			return true
		}
		wake := l.wake
		l.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(l.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wake:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// wakeLocked wakes the waiters; l.mu is held.
func (l *bodyLimits) wakeLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// addrKey is the unit the per-address limit counts: the address, or for
// IPv6 its /64, which one subscriber commonly has whole.
func addrKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// bodyHold is one request's share of the bodyLimits: the bytes it holds
// (until the call has answered) and its address's turn (while it reads).
type bodyHold struct {
	l    *bodyLimits
	held int64
	anon bool // its credentials are not (yet) known to be valid
	addr netip.Addr
	turn bool
}

// takeTurn waits for the client address's turn to read a body. Requests
// from no known address are not counted.
func (b *bodyHold) takeTurn(ctx context.Context) bool {
	if !b.addr.IsValid() {
		return true
	}
	return b.l.await(ctx, func() bool {
		if b.l.readers[b.addr] >= b.l.perAddr {
			return false
		}
		b.l.readers[b.addr]++
		b.turn = true
		return true
	})
}

// endTurn ends the request's turn to read (its bytes stay held).
func (b *bodyHold) endTurn() {
	if b == nil {
		return
	}
	l := b.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if b.turn {
		b.turn = false
		if l.readers[b.addr]--; l.readers[b.addr] <= 0 {
			delete(l.readers, b.addr)
		}
		l.wakeLocked()
	}
}

// reserve takes n more bytes from the budget, waiting for them at most
// the limits' wait.
func (b *bodyHold) reserve(ctx context.Context, n int64) bool {
	l := b.l
	return l.await(ctx, func() bool {
		if l.used+n > l.budget {
			return false
		}
		if b.anon && b.held+n > bodyGrace && l.anon+n > l.anonMax {
			return false
		}
		l.used += n
		b.held += n
		if b.anon {
			l.anon += n
		}
		return true
	})
}

// give returns n bytes to the budget.
func (b *bodyHold) give(n int64) {
	l := b.l
	l.mu.Lock()
	defer l.mu.Unlock()
	n = min(n, b.held)
	l.used -= n
	b.held -= n
	if b.anon {
		l.anon -= n
	}
	l.wakeLocked()
}

// trust moves the request's bytes out of the share of requests whose
// credentials are not known: they were found valid.
func (b *bodyHold) trust() {
	if b == nil {
		return
	}
	l := b.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if b.anon {
		b.anon = false
		l.anon -= b.held
		l.wakeLocked()
	}
}

// release gives back everything; the call has answered.
func (b *bodyHold) release() {
	if b == nil {
		return
	}
	b.endTurn()
	b.give(b.held)
}

// bodyReader reads one request's body within the limits.
type bodyReader struct {
	c     *call
	ctx   context.Context
	rc    *http.ResponseController
	hold  *bodyHold
	limit int64
	body  io.Reader // capped at limit by http.MaxBytesReader
	guard *headerGuard
	part  *multipart.Part // the last one nextPart returned
}

// openBody starts reading c's body: the announced length, then the
// client address's turn, and a deadline for the whole body.
func (h *Handler) openBody(c *call) (*bodyReader, error) {
	limit := h.cfg.MaxBodyBytes
	if c.r.ContentLength > limit {
		c.bodyLeft = true
		return nil, errTooLarge
	}
	rc := http.NewResponseController(c.w)
	// Not supported by every ResponseWriter (a test's recorder): then
	// the server's own ReadTimeout is all there is.
	rc.SetReadDeadline(time.Now().Add(h.cfg.BodyReadTimeout))
	c.hold = &bodyHold{l: h.bodies, anon: true, addr: addrKey(c.client)}
	ctx := c.r.Context()
	if !c.hold.takeTurn(ctx) {
		c.bodyLeft = true
		rc.SetReadDeadline(time.Now().Add(lingerAfterRefusal))
		return nil, errBodyReaders
	}
	b := &bodyReader{c: c, ctx: ctx, rc: rc, hold: c.hold, limit: limit}
	b.body = http.MaxBytesReader(c.w, c.r.Body, limit)
	return b, nil
}

// finish ends reading the body after the parse that returned err, and
// returns the error bodyRefused answers, if any. Unless the body cannot
// be read on, the rest is read to its end without being kept, for the cap
// (a 30 MB body of an unknown type, or with junk after the last part, is
// still 413).
func (b *bodyReader) finish(err error) error {
	defer b.hold.endTurn()
	fatal := b.fatal(err)
	if fatal == nil {
		_, err := io.Copy(io.Discard, b.body)
		fatal = b.fatal(err)
	}
	if fatal == nil {
		// Read to its end: nothing more to wait for. Without a deadline
		// the server notices a client that hangs up while the call runs,
		// however long it takes.
		b.rc.SetReadDeadline(time.Time{})
		return nil
	}
	b.c.bodyLeft = true
	b.rc.SetReadDeadline(time.Now().Add(lingerAfterRefusal))
	return fatal
}

// fatal returns the error bodyRefused answers for a read error, or nil
// for none or a malformed body.
func (b *bodyReader) fatal(err error) error {
	switch {
	case err == nil:
		return nil
	case tooLarge(err):
		return errTooLarge
	case errors.Is(err, errBodyBudget):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	case b.ctx.Err() != nil:
		// The connection failed under the body, which cancels the
		// request's context: the client hung up.
		return errClientGone
	}
	return nil
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// readAll reads r to its end, or to limit bytes, into memory reserved
// from the budget: in chunks from firstChunk to maxChunk bytes, each
// reserved before it is allocated, joined at the end. The bytes reserved
// for the result are cap(result) (see drop). It returns errBodyBudget if
// they cannot be had in time.
func (b *bodyReader) readAll(r io.Reader, limit int64) ([]byte, error) {
	var chunks [][]byte
	var n, reserved int64
	fail := func(err error) ([]byte, error) {
		b.hold.give(reserved)
		recycle(chunks)
		return nil, err
	}
	size := int64(firstChunk)
	for n < limit {
		want := min(size, limit-n)
		if !b.hold.reserve(b.ctx, want) {
			return fail(errBodyBudget)
		}
		reserved += want
		buf := newChunk(want)
		k, err := fill(r, buf)
		n += int64(k)
		chunks = append(chunks, buf[:k])
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		size = min(2*size, maxChunk)
	}
	if len(chunks) == 1 {
		return chunks[0], nil // at most firstChunk bytes: never a pooled chunk
	}
	// The chunks' reservation passes to the joined copy, and the chunks
	// go back to the pool.
	out := make([]byte, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	recycle(chunks)
	b.hold.give(reserved - n)
	return out, nil
}

// chunkPool recycles the full-size chunks of readAll: those of a part
// whose reading failed or was refused, and those of every part once
// joined. Without it each would be garbage, and under attack the heap
// would hold, until the collector ran, as much garbage as the budget's
// bytes again.
var chunkPool = sync.Pool{New: func() any { return new([maxChunk]byte) }}

func newChunk(n int64) []byte {
	if n == maxChunk {
		return chunkPool.Get().(*[maxChunk]byte)[:]
	}
	return make([]byte, n)
}

// recycle puts back the pooled chunks among chunks, which are no longer
// referred to.
func recycle(chunks [][]byte) {
	for _, c := range chunks {
		if cap(c) == maxChunk {
			chunkPool.Put((*[maxChunk]byte)(c[:maxChunk]))
		}
	}
}

// drop gives back the bytes of a slice from readAll that is not kept.
func (b *bodyReader) drop(data []byte) { b.hold.give(int64(cap(data))) }

// fill reads into buf until it is full or r fails (io.EOF at the end);
// unlike io.ReadFull it passes r's io.ErrUnexpectedEOF on unchanged.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// multipart returns a multipart reader of the body whose part headers are
// capped (nextPart).
func (b *bodyReader) multipart(boundary string) *multipart.Reader {
	b.guard = &headerGuard{r: b.body, left: -1}
	return multipart.NewReader(b.guard, boundary)
}

// nextPart is mr.NextPart with the bytes it reads for the part's header
// capped at maxPartHeader. What is left of the previous part is skipped
// first, outside the cap.
func (b *bodyReader) nextPart(mr *multipart.Reader) (*multipart.Part, error) {
	if b.part != nil {
		if _, err := io.Copy(io.Discard, b.part); err != nil {
			return nil, err
		}
	}
	b.guard.left = maxPartHeader
	p, err := mr.NextPart()
	b.guard.left = -1
	b.part = p
	return p, err
}

// headerGuard fails a read past left bytes while left ≥ 0.
type headerGuard struct {
	r    io.Reader
	left int64
}

func (g *headerGuard) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, errPartHeader
	}
	if g.left > 0 && int64(len(p)) > g.left {
		p = p[:g.left]
	}
	k, err := g.r.Read(p)
	if g.left > 0 {
		g.left -= int64(k)
	}
	return k, err
}

// earlyKey is the outcome of checking the credentials while the body was
// read (checkKey), so that authenticate need not check them again.
type earlyKey struct {
	apiKey, apiSecret string
	key               *store.Key
	err               error
}

// checkKey returns a readForm check for endpoints authenticated by key:
// once api_key and api_secret are both read it checks them, and reports a
// refusal if either is empty, they are not valid, or permit (step 2 of the
// validation order) refuses the key. Those answers come before any other
// (spec §0), so nothing more need be read, and the photos are never
// buffered. A valid key's request leaves the budget's anonymous share.
func (h *Handler) checkKey(c *call, permit func(*store.Key) error) func(*form) bool {
	return func(f *form) bool {
		apiKey, ok1 := f.get("api_key")
		apiSecret, ok2 := f.get("api_secret")
		if !ok1 || !ok2 || c.early != nil {
			return false
		}
		if len(apiKey) == 0 || len(apiSecret) == 0 {
			return true // MISSING_ARGUMENTS
		}
		key, err := h.cfg.Keys.Authenticate(c.r.Context(), string(apiKey), string(apiSecret))
		if err != nil && !errors.Is(err, auth.ErrAuthentication) {
			return false // the store failed: authenticate tries again
		}
		c.early = &earlyKey{apiKey: string(apiKey), apiSecret: string(apiSecret), key: key, err: err}
		if err != nil || permit(key) != nil {
			return true
		}
		c.hold.trust()
		return false
	}
}
