package sdk

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/liveness"
)

// TestFlashRateMatchesChallenge ties the SDK's colour guard and the flash
// rate stated in the photosensitivity warnings (docs/liveness.md,
// Photosensitivity) to the challenge limits: a change to MinHold, MaxHold
// or ColorCounts must update the SDK and the texts in every language.
func TestFlashRateMatchesChallenge(t *testing.T) {
	web := filepath.Join("..", "..", "web")
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(web, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	m := regexp.MustCompile(`export const MIN_HOLD_MS = (\d+);`).FindStringSubmatch(read("sdk/src/rtcvideo.js"))
	if m == nil {
		t.Fatal("rtcvideo.js: MIN_HOLD_MS not found")
	}
	if got, _ := strconv.Atoi(m[1]); time.Duration(got)*time.Millisecond != liveness.MinHold {
		t.Errorf("SDK MIN_HOLD_MS = %s, liveness.MinHold = %v", m[1], liveness.MinHold)
	}
	// Changes in any closed one-second window at MinHold apart, and the
	// longest sequence rounded up to whole seconds.
	perSecond := int(time.Second/liveness.MinHold) + 1
	longest := time.Duration(slices.Max(liveness.ColorCounts)) * liveness.MaxHold
	seconds := int(math.Ceil(longest.Seconds()))
	for _, c := range []struct{ file, key string }{
		{"sdk/src/i18n.js", "PHOTOSENSITIVITY_WARNING"},
		{"h5/texts.js", "flashNote"},
	} {
		lines := regexp.MustCompile(`(?m)^\s*`+c.key+`: (.*)$`).FindAllStringSubmatch(read(c.file), -1)
		if len(lines) != 10 {
			t.Fatalf("%s: %d %s texts, want 10", c.file, len(lines), c.key)
		}
		for _, l := range lines {
			nums := regexp.MustCompile(`\d+`).FindAllString(l[1], -1)
			if !slices.Equal(nums, []string{strconv.Itoa(perSecond), strconv.Itoa(seconds)}) {
				t.Errorf("%s %s: numbers %v, want [%d %d]: %s", c.file, c.key, nums, perSecond, seconds, strings.TrimSpace(l[1]))
			}
		}
	}
}
