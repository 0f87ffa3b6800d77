package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/glint-id/glint"
)

// version is the release's version, set with
// -ldflags "-X main.version=v1.2.3"; empty, the module's version from the
// build information is printed ("(devel)" for a build of a checkout).
var version string

// versionCommand prints the binary's version, its source and the models.
type versionCommand struct {
	*Main
}

// buildVersion is what glint version prints, as JSON with --json.
type buildVersion struct {
	Version    string         `json:"version"`
	Commit     string         `json:"commit,omitempty"`
	CommitTime string         `json:"commit_time,omitempty"`
	Modified   bool           `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	Go         string         `json:"go"`
	Platform   string         `json:"platform"`
	ModelsDir  string         `json:"models_dir"`
	Models     []modelPackage `json:"models"`
}

// modelPackage is a model package of scripts/models.lock and what the
// models directory holds of it.
type modelPackage struct {
	Package   string `json:"package"` // name@version
	Integrity string `json:"integrity"`
	Dir       string `json:"dir"`
	// Installed is the integrity models.sh stamped in the package's
	// directory, empty when it has none.
	Installed string `json:"installed,omitempty"`
	// Status is "ok" (the locked package, every file present), "missing"
	// (not installed), "other" (another package or version installed) or
	// "incomplete" (the locked package, but files are missing).
	Status string `json:"status"`
}

// Run implements command.
func (c *versionCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlagSet("glint version", "glint version [--json] [--models DIR]")
	asJSON := fs.Bool("json", false, "print JSON")
	modelsDir := fs.String("models", defaultModels(c.env), "face model `directory` to check against the models the binary was built for (env GLINT_MODELS)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fs, "unexpected argument %q", rest[0])
	}
	v := readBuildVersion()
	v.ModelsDir = *modelsDir
	if v.Models, err = checkModels(glint.ModelsLock, *modelsDir); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	fmt.Fprintf(c.Stdout, "glint %s\n", v.Version)
	switch {
	case v.Commit == "":
		fmt.Fprintln(c.Stdout, "commit unknown (built without version control information)")
	case v.Modified:
		fmt.Fprintf(c.Stdout, "commit %s %s (with uncommitted changes)\n", v.Commit, v.CommitTime)
	default:
		fmt.Fprintf(c.Stdout, "commit %s %s\n", v.Commit, v.CommitTime)
	}
	fmt.Fprintf(c.Stdout, "%s %s\n", v.Go, v.Platform)
	fmt.Fprintf(c.Stdout, "models in %s:\n", v.ModelsDir)
	for _, m := range v.Models {
		fmt.Fprintf(c.Stdout, "  %s %s %s\n", m.Package, m.Integrity, m.Status)
	}
	return nil
}

// readBuildVersion returns the version, commit and toolchain of the running
// binary.
func readBuildVersion() buildVersion {
	v := buildVersion{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if v.Version == "" {
			v.Version = "unknown"
		}
		return v
	}
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// checkModels compares the models directory dir with lock
// (scripts/models.lock) the way scripts/models.sh decides a package is
// installed: its directory's .integrity stamp is the locked integrity.
// It also checks that every file the lock unpacks is there.
func checkModels(lock, dir string) ([]modelPackage, error) {
	var out []modelPackage
	for line := range strings.Lines(lock) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("models lock: bad line %q", strings.TrimSpace(line))
		}
		m := modelPackage{Package: f[0], Integrity: f[1], Dir: f[2]}
		stamp, err := os.ReadFile(filepath.Join(dir, m.Dir, ".integrity"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			m.Status = "missing"
		case err != nil:
			return nil, fmt.Errorf("models: %w", err)
		case strings.TrimSpace(string(stamp)) != m.Integrity:
			m.Installed, m.Status = strings.TrimSpace(string(stamp)), "other"
		default:
			m.Installed, m.Status = m.Integrity, "ok"
			// models.sh unpacks the files flat into the directory.
			for _, pattern := range f[3:] {
				if found, _ := filepath.Glob(filepath.Join(dir, m.Dir, path.Base(pattern))); len(found) == 0 {
					m.Status = "incomplete"
				}
			}
		}
		out = append(out, m)
	}
	return out, nil
}
