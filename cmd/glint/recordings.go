package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session"
	"github.com/glint-id/glint/internal/store"
)

// captureConfig is the capture side's configuration: what serve runs
// sessions with and what liveness-eval --recordings replays attempts
// with, so that a replay decides with the server's own analysis. keys
// seals recorded attempts; st and keys may be nil for a replay.
func captureConfig(models serveModels, st store.Store, keys *auth.Keyring, logger *slog.Logger) session.Config {
	cfg := session.Config{Store: st, Analyzer: models.analyzer, Passive: models.passive, Logger: logger}
	if keys != nil {
		cfg.Seal = keys.SealRecording
	}
	return cfg
}

// recordingsCommand manages the recorded capture attempts of keys that
// record them (keys set --record-attempts): the field kit of
// docs/field-testing.md.
type recordingsCommand struct {
	*Main
}

var recordingsCommands = []struct {
	name, summary string
	run           func(*recordingsCommand, context.Context, []string) error
}{
	{"list", "list recorded attempts", (*recordingsCommand).list},
	{"export", "write a recorded attempt's frames and manifest.json to a directory", (*recordingsCommand).export},
	{"label", "say what a recorded attempt was: species, device, lighting", (*recordingsCommand).label},
	{"delete", "delete a recorded attempt", (*recordingsCommand).delete},
}

// Run implements command.
func (c *recordingsCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			c.usage()
			return nil
		}
		for _, sub := range recordingsCommands {
			if sub.name == args[0] {
				return sub.run(c, ctx, args[1:])
			}
		}
		fmt.Fprintf(c.Stderr, "glint recordings: unknown subcommand %q\n\n", args[0])
	}
	c.usage()
	return errUsage
}

func (c *recordingsCommand) usage() {
	fmt.Fprintln(c.Stderr, "Usage: glint recordings <subcommand> [flags]")
	fmt.Fprintln(c.Stderr)
	fmt.Fprintln(c.Stderr, "Subcommands:")
	for _, sub := range recordingsCommands {
		fmt.Fprintf(c.Stderr, "\t%-8s %s\n", sub.name, sub.summary)
	}
}

// recordingListing is one line of recordings list --json.
type recordingListing struct {
	ID        string `json:"id"`
	Key       string `json:"key"`
	Token     string `json:"token"`
	Attempt   int    `json:"attempt"`
	Pass      bool   `json:"pass"`
	Species   string `json:"species,omitempty"`
	Device    string `json:"device,omitempty"`
	Lighting  string `json:"lighting,omitempty"`
	CreatedAt string `json:"created_at"`
}

func (c *recordingsCommand) list(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint recordings list", "glint recordings list [--data DIR] [--key API_KEY] [--json]")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	key := fs.String("key", "", "only the recordings of this `API_KEY`")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
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
	recs, err := d.db.Recordings(ctx, *key)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		for _, r := range recs {
			if err := enc.Encode(recordingListing{ID: r.ID, Key: r.KeyID, Token: r.Token, Attempt: r.Attempt, Pass: r.Pass,
				Species: r.Label.Species, Device: r.Label.Device, Lighting: r.Label.Lighting,
				CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339)}); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKEY\tATTEMPT\tVERDICT\tSPECIES\tDEVICE\tLIGHTING\tCREATED")
	for _, r := range recs {
		verdict := "FAIL"
		if r.Pass {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.KeyID, r.Attempt, verdict,
			orDash(r.Label.Species), orDash(r.Label.Device), orDash(r.Label.Lighting), r.CreatedAt.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// manifestFile is the name of an exported attempt's manifest.
const manifestFile = "manifest.json"

func (c *recordingsCommand) export(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint recordings export", "glint recordings export [--data DIR] --out DIR ID")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	out := fs.String("out", "", "`directory` to write the frames and "+manifestFile+" to (created, mode 0700; must not hold a manifest)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one recording ID")
	}
	if *out == "" {
		return usageError(fs, "--out is required")
	}
	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := d.db.Recording(ctx, rest[0])
	if err != nil {
		return err
	}
	plain, err := d.keys.OpenRecording(r.ID, r.Data)
	if err != nil {
		return err
	}
	rec, frames, err := session.DecodeRecord(plain)
	if err != nil {
		return err
	}
	rec.Recording = r.ID
	if r.Label.Species != "" {
		rec.Label = &session.RecordedLabel{Species: r.Label.Species, Device: r.Label.Device, Lighting: r.Label.Lighting}
	}
	// The frames are biometric data: the directory is private to its
	// owner, as the data directory is.
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	manifest := filepath.Join(*out, manifestFile)
	if _, err := os.Stat(manifest); err == nil {
		return fmt.Errorf("%s exists: export each attempt to a directory of its own", manifest)
	}
	for i, f := range frames {
		name := fmt.Sprintf("frame-%04d.jpg", i)
		rec.Frames[i].File = name
		if err := os.WriteFile(filepath.Join(*out, name), f, 0o600); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(manifest, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "recording %s: %d frames written to %s\n", r.ID, len(frames), *out)
	return nil
}

// speciesNames are the labels a recording's species may take.
func speciesNames() []string {
	names := make([]string, 0, len(flashsim.Species))
	for _, s := range flashsim.Species {
		names = append(names, s.Name)
	}
	return names
}

func (c *recordingsCommand) label(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint recordings label", "glint recordings label [--data DIR] --species NAME [--device D] [--lighting L] ID")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	species := fs.String("species", "", "what was in front of the camera: "+strings.Join(speciesNames(), ", "))
	device := fs.String("device", "", "free-text `device` and browser, e.g. \"iPhone 13 / Safari 17\"")
	lighting := fs.String("lighting", "", "free-text `lighting`, e.g. \"office\", \"daylight window\", \"dim\"")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one recording ID")
	}
	if _, ok := flashsim.SpeciesInfoOf(*species); !ok {
		return usageError(fs, "--species: want one of %s", strings.Join(speciesNames(), ", "))
	}
	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.db.LabelRecording(ctx, rest[0], store.RecordingLabel{Species: *species, Device: *device, Lighting: *lighting})
}

func (c *recordingsCommand) delete(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint recordings delete", "glint recordings delete [--data DIR] ID")
	dataOpts := addDataFlags(fs, c.env, dataHelp)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "give exactly one recording ID")
	}
	d, err := dataOpts.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.db.DeleteRecording(ctx, rest[0])
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no recording %q in this database: %w", rest[0], err)
	}
	return err
}
