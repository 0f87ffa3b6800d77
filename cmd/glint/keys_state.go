package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/glint-id/glint/internal/store"
)

// keysStateCommand disables, enables or deletes one key.
type keysStateCommand struct {
	*Main
	action string // "disable", "enable" or "delete"
}

// Run implements command.
func (c *keysStateCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint keys "+c.action, "glint keys "+c.action+" [--data DIR] API_KEY")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one API_KEY")
	}
	id := rest[0]
	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()

	switch c.action {
	case "disable":
		err = d.db.SetKeyDisabled(ctx, id, true)
	case "enable":
		err = d.db.SetKeyDisabled(ctx, id, false)
	case "delete":
		err = d.db.DeleteKey(ctx, id)
	default:
		return fmt.Errorf("keys: unknown action %q", c.action)
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no key %q in %s", id, dataOpts.dir)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%sd %s\n", c.action, id)
	return nil
}
