package main

import (
	"context"
	"fmt"
)

// keysCommand manages the API keys of a database (SQLite in --data, or
// the PostgreSQL one --database names). It dispatches to its own
// subcommands, each in a file of its own.
type keysCommand struct {
	*Main
}

var keysCommands = []struct {
	name, summary string
	new           func(*Main) command
}{
	{"create", "create a key and print its api_key and api_secret", func(m *Main) command { return &keysCreateCommand{Main: m} }},
	{"list", "list keys with their usage", func(m *Main) command { return &keysListCommand{Main: m} }},
	{"set", "change a key's settings (limits, origins, result retention, upload fallback, attempts per uuid, attempt recording)", func(m *Main) command { return &keysSetCommand{Main: m} }},
	{"disable", "refuse a key's requests (AUTHORIZATION_ERROR:API_KEY_BE_DISCONTINUED)", func(m *Main) command { return &keysStateCommand{Main: m, action: "disable"} }},
	{"enable", "accept a disabled key's requests again", func(m *Main) command { return &keysStateCommand{Main: m, action: "enable"} }},
	{"delete", "delete a key and its verifications (its usage history stays)", func(m *Main) command { return &keysStateCommand{Main: m, action: "delete"} }},
	{"rotate", "give a key a new api_secret; the old one works until --overlap ends (default 24h)", func(m *Main) command { return &keysRotateCommand{Main: m} }},
	{"notify", "turn signed result notifications on (--url) or off (--off)", func(m *Main) command { return &keysNotifyCommand{Main: m} }},
	{"deliveries", "print the notification delivery log of a key", func(m *Main) command { return &keysDeliveriesCommand{Main: m} }},
}

// Run implements command.
func (c *keysCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			c.usage()
			return nil
		}
		for _, sub := range keysCommands {
			if sub.name == args[0] {
				return sub.new(c.Main).Run(ctx, args[1:])
			}
		}
		fmt.Fprintf(c.Stderr, "glint keys: unknown subcommand %q\n\n", args[0])
	}
	c.usage()
	return errUsage
}

func (c *keysCommand) usage() {
	fmt.Fprintln(c.Stderr, "Usage: glint keys <subcommand> [flags]")
	fmt.Fprintln(c.Stderr)
	fmt.Fprintln(c.Stderr, "Subcommands:")
	for _, sub := range keysCommands {
		fmt.Fprintf(c.Stderr, "\t%-10s %s\n", sub.name, sub.summary)
	}
}
