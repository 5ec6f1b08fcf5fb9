// Package server is the driver's HTTP face: the Resource Driver API that
// Brent calls (execute, find), the management endpoints for probes, and
// the mapping of the domain's errors to HTTP answers. It decodes and
// answers; the work itself is done by lifecycle/ and discovery/.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/tnco-drivers/openstack-driver/discovery"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
)

// Executor carries out execute requests.
type Executor interface {
	Execute(ctx context.Context, req *lifecycle.ExecuteRequest,
		trace lifecycle.Trace) (*lifecycle.Accepted, error)
}

// Finder answers find requests.
type Finder interface {
	Find(ctx context.Context, req *discovery.FindRequest) (*discovery.Result,
		error)
}

// Pinger tries a deployment location.
type Pinger interface {
	Ping(ctx context.Context, loc *heat.Location) (bool, []heat.Check)
}

// Health reports whether a part the driver depends on works.
type Health interface {
	// Kafka checks that the broker answers.
	Kafka(ctx context.Context) error
	// Workers reports whether the pollers run.
	Workers() bool
	// JobQueue checks that the job queue's consumer runs.
	JobQueue() error
}

// Options configure the API.
type Options struct {
	MaxBodyBytes int64
	// Pinger answers POST /api/os/ping; nil leaves the route out.
	Pinger Pinger
	// Observe, when set, is told of every answered request, by route
	// template (never the raw path, which may hold ids).
	Observe func(route, method string, code int, d time.Duration)
}

// Server is the HTTP API.
type Server struct {
	opts   Options
	exec   Executor
	find   Finder
	health Health
	log    *slog.Logger
	router *mux.Router
}

// New builds the API's routes.
func New(opts Options, exec Executor, find Finder, health Health,
	log *slog.Logger) *Server {
	s := &Server{opts: opts, exec: exec, find: find, health: health,
		log: log, router: mux.NewRouter()}
	r := s.router
	r.HandleFunc("/api/driver/lifecycle/execute", s.execute).
		Methods(http.MethodPost)
	r.HandleFunc("/api/driver/references/find", s.findReference).
		Methods(http.MethodPost)
	r.HandleFunc("/management/health", s.healthz).Methods(http.MethodGet)
	r.HandleFunc("/management/live", s.live).Methods(http.MethodGet)
	r.HandleFunc("/management/ready", s.ready).Methods(http.MethodGet)
	r.HandleFunc(OpenAPIPath, OpenAPIHandler()).Methods(http.MethodGet)
	r.HandleFunc("/api/os/ping", s.ping).Methods(http.MethodPost)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter,
		req *http.Request) {
		s.fail(w, req, http.StatusNotFound, fmt.Sprintf(
			"no such endpoint: %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(
		w http.ResponseWriter, req *http.Request) {
		s.fail(w, req, http.StatusMethodNotAllowed, fmt.Sprintf(
			"%s is not allowed on %s", req.Method, req.URL.Path))
	})
	return s
}

// Handle adds a route, for the parts wired in beside the core API.
func (s *Server) Handle(path string, h http.HandlerFunc, methods ...string) {
	s.router.HandleFunc(path, h).Methods(methods...)
}

// ServeHTTP serves the API, recovering from a panic with a 500 so that
// one bad request never takes the process down.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic while serving a request", "path",
				req.URL.Path, "panic", fmt.Sprint(p))
			if !rec.wrote {
				s.fail(rec, req, http.StatusInternalServerError,
					"internal error in the driver")
			}
		}
		elapsed := time.Since(start)
		s.log.Debug("http request", "method", req.Method, "path",
			req.URL.Path, "status", rec.status,
			"ms", float64(elapsed.Microseconds())/1000)
		if s.opts.Observe != nil {
			s.opts.Observe(s.routeOf(req), req.Method, rec.status, elapsed)
		}
	}()
	s.router.ServeHTTP(rec, req)
}

// routeOf gives the route template a request matched, or "unmatched".
func (s *Server) routeOf(req *http.Request) string {
	var match mux.RouteMatch
	if s.router.Match(req, &match) && match.Route != nil {
		if t, err := match.Route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "unmatched"
}

type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	r.status, r.wrote = code, true
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) execute(w http.ResponseWriter, req *http.Request) {
	var body lifecycle.ExecuteRequest
	if !s.decode(w, req, &body) {
		return
	}
	trace := TraceOf(req.Header)
	if err := checkTrace(trace); err != nil {
		s.fail(w, req, http.StatusBadRequest, err.Error())
		return
	}
	accepted, err := s.exec.Execute(req.Context(), &body, trace)
	if err != nil {
		s.failErr(w, req, err, trace)
		return
	}
	topo := accepted.AssociatedTopology
	if topo == nil {
		topo = lifecycle.Topology{}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"requestId": accepted.RequestID, "associatedTopology": topo})
}

func (s *Server) ping(w http.ResponseWriter, req *http.Request) {
	if s.opts.Pinger == nil {
		s.fail(w, req, http.StatusNotFound, "ping is not enabled")
		return
	}
	var body struct {
		DeploymentLocation *lifecycle.DeploymentLocation `json:"deploymentLocation"`
	}
	if !s.decode(w, req, &body) {
		return
	}
	if body.DeploymentLocation == nil ||
		body.DeploymentLocation.Properties == nil {
		s.fail(w, req, http.StatusBadRequest, "deploymentLocation: "+
			"missing, or without properties")
		return
	}
	loc, err := heat.ParseLocation(body.DeploymentLocation.Name,
		body.DeploymentLocation.Properties)
	if err != nil {
		s.failErr(w, req, err, TraceOf(req.Header))
		return
	}
	reachable, checks := s.opts.Pinger.Ping(req.Context(), loc)
	writeJSON(w, http.StatusOK, map[string]any{"reachable": reachable,
		"checks": checks})
}

