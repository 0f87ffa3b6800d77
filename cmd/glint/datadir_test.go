//go:build unix

package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// withUmask runs the test under umask m, so that file modes show what the
// code asked for rather than what the usual 022 leaves. The umask belongs
// to the process: callers do not run in parallel.
func withUmask(t *testing.T, m int) {
	old := syscall.Umask(m)
	t.Cleanup(func() { syscall.Umask(old) })
}

// modes lists the permission bits of every entry of dir.
func modes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]fs.FileMode{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = fi.Mode().Perm()
	}
	return m
}

// A fresh data directory is created 0700, and the database, its WAL and
// shared-memory files and the pepper 0600, even under umask 0: listed
// while the database is open and after writes, when SQLite has made the
// -wal and -shm files itself.
func TestDataDirFreshIsPrivate(t *testing.T) {
	withUmask(t, 0)
	dir := filepath.Join(t.TempDir(), "new", "data")
	env := map[string]string{"GLINT_DATA": dir}
	mustRun(t, env, "keys", "create", "--name", "first")
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory created %04o, want 0700", perm)
	}

	d, err := openData(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Writes from this process and from another command beside it.
	mustRun(t, env, "keys", "create", "--name", "second")
	keys, err := d.db.Keys(context.Background())
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	keys[0].Name = "renamed"
	if err := d.db.UpdateKey(context.Background(), keys[0]); err != nil {
		t.Fatal(err)
	}
	got := modes(t, dir)
	t.Logf("modes after writes: %v", got)
	for _, name := range []string{dbFile, dbFile + "-wal", dbFile + "-shm", "pepper"} {
		perm, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s missing: the test saw no WAL to check", name)
		case perm != 0o600:
			t.Errorf("%s is %04o, want 0600", name, perm)
		}
	}
	for name, perm := range got {
		if perm&0o077 != 0 {
			t.Errorf("%s is %04o: open to group or others", name, perm)
		}
	}
}

// A database left readable by an older version is made private when it
// is opened, with its WAL files.
func TestDataDirTightensOldFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, map[string]string{"GLINT_DATA": dir}, "keys", "create", "--name", "old")
	for _, name := range []string{dbFile, dbFile + "-wal", dbFile + "-shm"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, nil, 0o644); err != nil && name != dbFile {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, map[string]string{"GLINT_DATA": dir}, "keys", "list")
	for name, perm := range modes(t, dir) {
		if perm&0o077 != 0 {
			t.Errorf("%s is still %04o", name, perm)
		}
	}
}

// An existing data directory that group or others may enter is refused
// by every command that opens it, with the command that fixes it.
func TestDataDirSharedRefused(t *testing.T) {
	old := loadModels
	loadModels = stubModels(stubEngine{})
	defer func() { loadModels = old }()

	for _, mode := range []fs.FileMode{0o755, 0o750, 0o701, 0o707} {
		dir := filepath.Join(t.TempDir(), "shared data")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"GLINT_DATA": dir, "GLINT_LISTEN": "127.0.0.1:0"}
		fix := "`chmod 700 '" + dir + "'`"
		for _, args := range [][]string{
			{"keys", "create", "--name", "k"},
			{"keys", "list"},
			{"keys", "disable", "k"},
			{"keys", "notify", "k", "--off"},
			{"keys", "deliveries", "k"},
			{"usage"},
			{"serve"},
		} {
			// A serve that is not refused would serve until the
			// context ends.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }}
			err := m.Run(ctx, args)
			cancel()
			if err == nil || !strings.Contains(err.Error(), fix) {
				t.Errorf("%04o, glint %s: %v, want a refusal saying %s", mode, strings.Join(args, " "), err, fix)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, dbFile)); err == nil {
			t.Errorf("%04o: a database was created in the refused directory", mode)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		mustRun(t, env, "keys", "list")
	}
}
