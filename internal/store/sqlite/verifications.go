package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/glint-id/glint/internal/store"
)

// CreateVerification implements store.Store. The call counter moves by a
// conditional UPDATE in the same transaction as the inserts, so concurrent
// requests of one key can never overshoot its limit.
func (db *DB) CreateVerification(ctx context.Context, v *store.Verification) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE keys SET calls = calls + 1 WHERE id = ? AND (call_limit = 0 OR calls < call_limit)`, v.KeyID)
		if err != nil {
			return fmt.Errorf("sqlite: count call: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: count call: %w", err)
		} else if n == 0 {
			var exists int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM keys WHERE id = ?`, v.KeyID).Scan(&exists)
			if err != nil {
				return fmt.Errorf("sqlite: count call: %w", err)
			}
			if exists == 0 {
				return fmt.Errorf("key %q: %w", v.KeyID, store.ErrNotFound)
			}
			return fmt.Errorf("key %q: %w", v.KeyID, store.ErrLimitReached)
		}

		var bizNo sql.NullString
		if v.BizNo != nil {
			bizNo = sql.NullString{String: *v.BizNo, Valid: true}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO verifications (
			token, key_id, biz_no, uuid, color_number, liveness_preferences, language, procedure_type,
			comparison_type, max_upload_times, life_time_seconds, multi_oriented_detection,
			fail_when_ref_multiple_faces, return_multifaces_tag, face_occlusion_detection,
			status, attempts, fetches, issued_at, expires_at, subject, result_retention_seconds
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			(SELECT result_retention_seconds FROM keys WHERE id = ?))`,
			v.Token, v.KeyID, bizNo, v.UUID, v.ColorNumber, v.LivenessPreferences, v.Language, v.ProcedureType,
			v.ComparisonType, v.MaxUploadTimes, int64(v.LifeTime/time.Second), boolInt(v.MultiOrientedDetection),
			boolInt(v.FailWhenRefMultipleFaces), boolInt(v.ReturnMultifacesTag), boolInt(v.FaceOcclusionDetection),
			string(v.Status), v.Attempts, v.Fetches, formatTime(v.IssuedAt), formatTime(v.ExpiresAt),
			nullBytes(v.Subject), v.KeyID)
		if isUniqueViolation(err) {
			return fmt.Errorf("token: %w", store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: insert verification: %w", err)
		}
		var retention int64
		if err := tx.QueryRowContext(ctx, `SELECT result_retention_seconds FROM verifications WHERE token = ?`,
			v.Token).Scan(&retention); err != nil {
			return fmt.Errorf("sqlite: insert verification: %w", err)
		}
		v.ResultRetention = time.Duration(retention) * time.Second

		for _, r := range v.Refs {
			_, err := tx.ExecContext(ctx, `INSERT INTO verification_refs (
				token, idx, model, embedding, crop, box_x0, box_y0, box_x1, box_y1, original
			) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				v.Token, r.Index, r.Model, encodeEmbedding(r.Embedding), nonNil(r.Crop),
				r.Box.Min.X, r.Box.Min.Y, r.Box.Max.X, r.Box.Max.Y, r.Original)
			if isUniqueViolation(err) {
				return fmt.Errorf("reference %d given twice: %w", r.Index, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("sqlite: insert reference: %w", err)
			}
		}
		return nil
	})
}

// Verification implements store.Store.
func (db *DB) Verification(ctx context.Context, token string) (*store.Verification, error) {
	var (
		v                                store.Verification
		bizNo                            sql.NullString
		lifeSeconds, retention           int64
		multi, failMulti, retMulti, occl int
		status, issued, expires          string
	)
	err := db.db.QueryRowContext(ctx, `SELECT
			token, key_id, biz_no, uuid, color_number, liveness_preferences, language, procedure_type,
			comparison_type, max_upload_times, life_time_seconds, multi_oriented_detection,
			fail_when_ref_multiple_faces, return_multifaces_tag, face_occlusion_detection,
			status, attempts, fetches, issued_at, expires_at, subject, result_retention_seconds
		FROM verifications WHERE token = ?`, token).Scan(
		&v.Token, &v.KeyID, &bizNo, &v.UUID, &v.ColorNumber, &v.LivenessPreferences, &v.Language, &v.ProcedureType,
		&v.ComparisonType, &v.MaxUploadTimes, &lifeSeconds, &multi, &failMulti, &retMulti, &occl,
		&status, &v.Attempts, &v.Fetches, &issued, &expires, &v.Subject, &retention)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("verification: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read verification: %w", err)
	}
	if bizNo.Valid {
		v.BizNo = &bizNo.String
	}
	v.LifeTime = time.Duration(lifeSeconds) * time.Second
	v.ResultRetention = time.Duration(retention) * time.Second
	v.MultiOrientedDetection = multi != 0
	v.FailWhenRefMultipleFaces = failMulti != 0
	v.ReturnMultifacesTag = retMulti != 0
	v.FaceOcclusionDetection = occl != 0
	v.Status = store.Status(status)
	if v.IssuedAt, err = parseTime(issued); err != nil {
		return nil, err
	}
	if v.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}

	rows, err := db.db.QueryContext(ctx, `SELECT idx, model, embedding, crop, box_x0, box_y0, box_x1, box_y1, original
		FROM verification_refs WHERE token = ? ORDER BY idx`, token)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read references: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r   store.Reference
			emb []byte
		)
		if err := rows.Scan(&r.Index, &r.Model, &emb, &r.Crop, &r.Box.Min.X, &r.Box.Min.Y,
			&r.Box.Max.X, &r.Box.Max.Y, &r.Original); err != nil {
			return nil, fmt.Errorf("sqlite: read reference: %w", err)
		}
		if r.Embedding, err = decodeEmbedding(emb); err != nil {
			return nil, err
		}
		v.Refs = append(v.Refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read references: %w", err)
	}
	return &v, nil
}

// Embeddings are stored as little-endian IEEE 754 float32s: compact, exact,
// and readable by any backend or tool without a schema for arrays.
func encodeEmbedding(e []float32) []byte {
	b := make([]byte, 0, 4*len(e))
	for _, f := range e {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func decodeEmbedding(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("sqlite: embedding of %d bytes is not float32s", len(b))
	}
	e := make([]float32, len(b)/4)
	for i := range e {
		e[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return e, nil
}

// nullBytes stores an empty b as NULL, for nullable BLOB columns where
// empty means absent.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nonNil keeps NOT NULL BLOB columns satisfied by an empty value.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
