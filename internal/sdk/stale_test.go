package sdk

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// TestBuildIsFresh rebuilds dist/ and h5/ from web/ into a temporary
// directory and compares them byte for byte with the embedded files, so a
// change to the SDK or page sources without `make sdk` fails here.
//
// It needs node. It uses web/node_modules when present; otherwise (not in
// -short mode) it installs the pinned esbuild with `npm ci` into a copy of
// web/, leaving the tree untouched.
func TestBuildIsFresh(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; cannot check the build output")
	}
	web, err := filepath.Abs(filepath.Join("..", "..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(web, "build.mjs")); err != nil {
		t.Fatalf("web sources missing: %v", err)
	}
	out := t.TempDir()
	script := filepath.Join(web, "build.mjs")
	if _, err := os.Stat(filepath.Join(web, "node_modules", "esbuild", "package.json")); err != nil {
		if testing.Short() {
			t.Skip("web/node_modules missing; run `make sdk` (skipped in -short mode)")
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Skip("npm not installed and web/node_modules missing")
		}
		copyWeb(t, web, filepath.Join(out, "web"))
		run(t, filepath.Join(out, "web"), npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		script = filepath.Join(out, "web", "build.mjs")
	}
	built := filepath.Join(out, "built")
	run(t, filepath.Dir(script), node, script, "--out", built)

	want := readTree(t, os.DirFS(built), "dist", "h5")
	got := readTree(t, files, "dist", "h5")
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		w, inBuild := want[n]
		g, embedded := got[n]
		switch {
		case !embedded:
			t.Errorf("%s is built but not in internal/sdk: run `make sdk`", n)
		case !inBuild:
			t.Errorf("internal/sdk/%s is not produced by the build: delete it", n)
		case !bytes.Equal(w, g):
			t.Errorf("internal/sdk/%s is stale: run `make sdk`", n)
		}
	}
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func readTree(t *testing.T, fsys fs.FS, roots ...string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, root := range roots {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			m[p] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// copyWeb copies what the build reads: the manifest, the lock file, the
// build script and the sources (not node_modules or dev tools).
func copyWeb(t *testing.T, from, to string) {
	t.Helper()
	for _, rel := range []string{"package.json", "package-lock.json", "build.mjs", filepath.Join("sdk", "src"), "h5"} {
		src := filepath.Join(from, rel)
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, err := filepath.Rel(from, p)
			if err != nil {
				return err
			}
			dst := filepath.Join(to, r)
			if d.IsDir() {
				return os.MkdirAll(dst, 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
