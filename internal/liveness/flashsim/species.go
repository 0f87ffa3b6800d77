package flashsim

import "github.com/glint-id/glint/internal/liveness"

// SpeciesInfo is what the spoof-test kit knows about a species: what it
// is, whether the reflection analysis is expected to reject it and by
// which checks, and otherwise which defence stops it. `glint
// liveness-eval` prints it and docs/liveness.md tabulates it, so that both
// say the same.
type SpeciesInfo struct {
	Name string
	// Attack is false for the genuine presentation.
	Attack bool
	// Caught says liveness.Analyze is expected to reject every sequence of
	// the species: the physics (or the frames' injection traces) give it
	// away.
	Caught bool
	// Checks are the checks that reject it, when Caught.
	Checks []string
	// Defence is, when not Caught, what stops the attack instead.
	Defence string
	// Compared: the evaluation also compares the best frame with the
	// victim's reference, and counts the sequence accepted only when
	// both liveness and the comparison pass (see Comparer).
	Compared bool
}

// Species lists every species, genuine first, then AttackSpecies' order.
var Species = []SpeciesInfo{
	{Name: Genuine},
	{Name: Replay, Attack: true, Caught: true, Checks: []string{liveness.CheckReflection}},
	{Name: WrongSequence, Attack: true, Caught: true, Checks: []string{liveness.CheckColor}},
	{Name: Late, Attack: true, Caught: true, Checks: []string{liveness.CheckTiming}},
	{Name: ScreenTint, Attack: true, Caught: true, Checks: []string{liveness.CheckTint}},
	{Name: FlatPrint, Attack: true, Caught: true, Checks: []string{liveness.CheckRelief}},
	{Name: GlossyPrint, Attack: true, Caught: true, Checks: []string{liveness.CheckRelief}},
	{Name: CurvedPrint, Attack: true, Caught: true, Checks: []string{liveness.CheckRelief}},
	{Name: FoldedPrint, Attack: true, Caught: true, Checks: []string{liveness.CheckRelief}},
	{Name: ScreenMoire, Attack: true, Caught: true, Checks: []string{liveness.CheckReflection, liveness.CheckTint}},
	{Name: FaceSwap, Attack: true, Caught: true, Checks: []string{liveness.CheckIdentity}},
	{Name: Mask, Attack: true, Compared: true,
		Defence: "the face comparison with the victim's references (counted here: accepted only if the best frame also matches the victim at the FAR 1e-3 threshold)"},
	{Name: RenderStatic, Attack: true, Caught: true, Checks: []string{liveness.CheckInjection}},
	{Name: InjectedRender, Attack: true,
		Defence: "capture-side: the upload fallback is off by default, the SDK's environment report (virtual camera, automation, patched media API) fails the injection check, attempt budgets limit retries"},
}

// SpeciesInfoOf returns the named species' entry of Species.
func SpeciesInfoOf(name string) (SpeciesInfo, bool) {
	for _, s := range Species {
		if s.Name == name {
			return s, true
		}
	}
	return SpeciesInfo{}, false
}
