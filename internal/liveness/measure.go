package liveness

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/glint-id/glint/internal/face"
)

// measured is one usable frame: a single face with enough skin and
// background in view.
type measured struct {
	index int // in the caller's frames
	t     time.Time
	// bg is the background's light relative to the baseline's, per
	// channel.
	bg [3]float64
	// y is each region's light relative to the background's, normalised
	// to 1 over the baseline, per channel (where regCh holds); pooled is
	// the mean over the core regions.
	y      [nRegions][3]float64
	pooled [3]float64
	// grid is the frame's linear colour, divided by the background's,
	// at the points of the registration grid (see relief.go).
	grid *[gridPoints][3]float32
}

// identityFrame is what the identity check reads of a frame.
type identityFrame struct {
	t    time.Time
	sig  []float32
	desc *face.Descriptor
}

type analysis struct {
	ch     Challenge
	opt    Options
	n      int
	lin    [][3]float64    // screen colour per interval
	disp   []time.Time     // display time per interval
	end    []time.Time     // end of each interval
	frames []measured      // sorted by t
	ids    []identityFrame // every frame with a face, sorted by t
	multi  int             // frames with more than one face
	// motion is the face's movement across the camera pictures, in
	// inter-ocular distances (NaN when too few frames registered), and
	// repeats the number of face frames repeating an earlier picture
	// (see injection.go).
	motion  float64
	repeats int

	base   []int             // indices into frames before the first colour
	steady [][]int           // per interval, frames in its settled part
	levels [][3]float64      // per interval, pooled face level
	alpha  [3]float64        // fitted level with the screen off, per channel
	beta   [3]float64        // fitted reflection strength per channel
	cov    [3][3]float64     // frame noise covariance of the pooled level
	use    [nRegions]bool    // regions large enough to read
	regCh  [nRegions][3]bool // per region, channels measured unclipped
	coreCh [3][]int          // per channel, the core regions pooled as "the face"
	// exposure is set when too much of the face or the background was
	// clipped, black or out of the picture to measure.
	exposure bool
	grid     *patchGrid        // registration grid of the reference shape
	mask     *[gridPoints]bool // grid points on skin
}

// Least data worth reading: background ring points, the share of a
// region's weight left after dropping clipped points, and a region's
// radius in pixels.
const (
	minBackground = 40
	minKept       = 0.3
	minRadius     = 1.5
)

// measure reads every frame's skin regions, background, appearance and
// colour grid. Regions are placed on a mean face shape and carried into
// each frame by the similarity that best maps that shape onto the frame's
// landmarks, refined by registering the face as an image.
func (a *analysis) measure(frames []Frame) {
	var cand []int
	var views []view
	for _, i := range a.pickFrames(frames) {
		if v, ok := faceView(&frames[i]); ok {
			cand = append(cand, i)
			views = append(views, v)
		}
	}
	if len(cand) == 0 {
		return
	}
	ref := meanShape(views)
	refFrame, ok := NewFaceFrame(&ref)
	if !ok {
		return
	}
	refRegs := skinRegions(&ref, refFrame)
	// Regions too small to read on this face (a chin foreshortened by a
	// lowered head, an outer cheek turned away) are left out for the
	// whole sequence, so that the pooled face always means the same skin.
	for r, d := range refRegs {
		a.use[r] = d.r >= minRadius
	}
	sims := make([]similarity, len(cand))
	for j := range views {
		sims[j] = fitSimilarity(&ref, &views[j].lm)
	}
	before := make([]bool, len(cand))
	for j, i := range cand {
		before[j] = frames[i].T.Before(a.disp[0])
	}
	grid, patches := register(views, before, sims, refFrame)
	a.motion = faceMotion(views, sims, patches, refFrame)
	// Identity needs only the registered faces, so it is judged even when
	// the light cannot be measured.
	for j, i := range cand {
		id := identityFrame{t: frames[i].T, desc: frames[i].Desc}
		if p := &patches[j]; p.enough {
			id.sig = signatureOf(&p.patch, &p.ok)
		}
		a.ids = append(a.ids, id)
	}
	a.grid = grid
	a.mask = skinMask(&ref, refFrame, grid)
	rels, ok := a.readLight(views, sims, before, refRegs, refFrame)
	if !ok {
		// No light to compare with: no baseline, which continuity
		// reports.
		a.measureFrames()
		return
	}
	if !a.chooseChannels(rels) {
		a.exposure = true
		return
	}
	// Each region's light relative to the background's: exposure, white
	// balance and the room's light cancel.
	for j, i := range cand {
		m := measured{index: i, t: frames[i].T, bg: rels[j][nRegions]}
		for r := 0; r < nRegions; r++ {
			for c := 0; c < 3; c++ {
				if a.regCh[r][c] {
					m.y[r][c] = rels[j][r][c] / m.bg[c]
				}
			}
		}
		if patches[j].enough {
			m.grid = grid.sampleRGB(views[j].img, sims[j], m.bg)
		}
		a.frames = append(a.frames, m)
	}
	a.measureFrames()
}

