package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// usageCommand prints the usage ledger of a period: a summary table for
// people, or every event as CSV for billing systems.
type usageCommand struct {
	*Main
}

// Run implements command.
func (c *usageCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint usage", "glint usage [--key K] [--from T] [--to T] [--csv] [--data DIR]")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	key := fs.String("key", "", "only this `api_key` (default: every key, deleted ones included)")
	from := fs.String("from", "", "first `time` included: 2006-01-02 (UTC midnight) or RFC 3339 (default: the beginning)")
	to := fs.String("to", "", "first `time` excluded, same forms as --from (default: now)")
	asCSV := fs.Bool("csv", false, "print every event as CSV (at,api_key,endpoint,outcome,billed,request_id) instead of totals")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	lo, err := parseUsageTime(*from)
	if err != nil {
		return usageError(fs, "--from: %v", err)
	}
	hi, err := parseUsageTime(*to)
	if err != nil {
		return usageError(fs, "--to: %v", err)
	}
	if hi.IsZero() {
		hi = time.Now()
	}
	if !lo.IsZero() && !lo.Before(hi) {
		return usageError(fs, "--from must be before --to")
	}

	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	if *key != "" {
		// A deleted key's ledger stays, so an unknown key is not an error;
		// a typo shows up as an empty report with this warning.
		if _, err := d.db.Key(ctx, *key); err != nil {
			fmt.Fprintf(c.Stderr, "glint usage: note: no key %q now; showing its ledger rows, if any\n", *key)
		}
	}

	if *asCSV {
		w := csv.NewWriter(c.Stdout)
		if err := w.Write([]string{"at", "api_key", "endpoint", "outcome", "billed", "request_id"}); err != nil {
			return err
		}
		err := d.db.UsageEvents(ctx, *key, lo, hi, func(e store.UsageEvent) error {
			return w.Write([]string{e.At.UTC().Format(time.RFC3339Nano), e.KeyID, e.Endpoint, e.Outcome,
				strconv.FormatBool(e.Billed), e.RequestID})
		})
		if err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	}

	counts, err := d.db.Usage(ctx, *key, lo, hi)
	if err != nil {
		return err
	}
	period := "beginning"
	if !lo.IsZero() {
		period = lo.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(c.Stdout, "Usage from %s to %s (end excluded)\n\n", period, hi.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "API_KEY\tENDPOINT\tOUTCOME\tBILLED\tCOUNT")
	// Counts come ordered by key, so each key's billable total is printed
	// in key order too.
	var keys []string
	billed := map[string]int64{}
	for _, u := range counts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", u.KeyID, u.Endpoint, u.Outcome, yesNo(u.Billed), u.Count)
		if u.Billed {
			if _, seen := billed[u.KeyID]; !seen {
				keys = append(keys, u.KeyID)
			}
			billed[u.KeyID] += u.Count
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout)
	if len(keys) == 0 {
		fmt.Fprintln(c.Stdout, "Billable verifications: 0")
	}
	for _, k := range keys {
		fmt.Fprintf(c.Stdout, "Billable verifications of %s: %d\n", k, billed[k])
	}
	return nil
}

// parseUsageTime reads a date (UTC midnight) or an RFC 3339 time; "" is
// the zero time.
func parseUsageTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date like 2026-01-31 nor an RFC 3339 time", s)
	}
	return t, nil
}
