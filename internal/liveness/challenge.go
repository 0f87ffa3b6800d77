package liveness

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// Color is one screen colour of the palette, as the page paints it.
type Color struct {
	Name    string
	R, G, B uint8
}

// Hex returns the colour as the wire format's "#RRGGBB".
func (c Color) Hex() string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }

// Linear returns the light the screen emits for c, per channel, relative to
// full white: the sRGB values decoded to linear light. Reflections add
// light, so the analysis works in these units.
func (c Color) Linear() [3]float64 {
	return [3]float64{srgbToLinear(c.R), srgbToLinear(c.G), srgbToLinear(c.B)}
}

// chroma returns the linear colour minus its grey component: what is left
// once the overall brightness is taken out.
func (c Color) chroma() [3]float64 {
	l := c.Linear()
	m := (l[0] + l[1] + l[2]) / 3
	return [3]float64{l[0] - m, l[1] - m, l[2] - m}
}

// Palette is the fixed set of colours challenges are drawn from (spec §5.4
// item 2): the six saturated primaries and secondaries, white, and a dim
// grey that stands for "screen nearly off". Every two of them differ by
// almost the full screen output in at least one channel, so each can be
// told from every other by its reflection.
var Palette = []Color{
	{"red", 0xFF, 0x00, 0x00},
	{"green", 0x00, 0xFF, 0x00},
	{"blue", 0x00, 0x00, 0xFF},
	{"cyan", 0x00, 0xFF, 0xFF},
	{"magenta", 0xFF, 0x00, 0xFF},
	{"yellow", 0xFF, 0xFF, 0x00},
	{"white", 0xFF, 0xFF, 0xFF},
	{"dim", 0x33, 0x33, 0x33},
}

// Challenge limits. Holds are long enough for a 15 fps camera to catch a
// few settled frames after the allowed reflection lag, and random so that
// no transition can be anticipated.
const (
	MinHold = 300 * time.Millisecond
	MaxHold = 600 * time.Millisecond
	// MinChromaStep is the least chroma distance (linear units, see
	// Color.chroma) between consecutive colours. One full channel switching
	// on or off is 0.82; only white↔dim, which differ in brightness alone,
	// fall below it.
	MinChromaStep = 0.8
)

// Challenge is one flash sequence: what the screen shows, in order, and
// for how long. It is single use (spec §5.4 item 10): the channel binds it
// to the token and attempt and discards it after one analysis.
type Challenge struct {
	// SeqID names the sequence on the wire: 128 random bits, URL-safe
	// base64 without padding.
	SeqID  string
	Colors []Color
	// Holds[i] is how long Colors[i] stays on screen.
	Holds []time.Duration
	// Start is when the first colour was scheduled to appear (server
	// clock). Analyze falls back to Start plus the holds for colours whose
	// display time is unknown; the zero value means no schedule.
	Start time.Time
}

// Schedule returns when each colour is due if the first appears at start
// and each is held for its hold time.
func (c Challenge) Schedule(start time.Time) []time.Time {
	out := make([]time.Time, len(c.Colors))
	t := start
	for i := range c.Colors {
		out[i] = t
		if i < len(c.Holds) {
			t = t.Add(c.Holds[i])
		}
	}
	return out
}

// ColorCounts are the sequence lengths the API allows (color_number).
var ColorCounts = []int{4, 6, 8}

// NewChallenge draws a sequence of n colours (4, 6 or 8; other values are
// rounded to the nearest allowed one) and its hold times from rng, or from
// crypto/rand when rng is nil. It panics if rng fails: a challenge must
// never come from a short read.
//
// Constraints, all checked by rejection so that the result is uniform over
// the sequences that meet them: no colour equals its predecessor,
// consecutive colours are at least MinChromaStep apart in chroma, and every
// screen channel is both lit and unlit somewhere in the sequence, so that
// the analysis sees each camera channel's response to the screen rather
// than assuming it.
func NewChallenge(rng io.Reader, n int) Challenge {
	if rng == nil {
		rng = rand.Reader
	}
	n = nearestCount(n)
	r := &byteSource{r: rng}
	ch := Challenge{Colors: make([]Color, n), Holds: make([]time.Duration, n)}
	for {
		for i := range ch.Colors {
			for {
				c := Palette[r.intn(len(Palette))]
				if i == 0 || chromaDistance(c, ch.Colors[i-1]) >= MinChromaStep {
					ch.Colors[i] = c
					break
				}
			}
		}
		if everyChannelSwings(ch.Colors) {
			break
		}
	}
	span := int(MaxHold/time.Millisecond - MinHold/time.Millisecond)
	for i := range ch.Holds {
		ch.Holds[i] = MinHold + time.Duration(r.intn(span+1))*time.Millisecond
	}
	var id [16]byte
	r.read(id[:])
	ch.SeqID = base64.RawURLEncoding.EncodeToString(id[:])
	return ch
}

func nearestCount(n int) int {
	best := ColorCounts[0]
	for _, c := range ColorCounts {
		if abs(c-n) < abs(best-n) {
			best = c
		}
	}
	return best
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func chromaDistance(a, b Color) float64 {
	ca, cb := a.chroma(), b.chroma()
	var s float64
	for k := range ca {
		d := ca[k] - cb[k]
		s += d * d
	}
	return math.Sqrt(s)
}

// everyChannelSwings reports whether each channel is above 0.5 for some
// colour and below it for another.
func everyChannelSwings(cs []Color) bool {
	for k := 0; k < 3; k++ {
		lo, hi := false, false
		for _, c := range cs {
			if c.Linear()[k] > 0.5 {
				hi = true
			} else {
				lo = true
			}
		}
		if !lo || !hi {
			return false
		}
	}
	return true
}

// byteSource draws unbiased integers from a byte stream.
type byteSource struct{ r io.Reader }

func (s *byteSource) read(p []byte) {
	if _, err := io.ReadFull(s.r, p); err != nil {
		panic("liveness: random source failed: " + err.Error())
	}
}

// intn returns a uniform integer in [0, n) by rejection, so that no value
// is favoured when n does not divide 2³².
func (s *byteSource) intn(n int) int {
	limit := math.MaxUint32 - math.MaxUint32%uint32(n)
	var b [4]byte
	for {
		s.read(b[:])
		if v := binary.LittleEndian.Uint32(b[:]); v < limit {
			return int(v % uint32(n))
		}
	}
}
