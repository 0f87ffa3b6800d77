package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

// keysSetCommand changes the settings of one key; flags not given keep
// their values. Changes apply to new tokens: a verification keeps the
// retention its key had when it was issued. The upload fallback and the
// attempts per uuid are the key's as they are when a token uses them.
type keysSetCommand struct {
	*Main
}

// Run implements command.
func (c *keysSetCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint keys set", "glint keys set [--data DIR] [flags] API_KEY")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	name := fs.String("name", "", "a new `name` for the key's holder")
	compare := fs.Bool("compare", true, "grant (true) or deny (false) face comparison")
	allowIP := fs.String("allow-ip", "", "comma-separated client `CIDRs` allowed to use the key (\"\" or \"any\": any)")
	callLimit := fs.Int64("call-limit", 0, "successful calls allowed in total (0: unlimited)")
	concurrency := fs.Int("concurrency", 0, "requests of this key in flight at once")
	allowOrigin := fs.String("allow-origin", "", "comma-separated browser `origins` (\"\" or \"any\": any)")
	retention := fs.Duration("result-retention", 0, "how long a finished verification's result stays readable and its face data stored, 1m to 24h")
	fallback := fs.Bool("allow-upload-fallback", false, "let the key's tokens use the HTTP upload fallback, whose liveness verdict is weaker (=true), or not (=false)")
	attempts := fs.Int("attempts-per-uuid", 0, "capture attempts one uuid may use across all its tokens in 24h, 1 to 1000")
	record := fs.Int("record-attempts", 0, "record at most `N` capture attempts of the key's tokens, for field testing, over the key's life, then stop; raise it to record more (0: off); only with the consent of the people filmed (docs/field-testing.md)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one API_KEY")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	delete(set, "data")
	delete(set, "database")
	if len(set) == 0 {
		return usageError(fs, "nothing to change: give at least one setting")
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
	if set["name"] {
		if strings.TrimSpace(*name) == "" {
			return usageError(fs, "--name must not be empty")
		}
		k.Name = *name
	}
	if set["compare"] {
		k.CanCompare = *compare
	}
	if set["allow-ip"] {
		s := *allowIP
		if s == "any" {
			s = ""
		}
		if k.AllowedIPs, err = auth.ParsePrefixes(s); err != nil {
			return usageError(fs, "--allow-ip: %v", err)
		}
	}
	if set["call-limit"] {
		if *callLimit < 0 {
			return usageError(fs, "--call-limit must be 0 (unlimited) or more")
		}
		k.CallLimit = *callLimit
	}
	if set["concurrency"] {
		if *concurrency < 1 {
			return usageError(fs, "--concurrency must be at least 1")
		}
		k.Concurrency = *concurrency
	}
	if set["allow-origin"] {
		s := *allowOrigin
		if s == "any" {
			s = ""
		}
		if k.AllowedOrigins, err = parseOrigins(s); err != nil {
			return usageError(fs, "--allow-origin: %v", err)
		}
	}
	if set["result-retention"] {
		if err := store.CheckResultRetention(*retention); err != nil || *retention == 0 {
			return usageError(fs, "--result-retention must be between %s and %s", store.MinResultRetention, store.MaxResultRetention)
		}
		k.ResultRetention = *retention
	}
	if set["allow-upload-fallback"] {
		k.AllowUploadFallback = *fallback
	}
	if set["attempts-per-uuid"] {
		if err := store.CheckAttemptsPerUUID(*attempts); err != nil || *attempts == 0 {
			return usageError(fs, "--attempts-per-uuid must be between %d and %d", store.MinAttemptsPerUUID, store.MaxAttemptsPerUUID)
		}
		k.AttemptsPerUUID = *attempts
	}
	if set["record-attempts"] {
		if err := store.CheckRecordAttempts(*record); err != nil {
			return usageError(fs, "--record-attempts: %v", err)
		}
		k.RecordAttempts = *record
	}
	if err := d.db.UpdateKey(ctx, k); err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "key %s updated\n", k.ID)
	return nil
}
