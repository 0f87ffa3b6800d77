package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

var ctx = context.Background()

func mustKeyring(tb testing.TB) (*auth.Keyring, *sqlite.DB, string) {
	tb.Helper()
	dir := tb.TempDir()
	db := sqlite.New(filepath.Join(dir, "glint.db"))
	if err := db.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	pepper, err := auth.LoadPepper(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return &auth.Keyring{Store: db, Pepper: pepper}, db, dir
}

func TestCreateAuthenticate(t *testing.T) {
	t.Parallel()
	kr, _, _ := mustKeyring(t)
	id, secret, err := kr.Create(ctx, auth.KeyOptions{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	id2, secret2, err := kr.Create(ctx, auth.KeyOptions{Name: "other", NoCompare: true, Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	k, err := kr.Authenticate(ctx, id, string(secret))
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != id || k.Name != "acme" || !k.CanCompare || k.Concurrency != auth.DefaultConcurrency {
		t.Fatalf("key = %+v", k)
	}
	if k2, err := kr.Authenticate(ctx, id2, string(secret2)); err != nil || k2.CanCompare || k2.Concurrency != 3 {
		t.Fatalf("second key = %+v, %v", k2, err)
	}

	for _, tt := range []struct{ name, id, secret string }{
		{"WrongSecret", id, string(secret) + "x"},
		{"EmptySecret", id, ""},
		{"OtherKeysSecret", id, string(secret2)},
		{"UnknownKey", "nosuchkey", string(secret)},
		{"CaseChanged", id, strings.ToUpper(string(secret))},
	} {
		if _, err := kr.Authenticate(ctx, tt.id, tt.secret); !errors.Is(err, auth.ErrAuthentication) {
			t.Errorf("%s: %v, want ErrAuthentication", tt.name, err)
		}
	}

	// A different pepper (another installation) must not accept the secret.
	other := &auth.Keyring{Store: kr.Store, Pepper: bytes.Repeat([]byte{1}, 32)}
	if _, err := other.Authenticate(ctx, id, string(secret)); !errors.Is(err, auth.ErrAuthentication) {
		t.Errorf("foreign pepper: %v", err)
	}
}

func TestSecretsAreRandomAndLong(t *testing.T) {
	t.Parallel()
	kr, _, _ := mustKeyring(t)
	seen := map[string]bool{}
	for range 50 {
		id, secret, err := kr.Create(ctx, auth.KeyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// base32: 5 bits per character.
		if bits := 5 * len(secret); bits < 128 {
			t.Fatalf("secret %d bits", bits)
		}
		if seen[id] || seen[string(secret)] {
			t.Fatal("repeated id or secret")
		}
		seen[id], seen[string(secret)] = true, true
		if strings.HasPrefix(id, "-") || strings.ContainsAny(string(secret)+id, "+/=_- ") {
			t.Fatalf("id %q / secret %q not plain alphanumeric", id, secret)
		}
	}
}

// The secret must never reach the database in clear, in the main file or
// the WAL; nor may the pepper.
func TestSecretNeverStoredInClear(t *testing.T) {
	t.Parallel()
	kr, db, dir := mustKeyring(t)
	var secrets, ids []string
	for range 5 {
		id, s, err := kr.Create(ctx, auth.KeyOptions{Name: "k"})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, string(s))
		ids = append(ids, id)
	}
	var files [][]byte
	scan := func() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == auth.PepperFile || !strings.HasPrefix(e.Name(), "glint.db") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, b)
		}
	}
	scan() // while open: data is in the WAL
	db.Close()
	scan() // after close: checkpointed into the main file
	if len(files) < 2 {
		t.Fatalf("scanned only %d files", len(files))
	}
	found := false
	for _, b := range files {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) || bytes.Contains(bytes.ToLower(b), []byte(s)) {
				t.Fatal("a secret is stored in clear")
			}
		}
		if bytes.Contains(b, kr.Pepper) {
			t.Fatal("the pepper is stored in the database")
		}
		found = found || bytes.Contains(b, []byte(ids[0]))
	}
	if !found {
		t.Fatal("no file holds even the key ID; the scan proved nothing")
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	addr := netip.MustParseAddr
	base := store.Key{ID: "k", CanCompare: true, Concurrency: 10}
	tests := []struct {
		name   string
		edit   func(*store.Key)
		client netip.Addr
		perms  auth.Permission
		want   error
	}{
		{"OK", nil, addr("203.0.113.9"), auth.PermCompare, nil},
		{"Disabled", func(k *store.Key) { k.Disabled = true }, addr("203.0.113.9"), auth.PermCompare, auth.ErrDisabled},
		{"DisabledBeatsIP", func(k *store.Key) {
			k.Disabled = true
			k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, addr("203.0.113.9"), 0, auth.ErrDisabled},
		{"IPAllowed", func(k *store.Key) { k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, addr("10.1.2.3"), 0, nil},
		{"IPMappedAllowed", func(k *store.Key) { k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, addr("::ffff:10.1.2.3"), 0, nil},
		{"IPv6Allowed", func(k *store.Key) { k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")} }, addr("2001:db8::1"), 0, nil},
		{"IPNotAllowed", func(k *store.Key) { k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, addr("11.0.0.1"), 0, auth.ErrIPNotAllowed},
		{"InvalidClient", func(k *store.Key) { k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} }, netip.Addr{}, 0, auth.ErrIPNotAllowed},
		{"IPBeatsPermission", func(k *store.Key) {
			k.CanCompare = false
			k.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, addr("11.0.0.1"), auth.PermCompare, auth.ErrIPNotAllowed},
		{"NoCompare", func(k *store.Key) { k.CanCompare = false }, addr("10.0.0.1"), auth.PermCompare, auth.ErrNoVerifyPermission},
		{"NoCompareNotNeeded", func(k *store.Key) { k.CanCompare = false }, addr("10.0.0.1"), 0, nil},
		{"UnderLimit", func(k *store.Key) { k.CallLimit, k.Calls = 3, 2 }, addr("10.0.0.1"), auth.PermCompare, nil},
		{"AtLimit", func(k *store.Key) { k.CallLimit, k.Calls = 3, 3 }, addr("10.0.0.1"), auth.PermCompare, auth.ErrLimitReached},
		{"Unlimited", func(k *store.Key) { k.Calls = 1e9 }, addr("10.0.0.1"), auth.PermCompare, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := base
			if tt.edit != nil {
				tt.edit(&k)
			}
			if err := auth.Authorize(&k, tt.client, tt.perms); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Authorize = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	got, err := auth.ParsePrefixes(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,,::ffff:198.51.100.1, 10.1.2.3/16")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "198.51.100.1/32", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("[%d] = %v, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "nope", "10.0.0.1/x"} {
		if _, err := auth.ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", bad)
		}
	}
}

func TestLoadPepper(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Concurrent first use must settle on one pepper.
	peppers := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range peppers {
		wg.Go(func() {
			p, err := auth.LoadPepper(dir)
			if err != nil {
				t.Error(err)
			}
			peppers[i] = p
		})
	}
	wg.Wait()
	for _, p := range peppers[1:] {
		if !bytes.Equal(p, peppers[0]) || len(p) < 32 {
			t.Fatal("processes disagree on the pepper")
		}
	}
	fi, err := os.Stat(filepath.Join(dir, auth.PepperFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("pepper mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left temporary files behind: %v", entries)
	}
	again, err := auth.LoadPepper(dir)
	if err != nil || !bytes.Equal(again, peppers[0]) {
		t.Fatal("pepper changed on reload")
	}
	if err := os.WriteFile(filepath.Join(dir, auth.PepperFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadPepper(dir); err == nil {
		t.Fatal("damaged pepper accepted")
	}
}

func TestLocalLimiter(t *testing.T) {
	t.Parallel()
	var l auth.LocalLimiter
	var releases []func()
	for range 3 {
		r, err := l.Acquire(ctx, "k", 3)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	if _, err := l.Acquire(ctx, "k", 3); !errors.Is(err, auth.ErrConcurrencyLimit) {
		t.Fatalf("4th Acquire: %v", err)
	}
	if r, err := l.Acquire(ctx, "other", 3); err != nil {
		t.Fatalf("other key: %v", err)
	} else {
		r()
	}
	releases[0]()
	releases[0]() // a second call must not free another slot
	if got := l.InFlight("k"); got != 2 {
		t.Fatalf("InFlight = %d, want 2", got)
	}
	r, err := l.Acquire(ctx, "k", 3)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r()
	releases[1]()
	releases[2]()
	if got := l.InFlight("k"); got != 0 {
		t.Fatalf("InFlight = %d after all released", got)
	}
	for range 100 {
		r, err := l.Acquire(ctx, "unlimited", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r()
	}
}

func TestLocalLimiterConcurrent(t *testing.T) {
	t.Parallel()
	var (
		l          auth.LocalLimiter
		cur, peak  atomic.Int32
		wg         sync.WaitGroup
		start      = make(chan struct{})
		ok, denied atomic.Int32
	)
	for range 64 {
		wg.Go(func() {
			<-start
			for range 50 {
				r, err := l.Acquire(ctx, "k", 10)
				if err != nil {
					denied.Add(1)
					continue
				}
				ok.Add(1)
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				cur.Add(-1)
				r()
			}
		})
	}
	close(start)
	wg.Wait()
	if peak.Load() > 10 {
		t.Fatalf("%d in flight at once, limit 10", peak.Load())
	}
	if ok.Load()+denied.Load() != 64*50 || ok.Load() == 0 {
		t.Fatalf("ok %d denied %d", ok.Load(), denied.Load())
	}
}

func TestSecretRedactedInLogs(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "secret", auth.Secret("hunter2hunter2"))
	if strings.Contains(b.String(), "hunter2") {
		t.Fatalf("secret logged: %s", b.String())
	}
}
