package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/auth"
)

// writePepper writes a new pepper file of mode 0600 and returns its path
// and contents.
func writePepper(t *testing.T) (string, []byte) {
	t.Helper()
	p := make([]byte, 32)
	rand.Read(p)
	path := filepath.Join(t.TempDir(), "glint_pepper")
	if err := os.WriteFile(path, p, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, p
}

// noPepperIn fails the test if dir has a pepper file of its own.
func noPepperIn(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, auth.PepperFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s has a pepper file (%v) although the pepper was given", dir, err)
	}
}

// Two nodes, each with its own data directory, share a pepper given as
// a file: a key made on one is valid on the other, and neither data
// directory gets a pepper of its own. The database moves from one to the
// other as a copy (SQLite); TestPepperFilePostgresNodes shares one.
func TestPepperFileTwoNodes(t *testing.T) {
	old := loadModels
	loadModels = stubModels(stubEngine{})
	defer func() { loadModels = old }()

	pepper, _ := writePepper(t)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	key := mustJSON(t, mustRun(t, map[string]string{"GLINT_PEPPER_FILE": pepper}, "keys", "create", "--data", a, "--name", "shop"))
	noPepperIn(t, a)
	if err := os.Mkdir(b, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{dbFile, dbFile + "-wal"} {
		if db, err := os.ReadFile(filepath.Join(a, name)); err == nil {
			os.WriteFile(filepath.Join(b, name), db, 0o600)
		}
	}
	for _, dir := range []string{a, b} {
		srv := serveInProcess(t, map[string]string{"GLINT_LISTEN": "127.0.0.1:0"}, "--data", dir, "--pepper-file", pepper)
		ct, body := tokenForm(t, key["api_key"], key["api_secret"], "u")
		status, _, err := callGetToken(context.Background(), &http.Client{Timeout: 30 * time.Second}, srv.base, ct, body)
		if err != nil || status != http.StatusOK {
			t.Errorf("get_token on %s: %d %v", dir, status, err)
		}
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
		noPepperIn(t, dir)
	}
}

// The same, on one PostgreSQL database: the second node, refused without
// a pepper, is served with the shared pepper file, and one with another
// pepper is refused once a key has a sealed notification secret.
func TestPepperFilePostgresNodes(t *testing.T) {
	t.Parallel()
	u := pgTestDatabase(t)
	pepper, _ := writePepper(t)
	first, second := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	id := mustJSON(t, mustRun(t, map[string]string{"GLINT_DATABASE": u, "GLINT_PEPPER_FILE": pepper},
		"keys", "create", "--data", first, "--name", "shop", "--notify-url", "https://shop.example/notify"))["api_key"]
	env := map[string]string{"GLINT_DATA": second, "GLINT_DATABASE": u}
	if _, _, err := run(t, env, "keys", "list"); err == nil || !strings.Contains(err.Error(), "--pepper-file") {
		t.Fatalf("second node without a pepper: %v, want a refusal suggesting --pepper-file", err)
	}
	env["GLINT_PEPPER_FILE"] = pepper
	if list := listKeys(t, env); len(list) != 1 || list[0].APIKey != id {
		t.Fatalf("second node lists %+v, want the key %s", list, id)
	}
	other, _ := writePepper(t)
	env["GLINT_PEPPER_FILE"] = other
	if _, _, err := run(t, env, "keys", "list"); err == nil || !strings.Contains(err.Error(), "not the one") {
		t.Fatalf("another pepper: %v, want a refusal", err)
	}
	noPepperIn(t, first)
	noPepperIn(t, second)
}

// Every way of giving the pepper that cannot be right is refused, by
// every command that opens the data, before any data is written.
func TestPepperRefusals(t *testing.T) {
	t.Parallel()
	good, goodBytes := writePepper(t)
	dir := t.TempDir()
	write := func(name string, b []byte, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	short := write("short", goodBytes[:31], 0o600)
	newline := write("newline", append(bytes.Clone(goodBytes), '\n'), 0o600)
	open := write("open", goodBytes, 0o644)
	groupReadable := write("group", goodBytes, 0o640)

	// A data directory that already has a pepper of its own.
	own := filepath.Join(t.TempDir(), "own")
	mustRun(t, nil, "keys", "create", "--data", own, "--name", "k")
	// A database with a sealed notification secret, made with good.
	sealed := filepath.Join(t.TempDir(), "sealed")
	mustRun(t, map[string]string{"GLINT_PEPPER_FILE": good}, "keys", "create", "--data", sealed, "--name", "k", "--notify-url", "https://shop.example/n")

	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"Missing", map[string]string{"GLINT_PEPPER_FILE": filepath.Join(dir, "none")}, "no such file"},
		{"Short", map[string]string{"GLINT_PEPPER_FILE": short}, "is 31 bytes"},
		{"TrailingNewline", map[string]string{"GLINT_PEPPER_FILE": newline}, "is 33 bytes"},
		{"ReadableByOthers", map[string]string{"GLINT_PEPPER_FILE": open}, "`chmod 600 " + open + "`"},
		{"ReadableByGroup", map[string]string{"GLINT_PEPPER_FILE": groupReadable}, "mode 0640"},
		{"Directory", map[string]string{"GLINT_PEPPER_FILE": dir}, "not a regular file"},
		{"EnvShort", map[string]string{"GLINT_PEPPER": "abcd"}, "GLINT_PEPPER: auth: pepper is 4 characters"},
		{"EnvNotHex", map[string]string{"GLINT_PEPPER": strings.Repeat("z", 64)}, "neither hex nor base64"},
		{"Twice", map[string]string{"GLINT_PEPPER_FILE": good, "GLINT_PEPPER": hex.EncodeToString(goodBytes)}, "given twice"},
		{"DiffersFromDataDir", map[string]string{"GLINT_PEPPER_FILE": good, "GLINT_DATA": own}, "differs from the pepper file in the data directory"},
		{"DoesNotOpenSealed", map[string]string{"GLINT_PEPPER": hex.EncodeToString(make([]byte, 32)), "GLINT_DATA": sealed}, "not the one this database's keys were made with"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"GLINT_LISTEN": "127.0.0.1:0", "GLINT_MODELS": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			fresh := env["GLINT_DATA"] == ""
			if fresh {
				env["GLINT_DATA"] = filepath.Join(t.TempDir(), "data")
			}
			for _, args := range [][]string{{"keys", "list"}, {"keys", "create", "--name", "k"}, {"keys", "disable", "k"}, {"usage"}} {
				_, _, err := run(t, env, args...)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("glint %s: %v, want %q", strings.Join(args, " "), err, tt.want)
				}
				if err != nil && strings.Contains(err.Error(), hex.EncodeToString(goodBytes)) {
					t.Errorf("the error shows the pepper: %v", err)
				}
			}
			if fresh {
				if entries, _ := os.ReadDir(env["GLINT_DATA"]); len(entries) != 0 {
					t.Errorf("the data directory was written: %v", entries)
				}
			}
		})
	}
}

