package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/glint-id/glint/internal/liveness/flashsim"
	"github.com/glint-id/glint/internal/session"
)

// replayedAttempt is one exported attempt decided again.
type replayedAttempt struct {
	Dir       string `json:"dir"`
	Recording string `json:"recording,omitempty"`
	Species   string `json:"species"`
	Device    string `json:"device,omitempty"`
	Lighting  string `json:"lighting,omitempty"`
	// ServerPass is the verdict the server gave when the attempt was
	// recorded, Pass the current analysis's; Reproduced says the whole
	// verdict (every check's measures) came out the same.
	ServerPass bool                    `json:"server_pass"`
	Pass       bool                    `json:"pass"`
	Reason     string                  `json:"reason,omitempty"`
	Reproduced bool                    `json:"reproduced"`
	Verdict    session.RecordedVerdict `json:"verdict"`
}

// cellRate is one cell's error rate for --json: a dimension (species,
// device or lighting) value and a species within it.
type cellRate struct {
	By       string     `json:"by"`
	Value    string     `json:"value"`
	Species  string     `json:"species"`
	Metric   string     `json:"metric"` // BPCER or APCER
	N        int        `json:"n"`
	Errors   int        `json:"errors"`
	Rate     float64    `json:"rate"`
	Interval [2]float64 `json:"interval"`
}

// fieldReport is liveness-eval --recordings --json's output.
type fieldReport struct {
	Attempts   int               `json:"attempts"`
	Reproduced int               `json:"reproduced"`
	Unlabelled []string          `json:"unlabelled,omitempty"`
	Cells      []cellRate        `json:"cells"`
	Replayed   []replayedAttempt `json:"replayed"`
}

// replayRecordings replays every labelled attempt exported under dir
// (each directory holding a manifest.json) through the analysis serve
// runs, and reports BPCER and APCER by species, device and lighting.
func (c *livenessEvalCommand) replayRecordings(ctx context.Context, dir, modelsDir, calibration string, asJSON bool) error {
	var manifests []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && e.Name() == manifestFile {
			manifests = append(manifests, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(manifests) == 0 {
		return fmt.Errorf("no %s under %s: export attempts with glint recordings export", manifestFile, dir)
	}
	slices.Sort(manifests)
	models, err := loadServeModels(modelsDir, calibration)
	if err != nil {
		return err
	}
	cfg := captureConfig(models, nil, nil, slog.New(slog.DiscardHandler))
	var rep fieldReport
	type cellKey struct{ by, value, species string }
	tallies := map[cellKey]*flashsim.Tally{}
	var order []cellKey
	add := func(k cellKey, t func(*flashsim.Tally)) {
		if tallies[k] == nil {
			tallies[k] = flashsim.NewTally(k.species)
			order = append(order, k)
		}
		t(tallies[k])
	}
	for _, m := range manifests {
		rec, frames, err := readExported(m)
		if err != nil {
			return err
		}
		adir := filepath.Dir(m)
		if rec.Label == nil || rec.Label.Species == "" {
			rep.Unlabelled = append(rep.Unlabelled, adir)
			continue
		}
		if _, ok := flashsim.SpeciesInfoOf(rec.Label.Species); !ok {
			return fmt.Errorf("%s: unknown species %q", m, rec.Label.Species)
		}
		v, _, err := session.Replay(ctx, cfg, rec, frames)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		rv := session.RecordVerdict(v)
		a := replayedAttempt{Dir: adir, Recording: rec.Recording, Species: rec.Label.Species, Device: rec.Label.Device,
			Lighting: rec.Label.Lighting, ServerPass: rec.Verdict.Pass, Pass: v.Pass, Reason: v.Reason,
			Reproduced: sameVerdict(rv, rec.Verdict), Verdict: rv}
		rep.Attempts++
		if a.Reproduced {
			rep.Reproduced++
		}
		rep.Replayed = append(rep.Replayed, a)
		for _, k := range []cellKey{{"all", "", a.Species}, {"device", orDash(a.Device), a.Species}, {"lighting", orDash(a.Lighting), a.Species}} {
			add(k, func(t *flashsim.Tally) { t.Add(v) })
		}
	}
	if rep.Attempts == 0 {
		return fmt.Errorf("none of the %d attempts under %s is labelled: glint recordings label, then export again", len(manifests), dir)
	}
	results := map[cellKey]flashsim.SpeciesResult{}
	for _, k := range order {
		r := tallies[k].Result()
		results[k] = r
		metric, errs := "APCER", r.Accepted
		if k.species == flashsim.Genuine {
			metric, errs = "BPCER", r.N-r.Accepted
		}
		rep.Cells = append(rep.Cells, cellRate{By: k.by, Value: k.value, Species: k.species, Metric: metric,
			N: r.N, Errors: errs, Rate: r.Rate, Interval: r.Interval})
	}
	if asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	w := c.stdout
	fmt.Fprintf(w, "%d labelled attempts from %s; %d reproduce the server's verdict exactly\n", rep.Attempts, dir, rep.Reproduced)
	for _, u := range rep.Unlabelled {
		fmt.Fprintf(w, "unlabelled, skipped: %s\n", u)
	}
	pct := func(x float64) string { return strconv.FormatFloat(100*x, 'f', 2, 64) }
	fmt.Fprintf(w, "\n%-9s %-24s %-16s %-5s %5s %6s %8s  %s\n", "by", "value", "species", "rate", "n", "errors", "%", "95 % CI")
	for _, cr := range rep.Cells {
		fmt.Fprintf(w, "%-9s %-24s %-16s %-5s %5d %6d %7s%%  [%s, %s] %%\n", cr.By, orDash(cr.Value), cr.Species, cr.Metric,
			cr.N, cr.Errors, pct(cr.Rate), pct(cr.Interval[0]), pct(cr.Interval[1]))
	}
	fmt.Fprintf(w, "\ncheck values (quantiles 0, 1, 5, 50, 95, 99, 100 %%) and attempts failing each, per species:\n")
	for _, k := range order {
		if k.by != "all" {
			continue
		}
		r := results[k]
		fmt.Fprintf(w, "%s (n %d)\n", k.species, r.N)
		writeCheckStats(w, r.Checks)
	}
	for _, a := range rep.Replayed {
		if !a.Reproduced {
			fmt.Fprintf(w, "\nchanged since recorded: %s (server %v, now %v %s)", a.Dir, a.ServerPass, a.Pass, a.Reason)
		}
	}
	fmt.Fprintln(w)
	return nil
}

// readExported reads an exported attempt: its manifest and frames.
func readExported(manifest string) (*session.AttemptRecord, [][]byte, error) {
	b, err := os.ReadFile(manifest)
	if err != nil {
		return nil, nil, err
	}
	var rec session.AttemptRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", manifest, err)
	}
	if rec.Version != session.RecordVersion {
		return nil, nil, fmt.Errorf("%s: record version %d, want %d", manifest, rec.Version, session.RecordVersion)
	}
	dir := filepath.Dir(manifest)
	frames := make([][]byte, len(rec.Frames))
	for i, f := range rec.Frames {
		if f.File == "" || filepath.Base(f.File) != f.File {
			return nil, nil, fmt.Errorf("%s: frame %d: bad file name %q", manifest, i, f.File)
		}
		if frames[i], err = os.ReadFile(filepath.Join(dir, f.File)); err != nil {
			return nil, nil, err
		}
	}
	return &rec, frames, nil
}

// sameVerdict reports whether two verdicts agree in every decision and
// measure (NaN agreeing with NaN).
func sameVerdict(a, b session.RecordedVerdict) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
