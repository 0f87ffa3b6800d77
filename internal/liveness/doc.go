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
// Render and Evaluate are the spoof-test kit behind `glint liveness-eval`:
// they render genuine and attack sequences from real face photos with a
// physical model of the screen's light on a face, and measure the
// analysis's error rates. docs/liveness.md describes the measurements, the
// checks, the simulator's physics and its limits.
package liveness
