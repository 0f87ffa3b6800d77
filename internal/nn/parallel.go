package nn

import (
	"runtime"
	"sync"
)

// Parallel calls fn on disjoint sub-ranges [lo, hi) covering [0, n), on at
// most GOMAXPROCS goroutines. Each index belongs to exactly one call, so fn
// may write the outputs of its range without locks. grain is the smallest
// range worth a goroutine of its own.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if grain < 1 {
		grain = 1
	}
	if w := (n + grain - 1) / grain; w < workers {
		workers = w
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
