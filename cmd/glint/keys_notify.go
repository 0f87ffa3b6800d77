package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/notify"
	"github.com/glint-id/glint/internal/store"
)

// keysNotifyCommand turns a key's result notifications on (with the URL
// to POST to) or off.
//
// Notifications are signed with the key's api_secret, which Glint keeps
// only as a hash; so turning them on takes the secret once more, checks
// it against the hash and stores it sealed under the data directory's
// pepper (auth.Seal).
type keysNotifyCommand struct {
	*Main

	// stdin is where the api_secret is read from without --secret-file;
	// nil means os.Stdin.
	stdin io.Reader
}

// Run implements command.
func (c *keysNotifyCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint keys notify",
		"glint keys notify [--data DIR] API_KEY --url URL [--secret-file FILE] [--allow-http] [--allow-private]  (api_secret on stdin)\n"+
			"       glint keys notify [--data DIR] API_KEY --off")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	rawURL := fs.String("url", "", "`URL` that receives a signed POST of each finished verification's result")
	off := fs.Bool("off", false, "stop notifications and forget the sealed secret; queued ones are dropped")
	secretFile := fs.String("secret-file", "", "read the key's api_secret from `file` instead of stdin")
	allowHTTP := fs.Bool("allow-http", false, "allow a plain http:// URL on a non-loopback host (results would travel unencrypted)")
	allowPrivate := fs.Bool("allow-private", false, "allow a URL naming a loopback, private or link-local address (serve then needs --notify-allow-private too)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one API_KEY")
	}
	if (*rawURL == "") == !*off {
		return usageError(fs, "give either --url or --off")
	}
	var target string
	if !*off {
		if target, err = parseNotifyURL(*rawURL, *allowHTTP, *allowPrivate, "--allow-private"); err != nil {
			return usageError(fs, "--url: %v", err)
		}
	}

	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	k, err := d.key(ctx, rest[0])
	if err != nil {
		return err
	}

	if *off {
		// Conditional on the hash as read, like turning them on: a keys
		// rotate in between reseals the secret, and is refused here
		// rather than raced.
		err := d.db.SetKeyNotify(ctx, k.ID, "", nil, k.SecretHash)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("the secret of key %s changed (keys rotate) while notifications were being turned off; nothing was changed: run again", k.ID)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "notifications of %s are off\n", k.ID)
		return nil
	}
	secret, err := c.readSecret(*secretFile)
	if err != nil {
		return err
	}
	sealed, hash, err := sealKeySecret(ctx, d, k.ID, secret)
	if err != nil {
		return err
	}
	// Only if the secret is still the one just checked: a keys rotate in
	// between would otherwise leave notifications signed with the
	// retiring secret.
	err = d.db.SetKeyNotify(ctx, k.ID, target, sealed, hash)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("the secret of key %s changed (keys rotate) while notifications were being turned on; nothing was changed: run again with the new api_secret", k.ID)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "notifications of %s go to %s\n", k.ID, target)
	return nil
}

// readSecret reads the api_secret from path, or from stdin without one:
// unechoed after a prompt on a terminal, else its first line.
func (c *keysNotifyCommand) readSecret(path string) (auth.Secret, error) {
	var line string
	switch {
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("--secret-file: %w", err)
		}
		line, _, _ = strings.Cut(string(b), "\n")
	case c.stdin == nil && term.IsTerminal(int(os.Stdin.Fd())):
		fmt.Fprint(c.Stderr, "api_secret: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(c.Stderr)
		if err != nil {
			return "", fmt.Errorf("read api_secret: %w", err)
		}
		line = string(b)
	default:
		in := c.stdin
		if in == nil {
			in = os.Stdin
		}
		s, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read api_secret from stdin: %w", err)
		}
		line = s
	}
	secret := strings.TrimSpace(line)
	if secret == "" {
		return "", errors.New("no api_secret given (on stdin, or with --secret-file)")
	}
	return auth.Secret(secret), nil
}

