package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PepperFile is the pepper's file name inside the data directory.
const PepperFile = "pepper"

const pepperSize = 32

// LoadPepper returns the server pepper from dir, creating it (32 random
// bytes, mode 0600) on first use. The pepper must never change afterwards:
// every stored secret hash depends on it.
//
// Creation writes a temporary file and hard-links it into place, which
// fails if the pepper already exists; so two processes starting together
// (a server and a `glint keys create`) agree on one pepper, and nobody ever
// reads a half-written one.
func LoadPepper(dir string) ([]byte, error) {
	path := filepath.Join(dir, PepperFile)
	p, err := readPepper(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return p, err
	}

	tmp, err := os.CreateTemp(dir, ".pepper-*")
	if err != nil {
		return nil, fmt.Errorf("auth: create pepper: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: create pepper: %w", err)
	}
	if _, err := tmp.Write(randomBytes(pepperSize)); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: create pepper: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: create pepper: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("auth: create pepper: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("auth: create pepper: %w", err)
	}
	return readPepper(path)
}

func readPepper(path string) ([]byte, error) {
	p, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read pepper: %w", err)
	}
	if len(p) < pepperSize {
		return nil, fmt.Errorf("auth: pepper %s is %d bytes, want at least %d: it was damaged, and keys made with it can no longer be checked", path, len(p), pepperSize)
	}
	return p, nil
}
