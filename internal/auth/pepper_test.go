package auth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/glint-id/glint/internal/auth"
)

func TestDecodePepper(t *testing.T) {
	t.Parallel()
	p := bytes.Repeat([]byte{0xA5, 0x01}, 16)
	for _, tt := range []struct {
		name, text string
		err        string // "" for p
	}{
		{"Hex", hex.EncodeToString(p), ""},
		{"HexUpper", strings.ToUpper(hex.EncodeToString(p)), ""},
		{"Base64", base64.StdEncoding.EncodeToString(p), ""},
		{"Base64Newline", base64.StdEncoding.EncodeToString(p) + "\n", ""},
		{"Empty", "", "0 characters"},
		{"Short", hex.EncodeToString(p[:31]), "62 characters"},
		{"NotHex", strings.Repeat("g", 64), "neither hex nor base64"},
		{"NotBase64", strings.Repeat("!", 44), "neither hex nor base64"},
		{"Raw", string(p), "32 characters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.DecodePepper(tt.text)
			if tt.err == "" {
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("%x, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("%v, want %q", err, tt.err)
			}
		})
	}
}

func TestParsePepperFile(t *testing.T) {
	t.Parallel()
	p := bytes.Repeat([]byte{0x00, 0xFF}, 16)
	for _, tt := range []struct {
		name string
		file []byte
		err  string
	}{
		{"Raw", p, ""},
		{"Hex", []byte(hex.EncodeToString(p) + "\n"), ""},
		{"Base64", []byte(base64.StdEncoding.EncodeToString(p)), ""},
		{"Short", p[:16], "16 bytes"},
		{"Long", append(bytes.Clone(p), p...), "64 bytes"},
		{"RawNewline", append(bytes.Clone(p), '\n'), "33 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.ParsePepperFile(tt.file)
			if tt.err == "" {
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("%x, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("%v, want %q", err, tt.err)
			}
		})
	}
}
