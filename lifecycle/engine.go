package lifecycle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tnco-drivers/openstack-driver/failure"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/jobs"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
)

// Bus is what the engine needs of Kafka.
type Bus interface {
	Publish(ctx context.Context, topic, key string, value []byte,
		headers []kafka.Header) error
	Ping(ctx context.Context) error
}

// Queue is the durable job queue: a job is recorded before Heat is asked
// to change anything, so that no stack is left without a request that
// ends in a final message.
type Queue interface {
	// Enqueue records a job; it returns once Kafka has it.
	Enqueue(ctx context.Context, key string, payload []byte) error
	// Finish ends a recorded job that needs no following.
	Finish(ctx context.Context, key string) error
	// Done ends a delivered job whose final message is published.
	Done(ctx context.Context, d *jobs.Delivery) error
}

// Observer is told of the moments worth counting; metrics implement it.
type Observer interface {
	Accepted(transition string)
	Finished(transition, status, failureCode string, d time.Duration)
	PackageSize(bytes int)
}

type noObserver struct{}

func (noObserver) Accepted(string)                                {}
func (noObserver) Finished(string, string, string, time.Duration) {}
func (noObserver) PackageSize(int)                                {}

// Settings tune the engine.
type Settings struct {
	EventsTopic string
	// ProgressTopic receives progress events; empty turns them off.
	ProgressTopic string
	// ProgressInterval is the least time between two progress reads of
	// one request's stack.
	ProgressInterval time.Duration
	PackageLimits    resourcepkg.Limits
	StackTimeoutMins int
	DeadlineMargin   time.Duration
	DisableRollback  bool
	AdoptableStates  []string
	PollInterval     time.Duration
	PollMaxInterval  time.Duration
	Workers          int
	// DeleteRetries is how many times a failed stack delete is asked
	// again before the request fails.
	DeleteRetries int
	// MaxHeatRequestBytes bounds a stack's template, files and
	// environment together, as Heat's own request limit does.
	MaxHeatRequestBytes int
	// OpenStackTimeout bounds the Heat calls made while answering.
	OpenStackTimeout time.Duration
	// Observer, when set, is told of accepted and finished requests.
	Observer Observer
	// BatchPolling lets one stack list call per location answer for
	// every request whose stack has not changed.
	BatchPolling bool
}

// Engine carries out execute requests: it checks them, asks Heat, and
// hands each accepted request to the poller that publishes its end.
type Engine struct {
	set     Settings
	clients *heat.Clients
	bus     Bus
	queue   Queue
	log     *slog.Logger
	poller  *Poller
	// board is nil when batch polling is off.
	board *statusBoard
	// creates tells this replica's poller about its own stack creates.
	creates createLedger
}

// NewEngine wires an engine; Run starts its poller.
func NewEngine(set Settings, clients *heat.Clients, bus Bus, queue Queue,
	log *slog.Logger) *Engine {
	if set.Observer == nil {
		set.Observer = noObserver{}
	}
	e := &Engine{set: set, clients: clients, bus: bus, queue: queue,
		log: log}
	e.poller = newPoller(e)
	e.creates.ids = map[string]string{}
	if set.BatchPolling {
		e.board = newStatusBoard(set.PollInterval / 2)
	}
	return e
}

// Run polls accepted requests until ctx ends, then lets in-flight polls
// finish.
func (e *Engine) Run(ctx context.Context) { e.poller.run(ctx) }

// Pending is the number of requests waiting for their stack.
func (e *Engine) Pending() int { return e.poller.Load() }

// Jobs is the handler of the job queue's deliveries.
func (e *Engine) Jobs() jobs.Handler { return e.poller }

// Trace is the tracing context of a request: its X-Tracectx-* headers,
// with lower-case names.
type Trace map[string]string

// Accepted is the answer to an accepted request.
type Accepted struct {
	RequestID          string
	AssociatedTopology Topology
}

