package notify_test

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/notify"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr string
		kind string // "" for public
	}{
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.254", "private"},
		{"192.168.1.1", "private"},
		{"fd12:3456::1", "private"},
		{"::ffff:192.168.0.1", "private"},
		{"64:ff9b::a00:1", "private"}, // 10.0.0.1 through NAT64
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.1.2.3", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"93.184.215.14", ""},
		{"172.32.0.1", ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", ""},
		{"64:ff9b::5db8:d70e", ""}, // 93.184.215.14 through NAT64
	} {
		err := notify.CheckAddr(netip.MustParseAddr(tt.addr))
		switch {
		case tt.kind == "" && err != nil:
			t.Errorf("%s: %v, want it allowed", tt.addr, err)
		case tt.kind != "" && (!errors.Is(err, notify.ErrPrivateAddress) || !strings.Contains(err.Error(), tt.kind)):
			t.Errorf("%s: %v, want a refusal naming %q", tt.addr, err, tt.kind)
		}
	}
}

// The default client refuses a receiver on 127.0.0.1 as it connects,
// whether the URL names the address or a name that resolves to it; with
// AllowPrivate the same notification is delivered.
func TestLoopbackReceiverRefusedByDefault(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	u, _ := url.Parse(rc.URL)
	byName := "http://localhost:" + u.Port() + "/hook"
	for _, target := range []string{rc.URL + "/hook", byName} {
		e := newEnv(t, target, 0)
		e.d.Client = nil // the default: no private addresses
		e.finished(token)
		e.deliverDue()
		log := e.log(token)
		if len(log) != 1 || log[0].Delivered || !strings.Contains(log[0].Error, "loopback") ||
			!strings.Contains(log[0].Error, "--notify-allow-private") {
			t.Fatalf("%s: delivery log %+v, want a failed attempt refusing the loopback address", target, log)
		}
		if n := rc.count(); n != 0 {
			t.Fatalf("%s: the receiver got %d requests", target, n)
		}
		t.Logf("%s: %s", target, log[0].Error)

		e.d.AllowPrivate = true
		e.clk.advance(time.Second)
		if n := e.deliverDue(); n != 1 {
			t.Fatalf("%s: retry claimed %d", target, n)
		}
		if log := e.log(token); len(log) != 2 || !log[1].Delivered {
			t.Fatalf("%s: with AllowPrivate, delivery log %+v", target, log)
		}
		rc.mu.Lock()
		rc.requests, rc.bodies = nil, nil
		rc.mu.Unlock()
	}
}

// The guard is in the client: any request through it, not only a
// notification, is refused.
func TestGuardedClient(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	_, err := notify.NewHTTPClient(time.Second, false).Get(rc.URL)
	if !errors.Is(err, notify.ErrPrivateAddress) {
		t.Fatalf("GET %s through the guarded client: %v, want ErrPrivateAddress", rc.URL, err)
	}
	resp, err := notify.NewHTTPClient(time.Second, true).Get(rc.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rc.count() != 1 {
		t.Fatalf("receiver got %d requests, want 1", rc.count())
	}
}
