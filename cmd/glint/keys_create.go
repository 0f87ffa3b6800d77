package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

// keysCreateCommand creates an API key.
type keysCreateCommand struct {
	*Main
}

// Run implements command. It prints {"api_key":…,"api_secret":…}; the
// secret is shown this once and cannot be recovered.
func (c *keysCreateCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint keys create", "glint keys create --name NAME [--data DIR] [flags]")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	name := fs.String("name", "", "a `name` for the key's holder (required)")
	noCompare := fs.Bool("no-compare", false, "deny face comparison (get_token answers AUTHORIZATION_ERROR:NO_VERIFY_PERMISSION)")
	allowIP := fs.String("allow-ip", "", "comma-separated client `CIDRs` allowed to use the key (default: any)")
	callLimit := fs.Int64("call-limit", 0, "successful calls allowed in total, then AUTHORIZATION_ERROR:LIMIT_REACHED (0: unlimited)")
	concurrency := fs.Int("concurrency", auth.DefaultConcurrency, "requests of this key in flight at once, beyond which CONCURRENCY_LIMIT_EXCEEDED")
	allowOrigin := fs.String("allow-origin", "", "comma-separated browser `origins` allowed to use this key's tokens, frame the capture page and receive its outcome (default: any origin uses them, none frames)")
	retention := fs.Duration("result-retention", store.MaxResultRetention, "how long a finished verification's result stays readable and its face data stored, 1m to 24h")
	fallback := fs.Bool("allow-upload-fallback", false, "let the key's tokens use the HTTP upload fallback (start_flash/validate_flash), whose liveness verdict is weaker (PASS_UPLOAD)")
	attempts := fs.Int("attempts-per-uuid", store.DefaultAttemptsPerUUID, "capture attempts one uuid may use across all its tokens in 24h, 1 to 1000")
	record := fs.Int("record-attempts", 0, "record at most `N` capture attempts of the key's tokens, for field testing, then stop (0: off); only with the consent of the people filmed (docs/field-testing.md)")
	notifyOpts := addNotifyFlags(fs)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	notifyURL, err := notifyOpts.parse()
	if err != nil {
		return usageError(fs, "--notify-url: %v", err)
	}
	if strings.TrimSpace(*name) == "" {
		return usageError(fs, "--name is required")
	}
	if *callLimit < 0 {
		return usageError(fs, "--call-limit must be 0 (unlimited) or more")
	}
	if *concurrency < 1 {
		return usageError(fs, "--concurrency must be at least 1")
	}
	if err := store.CheckResultRetention(*retention); err != nil || *retention == 0 {
		return usageError(fs, "--result-retention must be between %s and %s", store.MinResultRetention, store.MaxResultRetention)
	}
	if err := store.CheckAttemptsPerUUID(*attempts); err != nil || *attempts == 0 {
		return usageError(fs, "--attempts-per-uuid must be between %d and %d", store.MinAttemptsPerUUID, store.MaxAttemptsPerUUID)
	}
	if err := store.CheckRecordAttempts(*record); err != nil {
		return usageError(fs, "--record-attempts: %v", err)
	}
	ips, err := auth.ParsePrefixes(*allowIP)
	if err != nil {
		return usageError(fs, "--allow-ip: %v", err)
	}
	origins, err := parseOrigins(*allowOrigin)
	if err != nil {
		return usageError(fs, "--allow-origin: %v", err)
	}

	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	id, secret, err := d.keys.Create(ctx, auth.KeyOptions{
		Name:                *name,
		NoCompare:           *noCompare,
		AllowedIPs:          ips,
		CallLimit:           *callLimit,
		Concurrency:         *concurrency,
		AllowedOrigins:      origins,
		ResultRetention:     *retention,
		AllowUploadFallback: *fallback,
		AttemptsPerUUID:     *attempts,
		RecordAttempts:      *record,
	})
	if err != nil {
		return err
	}
	if notifyURL != "" {
		if err := notifyOpts.enable(ctx, d, id, secret, notifyURL); err != nil {
			// The secret was never shown, so the key is of no use.
			d.db.DeleteKey(ctx, id)
			return fmt.Errorf("turn notifications on: %w", err)
		}
	}
	return json.NewEncoder(c.Stdout).Encode(struct {
		APIKey    string `json:"api_key"`
		APISecret string `json:"api_secret"`
	}{id, string(secret)})
}

// parseOrigins parses comma-separated web origins (scheme://host[:port]),
// as browsers send them in the Origin header.
func parseOrigins(s string) ([]string, error) {
	var origins []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin like https://example.com", o)
		}
		origins = append(origins, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return origins, nil
}
