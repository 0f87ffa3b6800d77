package store

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
)

// SchemaVersion is one step of the database schema. Every backend
// implements every step, each in its own SQL dialect, under the same
// number, so that "schema version N" names the same data model whichever
// database holds it, and a backend can neither skip a step nor grow one
// that the others lack.
type SchemaVersion struct {
	// Version numbers the steps from 1, without gaps.
	Version int
	// Name is a short description, and the end of the migration file's
	// name (see File).
	Name string
}

// SchemaVersions returns the schema steps, oldest first. A new step is
// added here and, in the same change, to every backend's migrations
// directory (TestMigrationsCoverSchemaVersions checks that).
func SchemaVersions() []SchemaVersion {
	return []SchemaVersion{
		{1, "init"},             // keys, verification records, the usage ledger
		{2, "capture"},          // the capture lifecycle: results and best images
		{3, "retention"},        // per-key retention, tombstones, notification settings
		{4, "notifications"},    // the notification queue and delivery log
		{5, "capture_nodes"},    // capture owners and fallback sequences shared by nodes
		{6, "leases"},           // per-key concurrency leases shared by nodes
		{7, "capture_defences"}, // the upload fallback opt-in and the per-uuid attempt budget
		{8, "recordings"},       // consented, sealed recordings of capture attempts
		{9, "secret_rotation"},  // a key's replaced secret, valid until its overlap ends
	}
}

// File is the name of v's migration in a backend's migrations directory:
// the zero-padded version, an underscore, the name and ".sql"
// (0001_init.sql).
func (v SchemaVersion) File() string { return fmt.Sprintf("%04d_%s.sql", v.Version, v.Name) }

// Migration is one schema step in one backend's SQL.
type Migration struct {
	SchemaVersion
	SQL string
}

// LoadMigrations reads the migration of every schema version from dir in
// fsys, oldest first. It fails if one is missing or if dir holds any other
// .sql file (a step that is not in SchemaVersions, or a misnamed one), so
// that a backend built with an incomplete set refuses to open instead of
// creating a schema that differs from the other backends'.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var ms []Migration
	for _, v := range SchemaVersions() {
		name := path.Join(dir, v.File())
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("store: migration of schema version %d: %w", v.Version, err)
		}
		ms = append(ms, Migration{SchemaVersion: v, SQL: string(b)})
		files = slices.DeleteFunc(files, func(f string) bool { return f == name })
	}
	if len(files) > 0 {
		return nil, fmt.Errorf("store: migrations %v are not schema versions (store.SchemaVersions)", files)
	}
	return ms, nil
}