// pickFrames returns the indices of the frames to read, in capture order,
// counting in a.multi the frames left out for holding more than one face
// and in a.repeats the pictures that came back. The same picture twice in
// a row (the same non-zero Source) is a capture that drew a camera frame
// again before the next arrived (a timer faster than the camera): no
// news, and its time is not the picture's, so it is left out. Any other
// recurrence is a picture that came back after others, which no camera
// sends (injection.go).
func (a *analysis) pickFrames(frames []Frame) []int {
	order := make([]int, len(frames))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return frames[order[i]].T.Before(frames[order[j]].T) })
	var picked []int
	seen := map[uint64]bool{}
	var prev uint64
	for _, i := range order {
		f := &frames[i]
		if f.Faces > 1 {
			a.multi++
			continue
		}
		if s := f.Source; s != 0 {
			if s == prev {
				continue
			}
			if seen[s] {
				a.repeats++
			}
			seen[s], prev = true, s
		}
		picked = append(picked, i)
	}
	return picked
}

// readLight reads every sample point of the skin regions regs (those in
// a.use) and of the background ring around ff in every view, and returns
// per view the light of each region and, last, of the background,
// relative to before the flashes (see setLight); false when no view
// precedes the first colour. A set's change of light is measured as the
// ratio of its points' values to their values before the flashes, summed
// over the points that are inside the picture and neither clipped nor
// black in that frame. Clipped points would flatten the change, and a
// plain mean over a varying subset of points would change with the
// subset; a ratio over matched points does neither, since every point of
// a set brightens by nearly the same factor.
func (a *analysis) readLight(views []view, sims []similarity, before []bool, regs [nRegions]disc, ff FaceFrame) ([][nRegions + 1][3]float64, bool) {
	var baseViews []int
	for j := range views {
		if before[j] {
			baseViews = append(baseViews, j)
		}
	}
	if len(baseViews) == 0 {
		return nil, false
	}
	sets := make([]pointSet, nRegions+1)
	for r, d := range regs {
		if a.use[r] {
			sets[r] = discPoints(d)
		}
	}
	sets[nRegions] = ringPointSet(ff)
	var all []complex128
	start := make([]int, len(sets)+1)
	for k, ps := range sets {
		start[k] = len(all)
		all = append(all, ps.pos...)
	}
	start[len(sets)] = len(all)
	vals := make([][][3]float32, len(views))
	for j := range views {
		vals[j] = readPoints(views[j].img, sims[j], all)
	}
	ref0 := baselineLevels(vals, baseViews)
	rels := make([][nRegions + 1][3]float64, len(views))
	for j := range views {
		for k, ps := range sets {
			if k == nRegions || a.use[k] {
				lo, hi := start[k], start[k+1]
				rels[j][k] = setLight(ps, vals[j][lo:hi], ref0[lo:hi], k == nRegions)
			}
		}
	}
	return rels, true
}

// baselineLevels returns each point's level before the flashes, per
// channel: the median of its values (vals[view][point], zero where
// unusable) over the views baseViews, NaN where fewer than half of them
// saw it usable.
func baselineLevels(vals [][][3]float32, baseViews []int) [][3]float64 {
	ref0 := make([][3]float64, len(vals[baseViews[0]]))
	buf := make([]float64, 0, len(baseViews))
	for i := range ref0 {
		for c := 0; c < 3; c++ {
			buf = buf[:0]
			for _, j := range baseViews {
				if v := vals[j][i][c]; v > 0 {
					buf = append(buf, float64(v))
				}
			}
			ref0[i][c] = math.NaN()
			if len(buf)*2 >= len(baseViews) {
				ref0[i][c] = median(buf)
			}
		}
	}
	return ref0
}

// setLight returns the light of point set ps in one view relative to
// before the flashes, per channel: the weighted sum of its points' values
// vals (zero where unusable) over the same points' baseline levels ref0
// (NaN where unknown). A channel is NaN where less than minKept of the
// weight of the points with a baseline was usable, or, for the
// background ring, fewer than minBackground points.
func setLight(ps pointSet, vals [][3]float32, ref0 [][3]float64, background bool) (out [3]float64) {
	need := 1
	if background {
		need = minBackground
	}
	for c := range out {
		var num, den, w, wAll float64
		n := 0
		for i := range ps.pos {
			r0 := ref0[i][c]
			if math.IsNaN(r0) {
				continue
			}
			wAll += ps.w[i]
			if v := vals[i][c]; v > 0 {
				num += ps.w[i] * float64(v)
				den += ps.w[i] * r0
				w += ps.w[i]
				n++
			}
		}
		out[c] = math.NaN()
		if n >= need && w >= minKept*wAll && den > 0 {
			out[c] = num / den
		}
	}
	return out
}

