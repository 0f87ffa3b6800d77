package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/glint-id/glint/internal/auth"
	"github.com/glint-id/glint/internal/store"
)

// pepperSource is a pepper given explicitly, by a container platform's
// secret file (--pepper-file, env GLINT_PEPPER_FILE) or by its value
// (env GLINT_PEPPER), instead of the pepper file the data directory keeps
// for itself. The zero pepperSource means that file, created on first use
// (auth.LoadPepper).
type pepperSource struct {
	file  string // --pepper-file
	value string // GLINT_PEPPER: hex or base64 (auth.DecodePepper)
}

func (p pepperSource) explicit() bool { return p.file != "" || p.value != "" }

// load reads the explicit pepper. A file that group or others may read is
// refused, with the fix, as the data directory is (privateDir).
func (p pepperSource) load() ([]byte, error) {
	switch {
	case p.file != "" && p.value != "":
		return nil, errors.New("the pepper is given twice, by --pepper-file (or GLINT_PEPPER_FILE) and by GLINT_PEPPER: keep one")
	case p.value != "":
		b, err := auth.DecodePepper(p.value)
		if err != nil {
			return nil, fmt.Errorf("GLINT_PEPPER: %w", err)
		}
		return b, nil
	}
	fi, err := os.Stat(p.file) // a platform's secret may be a symbolic link
	if err != nil {
		return nil, fmt.Errorf("--pepper-file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("--pepper-file: %s is not a regular file", p.file)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("--pepper-file: %s has mode %04o: other users could read the secret pepper; "+
			"make it private to the user Glint runs as with `chmod 600 %s` (on a platform, give the secret mode 0400 or 0600)",
			p.file, perm, shellQuote(p.file))
	}
	b, err := os.ReadFile(p.file)
	if err != nil {
		return nil, fmt.Errorf("--pepper-file: %w", err)
	}
	pepper, err := auth.ParsePepperFile(b)
	if err != nil {
		return nil, fmt.Errorf("--pepper-file %s: %w", p.file, err)
	}
	return pepper, nil
}

// checkExplicitPepper refuses an explicit pepper that is known not to be
// the one the data was made with. Glint cannot tell that in general (a
// secret hash is checked only when its secret comes with a request), but
// it can when the data directory holds a pepper file of its own, which
// must then be the same, and when a key has result notifications on: its
// sealed secret opens only under the pepper that sealed it.
func checkExplicitPepper(ctx context.Context, dir string, db store.Store, pepper []byte) error {
	own, err := os.ReadFile(filepath.Join(dir, auth.PepperFile))
	switch {
	case err == nil && !bytes.Equal(own, pepper):
		return fmt.Errorf("the pepper given differs from the pepper file in the data directory %s: the keys made with that one would all fail; "+
			"give that file's pepper (--pepper-file %s), or remove it if it never served", dir, shellQuote(filepath.Join(dir, auth.PepperFile)))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data directory: %w", err)
	}
	keys, err := db.Keys(ctx)
	if err != nil {
		return err
	}
	// One damaged secret must not stop the service: the pepper is wrong
	// when none opens.
	var opened, sealed int
	for _, k := range keys {
		if len(k.NotifySecret) == 0 {
			continue
		}
		sealed++
		if _, err := auth.Open(pepper, k.ID, k.NotifySecret); err == nil {
			opened++
		}
	}
	if sealed > 0 && opened == 0 {
		return fmt.Errorf("the pepper given is not the one this database's keys were made with: none of the %d sealed notification secrets opens under it; "+
			"give the pepper file of a node that serves this database", sealed)
	}
	return nil
}
