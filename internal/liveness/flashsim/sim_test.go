package flashsim

import (
	"context"
	"hash/fnv"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/glint-id/glint/internal/liveness"
)

func seqHash(seq Sequence) uint64 {
	h := fnv.New64a()
	for _, f := range seq.Frames {
		h.Write(f.Img.Pix)
		b, _ := f.T.MarshalBinary()
		h.Write(b)
	}
	return h.Sum64()
}

func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	for _, sp := range append([]string{Genuine}, AttackSpecies...) {
		t.Run(sp, func(t *testing.T) {
			t.Parallel()
			a, b := renderSeq(t, sp, 11), renderSeq(t, sp, 11)
			if seqHash(a) != seqHash(b) || len(a.Frames) == 0 {
				t.Fatal("the same seed rendered different sequences")
			}
			if seqHash(renderSeq(t, sp, 12)) == seqHash(a) {
				t.Fatal("different seeds rendered the same sequence")
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	subs := testSubjects(t)
	r := rand.New(rand.NewPCG(1, 1))
	ch := Challenge(r, 4)
	if _, err := Render(r, "hologram", ch, subs[0], subs[1]); err == nil {
		t.Error("unknown species rendered")
	}
	if _, err := Render(r, FaceSwap, ch, subs[0], nil); err == nil {
		t.Error("face swap rendered without a second person")
	}
}

func TestEvaluateDeterministic(t *testing.T) {
	t.Parallel()
	subs := testSubjects(t)[:3]
	var reports [2]Report
	for i := range reports {
		rep, err := EvaluateSubjects(context.Background(), subs, 1, 5, liveness.Options{}, EvalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		reports[i] = rep
	}
	if !reflect.DeepEqual(reports[0].APCER, reports[1].APCER) || reports[0].BPCER != reports[1].BPCER {
		t.Fatalf("same seed, different figures: %+v / %+v", reports[0], reports[1])
	}
	if len(reports[0].APCER) != len(AttackSpecies)-1 || reports[0].Skipped[Mask] == "" || reports[0].NPerSpecies != 1 || reports[0].Seed != 5 {
		t.Fatalf("report %+v", reports[0])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := EvaluateSubjects(ctx, subs, 5, 5, liveness.Options{}, EvalOptions{}); err == nil {
		t.Error("a cancelled evaluation reported success")
	}
}
