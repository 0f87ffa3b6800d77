package liveness

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

// pcgReader adapts a math/rand/v2 generator to io.Reader, so that
// NewChallenge draws reproducible challenges.
type pcgReader struct{ r *rand.Rand }

func (p pcgReader) Read(b []byte) (int, error) {
	for i := 0; i < len(b); i += 8 {
		v := p.r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return len(b), nil
}

// seeded returns a reproducible random source for NewChallenge.
func seeded(seed uint64) pcgReader { return pcgReader{rand.New(rand.NewPCG(seed, 99))} }

func TestNewChallengeConstraints(t *testing.T) {
	t.Parallel()
	id := regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	for _, tc := range []struct{ ask, want int }{{4, 4}, {6, 6}, {8, 8}, {0, 4}, {5, 4}, {7, 6}, {100, 8}} {
		r := seeded(uint64(tc.ask))
		seen := map[string]bool{}
		for i := 0; i < 2000; i++ {
			ch := NewChallenge(r, tc.ask)
			if len(ch.Colors) != tc.want || len(ch.Holds) != tc.want {
				t.Fatalf("n=%d: %d colours, %d holds, want %d", tc.ask, len(ch.Colors), len(ch.Holds), tc.want)
			}
			for k, c := range ch.Colors {
				if k > 0 {
					if c == ch.Colors[k-1] {
						t.Fatalf("%v: colour %d repeats its predecessor", names(ch), k)
					}
					if d := chromaDistance(c, ch.Colors[k-1]); d < MinChromaStep {
						t.Fatalf("%v: colours %d and %d only %.2f apart in chroma", names(ch), k-1, k, d)
					}
				}
				if h := ch.Holds[k]; h < MinHold || h > MaxHold {
					t.Fatalf("hold %v outside [%v, %v]", h, MinHold, MaxHold)
				}
			}
			if !everyChannelSwings(ch.Colors) {
				t.Fatalf("%v: a channel never switches", names(ch))
			}
			if !id.MatchString(ch.SeqID) || seen[ch.SeqID] {
				t.Fatalf("seq_id %q malformed or repeated", ch.SeqID)
			}
			seen[ch.SeqID] = true
		}
	}
}

func TestNewChallengeDistribution(t *testing.T) {
	t.Parallel()
	r := seeded(1)
	const draws = 20000
	count := map[string]int{}
	first := map[string]int{}
	var total int
	var holdSum time.Duration
	minHold, maxHold := MaxHold, MinHold
	for i := 0; i < draws; i++ {
		ch := NewChallenge(r, 6)
		first[ch.Colors[0].Name]++
		for k, c := range ch.Colors {
			count[c.Name]++
			total++
			holdSum += ch.Holds[k]
			minHold, maxHold = min(minHold, ch.Holds[k]), max(maxHold, ch.Holds[k])
		}
	}
	for _, c := range Palette {
		// Uniform over valid sequences is not uniform per colour (white
		// and dim have fewer allowed neighbours), but every colour must
		// be common and none may dominate.
		if f := float64(count[c.Name]) / float64(total); f < 0.06 || f > 0.2 {
			t.Errorf("%s drawn %.3f of the time", c.Name, f)
		}
		if first[c.Name] < draws/30 {
			t.Errorf("%s opens only %d of %d sequences", c.Name, first[c.Name], draws)
		}
	}
	mean := holdSum / time.Duration(total)
	if mid := (MinHold + MaxHold) / 2; mean < mid-5*time.Millisecond || mean > mid+5*time.Millisecond {
		t.Errorf("mean hold %v, want about %v", mean, mid)
	}
	if minHold > MinHold+2*time.Millisecond || maxHold < MaxHold-2*time.Millisecond {
		t.Errorf("holds span [%v, %v], want [%v, %v]", minHold, maxHold, MinHold, MaxHold)
	}
}

func TestNewChallengeDefaultSource(t *testing.T) {
	t.Parallel()
	a, b := NewChallenge(nil, 6), NewChallenge(nil, 6)
	if a.SeqID == b.SeqID {
		t.Fatal("two challenges from crypto/rand share a seq_id")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestNewChallengeShortRead(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on a failing random source")
		}
	}()
	NewChallenge(failingReader{}, 6)
}

func TestScheduleAndHex(t *testing.T) {
	t.Parallel()
	ch := Challenge{
		Colors: []Color{Palette[0], Palette[3], Palette[7]},
		Holds:  []time.Duration{300 * time.Millisecond, 450 * time.Millisecond, 600 * time.Millisecond},
	}
	t0 := time.Unix(1000, 0)
	got := ch.Schedule(t0)
	want := []time.Time{t0, t0.Add(300 * time.Millisecond), t0.Add(750 * time.Millisecond)}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("schedule[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	for _, tc := range []struct {
		c    Color
		want string
	}{{Palette[0], "#FF0000"}, {Palette[3], "#00FFFF"}, {Palette[7], "#333333"}} {
		if h := tc.c.Hex(); h != tc.want {
			t.Errorf("%s.Hex() = %s, want %s", tc.c.Name, h, tc.want)
		}
	}
}

func names(ch Challenge) []string {
	var s []string
	for _, c := range ch.Colors {
		s = append(s, c.Name)
	}
	return s
}
