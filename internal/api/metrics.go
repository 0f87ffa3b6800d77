package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the service's Prometheus metrics, in a registry of their own
// so that tests and several servers in one process never collide in the
// global one.
type Metrics struct {
	// Registry holds every metric below plus the Go runtime and process
	// collectors. Other packages may register more.
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	stages   *prometheus.HistogramVec
}

// NewMetrics creates the metrics and their registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "glint_http_requests_total",
			Help: "HTTP requests by endpoint, status and error code (OK on success).",
		}, []string{"endpoint", "status", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "glint_http_request_duration_seconds",
			Help: "Time from request start to response, by endpoint.",
			// Uploads and face detection make get_token slow by web
			// standards; buckets reach past the 20 MB upload case.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "glint_engine_stage_duration_seconds",
			Help:    "Time spent in each image/face processing stage.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"stage"}),
	}
	m.Registry.MustRegister(
		m.requests, m.duration, m.stages,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ObserveStage records one stage duration; see the package-level
// ObserveStage for use from inside a request.
func (m *Metrics) ObserveStage(stage string, d time.Duration) {
	m.stages.WithLabelValues(stage).Observe(d.Seconds())
}

func (m *Metrics) observeRequest(endpoint string, status int, code string, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status), code).Inc()
	m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Mux serves the metrics at GET /metrics and nothing else (404), for a
// listener of their own that only the operator's scraper reaches.
func (m *Metrics) Mux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

type metricsKey struct{}

// ObserveStage records the duration of one processing stage (for example
// "detect", "align", "embed") of the request whose context is ctx, in the
// glint_engine_stage_duration_seconds histogram. Engines call it; outside a
// request served by this package it does nothing.
func ObserveStage(ctx context.Context, stage string, d time.Duration) {
	if m, ok := ctx.Value(metricsKey{}).(*Metrics); ok {
		m.ObserveStage(stage, d)
	}
}