// GLINT_PEPPER (hex or base64) and a pepper file holding that text are
// the same pepper as the raw file: a key made with one is listed and
// authenticated with the others.
func TestPepperEnvForms(t *testing.T) {
	t.Parallel()
	file, p := writePepper(t)
	dir := filepath.Join(t.TempDir(), "data")
	key := mustJSON(t, mustRun(t, map[string]string{"GLINT_PEPPER_FILE": file}, "keys", "create", "--data", dir, "--name", "k"))
	b64 := filepath.Join(t.TempDir(), "b64")
	if err := os.WriteFile(b64, []byte(base64.StdEncoding.EncodeToString(p)+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string]map[string]string{
		"Hex":        {"GLINT_PEPPER": hex.EncodeToString(p)},
		"Base64":     {"GLINT_PEPPER": base64.StdEncoding.EncodeToString(p) + "\n"},
		"Base64File": {"GLINT_PEPPER_FILE": b64},
	} {
		t.Run(name, func(t *testing.T) {
			f := &dataFlags{dir: dir}
			f.pepper.file, f.pepper.value = env["GLINT_PEPPER_FILE"], env["GLINT_PEPPER"]
			d, err := f.open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.keys.Authenticate(context.Background(), key["api_key"], key["api_secret"]); err != nil {
				t.Errorf("the key does not authenticate: %v", err)
			}
			env["GLINT_DATA"] = dir
			if list := listKeys(t, env); len(list) != 1 {
				t.Errorf("keys list: %+v", list)
			}
		})
	}
	noPepperIn(t, dir)
}