// sealKeySecret checks secret against key id's hash and returns it sealed
// for NotifySecret, with the hash it matched (for Store.SetKeyNotify). A wrong secret would sign notifications no receiver
// could verify, so it is refused here rather than discovered there; so is
// a secret that a rotation is retiring (keys rotate), which receivers
// are about to stop accepting.
func sealKeySecret(ctx context.Context, d *data, id string, secret auth.Secret) (sealed, hash []byte, err error) {
	k, err := d.keys.Authenticate(ctx, id, string(secret))
	if errors.Is(err, auth.ErrAuthentication) {
		return nil, nil, fmt.Errorf("that is not the api_secret of key %s", id)
	} else if err != nil {
		return nil, nil, err
	}
	if !d.keys.IsCurrent(k, secret) {
		return nil, nil, fmt.Errorf("that is the old api_secret of key %s, valid only until %s: give the one keys rotate printed",
			id, k.OldSecretUntil.UTC().Format(time.RFC3339))
	}
	if sealed, err = d.keys.SealSecret(id, secret); err != nil {
		return nil, nil, err
	}
	return sealed, k.SecretHash, nil
}

// parseNotifyURL checks a notification URL: https, or http to a loopback
// host (a receiver on the same machine) unless allowHTTP. Credentials in
// the URL are refused: they would be stored and shown in the delivery
// log, and the signature already authenticates Glint to the receiver.
//
// Unless allowPrivate, a host that is a literal loopback, private,
// link-local or otherwise non-public address (notify.CheckAddr), or
// localhost, is refused too, naming allowFlag, the flag that allows it.
// That is a courtesy to the operator: names are resolved, and every
// address checked, only as the deliverer connects, where serve's
// --notify-allow-private decides.
func parseNotifyURL(s string, allowHTTP, allowPrivate bool, allowFlag string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return "", fmt.Errorf("%q carries credentials; the signature authenticates the notifications", s)
	case u.Fragment != "":
		return "", fmt.Errorf("%q has a #fragment, which is never sent", s)
	case u.Scheme == "http" && !allowHTTP && !loopbackHost(u.Hostname()):
		return "", fmt.Errorf("%q is plain http to another machine: use https, or --allow-http behind a trusted network", s)
	}
	if !allowPrivate {
		if err := publicHost(u.Hostname()); err != nil {
			return "", fmt.Errorf("%q: %v; notifications go to public addresses only: give %s for a receiver on this machine or network (and run serve with --notify-allow-private)",
				s, err, allowFlag)
		}
	}
	return u.String(), nil
}

// publicHost refuses a URL host that is a literal address CheckAddr
// refuses, or localhost.
func publicHost(h string) error {
	if h = strings.TrimSuffix(strings.ToLower(h), "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("%s is this machine", h)
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return nil // a name: checked when the deliverer connects
	}
	return notify.CheckAddr(a)
}

// loopbackHost reports whether a URL's host name is this machine.
func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// notifyFlags are the notification flags of `glint keys create`.
type notifyFlags struct {
	url          *string
	allowHTTP    *bool
	allowPrivate *bool
}

func addNotifyFlags(fs *flag.FlagSet) notifyFlags {
	return notifyFlags{
		url: fs.String("notify-url", "", "`URL` that receives a signed POST of each finished verification's result"+
			" (https, or http to a loopback host)"),
		allowHTTP: fs.Bool("notify-allow-http", false, "allow a plain http:// --notify-url on a non-loopback host"),
		allowPrivate: fs.Bool("notify-allow-private", false,
			"allow a --notify-url naming a loopback, private or link-local address (serve then needs --notify-allow-private too)"),
	}
}

// parse checks the flags and returns the URL; "" means notifications off.
func (f notifyFlags) parse() (string, error) {
	if *f.url == "" {
		return "", nil
	}
	return parseNotifyURL(*f.url, *f.allowHTTP, *f.allowPrivate, "--notify-allow-private")
}

// enable turns notifications to target on for the new key id, whose
// secret was just made.
func (f notifyFlags) enable(ctx context.Context, d *data, id string, secret auth.Secret, target string) error {
	k, err := d.db.Key(ctx, id)
	if err != nil {
		return err
	}
	conflict := fmt.Errorf("the secret of key %s changed (keys rotate) while notifications were being turned on; nothing was changed: run keys notify with the new api_secret", id)
	if !d.keys.IsCurrent(k, secret) {
		return conflict
	}
	sealed, err := d.keys.SealSecret(id, secret)
	if err != nil {
		return err
	}
	// Conditional on the hash of the sealed secret: a rotation since
	// would otherwise leave notifications signed with a retiring secret.
	err = d.db.SetKeyNotify(ctx, id, target, sealed, k.SecretHash)
	if errors.Is(err, store.ErrConflict) {
		return conflict
	}
	return err

}
