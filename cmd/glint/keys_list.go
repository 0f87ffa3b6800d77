package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// keysListCommand lists the keys, with their settings and their usage
// totals from the ledger.
type keysListCommand struct {
	*Main
}

// keyListing is one key as `glint keys list --json` prints it.
type keyListing struct {
	APIKey         string   `json:"api_key"`
	Name           string   `json:"name"`
	Disabled       bool     `json:"disabled"`
	Compare        bool     `json:"compare"`
	AllowedIPs     []string `json:"allowed_ips,omitempty"`
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	CallLimit      int64    `json:"call_limit"`
	Calls          int64    `json:"calls"`
	Concurrency    int      `json:"concurrency"`
	// ResultRetention is in Go duration syntax, e.g. "24h0m0s".
	ResultRetention string `json:"result_retention"`
	NotifyURL       string `json:"notify_url,omitempty"`
	// AllowUploadFallback is whether the key's tokens may use the HTTP
	// upload fallback.
	AllowUploadFallback bool `json:"allow_upload_fallback"`
	// AttemptsPerUUID is the capture attempts one uuid may use in 24 hours.
	AttemptsPerUUID int `json:"attempts_per_uuid"`
	// RecordAttempts is how many capture attempts the key records in
	// all (0: none), Recorded how many it has.
	RecordAttempts int    `json:"record_attempts"`
	Recorded       int    `json:"recorded"`
	CreatedAt      string `json:"created_at"`

	// Usage counts ledger rows by "endpoint outcome", e.g.
	// "get_token OK" or "get_token BAD_ARGUMENTS".
	Usage    map[string]int64 `json:"usage"`
	Requests int64            `json:"requests"`
	Errors   int64            `json:"errors"`
	Billed   int64            `json:"billed"`
}

// Run implements command.
func (c *keysListCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint keys list", "glint keys list [--data DIR] [--json]")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()

	keys, err := d.db.Keys(ctx)
	if err != nil {
		return err
	}
	usage, err := d.db.Usage(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	byKey := map[string][]store.UsageCount{}
	for _, u := range usage {
		byKey[u.KeyID] = append(byKey[u.KeyID], u)
	}

	listings := make([]keyListing, 0, len(keys))
	for _, k := range keys {
		l := keyListing{
			APIKey:          k.ID,
			Name:            k.Name,
			Disabled:        k.Disabled,
			Compare:         k.CanCompare,
			AllowedOrigins:  k.AllowedOrigins,
			CallLimit:       k.CallLimit,
			Calls:           k.Calls,
			Concurrency:     k.Concurrency,
			ResultRetention: k.ResultRetention.String(),
			NotifyURL:       k.NotifyURL,
			CreatedAt:       k.CreatedAt.UTC().Format(time.RFC3339),
			Usage:           map[string]int64{},

			AllowUploadFallback: k.AllowUploadFallback,
			AttemptsPerUUID:     k.AttemptsPerUUID,
			RecordAttempts:      k.RecordAttempts,
			Recorded:            k.Recorded,
		}
		for _, p := range k.AllowedIPs {
			l.AllowedIPs = append(l.AllowedIPs, p.String())
		}
		for _, u := range byKey[k.ID] {
			l.Usage[u.Endpoint+" "+u.Outcome] += u.Count
			l.Requests += u.Count
			if u.Outcome != "OK" {
				l.Errors += u.Count
			}
			if u.Billed {
				l.Billed += u.Count
			}
		}
		listings = append(listings, l)
	}

	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(listings)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "API_KEY\tNAME\tSTATUS\tCOMPARE\tCALLS\tLIMIT\tCONCURRENCY\tRETENTION\tUPLOAD_FALLBACK\tATTEMPTS_PER_UUID\tREQUESTS\tERRORS\tBILLED\tALLOWED_IPS\tCREATED")
	for _, l := range listings {
		status := "enabled"
		if l.Disabled {
			status = "disabled"
		}
		limit := "-"
		if l.CallLimit > 0 {
			limit = fmt.Sprint(l.CallLimit)
		}
		ips := "any"
		if len(l.AllowedIPs) > 0 {
			ips = strings.Join(l.AllowedIPs, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n",
			l.APIKey, l.Name, status, yesNo(l.Compare), l.Calls, limit, l.Concurrency, l.ResultRetention,
			yesNo(l.AllowUploadFallback), l.AttemptsPerUUID, l.Requests, l.Errors, l.Billed, ips, l.CreatedAt)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
