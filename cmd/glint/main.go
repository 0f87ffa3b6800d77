// Command glint is the Glint face identity-verification service and its
// operator tools, as subcommands of one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: it parses its own flags from args.
type command interface {
	Run(ctx context.Context, args []string) error
}

// commands is the subcommand table, in the order usage lists them. Adding a
// command is one line here and one file defining its type.
var commands = []struct {
	name, summary string
	new           func(*Main) command
}{
	{"serve", "run the HTTP service", func(m *Main) command { return &serveCommand{Main: m} }},
	{"keys", "create, list, disable, enable and delete API keys", func(m *Main) command { return &keysCommand{Main: m} }},
	{"usage", "print the usage ledger of a period, as totals or CSV", func(m *Main) command { return &usageCommand{Main: m} }},
	{"detect", "print the faces found in images as JSON", func(m *Main) command { return &detectCommand{stdout: m.Stdout, env: m.env} }},
	{"compare", "compare the largest faces of two images", func(m *Main) command { return &compareCommand{stdout: m.Stdout, env: m.env} }},
	{"eval", "measure detection or verification on labelled data", func(m *Main) command { return &evalCommand{stdout: m.Stdout, stderr: m.Stderr, env: m.env} }},
	{"calibrate", "measure the confidence mapping and FAR thresholds on labelled data", func(m *Main) command { return &calibrateCommand{stdout: m.Stdout, stderr: m.Stderr, env: m.env} }},
	{"recordings", "list, export, label and delete recorded capture attempts (keys set --record-attempts)", func(m *Main) command { return &recordingsCommand{Main: m} }},
	{"liveness-eval", "measure flash liveness on rendered genuine and attack sequences", func(m *Main) command { return &livenessEvalCommand{stdout: m.Stdout, stderr: m.Stderr, env: m.env} }},
	{"loadtest", "load a running Glint over HTTP and report throughput and latency", func(m *Main) command { return &loadtestCommand{Main: m} }},
	{"version", "print the version, its commit, the Go version and the models", func(m *Main) command { return &versionCommand{Main: m} }},
}

func main() {
	// The first SIGINT/SIGTERM cancels ctx and starts a graceful shutdown;
	// stop() restores the default so a second one kills at once.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(m.Stderr, "glint:", err)
		os.Exit(1)
	}
}

// Main holds what commands take from the process, so tests can run them
// in-process with their own streams and environment.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// NewMain returns a Main wired to the real process.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// errUsage reports a command line that was wrong; usage has been printed.
var errUsage = errors.New("usage error")

// Run dispatches to the subcommand named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		m.usage()
		return errUsage
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		m.usage()
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			return c.new(m).Run(ctx, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "glint: unknown command %q\n\n", name)
	m.usage()
	return errUsage
}

func (m *Main) usage() {
	fmt.Fprintln(m.Stderr, "Glint is a self-hosted face identity-verification service, wire-compatible")
	fmt.Fprintln(m.Stderr, "with Megvii FaceID's H5 RAW API.")
	fmt.Fprintln(m.Stderr)
	fmt.Fprintln(m.Stderr, "Usage:")
	fmt.Fprintln(m.Stderr, "\tglint <command> [arguments]")
	fmt.Fprintln(m.Stderr)
	fmt.Fprintln(m.Stderr, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(m.Stderr, "\t%-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(m.Stderr)
	fmt.Fprintln(m.Stderr, `Run "glint <command> -h" for a command's flags.`)
}

// env returns the environment variable name, or def when it is unset.
func (m *Main) env(name, def string) string {
	if m.Getenv != nil {
		if v := m.Getenv(name); v != "" {
			return v
		}
	}
	return def
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// writes to the command's stderr.
func (m *Main) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments too
// ("glint keys disable KEY --data DIR"), and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// usageError prints msg and the flag set's usage, and returns errUsage.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}
