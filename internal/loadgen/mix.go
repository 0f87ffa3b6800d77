package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// kind is one class of request in the mix.
type kind int

const (
	kindToken kind = iota
	kindResult
	kindBad
	numKinds
)

// kindNames are the names a mix is written with; kindEndpoints the
// report's rows.
var (
	kindNames     = [numKinds]string{"token", "result", "bad"}
	kindEndpoints = [numKinds]string{"get_token", "get_result", "bad"}
)

// DefaultMix is the mix `glint loadtest` sends unless told otherwise.
const DefaultMix = "token=60,result=30,bad=10"

// maxMixWeight keeps the dispatch cycle (sum of the reduced weights) small
// enough to precompute.
const maxMixWeight = 1000

// Mix is the relative weights of the three kinds of request. It is
// followed exactly, in a fixed interleaving (see mixCycle), so that runs
// with the same mix and count send the same requests.
type Mix struct {
	Token  int // get_token with a photo
	Result int // get_result of a token issued earlier in the run
	Bad    int // a malformed call, refused with a documented code

	// text is the mix as ParseMix read it: the report repeats what the
	// operator asked for, not a normalised form.
	text string
}

// ParseMix parses a mix written as "token=60,result=30,bad=10". Kinds left
// out weigh 0; each weight is an integer from 0 to 1000, and at least one
// must be positive.
func ParseMix(s string) (Mix, error) {
	var w [numKinds]int
	var seen [numKinds]bool
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return Mix{}, fmt.Errorf("%q: want NAME=WEIGHT", part)
		}
		k := slices.Index(kindNames[:], strings.TrimSpace(name))
		if k < 0 {
			return Mix{}, fmt.Errorf("unknown kind %q (want %s)", name, strings.Join(kindNames[:], ", "))
		}
		if seen[k] {
			return Mix{}, fmt.Errorf("%s given twice", name)
		}
		seen[k] = true
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 0 || n > maxMixWeight {
			return Mix{}, fmt.Errorf("%s: weight %q is not an integer from 0 to %d", name, val, maxMixWeight)
		}
		w[k] = n
	}
	if w == [numKinds]int{} {
		return Mix{}, errors.New("all weights are 0")
	}
	return Mix{Token: w[kindToken], Result: w[kindResult], Bad: w[kindBad], text: s}, nil
}

// String returns the mix as ParseMix was given it, or written out in full
// for a Mix built otherwise.
func (m Mix) String() string {
	if m.text != "" {
		return m.text
	}
	return fmt.Sprintf("token=%d,result=%d,bad=%d", m.Token, m.Result, m.Bad)
}

func (m Mix) weights() [numKinds]int { return [numKinds]int{m.Token, m.Result, m.Bad} }

// check reports a mix no cycle can be made of.
func (m Mix) check() error {
	w := m.weights()
	for k, n := range w {
		if n < 0 || n > maxMixWeight {
			return fmt.Errorf("mix: %s weight %d is not from 0 to %d", kindNames[k], n, maxMixWeight)
		}
	}
	if w == [numKinds]int{} {
		return errors.New("mix: all weights are 0")
	}
	return nil
}

// mixCycle returns one period of the dispatch order: each kind appears in
// proportion to its weight (reduced by the common divisor), spread out by
// smooth weighted round robin rather than in runs, so that any prefix of
// the run is close to the mix and a run of whole periods follows it
// exactly.
func mixCycle(mix [numKinds]int) []kind {
	g := 0
	for _, w := range mix {
		g = gcd(g, w)
	}
	var w [numKinds]int
	total := 0
	for k := range mix {
		w[k] = mix[k] / g
		total += w[k]
	}
	var cur [numKinds]int
	cycle := make([]kind, 0, total)
	for range total {
		best := -1
		for k := range w {
			if w[k] == 0 {
				continue
			}
			cur[k] += w[k]
			if best < 0 || cur[k] > cur[best] {
				best = k
			}
		}
		cur[best] -= total
		cycle = append(cycle, kind(best))
	}
	return cycle
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
