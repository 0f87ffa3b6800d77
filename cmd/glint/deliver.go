package main

import (
	"context"
	"log/slog"

	"github.com/glint-id/glint/internal/notify"
)

// startDeliverer runs the result-notification deliverer on the opened
// data directory until ctx is done, and returns a function that stops it
// and waits for the deliveries in flight, to call before the store
// closes. Every serve process on one data directory may deliver: claims
// on the queue keep them from posting the same attempt twice.
func startDeliverer(ctx context.Context, d *data, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	dl := &notify.Deliverer{Store: d.db, Secrets: d.keys, Logger: logger}
	go func() {
		defer close(done)
		dl.Run(ctx) // returns ctx's error
	}()
	return func() {
		cancel()
		<-done
	}
}
