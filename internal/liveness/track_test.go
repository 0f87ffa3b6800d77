package liveness

import (
	"math"
	"testing"
)

func TestFastLog(t *testing.T) {
	t.Parallel()
	worst := 0.0
	for x := 1e-4; x < 10; x *= 1.0007 {
		worst = math.Max(worst, math.Abs(fastLog(x)-math.Log(x)))
	}
	if worst > 2e-5 {
		t.Fatalf("fastLog error %g", worst)
	}
}
