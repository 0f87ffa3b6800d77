package loadgen

import (
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    [numKinds]int
		wantErr string
	}{
		{"token=60,result=30,bad=10", [numKinds]int{60, 30, 10}, ""},
		{" bad = 1 , token=2", [numKinds]int{2, 0, 1}, ""},
		{"result=5", [numKinds]int{0, 5, 0}, ""},
		{"token=1000,", [numKinds]int{1000, 0, 0}, ""},
		{"", [numKinds]int{}, "all weights are 0"},
		{"token=0,result=0", [numKinds]int{}, "all weights are 0"},
		{"verify=1", [numKinds]int{}, "unknown kind"},
		{"token", [numKinds]int{}, "NAME=WEIGHT"},
		{"token=-1", [numKinds]int{}, "not an integer"},
		{"token=1001", [numKinds]int{}, "not an integer"},
		{"token=x", [numKinds]int{}, "not an integer"},
		{"token=1,token=2", [numKinds]int{}, "twice"},
	} {
		got, err := ParseMix(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseMix(%q): %v, want error %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.weights() != tt.want {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", tt.in, got.weights(), err, tt.want)
		}
		// The report repeats the mix as the operator wrote it.
		if got.String() != tt.in {
			t.Errorf("ParseMix(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestMixString(t *testing.T) {
	t.Parallel()
	m := Mix{Token: 3, Bad: 1}
	if got, want := m.String(), "token=3,result=0,bad=1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if back, err := ParseMix(m.String()); err != nil || back.weights() != m.weights() {
		t.Errorf("ParseMix(%q) = %v, %v", m.String(), back, err)
	}
}

func TestMixCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mix Mix
		ok  bool
	}{
		{Mix{Token: 1}, true},
		{Mix{Token: maxMixWeight, Result: maxMixWeight, Bad: maxMixWeight}, true},
		{Mix{}, false},
		{Mix{Token: -1, Result: 2}, false},
		{Mix{Bad: maxMixWeight + 1}, false},
	} {
		if err := tt.mix.check(); (err == nil) != tt.ok {
			t.Errorf("%v.check() = %v, want ok %v", tt.mix, err, tt.ok)
		}
	}
}

func TestMixCycle(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mix     [numKinds]int
		wantLen int
		maxRun  int // longest run of one kind allowed
	}{
		{[numKinds]int{60, 30, 10}, 10, 2},
		{[numKinds]int{1, 1, 1}, 3, 1},
		{[numKinds]int{0, 7, 0}, 1, 1},
		{[numKinds]int{2, 1, 2}, 5, 1},
		{[numKinds]int{999, 1, 0}, 1000, 999},
	} {
		cycle := mixCycle(tt.mix)
		if len(cycle) != tt.wantLen {
			t.Errorf("mixCycle(%v): length %d, want %d", tt.mix, len(cycle), tt.wantLen)
			continue
		}
		var count [numKinds]int
		run, longest := 0, 0
		for i, k := range cycle {
			count[k]++
			if i > 0 && cycle[i-1] == k {
				run++
			} else {
				run = 1
			}
			longest = max(longest, run)
		}
		g := 0
		for _, w := range tt.mix {
			g = gcd(g, w)
		}
		for k := range count {
			if count[k] != tt.mix[k]/g {
				t.Errorf("mixCycle(%v): %d of %s, want %d", tt.mix, count[k], kindNames[k], tt.mix[k]/g)
			}
		}
		if longest > tt.maxRun {
			t.Errorf("mixCycle(%v) = %v: a run of %d", tt.mix, cycle, longest)
		}
	}
}
