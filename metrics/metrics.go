// Package metrics is the driver's Prometheus instrumentation: one
// registry per process (no global state), and small methods the other
// packages call at the moments worth counting. Labels are bounded sets
// (routes, transitions, codes, services, operations, topics): never a
// request id, stack name or location.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "openstack_driver"

// Metrics holds the driver's collectors.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	accepted      *prometheus.CounterVec
	finished      *prometheus.CounterVec
	stackDuration *prometheus.HistogramVec
	cloudCalls    *prometheus.CounterVec
	cloudDuration *prometheus.HistogramVec
	produced      *prometheus.CounterVec
	packageBytes  prometheus.Histogram
	queueLag      prometheus.Gauge
}

// New registers the driver's metrics on a registry of their own, with the
// Go runtime and process collectors beside them.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg}

	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route, method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method"})
	m.accepted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "lifecycle_requests_accepted_total",
		Help: "Lifecycle requests accepted (answered 202), by transition.",
	}, []string{"transition"})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "lifecycle_requests_finished_total",
		Help: "Lifecycle requests whose final message was published, by " +
			"transition, status and failure code (empty when COMPLETE).",
	}, []string{"transition", "status", "failure_code"})
	m.stackDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "stack_duration_seconds",
		Help: "Time from a request's acceptance to its final message, by " +
			"transition and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 15),
	}, []string{"transition", "outcome"})
	m.cloudCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "openstack_api_calls_total",
		Help: "Calls to Keystone, Heat and Neutron, by service, operation " +
			"and status class (2xx, 3xx, 4xx, 5xx, error).",
	}, []string{"service", "operation", "status_class"})
	m.cloudDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "openstack_api_call_duration_seconds",
		Help:    "Time of a call to Keystone, Heat or Neutron.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"service", "operation"})
	m.produced = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "kafka_messages_produced_total",
		Help: "Kafka records produced, by topic and result (ok, error).",
	}, []string{"topic", "result"})
	m.packageBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "package_bytes",
		Help:    "Unzipped size of the resource packages received.",
		Buckets: prometheus.ExponentialBuckets(1024, 4, 10),
	})
	m.queueLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "job_queue_lag_records",
		Help: "Records of the job queue not yet committed by the group " +
			"(read every 15 s).",
	})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "The driver's version and Go version; always 1.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)

	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration,
		m.accepted, m.finished, m.stackDuration, m.cloudCalls,
		m.cloudDuration, m.produced, m.packageBytes, m.queueLag, build} {
		f(c)
	}
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gauge adds a gauge whose value is read at scrape time.
func (m *Metrics) Gauge(name, help string, value func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: name, Help: help}, value))
}

// HTTP counts one answered HTTP request.
func (m *Metrics) HTTP(route, method string, code int, d time.Duration) {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut,
		http.MethodDelete, http.MethodHead, http.MethodPatch,
		http.MethodOptions:
	default:
		// A client may send any method: the label stays bounded.
		method = "other"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// Accepted counts an accepted lifecycle request.
func (m *Metrics) Accepted(transition string) {
	m.accepted.WithLabelValues(transition).Inc()
}

// Finished counts a request whose final message was published.
func (m *Metrics) Finished(transition, status, failureCode string,
	d time.Duration) {
	m.finished.WithLabelValues(transition, status, failureCode).Inc()
	m.stackDuration.WithLabelValues(transition, status).Observe(d.Seconds())
}

// CloudCall counts one call to an OpenStack service; code 0 is a call
// that got no answer.
func (m *Metrics) CloudCall(service, operation string, code int,
	d time.Duration) {
	class := "error"
	if code > 0 {
		class = strconv.Itoa(code/100) + "xx"
	}
	m.cloudCalls.WithLabelValues(service, operation, class).Inc()
	m.cloudDuration.WithLabelValues(service, operation).Observe(d.Seconds())
}

// Produced counts one Kafka record.
func (m *Metrics) Produced(topic string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.produced.WithLabelValues(topic, result).Inc()
}

// PackageSize records the unzipped size of a package.
func (m *Metrics) PackageSize(bytes int) { m.packageBytes.Observe(float64(bytes)) }

// QueueLag sets the job queue's lag.
func (m *Metrics) QueueLag(records int64) { m.queueLag.Set(float64(records)) }
