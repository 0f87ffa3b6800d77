package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/glint-id/glint"
)

// fakeModels makes a models directory in which the first package of the
// lock is installed, the second is another version, and any others are
// missing; it returns the directory and the lock's packages.
func fakeModels(t *testing.T) (string, []modelPackage) {
	t.Helper()
	dir := t.TempDir()
	locked, err := checkModels(glint.ModelsLock, dir)
	if err != nil || len(locked) < 2 {
		t.Fatalf("lock: %v %+v", err, locked)
	}
	for i, m := range locked[:2] {
		stamp := m.Integrity
		if i == 1 {
			stamp = "sha512-other"
		}
		os.MkdirAll(filepath.Join(dir, m.Dir), 0o700)
		if err := os.WriteFile(filepath.Join(dir, m.Dir, ".integrity"), []byte(stamp+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The files of the first package, as models.sh unpacks them.
	for line := range strings.Lines(glint.ModelsLock) {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != locked[0].Package {
			continue
		}
		for _, pattern := range f[3:] {
			name := strings.NewReplacer("*", "x", "?", "1").Replace(filepath.Base(pattern))
			os.WriteFile(filepath.Join(dir, locked[0].Dir, name), nil, 0o600)
		}
	}
	return dir, locked
}

func TestVersion(t *testing.T) {
	t.Parallel()
	dir, locked := fakeModels(t)
	out := mustRun(t, map[string]string{"GLINT_MODELS": dir}, "version")
	for _, want := range []string{
		"glint ", "\ncommit ", "\n" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
		"models in " + dir + ":\n",
		"  " + locked[0].Package + " " + locked[0].Integrity + " ok\n",
		"  " + locked[1].Package + " " + locked[1].Integrity + " other\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("glint version lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`^glint \S+\n`).MatchString(out) {
		t.Errorf("first line is not the version:\n%s", out)
	}
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	dir, locked := fakeModels(t)
	// A file the lock lists is missing from the installed package.
	if err := os.Remove(filepath.Join(dir, locked[0].Dir, "LICENSE")); err != nil {
		t.Fatal(err)
	}

	var v buildVersion
	if err := json.Unmarshal([]byte(mustRun(t, nil, "version", "--json", "--models", dir)), &v); err != nil {
		t.Fatal(err)
	}
	if v.Version == "" || v.Go != runtime.Version() || v.ModelsDir != dir || len(v.Models) != len(locked) {
		t.Fatalf("glint version --json: %+v", v)
	}
	for i, want := range []string{"incomplete", "other", "missing"}[:len(locked)] {
		m := v.Models[i]
		if m.Status != want || m.Package != locked[i].Package || m.Integrity != locked[i].Integrity || m.Dir != locked[i].Dir {
			t.Errorf("model %d: %+v, want %s of %s", i, m, want, locked[i].Package)
		}
	}
	if v.Models[1].Installed != "sha512-other" {
		t.Errorf("the other version's integrity: %q", v.Models[1].Installed)
	}
}

// The version set at link time for a release wins over the module's.
func TestVersionLinkerOverride(t *testing.T) {
	old := version
	version = "v1.2.3"
	defer func() { version = old }()
	if v := readBuildVersion(); v.Version != "v1.2.3" {
		t.Fatalf("version %q, want v1.2.3", v.Version)
	}
}
