package main

import (
	"context"
	"log/slog"

	"github.com/glint-id/glint/internal/notify"
)

// deliver runs the result-notification deliverer on the opened data
// directory until ctx is done and its deliveries in flight have ended.
// Every serve process on one database may deliver: claims on the queue
// keep them from posting the same attempt twice. Receivers at loopback,
// private, link-local and other non-public addresses are refused as the
// deliverer connects, unless allowPrivate (serve --notify-allow-private).
func deliver(ctx context.Context, d *data, logger *slog.Logger, allowPrivate bool) {
	dl := &notify.Deliverer{Store: d.db, Secrets: d.keys, Logger: logger, AllowPrivate: allowPrivate}
	dl.Run(ctx) // returns ctx's error
}