func (s *Server) findReference(w http.ResponseWriter, req *http.Request) {
	var body discovery.FindRequest
	if !s.decode(w, req, &body) {
		return
	}
	trace := TraceOf(req.Header)
	if err := checkTrace(trace); err != nil {
		s.fail(w, req, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.find.Find(req.Context(), &body)
	if err != nil {
		s.failErr(w, req, err, trace)
		return
	}
	// A nil result marshals as null: not finding is not an error.
	writeJSON(w, http.StatusOK, map[string]any{"result": res})
}

// decode reads a JSON body within the size limit; on failure it answers
// and returns false.
func (s *Server) decode(w http.ResponseWriter, req *http.Request,
	v any) bool {
	if ct := req.Header.Get("Content-Type"); ct != "" &&
		!strings.Contains(strings.ToLower(ct), "json") {
		s.fail(w, req, http.StatusUnsupportedMediaType, fmt.Sprintf(
			"Content-Type %q is not JSON", ct))
		return false
	}
	limited := http.MaxBytesReader(w, req.Body, s.opts.MaxBodyBytes)
	data, err := io.ReadAll(limited)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, req, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"the request body is larger than the limit of %d bytes",
			tooBig.Limit))
		return false
	case err != nil:
		s.fail(w, req, http.StatusBadRequest, "the request body could "+
			"not be read: "+err.Error())
		return false
	}
	if err := decodeJSON(data, v); err != nil {
		s.fail(w, req, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// decodeJSON turns encoding/json's errors into messages that name the
// field and say what was expected.
func decodeJSON(data []byte, v any) error {
	if len(strings.TrimSpace(string(data))) == 0 {
		return errors.New("the request body is empty; expected a JSON " +
			"object")
	}
	err := json.Unmarshal(data, v)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntax):
		return fmt.Errorf("the request body is not valid JSON (at byte "+
			"%d): %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Errorf("the request body must be a JSON object, "+
				"not %s", typ.Value)
		}
		return fmt.Errorf("%s must be %s, not %s", field,
			kindOf(typ.Type.Kind().String()), typ.Value)
	}
	return err
}

func kindOf(k string) string {
	switch k {
	case "map", "struct":
		return "an object"
	case "slice":
		return "a list"
	case "ptr", "string":
		return "a string"
	}
	return "a " + k
}

// Limits of the tracing context: it rides on every Kafka message and log
// line of the request, so it must stay small; Brent's ids are far below.
const (
	maxTraceHeaders = 16
	maxTraceValue   = 512
)

// checkTrace refuses a tracing context that would bloat every message of
// the request (and could make its job record too large for Kafka).
func checkTrace(trace lifecycle.Trace) error {
	if len(trace) > maxTraceHeaders {
		return fmt.Errorf("%d X-Tracectx-* headers; at most %d are "+
			"accepted", len(trace), maxTraceHeaders)
	}
	for k, v := range trace {
		if len(v) > maxTraceValue {
			return fmt.Errorf("header %s is %d bytes long; at most %d "+
				"are accepted", k, len(v), maxTraceValue)
		}
	}
	return nil
}

// TraceOf collects a request's X-Tracectx-* headers with lower-case
// names, as they go on its Kafka messages and log lines.
func TraceOf(h http.Header) lifecycle.Trace {
	var trace lifecycle.Trace
	for name, values := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-tracectx-") && len(values) > 0 {
			if trace == nil {
				trace = lifecycle.Trace{}
			}
			trace[lower] = values[0]
		}
	}
	return trace
}

// Error is the body of every error answer.
type Error struct {
	LocalizedMessage string `json:"localizedMessage"`
	Status           int    `json:"status"`
}

func (s *Server) fail(w http.ResponseWriter, req *http.Request, status int,
	msg string) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(req.Context(), level, "request refused", "path",
		req.URL.Path, "status", status, "reason", msg)
	writeJSON(w, status, Error{LocalizedMessage: msg, Status: status})
}

func (s *Server) failErr(w http.ResponseWriter, req *http.Request,
	err error, trace lifecycle.Trace) {
	status := StatusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error in the driver: " + msg
	}
	attrs := []any{"path", req.URL.Path, "status", status, "reason", msg}
	for k, v := range trace {
		attrs = append(attrs, k, v)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	s.log.Log(req.Context(), level, "request refused", attrs...)
	writeJSON(w, status, Error{LocalizedMessage: msg, Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type vital struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
	defer cancel()
	vitals := map[string]vital{"app": {Status: "OK"}}
	status := http.StatusOK
	if err := s.health.Kafka(ctx); err != nil {
		vitals["kafka"] = vital{Status: "UNHEALTHY", Detail: err.Error()}
		status = http.StatusServiceUnavailable
	} else {
		vitals["kafka"] = vital{Status: "OK"}
	}
	if err := s.health.JobQueue(); err != nil {
		vitals["jobQueue"] = vital{Status: "UNHEALTHY", Detail: err.Error()}
		status = http.StatusServiceUnavailable
	} else {
		vitals["jobQueue"] = vital{Status: "OK"}
	}
	if s.health.Workers() {
		vitals["workers"] = vital{Status: "OK"}
	} else {
		vitals["workers"] = vital{Status: "UNHEALTHY",
			Detail: "the pollers are not running"}
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"vitals": vitals})
}

func (s *Server) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "OK"})
}

func (s *Server) ready(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
	defer cancel()
	if err := s.health.Kafka(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{
			"status": "NOT_READY", "detail": err.Error()})
		return
	}
	if !s.health.Workers() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{
			"status": "NOT_READY", "detail": "the pollers are not running"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "READY"})
}
