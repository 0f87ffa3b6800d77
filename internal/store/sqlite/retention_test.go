package sqlite_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/glint-id/glint/internal/store"
	"github.com/glint-id/glint/internal/store/sqlite"
)

// noisyJPEG encodes a w×h image of seeded noise: incompressible enough to
// spill into SQLite overflow pages, as real photos do.
func noisyJPEG(t *testing.T, seed uint64, w, h int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// dirBytes returns the contents of every file under dir (the database,
// its WAL and shared-memory files, and anything else the store wrote).
func dirBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[filepath.Base(path)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestPurgeLeavesNoBiometricBytes searches the raw files of the data
// directory for a verification's embedding, face crop, original photo,
// best images and user id after the sweeper purged it.
func TestPurgeLeavesNoBiometricBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	defer db.Close()
	dir := filepath.Dir(db.Path)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

	if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1, ResultRetention: time.Hour}); err != nil {
		t.Fatal(err)
	}
	emb := make([]float32, 128)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range emb {
		emb[i] = float32(r.NormFloat64())
	}
	embBytes := make([]byte, 0, 4*len(emb))
	for _, f := range emb {
		embBytes = binary.LittleEndian.AppendUint32(embBytes, math.Float32bits(f))
	}
	crop := noisyJPEG(t, 1, 112, 112)
	original := noisyJPEG(t, 2, 640, 480)
	best := [][]byte{noisyJPEG(t, 3, 480, 640), noisyJPEG(t, 4, 480, 640)}
	uuid := "person-7f3a9c1e-uuid"

	v := &store.Verification{
		Token: "tok", KeyID: "k", UUID: uuid, ColorNumber: 6, LivenessPreferences: "none", Language: "0",
		ProcedureType: "raw_flash", ComparisonType: "0", MaxUploadTimes: 2, LifeTime: time.Hour,
		Status: store.StatusNotStarted, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Refs: []store.Reference{{Index: 1, Model: "m", Embedding: emb, Crop: crop, Original: original,
			Box: image.Rect(1, 2, 3, 4)}},
	}
	// Neighbours that stay: their pages share space with the purged
	// record's, so zeroing must be exact, not page-wide luck.
	for _, tok := range []string{"before", "tok", "after"} {
		v.Token = tok
		if err := db.CreateVerification(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.BeginCapture(ctx, "tok", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishVerification(ctx, "tok", &store.Outcome{Status: store.StatusOK, Images: best, At: t0.Add(time.Minute),
		Liveness: &store.LivenessResult{Result: store.LivenessPass}, Verify: &store.VerifyResult{}}); err != nil {
		t.Fatal(err)
	}
	// Purge the neighbours' copies too, so that the bytes searched for
	// belong to purged records only.
	for _, tok := range []string{"before", "after"} {
		if _, err := db.BeginCapture(ctx, tok, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishVerification(ctx, tok, &store.Outcome{Status: store.StatusFailed, At: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	// A record that stays, with other bytes, shares the pages.
	keep := noisyJPEG(t, 5, 112, 112)
	v.Token, v.UUID, v.Refs[0].Crop, v.Refs[0].Original = "keep", "someone else", keep, nil
	v.Refs[0].Embedding = []float32{1, 2, 3}
	v.ExpiresAt = t0.Add(3 * time.Hour)
	if err := db.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}

	// JPEG headers are alike for every image of one encoder and quality,
	// so the image needles come from the entropy-coded middle.
	mid := func(b []byte) []byte { return b[len(b)/2 : len(b)/2+64] }
	needles := map[string][]byte{
		"embedding":      embBytes,
		"embedding head": embBytes[:32],
		"crop":           mid(crop),
		"original":       mid(original),
		"best image 1":   mid(best[0]),
		"best image 2":   mid(best[1]),
		"uuid":           []byte(uuid),
		"JPEG markers":   {0xff, 0xd8, 0xff, 0xdb}, // Go's encoder: SOI then DQT
	}
	found := func() map[string]string {
		hits := map[string]string{}
		for name, b := range dirBytes(t, dir) {
			for what, n := range needles {
				if bytes.Contains(b, n) {
					hits[what] = name
				}
			}
		}
		return hits
	}
	// The search must see the data while it is stored, or it proves
	// nothing.
	if hits := found(); len(hits) != len(needles) {
		t.Fatalf("before the purge only found %v", hits)
	}

	p, err := db.PurgeVerifications(ctx, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p.Records != 3 {
		t.Fatalf("purged %d records, want 3", p.Records)
	}
	// The kept record's crop is a JPEG too: take its marker out of the
	// search and check the kept bytes are still there.
	delete(needles, "JPEG markers")
	if hits := found(); len(hits) != 0 {
		t.Errorf("after the purge, still in the data directory: %v", hits)
	}
	var stillThere bool
	for _, b := range dirBytes(t, dir) {
		stillThere = stillThere || bytes.Contains(b, mid(keep))
	}
	if !stillThere {
		t.Error("the record that is still readable lost its crop")
	}
	if got, err := db.Verification(ctx, "keep"); err != nil || !bytes.Equal(got.Refs[0].Crop, keep) {
		t.Errorf("kept verification = %v, %v", got, err)
	}
}

// BenchmarkPurge measures the sweeper's cost per purged record (one
// reference with a 512-byte embedding and 8 KiB crop, one 40 KiB best
// image), secure deletion and checkpoint included.
func BenchmarkPurge(b *testing.B) {
	ctx := context.Background()
	db := MustOpen(b)
	defer db.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := db.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1, ResultRetention: time.Hour}); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	blob := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return p
	}
	emb := make([]float32, 128)
	for i := 0; i < b.N; i++ {
		tok := fmt.Sprint("t", i)
		v := &store.Verification{Token: tok, KeyID: "k", UUID: "u", ColorNumber: 6, LivenessPreferences: "none",
			Language: "0", ProcedureType: "raw_flash", ComparisonType: "0", MaxUploadTimes: 1, LifeTime: time.Hour,
			Status: store.StatusNotStarted, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
			Refs: []store.Reference{{Index: 1, Model: "m", Embedding: emb, Crop: blob(8 << 10)}}}
		if err := db.CreateVerification(ctx, v); err != nil {
			b.Fatal(err)
		}
		if _, err := db.BeginCapture(ctx, tok, t0); err != nil {
			b.Fatal(err)
		}
		if err := db.FinishVerification(ctx, tok, &store.Outcome{Status: store.StatusOK, At: t0,
			Images: [][]byte{blob(40 << 10)}, Verify: &store.VerifyResult{}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	p, err := db.PurgeVerifications(ctx, t0.Add(2*time.Hour))
	if err != nil || p.Records != b.N {
		b.Fatalf("purged %+v, %v; want %d", p, err, b.N)
	}
}

// TestPurgeAfterUpgrade opens a database written by a release before
// retention (schema version 2) that holds a finished, never-read result:
// the upgrade must make it purgeable like a new one.
func TestPurgeAfterUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "glint.db")
	raw := rawDB(t, path)
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v, name := range []string{"0001_init.sql", "0002_capture.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000000000Z')`, v+1, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO keys (id, name, secret_hash, concurrency, created_at) VALUES ('k', 'k', x'00', 1, '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO verifications (token, key_id, uuid, color_number, liveness_preferences, language, procedure_type,
			comparison_type, max_upload_times, life_time_seconds, multi_oriented_detection, fail_when_ref_multiple_faces,
			return_multifaces_tag, face_occlusion_detection, status, issued_at, expires_at, terminal_at)
			VALUES ('old', 'k', 'person', 6, 'none', '0', 'raw_flash', '0', 1, 3600, 0, 0, 0, 0, 'OK',
			'2026-01-01T00:00:00.000000000Z', '2026-01-01T01:00:00.000000000Z', '2026-01-01T00:10:00.500000000Z')`,
		`INSERT INTO verification_refs (token, idx, model, embedding, crop, box_x0, box_y0, box_x1, box_y1)
			VALUES ('old', 1, 'm', x'0000803f', x'ffd8ffd9', 0, 0, 1, 1)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db := sqlite.New(path)
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	end := time.Date(2026, 1, 1, 0, 10, 0, 500000000, time.UTC)
	if p, err := db.PurgeVerifications(ctx, end.Add(store.MaxResultRetention-time.Nanosecond)); err != nil || p.Records != 0 {
		t.Fatalf("sweep within the day = %+v, %v", p, err)
	}
	if p, err := db.PurgeVerifications(ctx, end.Add(store.MaxResultRetention)); err != nil || p.Records != 1 {
		t.Fatalf("sweep a day after the end = %+v, %v; want the old record purged", p, err)
	}
	if v, err := db.Verification(ctx, "old"); err != nil || len(v.Refs) != 0 || v.UUID != "" {
		t.Errorf("old record after the purge = %+v, %v", v, err)
	}
}

// TestDeleteKeyLeavesNoBiometricBytes is the raw-file search of
// TestPurgeLeavesNoBiometricBytes after `glint keys delete`, with the
// database held open by a second handle (a running server) whose own
// sweep finishes what the deleting process's checkpoint could not.
func TestDeleteKeyLeavesNoBiometricBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := MustOpen(t)
	defer server.Close()
	dir := filepath.Dir(server.Path)
	cli := sqlite.New(server.Path)
	if err := cli.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	crop := noisyJPEG(t, 11, 112, 112)
	needle := crop[len(crop)/2 : len(crop)/2+64]
	uuid := "deleted-key-person-uuid"
	if err := server.CreateKey(ctx, &store.Key{ID: "k", SecretHash: []byte("h"), Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	v := &store.Verification{Token: "tok", KeyID: "k", UUID: uuid, ColorNumber: 6, LivenessPreferences: "none",
		Language: "0", ProcedureType: "raw_flash", ComparisonType: "0", MaxUploadTimes: 1, LifeTime: time.Hour,
		Status: store.StatusNotStarted, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Refs: []store.Reference{{Index: 1, Model: "m", Embedding: []float32{1, 2}, Crop: crop}}}
	if err := server.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	found := func() []string {
		var hits []string
		for name, b := range dirBytes(t, dir) {
			if bytes.Contains(b, needle) || bytes.Contains(b, []byte(uuid)) {
				hits = append(hits, name)
			}
		}
		return hits
	}
	if len(found()) == 0 {
		t.Fatal("the crop is not in the data directory before the deletion")
	}
	if err := cli.DeleteKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	// The server's sweep runs its checkpoint even with nothing to purge.
	if _, err := server.PurgeVerifications(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if hits := found(); len(hits) != 0 {
		t.Errorf("after deleting the key, its record's bytes are still in %v", hits)
	}
}
