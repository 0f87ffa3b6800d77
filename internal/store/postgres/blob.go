package postgres

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/glint-id/glint/internal/store"
)

// BlobStore keeps the large binary data of verification records (reference
// face crops, uploaded originals, best images) under keys that the rows
// name. Embeddings, secrets and everything else small stay in the rows.
//
// The store calls Put and Delete inside the transaction that writes or
// deletes the rows naming the blobs, and deletes a record's blobs whenever
// it purges or deletes the record; so with TableBlobs, the default, a blob
// exists exactly while a committed row names it.
//
// # An object store
//
// An object store (S3 and the like) would implement the same three
// methods, but cannot join the database transaction, which changes two
// things:
//
//   - Put uploads before the rows commit, so a transaction that rolls back
//     leaves an object no row names. Keys are derived from the token (see
//     refBlobKey), so such an orphan is found by listing a token's prefix
//     and checking for its row; a periodic sweep deletes orphans older than
//     any transaction can be.
//   - Delete must not delete before the commit (a rollback would leave rows
//     naming missing objects), and must not be forgotten after it (a crash
//     would leave biometric data behind with nothing pointing at it). So it
//     would insert the keys into an outbox table in tx, and a step after
//     the commit (the interface would gain a method the store calls then)
//     deletes the objects and removes their outbox rows only once the
//     object store confirmed. Deletion stays provable: the record's rows are
//     gone, the outbox is empty, and the bucket keeps no older versions
//     (versioning and object-lock off, or a lifecycle rule that expires
//     noncurrent versions at once).
type BlobStore interface {
	// Put stores data under key as part of tx. Returns ErrConflict if the
	// key is taken.
	Put(ctx context.Context, tx pgx.Tx, key string, data []byte) error

	// Get returns the blobs under keys, in the same order. A missing one
	// is an error wrapping store.ErrNotFound.
	Get(ctx context.Context, q DBTX, keys ...string) ([][]byte, error)

	// Delete removes the blobs under keys as part of tx; keys that do not
	// exist are skipped.
	Delete(ctx context.Context, tx pgx.Tx, keys ...string) error
}

// TableBlobs is the default BlobStore: bytea values in the blobs table of
// the store's own database, written and deleted in the callers'
// transactions. (What PostgreSQL does with deleted values on disk is
// explained in retention.go.)
type TableBlobs struct{}

var _ BlobStore = TableBlobs{}

// Put implements BlobStore.
func (TableBlobs) Put(ctx context.Context, tx pgx.Tx, key string, data []byte) error {
	if data == nil {
		data = []byte{} // NOT NULL
	}
	_, err := tx.Exec(ctx, `INSERT INTO blobs (key, data) VALUES ($1, $2)`, key, data)
	if sqlState(err) == uniqueViolation {
		return fmt.Errorf("blob %q: %w", key, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: store blob: %w", err)
	}
	return nil
}

// Get implements BlobStore.
func (TableBlobs) Get(ctx context.Context, q DBTX, keys ...string) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT key, data FROM blobs WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("postgres: read blobs: %w", err)
	}
	byKey := make(map[string][]byte, len(keys))
	var (
		key  string
		data []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &data}, func() error {
		byKey[key] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read blobs: %w", err)
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		b, ok := byKey[k]
		if !ok {
			return nil, fmt.Errorf("blob %q: %w", k, store.ErrNotFound)
		}
		out[i] = b
	}
	return out, nil
}

// Delete implements BlobStore.
func (TableBlobs) Delete(ctx context.Context, tx pgx.Tx, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM blobs WHERE key = ANY($1)`, keys); err != nil {
		return fmt.Errorf("postgres: delete blobs: %w", err)
	}
	return nil
}

// Blob keys are derived from the token, escaped so that no token can name
// another's blobs: v/TOKEN/ref1.crop, v/TOKEN/ref1.original, v/TOKEN/image0.
func refBlobKey(token string, idx int, part string) string {
	return "v/" + url.PathEscape(token) + "/ref" + strconv.Itoa(idx) + "." + part
}

func imageBlobKey(token string, idx int) string {
	return "v/" + url.PathEscape(token) + "/image" + strconv.Itoa(idx)
}