// Execute carries out one execute request up to the point where Heat has
// accepted the work; the poller takes it from there.
func (e *Engine) Execute(ctx context.Context, req *ExecuteRequest,
	trace Trace) (*Accepted, error) {
	t, err := req.Validate()
	if err != nil {
		return nil, err
	}
	loc, err := heat.ParseLocation(req.DeploymentLocation.Name,
		req.DeploymentLocation.Properties)
	if err != nil {
		return nil, err
	}
	job := &job{
		RequestID:     newRequestID(),
		Transition:    t,
		LocationName:  req.DeploymentLocation.Name,
		LocationProps: req.DeploymentLocation.Properties,
		Location:      loc,
		Trace:         trace,
		Started:       time.Now().UTC(),
	}
	log := e.log.With("requestId", job.RequestID, "transition", string(t),
		"location", loc.Name)
	for k, v := range trace {
		log = log.With(k, v)
	}

	var acc *Accepted
	switch t {
	case Create:
		acc, err = e.create(ctx, req, job, log)
	case Delete:
		acc, err = e.delete(ctx, req, job, log)
	default:
		acc, err = e.adopt(ctx, req, job, log)
	}
	if err == nil {
		e.set.Observer.Accepted(string(t))
	}
	return acc, err
}

// ready checks, before anything touches Heat, that the request's end can
// be published: a stack must never be left without a final message.
func (e *Engine) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return e.bus.Ping(ctx)
}

func (e *Engine) create(ctx context.Context, req *ExecuteRequest, job *job,
	log *slog.Logger) (*Accepted, error) {
	in, err := e.createInput(req)
	if err != nil {
		return nil, err
	}
	job.Deadline = job.Started.Add(time.Duration(in.TimeoutMins)*
		time.Minute + e.set.DeadlineMargin)
	job.StackName, job.ResourceTag = in.Name, in.Tags[0]
	if id := stackIDProperty(req); id != "" {
		return e.reuse(ctx, job, id, log)
	}

	// The job goes on record before Heat is asked, with the stack's name:
	// should this replica die before Heat answers, the replica that takes
	// the job finds the stack by name (and its tag) or reports the end.
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	if err := e.record(ctx, job); err != nil {
		return nil, err
	}
	// From here on the work must not stop because Brent hung up: a stack
	// Heat creates must be followed to its end.
	ctx = context.WithoutCancel(ctx)
	e.creates.begin(job.RequestID)
	cloud, err := e.clients.Cloud(ctx, job.Location)
	if err != nil {
		e.creates.end(job.RequestID, "")
		e.unrecord(ctx, job, log)
		return nil, err
	}
	id, err := cloud.CreateStack(ctx, in)
	if err != nil {
		id, err = e.afterCreateRefused(ctx, cloud, in, err)
	}
	e.creates.end(job.RequestID, id)
	if err != nil && !heat.IsUnavailable(err) {
		e.unrecord(ctx, job, log)
	}
	// When Heat could not be heard (a timeout, a 5xx), the stack may
	// exist all the same: the job stays on record, and the replica that
	// takes it finds the stack by name or reports that there is none.
	var refused *refusal
	if errors.As(err, &refused) {
		return e.failNow(ctx, job, refused.code, refused.text, log)
	}
	if err != nil {
		return nil, err
	}
	log.Info("request accepted; stack create started", "stack", in.Name,
		"stackId", id)
	return accepted(job, StackTopology(id)), nil
}

// reuse follows the existing stack a Create names in its stack_id
// property instead of creating one.
func (e *Engine) reuse(ctx context.Context, job *job, id string,
	log *slog.Logger) (*Accepted, error) {
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	cloud, err := e.clients.Cloud(ctx, job.Location)
	if err != nil {
		return nil, err
	}
	stack, err := cloud.GetStack(ctx, "", id)
	if heat.IsNotFound(err) || (err == nil && stack.Deleted()) {
		return e.failNow(ctx, job, failure.ResourceNotFound,
			fmt.Sprintf("stack %s named by the stack_id property "+
				"does not exist", id), log)
	}
	if err != nil {
		return nil, err
	}
	job.StackID, job.StackName = stack.ID, stack.Name
	job.ResourceTag = ""
	if err := e.record(ctx, job); err != nil {
		return nil, err
	}
	log.Info("request accepted; using the existing stack",
		"stack", stack.Name, "stackId", stack.ID)
	return accepted(job, StackTopology(stack.ID)), nil
}