// chooseChannels decides from the views' relative light rels which
// regions' channels are read (a.regCh) and which core regions are pooled
// as the face (a.coreCh). A region's channel counts if it was measurable
// in every view, so that the pooled face always means the same skin. It
// reports false, leaving the rest undecided, as soon as a channel has
// fewer than two core regions or loses the background in some view.
func (a *analysis) chooseChannels(rels [][nRegions + 1][3]float64) bool {
	for c := 0; c < 3; c++ {
		for r := 0; r < nRegions; r++ {
			a.regCh[r][c] = a.use[r]
			for j := range rels {
				if math.IsNaN(rels[j][r][c]) {
					a.regCh[r][c] = false
				}
			}
			if a.regCh[r][c] && slices.Contains(coreRegions, r) {
				a.coreCh[c] = append(a.coreCh[c], r)
			}
		}
		bgOK := true
		for j := range rels {
			bgOK = bgOK && !math.IsNaN(rels[j][nRegions][c])
		}
		if len(a.coreCh[c]) < 2 || !bgOK {
			return false
		}
	}
	return true
}

// measureFrames sorts the measured frames into the baseline and each
// colour's settled part and pools the regions into the face.
func (a *analysis) measureFrames() {
	// Baseline: frames captured before the first colour can have lit
	// the face.
	first := a.disp[0].Add(min(0, a.opt.OnsetWindow[0]))
	for i, m := range a.frames {
		if m.t.Before(first) {
			a.base = append(a.base, i)
		}
	}
	a.steady = make([][]int, a.n)
	for k := 0; k < a.n; k++ {
		lo := a.disp[k].Add(a.opt.OnsetWindow[1])
		hi := a.end[k].Add(min(0, a.opt.OnsetWindow[0]))
		for i, m := range a.frames {
			if !m.t.Before(lo) && m.t.Before(hi) {
				a.steady[k] = append(a.steady[k], i)
			}
		}
	}
	if len(a.base) == 0 {
		return
	}
	// Renormalise each region's ratio to the baseline frames' median, so
	// that the levels before the flashes are 1 exactly.
	for r := 0; r < nRegions; r++ {
		for k := 0; k < 3; k++ {
			if !a.regCh[r][k] {
				continue
			}
			vals := make([]float64, 0, len(a.base))
			for _, i := range a.base {
				vals = append(vals, a.frames[i].y[r][k])
			}
			b := median(vals)
			for i := range a.frames {
				a.frames[i].y[r][k] /= b
			}
		}
	}
	for i := range a.frames {
		m := &a.frames[i]
		for k := 0; k < 3; k++ {
			var s float64
			for _, r := range a.coreCh[k] {
				s += m.y[r][k]
			}
			m.pooled[k] = s / float64(len(a.coreCh[k]))
		}
	}
}

// register refines the landmark placements sims in place by aligning
// each view with a reference face: the mean of the views before the first
// colour (or of the first views), itself realigned once.
func register(views []view, before []bool, sims []similarity, refFrame FaceFrame) (*patchGrid, []patchSample) {
	grid := newPatchGrid(refFrame)
	patches := make([]patchSample, len(views))
	var refIdx []int
	for j := range views {
		if before[j] {
			refIdx = append(refIdx, j)
		}
	}
	if len(refIdx) < 2 {
		refIdx = refIdx[:0]
		for j := 0; j < min(3, len(views)); j++ {
			refIdx = append(refIdx, j)
		}
	}
	for pass := 0; pass < 2; pass++ {
		var refs [][gridPoints]float64
		var oks [][gridPoints]bool
		for _, j := range refIdx {
			if p, ok, enough := grid.sample(views[j].img, sims[j]); enough {
				refs, oks = append(refs, p), append(oks, ok)
			}
		}
		if len(refs) == 0 {
			return grid, patches
		}
		grid.setReference(refs, oks)
		if pass == 0 {
			for _, j := range refIdx {
				sims[j], _, _, _ = grid.refine(views[j].img, sims[j])
			}
		}
	}
	for j := range views {
		var p patchSample
		sims[j], p.patch, p.ok, p.enough = grid.refine(views[j].img, sims[j])
		patches[j] = p
	}
	return grid, patches
}

