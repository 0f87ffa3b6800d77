// Package session runs the capture side of a verification: the real-time
// channel's per-connection state machine (spec §2.3.1) and the HTTP
// fallback (§2.3.2), from hello to a stored outcome. It knows nothing of
// WebSockets: a transport hands it parsed messages through Conn, so the
// whole flow runs in tests on a fake clock with scripted frames.
//
// # States
//
//	hello ──► mirror ──(N good frames)──► baseline ──(600 ms)──► flash ──► tail ──► evaluate
//	            ▲  │                         │                    │                    │
//	            │  └─ 30 s: FAILED            └─ face lost: free   └─ face lost: RESET  ├─ PASS: OK, close
//	            │     (MIRROR_TIMEOUT)                                 (attempt spent)  │
//	            └─────────────────────── FAIL with attempts left ◄──────────────────────┘
//	                                     (else FAILED, close)
//
// hello: the first message, within 5 s (else close 4001). The token must
// exist (4003), not be expired (4003) or finished (4010), have attempts
// left (4009), and its key must allow the page's Origin (4003). The
// record moves to PROCESSING and the connection claims the token's capture
// in the store. A newer connection for the same token closes the older
// one with 4011: at once when both are on this node, and waits for it, so
// that it starts from the older one's final attempt count; within
// OwnerCheckInterval (or at the older one's next attempt count or stored
// outcome, whichever is first) when the older one is on another node,
// which the newer one does not wait for (see nodes.go).
//
// The client's address must have attempts left (ConnInfo.Attempts; else
// close 4029, the token untouched), and the token's person (its uuid)
// too, over all the key's tokens (store.ErrSubjectAttempts; else 4009).
// The SDK then reports its browser and camera (Env); the report is kept
// and judged at each evaluation (injection.go).
//
// mirror: preview frames (5 fps, small) are checked one at a time, newest
// first, against the framing rules (Gate); a failing frame sends its tip
// once per episode and counts once in liveness_result.details, a good one
// sends KeepStill, and GoodFrames good frames in a row pass the gate.
// MirrorTimeout (30 s) without passing fails the verification.
//
// baseline: the gate has passed. The server sends config again with
// denser, larger preview frames (the SDK applies a repeated config's
// capture settings): the SDK sends flash-rate frames only once a colour
// is on screen, and the reflection analysis needs a pre-flash baseline
// at the flash frames' size, with no gap wider than 150 ms before the
// first colour. After BaselineDuration, if the face is still there, the
// challenge is drawn — only now, from crypto/rand — and its first colour
// sent. If the face is lost first, back to the mirror; nothing is spent.
//
// flash: one colour at a time, each held by a server timer on the
// schedule from the first colour; shown acknowledgements and frames are
// collected. When no frame has shown one face for FaceLostTimeout, the
// sequence is abandoned with RESET, which spends the attempt (the user
// has seen part of the challenge) and goes back to the mirror stage.
// Leaving, cancelling or being superseded mid-sequence spends it too.
//
// tail and evaluate: after the last hold the server sends DONE and counts
// the attempt (spec §3.6), waits TailGrace for frames in flight, drains
// the analysis and decides (evaluate.go), with the injection signals of
// the client's report (a client that sent none is not the SDK): PASS
// stores OK with verify_result and the best images and closes; FAIL
// stores the interim liveness_result and goes back to the mirror while
// attempts remain, else stores FAILED and closes.
//
// # Shutdown and panics
//
// Manager.Shutdown ends every session at once, whatever its state: a
// challenge already shown is spent (as when the person leaves), a
// sequence in its tail is decided first (its attempt is counted already),
// and the client gets NETWORK_ERROR and close 1001, so that the page
// offers to try again, on another node or once this one is back.
// Shutdown returns once every session and background ownership check has
// finished with the store, so the caller may then close it; connections
// arriving meanwhile are closed with 1001 untouched.
//
// A panic while a session handles what its client sent (the transport's
// parsing, the worker's decoding and analysis, the evaluation on the
// loop) ends that session alone: its stack is logged, a shown challenge
// spent, and the client gets INTERNAL_ERROR and close 1011.
//
// # Client clock
//
// Frames carry capture times and acknowledgements paint times, both on
// the client's clock. They are mapped to the server's with the smallest
// arrival-minus-capture difference seen on the connection (see clockMap):
// exact for the relative timing the reflection analysis checks, late by
// the fastest observed delay against the server's own clock. An
// acknowledgement is kept only if its mapped time lies between its
// colour's send time and the acknowledgement's arrival (±AckTolerance);
// attempt frames arriving more than MaxFrameDelay after their mapped
// capture time are dropped.
//
// # Cost
//
// Frame analysis runs on a per-connection worker, off the event loop, so
// colour changes stay on time. Full detection (about 100 ms on one core)
// runs on a frame every DetectEvery (250 ms) of capture time; the frames
// between get only landmarks from the last box (a few ms), and each keeps
// only a small window around the face for the analysis. The work is done
// while the colours play; what remains after DONE is the reflection
// analysis, the passive model and one embedding (BenchmarkAttempt: on the
// project's shared 2-vCPU machine under a load of 6, 2.4 s of tracking
// spread over the 3.8 s capture and 0.1–0.25 s of evaluation per attempt
// of 75 camera-sized frames, with 14 detections).
package session
