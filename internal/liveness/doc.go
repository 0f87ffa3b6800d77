// Package liveness decides flash liveness: whether the camera frames of a
// verification show a live, three-dimensional face reflecting the colours
// the screen flashed at it, at the moments it flashed them.
//
// The channel draws a Challenge with NewChallenge when the mirror stage
// passes, shows its colours for their hold times, records when each was
// displayed and collects frames from before the first colour to after the
// last, then calls Analyze. The Verdict lists named checks (continuity,
// identity, reflection, color, timing, relief, tint, and passive when a
// passive model's score is given), each with a value, a threshold and a
// score that is 0.5 at the threshold; it passes when every check passes.
//
// The spoof-test kit behind `glint liveness-eval`, which renders genuine
// and attack sequences and measures the analysis's error rates, is package
// flashsim (internal/liveness/flashsim); the server does not import it.
// docs/liveness.md describes the measurements, the checks, the
// simulator's physics and its limits.
package liveness
