package main

import (
	"context"
	"log/slog"

	"github.com/glint-id/glint/internal/notify"
)

// deliver runs the result-notification deliverer on the opened data
// directory until ctx is done and its deliveries in flight have ended.
// Every serve process on one database may deliver: claims on the queue
// keep them from posting the same attempt twice.
func deliver(ctx context.Context, d *data, logger *slog.Logger) {
	dl := &notify.Deliverer{Store: d.db, Secrets: d.keys, Logger: logger}
	dl.Run(ctx) // returns ctx's error
}