// patchSample is a frame's registered patch.
type patchSample struct {
	patch  [gridPoints]float64
	ok     [gridPoints]bool
	enough bool
}

// signatureOf turns a registered patch into an appearance signature:
// zero mean and unit norm over the points inside the image.
func signatureOf(patch *[gridPoints]float64, ok *[gridPoints]bool) []float32 {
	out := make([]float32, gridPoints)
	var mean, n float64
	for i, v := range patch {
		if ok[i] {
			mean += v
			n++
		}
	}
	mean /= n
	var norm float64
	for i, v := range patch {
		if ok[i] {
			out[i] = float32(v - mean)
			norm += (v - mean) * (v - mean)
		}
	}
	if norm == 0 {
		return nil
	}
	s := float32(1 / math.Sqrt(norm))
	for i := range out {
		out[i] *= s
	}
	return out
}

// meanShape returns the mean of the views' landmarks after mapping each
// onto the first view's by a similarity: the face's shape with the
// detector's jitter averaged out.
func meanShape(views []view) [68]face.Point {
	first := &views[0].lm
	var sum [68]face.Point
	for k := range views {
		lm := &views[k].lm
		back := fitSimilarity(lm, first)
		for j, p := range lm {
			q := back.apply(p)
			sum[j].X += q.X
			sum[j].Y += q.Y
		}
	}
	n := float64(len(views))
	for j := range sum {
		sum[j].X /= n
		sum[j].Y /= n
	}
	return sum
}

// viewIOD is the eye distance, in pixels, that larger faces are shrunk
// to before analysis. About 25 pixels between the eyes resolve the nose
// and cheeks; more only costs time, and a fixed scale gives every camera
// the same noise per region and grid point.
const viewIOD = 28

// view is the part of a frame the analysis reads: the image around the
// face, shrunk to viewIOD when larger, and the landmarks in its pixels.
// A point p of img lies at origin + p/scale in the camera picture.
type view struct {
	img    *face.RGB
	lm     [68]face.Point
	origin face.Point
	scale  float64
}

// camera maps a point of the view to the camera picture.
func (v *view) camera(p face.Point) face.Point {
	return face.Point{X: v.origin.X + p.X/v.scale, Y: v.origin.Y + p.Y/v.scale}
}

// faceView cuts the window around f's face that holds the regions, the
// background ring and room for motion, and shrinks it by area averaging
// when the face is large. It reports false for frames without a usable
// face.
func faceView(f *Frame) (view, bool) {
	if f.Face == nil || f.Img == nil || f.Img.W <= 0 || f.Img.H <= 0 || len(f.Img.Pix) < 3*f.Img.W*f.Img.H {
		return view{}, false
	}
	ff, ok := NewFaceFrame(&f.Face.Landmarks)
	if !ok {
		return view{}, false
	}
	fs := f.Scale
	if !(fs > 0) {
		fs = 1
	}
	v := view{img: f.Img, lm: f.Face.Landmarks, origin: f.Origin, scale: fs}
	if ff.iod <= viewIOD*1.25 {
		return v, true
	}
	c := ff.ToImage(0, 0.5)
	half := (ringOuter*1.15 + 0.6) * ff.iod
	x0 := math.Max(0, math.Floor(c.X-half))
	y0 := math.Max(0, math.Floor(c.Y-half))
	crop := f.Img.Crop(face.Rect{X: x0, Y: y0, W: 2 * half, H: 2 * half})
	if crop.W < 8 || crop.H < 8 {
		return view{}, false
	}
	side := int(math.Ceil(float64(max(crop.W, crop.H)) * viewIOD / ff.iod))
	small, _ := crop.Downscale(side)
	sx, sy := float64(small.W)/float64(crop.W), float64(small.H)/float64(crop.H)
	v.img = small
	v.origin = face.Point{X: f.Origin.X + x0/fs, Y: f.Origin.Y + y0/fs}
	v.scale = fs * (sx + sy) / 2
	for i, p := range f.Face.Landmarks {
		v.lm[i] = face.Point{X: (p.X - x0) * sx, Y: (p.Y - y0) * sy}
	}
	return v, true
}

// best picks the frame to compare with the references: the sharpest
// large frontal face.
func (a *analysis) best(frames []Frame) int {
	best, bestScore := -1, math.Inf(-1)
	for _, m := range a.frames {
		q := frames[m.index].Face.Quality
		s := q.Sharpness * math.Min(q.Size, 200) * math.Cos(q.Yaw*math.Pi/180) * math.Cos(q.Pitch*math.Pi/180)
		if s > bestScore {
			best, bestScore = m.index, s
		}
	}
	return best
}
