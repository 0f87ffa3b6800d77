package main

import (
	"context"
	"encoding/csv"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
)

func TestKeysSetRetention(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GLINT_DATA": filepath.Join(t.TempDir(), "data")}
	id := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "A", "--result-retention", "2h"))["api_key"]
	if got := listKeys(t, env)[0]; got.ResultRetention != "2h0m0s" {
		t.Fatalf("created with retention %q", got.ResultRetention)
	}
	mustRun(t, env, "keys", "set", id, "--result-retention", "30m", "--call-limit", "9", "--allow-origin", "https://b.example")
	got := listKeys(t, env)[0]
	if got.ResultRetention != "30m0s" || got.CallLimit != 9 || strings.Join(got.AllowedOrigins, ",") != "https://b.example" ||
		got.Name != "A" || got.Concurrency != 10 || !got.Compare {
		t.Fatalf("after set: %+v", got)
	}
	mustRun(t, env, "keys", "set", id, "--allow-origin", "any", "--compare=false")
	if got := listKeys(t, env)[0]; got.AllowedOrigins != nil || got.Compare || got.ResultRetention != "30m0s" {
		t.Fatalf("after second set: %+v", got)
	}
	for _, bad := range [][]string{
		{"keys", "create", "--name", "x", "--result-retention", "25h"},
		{"keys", "create", "--name", "x", "--result-retention", "0s"},
		{"keys", "set", id},
		{"keys", "set", id, "--result-retention", "10s"},
		{"keys", "set", id, "--concurrency", "0"},
		{"keys", "set", "--name", "x"},
	} {
		if _, _, err := run(t, env, bad...); !errors.Is(err, errUsage) {
			t.Errorf("glint %v: %v, want a usage error", bad, err)
		}
	}
	if _, _, err := run(t, env, "keys", "set", "nosuchkey", "--name", "x"); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("set of an unknown key: %v", err)
	}
}

func TestUsageLedger(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"GLINT_DATA": dir}
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	d, err := openData(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range []store.UsageEvent{
		{KeyID: "a", Endpoint: "get_token", Outcome: "OK", At: day.Add(time.Hour)},
		{KeyID: "a", Endpoint: store.BillableEndpoint, Outcome: "OK", Billed: true, At: day.Add(2 * time.Hour)},
		{KeyID: "a", Endpoint: "get_token", Outcome: "BAD_ARGUMENTS", At: day.Add(3 * time.Hour)},
		{KeyID: "b", Endpoint: store.BillableEndpoint, Outcome: "OK", Billed: true, At: day.Add(4 * time.Hour)},
		{KeyID: "a", Endpoint: store.BillableEndpoint, Outcome: "OK", Billed: true, At: day.Add(24 * time.Hour)}, // next day
		{KeyID: "a", Endpoint: "get_token", Outcome: "OK", At: day.Add(-time.Second)},                            // day before
	} {
		e.RequestID = "r" + string(rune('0'+i))
		if err := d.db.RecordUsage(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()

	out := mustRun(t, env, "usage", "--key", "a", "--from", "2026-11-02", "--to", "2026-11-03", "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"at", "api_key", "endpoint", "outcome", "billed", "request_id"},
		{"2026-11-02T01:00:00Z", "a", "get_token", "OK", "false", "r0"},
		{"2026-11-02T02:00:00Z", "a", "verification", "OK", "true", "r1"},
		{"2026-11-02T03:00:00Z", "a", "get_token", "BAD_ARGUMENTS", "false", "r2"},
	}
	if got, exp := csvString(rows), csvString(want); got != exp {
		t.Errorf("csv:\n%s\nwant\n%s", got, exp)
	}

	out = mustRun(t, env, "usage", "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-04")
	for _, line := range []string{
		"Billable verifications of a: 2",
		"Billable verifications of b: 1",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("table lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "r5") || !strings.Contains(out, "BAD_ARGUMENTS") {
		t.Errorf("table:\n%s", out)
	}
	_, stderr, err := run(t, env, "usage", "--key", "nobody")
	if err != nil || !strings.Contains(stderr, "no key") {
		t.Errorf("unknown key: %v, %q", err, stderr)
	}

	for _, bad := range [][]string{
		{"usage", "--from", "yesterday"},
		{"usage", "--from", "2026-11-03", "--to", "2026-11-02"},
		{"usage", "stray"},
	} {
		if _, _, err := run(t, env, bad...); !errors.Is(err, errUsage) {
			t.Errorf("glint %v: %v, want a usage error", bad, err)
		}
	}
}

func csvString(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	return b.String()
}