// record puts a job on the durable queue, within a time Brent can wait
// for an answer: a broker that answers the ping but does not take writes
// (no leader, too few in-sync replicas) is a 503, not a hung call.
func (e *Engine) record(ctx context.Context, j *job) error {
	payload, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return e.queue.Enqueue(ctx, j.RequestID, payload)
}

// unrecord ends a recorded job that Heat refused, so that no replica
// follows it. Should that fail, the replica that gets the job finds no
// stack of this resource and reports the request failed, which is at
// worst a second final message for a request Brent already has an answer
// for.
func (e *Engine) unrecord(ctx context.Context, j *job, log *slog.Logger) {
	if err := e.queue.Finish(ctx, j.RequestID); err != nil {
		log.Warn("job not ended on the queue", "error", err.Error())
	}
}

// refusal is Heat declining a stack for a reason with a failure code; the
// request is accepted and fails at once, so that Brent sees the code.
type refusal struct {
	code failure.Code
	text string
}

func (r *refusal) Error() string { return string(r.code) + ": " + r.text }

// afterCreateRefused decides what a refused create means. A name taken by
// a stack tagged with this resource's id is a repeated Create: that stack
// is reused.
func (e *Engine) afterCreateRefused(ctx context.Context, cloud *heat.Cloud,
	in heat.CreateInput, err error) (string, error) {
	var api *heat.APIError
	if !errors.As(err, &api) {
		return "", err
	}
	switch {
	case api.Status == 409:
		existing, ferr := cloud.FindStack(ctx, in.Name)
		if ferr == nil && !existing.Deleted() && existing.HasTag(in.Tags[0]) {
			return existing.ID, nil
		}
		if ferr != nil && heat.IsUnavailable(ferr) {
			// Whose the stack is cannot be told now: Brent may retry.
			return "", ferr
		}
		return "", &refusal{failure.ResourceAlreadyExists, fmt.Sprintf(
			"a stack named %s already exists and was not created for "+
				"this resource: %s", in.Name, api.Message)}
	case (api.Status == 403 || api.Status == 413 ||
		// Heat reports its own limits (stacks per project) as a 400.
		api.Status == 400) && failure.IsQuota(api.Message):
		return "", &refusal{failure.InsufficientCapacity, api.Message}
	case api.Status == 404:
		return "", &refusal{failure.ResourceNotFound, api.Message}
	case api.Status == 400 && failure.IsMissingReference(api.Message):
		return "", &refusal{failure.ResourceNotFound, api.Message}
	}
	return "", err
}

// createInput builds the stack from the package and the properties; every
// problem found here is the request's, before Heat is asked anything.
func (e *Engine) createInput(req *ExecuteRequest) (heat.CreateInput, error) {
	var in heat.CreateInput
	pkg, err := resourcepkg.Decode(*req.DriverFiles, e.set.PackageLimits)
	if err != nil {
		return in, err
	}
	tmplType := strings.ToUpper(req.RequestProperties.String(
		"template-type"))
	_, _, hasHeat := pkg.File("heat.yaml", "heat.yml")
	_, _, hasTosca := pkg.File("tosca.yaml", "tosca.yml")
	if tmplType == "TOSCA" || (!hasHeat && hasTosca) {
		return in, &RequestError{Field: "driverFiles", Problem: "TOSCA " +
			"Create templates are not supported by the OpenStack " +
			"driver; put a Heat template in heat.yaml"}
	}
	name, template, ok := pkg.File("heat.yaml", "heat.yml")
	if !ok {
		return in, &RequestError{Field: "driverFiles", Problem: fmt.Sprintf(
			"no heat.yaml (or heat.yml) at the root of the package; "+
				"it holds %s", describeFiles(pkg))}
	}
	e.set.Observer.PackageSize(pkg.Size())
	declared, err := DeclaredParameters(template)
	if err != nil {
		return in, &RequestError{Field: "driverFiles/" + name,
			Problem: err.Error()}
	}
	_, env, _ := pkg.File("environment.yaml", "env.yaml")

	in = heat.CreateInput{
		Name: StackName(req.SystemProperties.String("resourceName"),
			req.SystemProperties.String("resourceId")),
		Template:    string(template),
		Files:       pkg.Under("files"),
		Environment: string(env),
		Parameters: Parameters(declared, req.ResourceProperties,
			req.SystemProperties),
		Tags: []string{ResourceTag(
			req.SystemProperties.String("resourceId")), DriverTag},
	}
	in.TimeoutMins, err = intProperty(req.RequestProperties, "timeout_mins",
		e.set.StackTimeoutMins)
	if err != nil {
		return in, err
	}
	if in.TimeoutMins > maxTimeoutMins {
		return in, &RequestError{Field: "requestProperties.timeout_mins",
			Problem: fmt.Sprintf("%d is more than the %d minutes (30 days) "+
				"a request may take", in.TimeoutMins, maxTimeoutMins)}
	}
	if size := in.Size(); size > e.set.MaxHeatRequestBytes {
		return in, &RequestError{Field: "driverFiles", Problem: fmt.Sprintf(
			"the template, its files and environment come to %d bytes; "+
				"Heat takes at most %d in one request (its "+
				"max_json_body_size; max_heat_request_bytes here)", size,
			e.set.MaxHeatRequestBytes)}
	}
	in.DisableRollback, err = boolProperty(req.RequestProperties,
		"disable_rollback", e.set.DisableRollback)
	return in, err
}

