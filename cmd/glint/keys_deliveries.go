package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"
)

// keysDeliveriesCommand prints a key's notification delivery log.
type keysDeliveriesCommand struct {
	*Main
}

// deliveryListing is one attempt as `glint keys deliveries --json` prints
// it.
type deliveryListing struct {
	Token      string `json:"token"`
	Attempt    int    `json:"attempt"`
	At         string `json:"at"`
	DurationMs int64  `json:"duration_ms"`
	// StatusCode is the receiver's HTTP status; 0 when none came.
	StatusCode int    `json:"status_code"`
	Delivered  bool   `json:"delivered"`
	Error      string `json:"error,omitempty"`
	URL        string `json:"url"`
}

// Run implements command.
func (c *keysDeliveriesCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint keys deliveries", "glint keys deliveries [--data DIR] [--token TOKEN] [--json] API_KEY")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	token := fs.String("token", "", "only the attempts for this `token`")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one API_KEY")
	}
	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	// The log outlives deleted keys, so an unknown key is not an error:
	// its history may still be there.
	log, err := d.db.Deliveries(ctx, rest[0], *token)
	if err != nil {
		return err
	}
	listings := make([]deliveryListing, 0, len(log))
	for _, a := range log {
		listings = append(listings, deliveryListing{
			Token:      a.Token,
			Attempt:    a.Attempt,
			At:         a.At.UTC().Format(time.RFC3339Nano),
			DurationMs: a.Duration.Milliseconds(),
			StatusCode: a.StatusCode,
			Delivered:  a.Delivered,
			Error:      a.Error,
			URL:        a.URL,
		})
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(listings)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tTOKEN\tATTEMPT\tSTATUS\tMS\tDELIVERED\tERROR")
	for _, l := range listings {
		status := "-"
		if l.StatusCode != 0 {
			status = fmt.Sprint(l.StatusCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\n",
			l.At, l.Token, l.Attempt, status, l.DurationMs, yesNo(l.Delivered), l.Error)
	}
	return tw.Flush()
}
