// Package flashsim simulates flash liveness captures, genuine and attack,
// for evaluation and tests: it renders the frames a phone's front camera
// would take of a face lit by the colours of a liveness.Challenge, from a
// real face photo and a physical model of the screen's light on the face,
// and scores them with liveness.Analyze. Figures from it are simulation,
// not field measurements.
//
// NewSubject (or Subjects, for every face of some photos) prepares a photo
// for rendering. Render renders a whole verification of one species (the
// genuine presentation or an attack: Species lists them and says what is
// expected to stop each); LiveCamera takes the same frames one at a time,
// for a test client that learns the colours only as a server announces
// them. Evaluate and EvaluateSubjects render many sequences of every
// species and report the ISO/IEC 30107-3 error rates, BPCER and APCER,
// with exact Clopper–Pearson intervals (ClopperPearson): that is
// `glint liveness-eval`.
//
// All randomness comes from the caller's generator, so a seed reproduces a
// sequence exactly. The server's request path does not import this
// package. docs/liveness.md ("The simulator", "glint liveness-eval")
// describes the physics assumed, its limits and the results.
package flashsim
