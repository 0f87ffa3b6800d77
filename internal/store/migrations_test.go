package store_test

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/glint-id/glint/internal/store"
)

func TestSchemaVersionsNumbered(t *testing.T) {
	names := map[string]bool{}
	for i, v := range store.SchemaVersions() {
		if v.Version != i+1 {
			t.Errorf("step %d has version %d: versions count from 1 without gaps", i, v.Version)
		}
		if v.Name == "" || strings.ContainsAny(v.Name, "/. ") || names[v.Name] {
			t.Errorf("version %d: name %q is empty, not a plain word or a duplicate", v.Version, v.Name)
		}
		names[v.Name] = true
	}
}

// Every backend implements exactly the shared schema versions. Each
// backend's Open checks its own set too; this catches a missing or extra
// file without a database server.
func TestMigrationsCoverSchemaVersions(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ms, err := store.LoadMigrations(os.DirFS(backend), "migrations")
			if err != nil {
				t.Fatal(err)
			}
			want := store.SchemaVersions()
			if len(ms) != len(want) {
				t.Fatalf("%d migrations, want %d", len(ms), len(want))
			}
			for i, m := range ms {
				if m.SchemaVersion != want[i] || strings.TrimSpace(m.SQL) == "" {
					t.Errorf("migration %d is %+v with %d bytes of SQL, want %+v", i, m.SchemaVersion, len(m.SQL), want[i])
				}
			}
		})
	}
}

func TestLoadMigrationsRefusesIncompleteSets(t *testing.T) {
	complete := fstest.MapFS{}
	for _, v := range store.SchemaVersions() {
		complete["m/"+v.File()] = &fstest.MapFile{Data: []byte("SELECT 1;")}
	}
	first := store.SchemaVersions()[0].File()
	for _, tc := range []struct {
		name   string
		change func(fstest.MapFS)
		errHas string // "" when the set is fine
	}{
		{"complete", func(fstest.MapFS) {}, ""},
		{"other files are ignored", func(m fstest.MapFS) { m["m/README.md"] = &fstest.MapFile{} }, ""},
		{"a step missing", func(m fstest.MapFS) { delete(m, "m/"+first) }, "schema version 1"},
		{"a step too many", func(m fstest.MapFS) { m["m/0999_future.sql"] = &fstest.MapFile{} }, "0999_future.sql"},
		{"a misnamed step", func(m fstest.MapFS) {
			m["m/0001_start.sql"] = m["m/"+first]
			delete(m, "m/"+first)
		}, "schema version 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range complete {
				fsys[k] = v
			}
			tc.change(fsys)
			_, err := store.LoadMigrations(fsys, "m")
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("LoadMigrations: %v", err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Fatalf("LoadMigrations: %v, want an error naming %q", err, tc.errHas)
			}
		})
	}
}
