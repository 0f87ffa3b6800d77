package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

// CreateVerification implements store.Store. The call counter moves by a
// conditional UPDATE in the same transaction as the inserts: the UPDATE
// locks the key's row, so concurrent requests of one key, on any node,
// take turns and each re-checks the limit against the count the previous
// one committed.
func (db *DB) CreateVerification(ctx context.Context, v *store.Verification) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var retention int64
		err := tx.QueryRow(ctx, `UPDATE keys SET calls = calls + 1
			WHERE id = $1 AND (call_limit = 0 OR calls < call_limit)
			RETURNING result_retention_seconds`, v.KeyID).Scan(&retention)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM keys WHERE id = $1)`, v.KeyID).Scan(&exists); err != nil {
				return fmt.Errorf("postgres: count call: %w", err)
			}
			if !exists {
				return fmt.Errorf("key %q: %w", v.KeyID, store.ErrNotFound)
			}
			return fmt.Errorf("key %q: %w", v.KeyID, store.ErrLimitReached)
		}
		if err != nil {
			return fmt.Errorf("postgres: count call: %w", err)
		}

		issued, issuedNS := splitTime(v.IssuedAt)
		expires, expiresNS := splitTime(v.ExpiresAt)
		_, err = tx.Exec(ctx, `INSERT INTO verifications (
			token, key_id, biz_no, uuid, color_number, liveness_preferences, language, procedure_type,
			comparison_type, max_upload_times, life_time_seconds, multi_oriented_detection,
			fail_when_ref_multiple_faces, return_multifaces_tag, face_occlusion_detection,
			status, attempts, fetches, issued_at, issued_at_ns, expires_at, expires_at_ns, result_retention_seconds,
			subject
		) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
			v.Token, v.KeyID, v.BizNo, v.UUID, v.ColorNumber, v.LivenessPreferences, v.Language, v.ProcedureType,
			v.ComparisonType, v.MaxUploadTimes, int64(v.LifeTime/time.Second), v.MultiOrientedDetection,
			v.FailWhenRefMultipleFaces, v.ReturnMultifacesTag, v.FaceOcclusionDetection,
			string(v.Status), v.Attempts, v.Fetches, issued, issuedNS, expires, expiresNS, retention,
			nullBytes(v.Subject))
		switch sqlState(err) {
		case "":
		case uniqueViolation:
			return fmt.Errorf("token: %w", store.ErrConflict)
		case foreignKeyViolation:
			return fmt.Errorf("key %q: %w", v.KeyID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: insert verification: %w", err)
		}
		v.ResultRetention = time.Duration(retention) * time.Second

		for _, r := range v.Refs {
			crop := refBlobKey(v.Token, r.Index, "crop")
			var original *string
			if r.Original != nil {
				k := refBlobKey(v.Token, r.Index, "original")
				original = &k
			}
			embedding := r.Embedding
			if embedding == nil {
				embedding = []float32{} // NOT NULL
			}
			_, err := tx.Exec(ctx, `INSERT INTO verification_refs (
				token, idx, model, embedding, crop_blob, box_x0, box_y0, box_x1, box_y1, original_blob
			) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				v.Token, r.Index, r.Model, embedding, crop,
				r.Box.Min.X, r.Box.Min.Y, r.Box.Max.X, r.Box.Max.Y, original)
			if sqlState(err) == uniqueViolation {
				return fmt.Errorf("reference %d given twice: %w", r.Index, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("postgres: insert reference: %w", err)
			}
			if err := db.Blobs.Put(ctx, tx, crop, r.Crop); err != nil {
				return err
			}
			if original != nil {
				if err := db.Blobs.Put(ctx, tx, *original, r.Original); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Verification implements store.Store.
func (db *DB) Verification(ctx context.Context, token string) (*store.Verification, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var (
		v                      store.Verification
		status                 string
		lifeSeconds, retention int64
		issued, expires        time.Time
		issuedNS, expiresNS    int
	)
	// One snapshot for the row, its references and their blobs.
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT
				token, key_id, biz_no, uuid, color_number, liveness_preferences, language, procedure_type,
				comparison_type, max_upload_times, life_time_seconds, multi_oriented_detection,
				fail_when_ref_multiple_faces, return_multifaces_tag, face_occlusion_detection,
				status, attempts, fetches, issued_at, issued_at_ns, expires_at, expires_at_ns, result_retention_seconds,
				subject
			FROM verifications WHERE token = $1`, token).Scan(
			&v.Token, &v.KeyID, &v.BizNo, &v.UUID, &v.ColorNumber, &v.LivenessPreferences, &v.Language, &v.ProcedureType,
			&v.ComparisonType, &v.MaxUploadTimes, &lifeSeconds, &v.MultiOrientedDetection,
			&v.FailWhenRefMultipleFaces, &v.ReturnMultifacesTag, &v.FaceOcclusionDetection,
			&status, &v.Attempts, &v.Fetches, &issued, &issuedNS, &expires, &expiresNS, &retention, &v.Subject)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("verification: %w", store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: read verification: %w", err)
		}
		v.Refs, err = db.readRefs(ctx, tx, token)
		return err
	})
	if err != nil {
		return nil, err
	}
	v.Status = store.Status(status)
	v.LifeTime = time.Duration(lifeSeconds) * time.Second
	v.ResultRetention = time.Duration(retention) * time.Second
	v.IssuedAt = joinTime(issued, issuedNS)
	v.ExpiresAt = joinTime(expires, expiresNS)
	return &v, nil
}

