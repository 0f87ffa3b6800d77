package main

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glint-id/glint/internal/store"
)

func TestKeysCaptureDefences(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GLINT_DATA": filepath.Join(t.TempDir(), "data")}
	plain := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "plain"))["api_key"]
	opted := mustJSON(t, mustRun(t, env, "keys", "create", "--name", "opted", "--allow-upload-fallback",
		"--attempts-per-uuid", "3"))["api_key"]
	list := listKeys(t, env)
	if len(list) != 2 || list[0].APIKey != plain || list[1].APIKey != opted {
		t.Fatalf("list %+v", list)
	}
	if got := list[0]; got.AllowUploadFallback || got.AttemptsPerUUID != store.DefaultAttemptsPerUUID {
		t.Fatalf("defaults: upload fallback %v, attempts per uuid %d; want false, %d",
			got.AllowUploadFallback, got.AttemptsPerUUID, store.DefaultAttemptsPerUUID)
	}
	if got := list[1]; !got.AllowUploadFallback || got.AttemptsPerUUID != 3 {
		t.Fatalf("created with the flags: upload fallback %v, attempts per uuid %d; want true, 3",
			got.AllowUploadFallback, got.AttemptsPerUUID)
	}
	table := mustRun(t, env, "keys", "list")
	if !strings.Contains(table, "UPLOAD_FALLBACK") || !strings.Contains(table, "ATTEMPTS_PER_UUID") {
		t.Fatalf("table without the capture settings:\n%s", table)
	}

	// keys set changes each alone, and leaves the other settings be.
	mustRun(t, env, "keys", "set", opted, "--allow-upload-fallback=false")
	if got := listKeys(t, env)[1]; got.AllowUploadFallback || got.AttemptsPerUUID != 3 || got.Name != "opted" {
		t.Fatalf("after --allow-upload-fallback=false: %+v", got)
	}
	mustRun(t, env, "keys", "set", plain, "--attempts-per-uuid", "1000", "--allow-upload-fallback=true")
	if got := listKeys(t, env)[0]; !got.AllowUploadFallback || got.AttemptsPerUUID != 1000 || got.Concurrency != 10 {
		t.Fatalf("after setting both: %+v", got)
	}
	mustRun(t, env, "keys", "set", plain, "--attempts-per-uuid", "1")
	if got := listKeys(t, env)[0]; !got.AllowUploadFallback || got.AttemptsPerUUID != 1 {
		t.Fatalf("after --attempts-per-uuid 1: %+v", got)
	}

	for _, bad := range [][]string{
		{"keys", "create", "--name", "x", "--attempts-per-uuid", "0"},
		{"keys", "create", "--name", "x", "--attempts-per-uuid", "-1"},
		{"keys", "create", "--name", "x", "--attempts-per-uuid", "1001"},
		{"keys", "create", "--name", "x", "--allow-upload-fallback=maybe"},
		{"keys", "set", plain, "--attempts-per-uuid", "0"},
		{"keys", "set", plain, "--attempts-per-uuid", "1001"},
		{"keys", "set", plain, "--attempts-per-uuid", "many"},
		{"keys", "set", plain, "--allow-upload-fallback=maybe"},
	} {
		if _, _, err := run(t, env, bad...); !errors.Is(err, errUsage) {
			t.Errorf("glint %v: %v, want a usage error", bad, err)
		}
	}
	if got := listKeys(t, env); len(got) != 2 || got[0].AttemptsPerUUID != 1 || !got[0].AllowUploadFallback {
		t.Fatalf("refused commands changed the keys: %+v", got)
	}

	// The flags are documented in each command's usage.
	for _, sub := range []string{"create", "set"} {
		_, stderr, err := run(t, env, "keys", sub, "-h")
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "allow-upload-fallback") ||
			!strings.Contains(stderr, "attempts-per-uuid") {
			t.Errorf("keys %s -h: %v\n%s", sub, err, stderr)
		}
	}
}
