package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/auth"
)

func TestDatabaseFlagRefusesOtherURLs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, database := range []string{
		"mysql://glint:s3cret@db.example/glint",
		"sqlite:///var/lib/glint/glint.db",
		"host=db.example password=s3cret",
	} {
		_, _, err := run(t, map[string]string{"GLINT_DATA": dir, "GLINT_DATABASE": database}, "keys", "list")
		if err == nil || !strings.Contains(err.Error(), "--database") {
			t.Errorf("GLINT_DATABASE=%q: %v, want a --database error", database, err)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// Two nodes on one PostgreSQL database, each with its own data directory:
// the second is refused until it has the first one's pepper, then sees
// the same keys. Needs a PostgreSQL server (pgTestDatabase).
func TestDatabasePostgresNodes(t *testing.T) {
	t.Parallel()
	u := pgTestDatabase(t)

	first, second := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	id := mustJSON(t, mustRun(t, nil, "keys", "create", "--data", first, "--database", u, "--name", "shop"))["api_key"]
	env := map[string]string{"GLINT_DATA": second, "GLINT_DATABASE": u}
	if _, _, err := run(t, env, "keys", "list"); err == nil || !strings.Contains(err.Error(), auth.PepperFile) {
		t.Fatalf("second node without the pepper: %v, want a refusal naming the pepper file", err)
	}
	pepper, err := os.ReadFile(filepath.Join(first, auth.PepperFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(second, auth.PepperFile), pepper, 0o600); err != nil {
		t.Fatal(err)
	}
	if list := listKeys(t, env); len(list) != 1 || list[0].APIKey != id {
		t.Fatalf("second node lists %+v, want the key %s", list, id)
	}
	if _, err := os.Stat(filepath.Join(first, dbFile)); err == nil {
		t.Error("an SQLite database was created beside the PostgreSQL one")
	}
}

// pgTestDatabase returns the URL of a fresh, empty schema on the
// PostgreSQL server GLINT_TEST_POSTGRES names (see
// scripts/with-postgres.sh), dropped when the test ends. It skips the test
// without a server, and fails it when CI=true.
func pgTestDatabase(t *testing.T) string {
	t.Helper()
	server := os.Getenv("GLINT_TEST_POSTGRES")
	if !strings.HasPrefix(server, "postgres://") && !strings.HasPrefix(server, "postgresql://") {
		if os.Getenv("CI") == "true" {
			t.Fatal("GLINT_TEST_POSTGRES is not set under CI: run the tests through scripts/with-postgres.sh")
		}
		t.Skip("GLINT_TEST_POSTGRES is not a postgres:// URL: PostgreSQL test skipped")
	}
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	schema := "glint_cmd_test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close(context.Background())
	})
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
