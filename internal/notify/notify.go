// Package notify delivers result notifications: when a verification of a
// key with a NotifyURL ends, the store queues a notification (package
// store, NotificationStore), and a Deliverer POSTs the result to the URL,
// signed with the key's api_secret, retrying with backoff for
// store.NotifyRetryWindow.
//
// # Wire format
//
// The request is a POST with Content-Type
// application/x-www-form-urlencoded and the body
//
//	data=<JSON>&sign=<hex sha1(api_secret + JSON)>&token=<token>
//
// where JSON is exactly what get_result answers for the token without
// images (faceid.ResultJSON) and sign is Megvii's legacy signature. The
// header X-Glint-Signature is t=<unix seconds>,v1=<hex HMAC-SHA256 with
// the api_secret as key of t + "." + body>; it covers the token and the
// time too, so receivers should check it (package client does). A 2xx
// answer delivers the notification; anything else, a redirect included,
// is a failed attempt.
//
// # Addresses
//
// Unless the Deliverer has AllowPrivate (serve --notify-allow-private),
// its client connects only to public addresses: loopback, private,
// link-local, multicast and the like are refused as each connection is
// made (CheckAddr), on the address the name resolved to, so neither a
// key's URL nor a DNS answer that changes after the URL was checked can
// turn notifications against the service's own host or network.
//
// # Delivery
//
// Every serve process may run a Deliverer on the same store: claims lease
// a notification to one of them at a time. Delivery is at least once (a
// process may die between the POST and recording it), so receivers must
// handle a token idempotently. Nothing is sent once get_result itself
// would refuse the result: after the record is purged or its retention
// is over, or its reads are used up.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/faceid"
	"github.com/glint-id/glint/internal/store"
)

// Defaults of a Deliverer's zero fields.
const (
	// DefaultTimeout bounds one POST, from connecting to the end of the
	// answer's headers.
	DefaultTimeout = 10 * time.Second

	// DefaultPollInterval is how often the queue is looked at.
	DefaultPollInterval = time.Second

	// DefaultLease hides a claimed notification from other deliverers.
	// It must outlast a slow attempt, or another deliverer could claim
	// the notification and post it while the first still is. The lease
	// starts at the time given to the claim, before its round trip, so
	// an attempt is the claim, the Result read, the POST (DefaultTimeout)
	// and the record: three store calls, each bounded by the store (a
	// minute, postgres.DefaultOpTimeout), and 10 s, 3m10s at worst. Five
	// minutes leaves room for clocks of different nodes a little apart
	// and for a paused process. The cost is the wait of a notification
	// whose deliverer died: it is claimed again when the lease runs out.
	// Should a lease run out all the same, the store refuses the late
	// record (store.ErrClaimLost).
	DefaultLease = 5 * time.Minute

	// DefaultParallel bounds the deliveries in flight, so one slow
	// receiver cannot hold up the others for long, nor many of them
	// exhaust the process.
	DefaultParallel = 8
)

// recordTimeout bounds recording a delivery after shutdown has begun.
const recordTimeout = 5 * time.Second

// UserAgent is sent with every notification.
const UserAgent = "glint-notify/1"

// Headers of a notification (package client reads the same names).
const (
	SignatureHeader = "X-Glint-Signature"
	TokenHeader     = "X-Glint-Token"
)

// Store is what a Deliverer needs of store.Store.
type Store interface {
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Notification, error)
	RecordDelivery(ctx context.Context, a store.DeliveryAttempt, next time.Time) error
	Result(ctx context.Context, token string) (*store.Result, error)
}

// SecretOpener opens a key's sealed NotifySecret (auth.Keyring does).
type SecretOpener interface {
	OpenSecret(keyID string, sealed []byte) (auth.Secret, error)
}

// Deliverer posts queued notifications. Store and Secrets are required;
// every other zero field means its default. Set the fields before Run.
type Deliverer struct {
	Store   Store
	Secrets SecretOpener

	// Render turns a result into the JSON get_result would answer;
	// defaults to faceid.ResultJSON.
	Render func(r *store.Result, requestID string) ([]byte, error)

	// Client sends the POSTs; defaults to NewHTTPClient(DefaultTimeout,
	// AllowPrivate). A client that follows redirects would let a receiver
	// bounce signed results elsewhere, and one without the address guard
	// would let a key's URL reach the service's own network;
	// NewHTTPClient's does neither.
	Client *http.Client

	// AllowPrivate lets the default client connect to loopback, private,
	// link-local and other addresses that are not public (CheckAddr),
	// for receivers on the same machine or network. Off, a URL naming
	// such an address (or resolving to one) fails every attempt.
	AllowPrivate bool

	// Now is the clock of claims, due times and signatures; defaults to
	// time.Now.
	Now func() time.Time

	// Backoff gives the wait after the failed attempt number n (1 for the
	// first); defaults to Backoff.
	Backoff func(n int) time.Duration

	Logger *slog.Logger

	PollInterval time.Duration
	Lease        time.Duration
	Parallel     int
}