// readRefs reads token's references with their blobs.
func (db *DB) readRefs(ctx context.Context, q DBTX, token string) ([]store.Reference, error) {
	rows, err := q.Query(ctx, `SELECT idx, model, embedding, crop_blob, box_x0, box_y0, box_x1, box_y1, original_blob
		FROM verification_refs WHERE token = $1 ORDER BY idx`, token)
	if err != nil {
		return nil, fmt.Errorf("postgres: read references: %w", err)
	}
	type ref struct {
		store.Reference
		crop     string
		original *string
	}
	refs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ref, error) {
		var r ref
		err := row.Scan(&r.Index, &r.Model, &r.Embedding, &r.crop, &r.Box.Min.X, &r.Box.Min.Y,
			&r.Box.Max.X, &r.Box.Max.Y, &r.original)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read references: %w", err)
	}
	// One round trip for every blob of every reference.
	var keys []string
	for _, r := range refs {
		keys = append(keys, r.crop)
		if r.original != nil {
			keys = append(keys, *r.original)
		}
	}
	blobs, err := db.Blobs.Get(ctx, q, keys...)
	if err != nil {
		return nil, err
	}
	var out []store.Reference
	for _, r := range refs {
		r.Crop, blobs = blobs[0], blobs[1:]
		if r.original != nil {
			r.Original, blobs = blobs[0], blobs[1:]
		}
		out = append(out, r.Reference)
	}
	return out, nil
}

// nullBytes stores an empty b as NULL, for nullable bytea columns where
// empty means absent.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// deleteBlobs deletes the blobs of the records tokens: their references'
// crops and originals and their best images. The caller deletes or blanks
// the rows that name them in the same transaction.
func (db *DB) deleteBlobs(ctx context.Context, tx pgx.Tx, tokens []string) error {
	if len(tokens) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT crop_blob FROM verification_refs WHERE token = ANY($1)
		UNION ALL SELECT original_blob FROM verification_refs WHERE token = ANY($1) AND original_blob IS NOT NULL
		UNION ALL SELECT blob FROM verification_images WHERE token = ANY($1)`, tokens)
	if err != nil {
		return fmt.Errorf("postgres: find blobs: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: find blobs: %w", err)
	}
	return db.Blobs.Delete(ctx, tx, keys...)
}
