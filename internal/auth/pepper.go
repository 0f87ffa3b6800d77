package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// DecodePepper decodes a pepper given as text (an environment variable, a
// platform's secret made from a string): its 32 bytes as 64 hex digits or
// 44 base64 characters, as `xxd -p -c 32 pepper` or `base64 -w 0 pepper`
// print the file LoadPepper makes. Surrounding white space is ignored. The
// errors never quote the text, which is a secret.
func DecodePepper(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	var p []byte
	var err error
	switch len(text) {
	case hex.EncodedLen(pepperSize):
		p, err = hex.DecodeString(text)
	case base64.StdEncoding.EncodedLen(pepperSize):
		p, err = base64.StdEncoding.DecodeString(text)
	default:
		return nil, fmt.Errorf("auth: pepper is %d characters, want %d bytes as %d hex digits or %d base64 characters",
			len(text), pepperSize, hex.EncodedLen(pepperSize), base64.StdEncoding.EncodedLen(pepperSize))
	}
	if err != nil || len(p) != pepperSize {
		return nil, fmt.Errorf("auth: pepper of %d characters is neither hex nor base64 of %d bytes", len(text), pepperSize)
	}
	return p, nil
}

// ParsePepperFile returns the pepper in the contents b of a pepper file
// given explicitly: the 32 bytes LoadPepper writes, or that text
// DecodePepper reads. Unlike a data directory's own pepper, no other
// length is taken: a pepper supplied from outside is new or a copy, and
// either way exactly the size Glint makes.
func ParsePepperFile(b []byte) ([]byte, error) {
	if len(b) == pepperSize {
		return bytes.Clone(b), nil
	}
	p, err := DecodePepper(string(b))
	if err != nil {
		return nil, fmt.Errorf("auth: pepper file is %d bytes: want the %d bytes of a pepper file Glint wrote, or them as %d hex digits or %d base64 characters",
			len(b), pepperSize, hex.EncodedLen(pepperSize), base64.StdEncoding.EncodedLen(pepperSize))
	}
	return p, nil
}