// maxTimeoutMins bounds timeout_mins: far beyond any real stack, and far
// from overflowing a deadline.
const maxTimeoutMins = 30 * 24 * 60

func describeFiles(pkg *resourcepkg.Package) string {
	names := pkg.Names()
	if len(names) == 0 {
		return "no files"
	}
	if len(names) > 10 {
		names = append(names[:10], "...")
	}
	return strings.Join(names, ", ")
}

// DriverTag marks every stack this driver creates.
const DriverTag = "tnco-openstack-driver"

// ResourceTag is the tag that ties a stack to the resource it was created
// for; a repeated Create finds its stack by it. Heat tags cannot hold a
// comma and are kept short, so long or odd ids are hashed.
func ResourceTag(resourceID string) string {
	if len(resourceID) <= 64 && !strings.ContainsAny(resourceID, ", ") {
		return "tnco-resource-" + resourceID
	}
	sum := sha256.Sum256([]byte(resourceID))
	return "tnco-resource-" + hex.EncodeToString(sum[:16])
}

func stackIDProperty(req *ExecuteRequest) string {
	id := strings.TrimSpace(req.ResourceProperties.String("stack_id"))
	if id == "0" {
		return ""
	}
	return id
}

func intProperty(ps Properties, name string, def int) (int, error) {
	text := strings.TrimSpace(ps.String(name))
	if text == "" {
		return def, nil
	}
	n, err := strconv.Atoi(text)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(text, "-") {
		// Larger than any whole number here: surely too long.
		return maxTimeoutMins + 1, nil
	}
	if err != nil || n < 1 {
		return 0, &RequestError{Field: "requestProperties." + name,
			Problem: fmt.Sprintf("%q is not a positive whole number", text)}
	}
	return n, nil
}

func boolProperty(ps Properties, name string, def bool) (bool, error) {
	text := strings.TrimSpace(ps.String(name))
	if text == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(text))
	switch strings.ToLower(text) {
	case "yes", "on":
		b, err = true, nil
	case "no", "off":
		b, err = false, nil
	}
	if err != nil {
		return false, &RequestError{Field: "requestProperties." + name,
			Problem: fmt.Sprintf("%q is not true or false", text)}
	}
	return b, nil
}

func (e *Engine) delete(ctx context.Context, req *ExecuteRequest, job *job,
	log *slog.Logger) (*Accepted, error) {
	entry, ok := req.AssociatedTopology[StackEntry]
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	if !ok {
		log.Info("request accepted; no stack in associatedTopology, " +
			"nothing to delete")
		return e.completeNow(ctx, job, log)
	}
	ctx = context.WithoutCancel(ctx)
	cloud, stack, err := e.existingStack(ctx, job, entry.ID)
	if heat.IsNotFound(err) || (err == nil && stack.Status == "DELETE_COMPLETE") {
		log.Info("request accepted; stack already gone", "stackId", entry.ID)
		return e.completeNow(ctx, job, log)
	}
	if err != nil {
		return nil, err
	}
	job.StackID, job.StackName = stack.ID, stack.Name
	if err := e.record(ctx, job); err != nil {
		return nil, err
	}
	// A stack that vanished meanwhile is fine: the job completes on its
	// first look.
	err = cloud.DeleteStack(ctx, stack.Name, stack.ID)
	if err != nil && !heat.IsNotFound(err) {
		e.unrecord(ctx, job, log)
		return nil, err
	}
	log.Info("request accepted; stack delete started", "stack", stack.Name,
		"stackId", stack.ID)
	return accepted(job, Topology{}), nil
}

