package session

import (
	"fmt"
	"runtime/debug"
	"sync"
)

// worker runs a session's face analysis off its event loop, so that a
// 100 ms detection never delays a colour change. Capture frames (those
// of an attempt) are processed in order, every one; mirror frames only
// latest-first, since the framing check needs the newest view and not
// every view. Results go to a mailbox the loop drains when kicked, so the
// worker never blocks on the loop, and the loop may wait for the worker
// (barrier) without deadlock.
type worker struct {
	mu      sync.Mutex
	cond    *sync.Cond
	mirror  *mirrorJob
	capture []captureJob
	busy    bool
	closed  bool

	results []any
	kick    chan struct{}
}

type mirrorJob struct {
	f   *Frame
	gen int
	// occlusion is the verification's face_occlusion_detection: the gate
	// then also asks for uncovered eyes and mouth.
	occlusion bool
}

type captureJob struct {
	f  *Frame
	tr *tracker
	id int
}

// gateResult is the outcome of one mirror frame.
type gateResult struct {
	gen int
	tip string
	err error
}

// trackEvent reports a capture frame on which detection ran.
type trackEvent struct {
	id  int
	f   *Frame
	res trackResult
}

func newWorker() *worker {
	w := &worker{kick: make(chan struct{}, 1)}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// setMirror replaces the pending mirror frame (nil clears it).
func (w *worker) setMirror(j *mirrorJob) {
	w.mu.Lock()
	w.mirror = j
	w.mu.Unlock()
	w.cond.Broadcast()
}

// addCapture queues a frame of attempt id for tr.
func (w *worker) addCapture(j captureJob) {
	w.mu.Lock()
	w.capture = append(w.capture, j)
	w.mu.Unlock()
	w.cond.Broadcast()
}

// dropCapture forgets the queued frames of attempts other than keep.
func (w *worker) dropCapture(keep int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.capture[:0]
	for _, j := range w.capture {
		if j.id == keep {
			out = append(out, j)
		}
	}
	clear(w.capture[len(out):])
	w.capture = out
}

// barrier waits until every queued job is done.
func (w *worker) barrier() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for !w.closed && (w.busy || len(w.capture) > 0 || w.mirror != nil) {
		w.cond.Wait()
	}
}

// take returns the posted results and clears the mailbox.
func (w *worker) take() []any {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.results
	w.results = nil
	return r
}

func (w *worker) post(r any) {
	w.mu.Lock()
	w.results = append(w.results, r)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *worker) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cond.Broadcast()
}

// run processes jobs until close; mirror is the mirror-frame handler. A
// panic in a job (the analysis reads what the client sent) is posted as a
// *panicError for the loop to end the session on, and stops the worker as
// close does: whatever state the analysis was left in is not used again.
func (w *worker) run(mirror func(*mirrorJob) gateResult) {
	for {
		w.mu.Lock()
		for !w.closed && len(w.capture) == 0 && w.mirror == nil {
			w.cond.Wait()
		}
		if w.closed {
			w.mu.Unlock()
			return
		}
		var (
			cj *captureJob
			mj *mirrorJob
		)
		if len(w.capture) > 0 {
			j := w.capture[0]
			w.capture[0] = captureJob{}
			w.capture = w.capture[1:]
			cj = &j
		} else {
			mj, w.mirror = w.mirror, nil
		}
		w.busy = true
		w.mu.Unlock()

		res, crash := process(cj, mj, mirror)
		if crash != nil {
			res = crash
		}
		if res != nil {
			w.post(res)
		}

		w.mu.Lock()
		w.busy = false
		if crash != nil {
			w.closed = true
		}
		w.mu.Unlock()
		w.cond.Broadcast()
		if crash != nil {
			return
		}
	}
}

// process runs one job: a capture frame when cj is set, else mirror frame
// mj. Its result is nil for a capture frame without a detection.
func process(cj *captureJob, mj *mirrorJob, mirror func(*mirrorJob) gateResult) (res any, crash *panicError) {
	defer func() {
		if v := recover(); v != nil {
			crash = recovered(v)
		}
	}()
	if cj != nil {
		r := cj.tr.add(cj.f)
		if r.detected || r.err != nil {
			return trackEvent{id: cj.id, f: cj.f, res: r}, nil
		}
		return nil, nil
	}
	return mirror(mj), nil
}

// panicError is a panic recovered in a session's goroutines, with the
// stack where it happened.
type panicError struct {
	value any
	stack []byte
}

// recovered wraps v, a recovered panic; called in the deferred function
// that recovered it, so that the stack still shows the panic's origin.
func recovered(v any) *panicError {
	return &panicError{value: v, stack: debug.Stack()}
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }
