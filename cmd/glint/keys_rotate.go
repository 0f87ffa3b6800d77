package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

// keysRotateCommand gives a key a new api_secret (auth.Keyring.Rotate).
type keysRotateCommand struct {
	*Main
}

// Run implements command. It prints {"api_key":…,"api_secret":…} as keys
// create does, with "old_secret_valid_until" when the replaced secret
// still works for a while; the new secret is shown this once.
func (c *keysRotateCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint keys rotate", "glint keys rotate [--data DIR] API_KEY [--overlap D]")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	overlap := fs.Duration("overlap", auth.DefaultRotationOverlap,
		"how long the old api_secret keeps working beside the new one, 0 (not at all) to "+auth.MaxRotationOverlap.String()+
			"; rotating again within it ends it (a key has at most two valid secrets)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one API_KEY")
	}
	if *overlap < 0 || *overlap > auth.MaxRotationOverlap {
		return usageError(fs, "--overlap must be between 0 and %s", auth.MaxRotationOverlap)
	}
	id := rest[0]

	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	secret, err := d.keys.Rotate(ctx, id, *overlap)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no key %q in this database: %w", id, err)
	}
	if err != nil {
		return err
	}
	out := struct {
		APIKey     string `json:"api_key"`
		APISecret  string `json:"api_secret"`
		OldValidTo string `json:"old_secret_valid_until,omitempty"`
	}{APIKey: id, APISecret: string(secret)}
	if k, err := d.db.Key(ctx, id); err == nil && !k.OldSecretUntil.IsZero() {
		out.OldValidTo = k.OldSecretUntil.UTC().Format(time.RFC3339)
	}
	return json.NewEncoder(c.Stdout).Encode(out)
}