func (e *Engine) adopt(ctx context.Context, req *ExecuteRequest, job *job,
	log *slog.Logger) (*Accepted, error) {
	if len(req.AssociatedTopology) != 1 {
		return nil, &RequestError{Field: "associatedTopology", Problem: fmt.
			Sprintf("an Adopt needs exactly one entry naming the stack "+
				"to adopt; it has %d", len(req.AssociatedTopology))}
	}
	var id string
	for _, entry := range req.AssociatedTopology {
		id = entry.ID
	}
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	_, stack, err := e.existingStack(ctx, job, id)
	if heat.IsNotFound(err) || (err == nil && stack.Deleted()) {
		return e.failNow(ctx, job, failure.ResourceNotFound, fmt.Sprintf(
			"stack %s to adopt does not exist", id), log)
	}
	if err != nil {
		return nil, err
	}
	job.StackID, job.StackName = stack.ID, stack.Name
	if err := e.record(ctx, job); err != nil {
		return nil, err
	}
	log.Info("request accepted; adopting stack", "stack", stack.Name,
		"stackId", stack.ID, "status", stack.Status)
	return accepted(job, StackTopology(stack.ID)), nil
}

// existingStack reads the stack a Delete or Adopt names, and gives the
// job the configured deadline. A cloud that cannot be reached is the
// only error; a missing stack is for the caller to judge.
func (e *Engine) existingStack(ctx context.Context, j *job,
	id string) (*heat.Cloud, *heat.Stack, error) {
	j.Deadline = j.Started.Add(
		time.Duration(e.set.StackTimeoutMins)*time.Minute +
			e.set.DeadlineMargin)
	cloud, err := e.clients.Cloud(ctx, j.Location)
	if err != nil {
		return nil, nil, err
	}
	stack, err := cloud.GetStack(ctx, "", id)
	return cloud, stack, err
}

func accepted(j *job, topo Topology) *Accepted {
	return &Accepted{RequestID: j.RequestID, AssociatedTopology: topo}
}

// failNow answers 202 with no stack and publishes the failure at once.
func (e *Engine) failNow(ctx context.Context, j *job, code failure.Code,
	text string, log *slog.Logger) (*Accepted, error) {
	msg := Message{RequestID: j.RequestID, Status: Failed,
		FailureDetails: &FailureDetails{FailureCode: string(code),
			Description: failure.Describe("", "", text, 0)}}
	if err := e.publish(ctx, msg, j.Trace); err != nil {
		return nil, err
	}
	log.Info("request accepted and failed at once", "failureCode", code)
	e.set.Observer.Finished(string(j.Transition), string(Failed),
		string(code), 0)
	return &Accepted{RequestID: j.RequestID, AssociatedTopology: Topology{}},
		nil
}

func (e *Engine) completeNow(ctx context.Context, j *job,
	log *slog.Logger) (*Accepted, error) {
	msg := Message{RequestID: j.RequestID, Status: Complete}
	if err := e.publish(ctx, msg, j.Trace); err != nil {
		return nil, err
	}
	log.Info("request complete")
	e.set.Observer.Finished(string(j.Transition), string(Complete), "", 0)
	return &Accepted{RequestID: j.RequestID, AssociatedTopology: Topology{}},
		nil
}

// publish puts a message on the events topic, keyed by its request id so
// that all messages of one request stay in order on one partition.
func (e *Engine) publish(ctx context.Context, msg Message, trace Trace) error {
	value, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	headers := make([]kafka.Header, 0, len(trace))
	for _, k := range sortedKeys(trace) {
		headers = append(headers, kafka.Header{Key: k, Value: trace[k]})
	}
	return e.bus.Publish(ctx, e.set.EventsTopic, msg.RequestID, value,
		headers)
}

// newRequestID makes a random (version 4) UUID.
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("no randomness: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" +
		h[20:]
}