// NewHTTPClient returns a client for notifications: timeout bounds each
// request, and redirects are not followed (the 3xx answer is returned,
// which counts as a failed attempt). Unless allowPrivate, it refuses to
// connect to an address CheckAddr refuses, whatever name led to it, and
// ignores the HTTP proxy of the environment (a proxy would connect in its
// stead, out of the check's sight).
func NewHTTPClient(timeout time.Duration, allowPrivate bool) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: newTransport(allowPrivate),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func (d *Deliverer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Run delivers notifications until ctx is done, then waits for the
// deliveries in flight (which ctx also cancels) and returns ctx's error.
// Each poll claims as many notifications as there are free delivery
// slots, so a slow receiver holds only its own slots.
func (d *Deliverer) Run(ctx context.Context) error {
	if d.Store == nil || d.Secrets == nil {
		return errors.New("notify: Deliverer needs Store and Secrets")
	}
	slots := make(chan struct{}, orDefault(d.Parallel, DefaultParallel))
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(orDefault(d.PollInterval, DefaultPollInterval))
	defer tick.Stop()
	for {
		// Only this loop takes slots, so at least free are free now.
		if free := cap(slots) - len(slots); free > 0 {
			ns, err := d.Store.ClaimNotifications(ctx, d.now(), orDefault(d.Lease, DefaultLease), free)
			if err != nil && ctx.Err() == nil {
				d.logger().Error("notify: claim", "err", err)
			}
			for _, n := range ns {
				slots <- struct{}{}
				wg.Go(func() {
					defer func() { <-slots }()
					d.Deliver(ctx, n)
				})
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// DeliverDue claims the notifications due now, up to the Parallel limit,
// delivers them in parallel and returns how many it claimed. Run does
// the same continuously; tests and one-shot tools call this.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	ns, err := d.Store.ClaimNotifications(ctx, d.now(), orDefault(d.Lease, DefaultLease), orDefault(d.Parallel, DefaultParallel))
	if err != nil {
		return 0, fmt.Errorf("notify: claim: %w", err)
	}
	var wg sync.WaitGroup
	for _, n := range ns {
		wg.Go(func() { d.Deliver(ctx, n) })
	}
	wg.Wait()
	return len(ns), nil
}

// Deliver makes one attempt at a notification claimed by
// ClaimNotifications and records it. Failures are logged and recorded,
// not returned: the notification's next due time (or its end) says what
// happens next. Nothing is posted once the claim's lease (n.NextAttemptAt)
// is over.
func (d *Deliverer) Deliver(ctx context.Context, n store.Notification) {
	log := d.logger().With("token", n.Token, "api_key", n.KeyID, "notification", n.ID)
	a := store.DeliveryAttempt{
		NotificationID: n.ID, Token: n.Token, KeyID: n.KeyID, URL: n.URL,
		Attempt: n.Attempts + 1, At: d.now(),
	}

	r, err := d.Store.Result(ctx, n.Token)
	if errors.Is(err, store.ErrNotFound) {
		// The record was deleted, and its notification with it.
		return
	}
	if err != nil {
		// Unrecorded: the lease runs out and the attempt is made again.
		if ctx.Err() == nil {
			log.Error("notify: read result", "err", err)
		}
		return
	}
	deadline := n.CreatedAt.Add(store.NotifyRetryWindow)
	if end := r.TerminalAt.Add(r.ResultRetention); end.Before(deadline) {
		deadline = end
	}
	if why := d.withhold(n, r, a.At, deadline); why != "" {
		a.Error = "not sent: " + why
		d.record(ctx, log, a, time.Time{})
		return
	}
	secret, err := d.Secrets.OpenSecret(n.KeyID, n.Secret)
	if err != nil {
		// A replaced pepper or a damaged row: no later attempt can do
		// better.
		a.Error = "not sent: " + err.Error()
		log.Error("notify: open the key's sealed secret", "err", err)
		d.record(ctx, log, a, time.Time{})
		return
	}
	body, err := d.body(r, string(secret), a.At)
	if err != nil {
		a.Error = "not sent: " + err.Error()
		log.Error("notify: render", "err", err)
		d.record(ctx, log, a, time.Time{})
		return
	}

	if now := d.now(); !now.Before(n.NextAttemptAt) {
		// The lease ran out (a stalled store, a paused process): another
		// deliverer may have claimed the notification and be posting it.
		// Leave it, unrecorded, to the claims to come.
		log.Info("notify: lease over before the POST; left to the next claim", "lease_end", n.NextAttemptAt)
		return
	}
	start := time.Now()
	a.StatusCode, err = d.post(ctx, n, string(secret), body, a.At)
	a.Duration = time.Since(start)
	if err == nil {
		a.Delivered = true
		log.Info("notify: delivered", "url", n.URL, "attempt", a.Attempt, "status", a.StatusCode)
		// Record it even if shutdown has begun meanwhile, or another
		// process would send it again once the lease ran out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		d.record(rctx, log, a, time.Time{})
		return
	}
	if ctx.Err() != nil {
		// Shutting down is not the receiver's failure: leave the attempt
		// unrecorded for the lease to run out.
		return
	}
	a.Error = err.Error()
	next := a.At.Add(d.backoff(a.Attempt))
	if !next.Before(deadline) {
		a.Error += fmt.Sprintf("; giving up after %d attempts: the retry window ended %s", a.Attempt,
			deadline.UTC().Format(time.RFC3339))
		log.Warn("notify: given up", "url", n.URL, "attempt", a.Attempt, "err", a.Error)
		d.record(ctx, log, a, time.Time{})
		return
	}
	log.Info("notify: attempt failed", "url", n.URL, "attempt", a.Attempt, "err", a.Error, "next", next)
	d.record(ctx, log, a, next)
}

// withhold says why r must not be sent at now, or "".
func (d *Deliverer) withhold(n store.Notification, r *store.Result, now, deadline time.Time) string {
	switch {
	case n.Secret == nil:
		return "notifications are off for the key"
	case !r.PurgedAt.IsZero():
		return "the record was purged"
	case !r.Status.Terminal():
		return "the verification has not ended"
	case r.Fetches >= store.MaxResultReads:
		return "the result has been read the most times allowed"
	case !now.Before(deadline):
		return "the retry window or the result's retention is over"
	}
	return ""
}

func (d *Deliverer) record(ctx context.Context, log *slog.Logger, a store.DeliveryAttempt, next time.Time) {
	err := d.Store.RecordDelivery(ctx, a, next)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Purged or deleted meanwhile; there is nothing left to retry.
		log.Info("notify: record gone before the attempt was logged", "delivered", a.Delivered)
	case errors.Is(err, store.ErrClaimLost):
		// The lease ran out and another deliverer has the notification:
		// it recorded this attempt, or finished the notification, first.
		// Its record stands; this attempt is neither logged nor retried.
		log.Info("notify: claim lost to another deliverer; attempt not logged",
			"attempt", a.Attempt, "delivered", a.Delivered)
	case err != nil && ctx.Err() == nil:
		log.Error("notify: record delivery", "err", err)
	}
}

// body is the form data=<JSON>&sign=<legacy sign>&token=<token>.
func (d *Deliverer) body(r *store.Result, secret string, now time.Time) ([]byte, error) {
	render := d.Render
	if render == nil {
		render = faceid.ResultJSON
	}
	noImages := *r
	noImages.Images = nil
	// request_id has get_result's shape; each attempt is a new request.
	data, err := render(&noImages, strconv.FormatInt(now.Unix(), 10)+","+uuid.NewString())
	if err != nil {
		return nil, err
	}
	sign := sha1.New()
	sign.Write([]byte(secret))
	sign.Write(data)
	form := url.Values{
		"data":  {string(data)},
		"sign":  {hex.EncodeToString(sign.Sum(nil))},
		"token": {r.Token},
	}
	return []byte(form.Encode()), nil
}

// signature is the X-Glint-Signature value for body sent at t. Package
// client verifies it with code of its own, so that the tests of each
// check the other.
func signature(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// post sends one notification and returns the answer's status, with an
// error unless it is 2xx.
func (d *Deliverer) post(ctx context.Context, n store.Notification, secret string, body []byte, now time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("bad URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(SignatureHeader, signature(secret, now, body))
	req.Header.Set(TokenHeader, n.Token)
	hc := d.Client
	switch {
	case hc != nil:
	case d.AllowPrivate:
		hc = defaultPrivateClient
	default:
		hc = defaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// Drop url.Error's method and URL: the log row has the URL.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	// Read a little so the connection can be reused; the content is the
	// receiver's business and is not kept.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	msg := "HTTP " + resp.Status
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += ": redirect to " + truncate(loc, 200) + " not followed"
	}
	return resp.StatusCode, errors.New(msg)
}

var (
	defaultClient        = NewHTTPClient(DefaultTimeout, false)
	defaultPrivateClient = NewHTTPClient(DefaultTimeout, true)
)

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
