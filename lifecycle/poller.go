package lifecycle

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tnco-drivers/openstack-driver/failure"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/jobs"
	"github.com/tnco-drivers/openstack-driver/kafka"
)

// job is an accepted request that waits for its stack to settle. It is
// what the job queue holds (sealed) for the request, so that any replica
// can take it over.
type job struct {
	RequestID  string     `json:"requestId"`
	Transition Transition `json:"transition"`
	// StackID is empty for a Create until the stack is found by name.
	StackID   string `json:"stackId,omitempty"`
	StackName string `json:"stackName,omitempty"`
	// ResourceTag, for a Create, tells this resource's stack from another
	// of the same name.
	ResourceTag   string         `json:"resourceTag,omitempty"`
	LocationName  string         `json:"locationName,omitempty"`
	LocationProps map[string]any `json:"location"`
	Trace         Trace          `json:"trace,omitempty"`
	Started       time.Time      `json:"started"`
	Deadline      time.Time      `json:"deadline"`

	Location *heat.Location `json:"-"`
	Polls    int            `json:"-"`
	// Errors counts looks in a row that could not reach the cloud.
	Errors int `json:"-"`
	// deleteSent is set once this replica has asked Heat to delete.
	deleteSent bool
	// lastStatus is the stack's status at the last full look; tagged
	// says whether the stack carries the driver's tag (and so is on the
	// status board).
	lastStatus string
	tagged     bool
	// final is the request's end, kept while Kafka does not take it.
	final *Message
	// announced is set once IN_PROGRESS is published.
	announced bool
	// lastProgress and lastProgressKey pace the progress events.
	lastProgress    time.Time
	lastProgressKey string
	// DeleteFailures holds the reason of each failed delete attempt.
	DeleteFailures []string `json:"-"`

	delivery *jobs.Delivery
	due      time.Time
	index    int
	// gone is set when the job was cancelled or handed over while a
	// worker had it.
	gone bool
}

// Poller looks at each accepted request's stack when it is due, with a
// fixed number of workers, and publishes the request's end. It holds the
// jobs of the queue partitions this replica owns.
type Poller struct {
	e *Engine

	mu    sync.Mutex
	queue jobQueue
	byID  map[string]*job
	wake  chan struct{}
}

func newPoller(e *Engine) *Poller {
	return &Poller{e: e, wake: make(chan struct{}, 1),
		byID: map[string]*job{}}
}

// Start takes a job delivered by the queue.
func (p *Poller) Start(d *jobs.Delivery) {
	var j job
	err := json.Unmarshal(d.Payload, &j)
	if err == nil {
		j.Location, err = heat.ParseLocation(j.LocationName,
			j.LocationProps)
	}
	if err != nil {
		// Only a record written by a broken driver lands here; it is
		// ended with a failure so that the request is not left hanging.
		p.e.log.Error("job record unusable", "requestId", d.Key,
			"error", err.Error())
		j = job{RequestID: d.Key, Transition: Create, delivery: d}
		go p.finish(context.Background(), &j, *p.failed(&j,
			failure.InternalError, "the driver could not read its job "+
				"record for this request"), p.e.log)
		return
	}
	j.delivery = d
	p.mu.Lock()
	if old := p.byID[j.RequestID]; old != nil {
		p.removeLocked(old)
	}
	p.byID[j.RequestID] = &j
	p.mu.Unlock()
	p.add(&j, p.e.firstLook())
}

// Cancel drops a job that another replica has finished.
func (p *Poller) Cancel(key string) {
	p.mu.Lock()
	if j := p.byID[key]; j != nil {
		p.removeLocked(j)
	}
	p.mu.Unlock()
}

// Drop forgets jobs handed over to another replica.
func (p *Poller) Drop(keys []string) {
	p.mu.Lock()
	for _, k := range keys {
		if j := p.byID[k]; j != nil {
			p.removeLocked(j)
		}
	}
	p.mu.Unlock()
}

// Load is the number of jobs held, waiting or being looked at.
func (p *Poller) Load() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byID)
}

// removeLocked takes a job out; p.mu is held.
func (p *Poller) removeLocked(j *job) {
	j.gone = true
	delete(p.byID, j.RequestID)
	if j.index >= 0 && j.index < len(p.queue) && p.queue[j.index] == j {
		heap.Remove(&p.queue, j.index)
	}
}

func (p *Poller) add(j *job, after time.Duration) {
	j.due = time.Now().Add(after)
	p.mu.Lock()
	if j.gone {
		p.mu.Unlock()
		return
	}
	heap.Push(&p.queue, j)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run hands due jobs to the workers until ctx ends, and then waits for
// the looks in progress: they finish on their own time limits, so that a
// final message being published is not cut off. A job is never in two
// workers at once: it leaves the heap when handed out and comes back only
// when its look is over.
func (p *Poller) run(ctx context.Context) {
	work := make(chan *job)
	var wg sync.WaitGroup
	jobCtx := context.WithoutCancel(ctx)
	for range max(1, p.e.set.Workers) {
		wg.Go(func() {
			for j := range work {
				p.poll(jobCtx, ctx, j)
			}
		})
	}
	defer wg.Wait()
	defer close(work)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		var next *job
		wait := time.Hour
		if p.queue.Len() > 0 {
			head := p.queue[0]
			if d := time.Until(head.due); d <= 0 {
				next = heap.Pop(&p.queue).(*job)
			} else {
				wait = d
			}
		}
		p.mu.Unlock()

		if next != nil {
			select {
			case work <- next:
			case <-ctx.Done():
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-p.wake:
		case <-ctx.Done():
			return
		}
	}
}

// poll looks at a job's stack once and either publishes the request's end
// or puts the job back for a later look.
func (p *Poller) poll(ctx, running context.Context, j *job) {
	e := p.e
	log := e.log.With("requestId", j.RequestID, "transition",
		string(j.Transition))
	for k, v := range j.Trace {
		log = log.With(k, v)
	}
	var msg *Message
	var again time.Duration
	if j.final != nil {
		// The end is known; only its publishing failed last time.
		msg = j.final
	} else {
		j.Polls++
		msg, again = p.look(ctx, j, log)
	}
	p.mu.Lock()
	gone := j.gone
	p.mu.Unlock()
	if gone {
		// Finished by another replica, or handed over, meanwhile.
		return
	}
	if msg == nil {
		if running.Err() == nil {
			p.add(j, again)
		}
		return
	}
	// A Create's stack id may have been learnt during this look.
	p.finish(running, j, *msg, log.With("stackId", j.StackID))
}

// look decides from the stack's state whether the request is over.
func (p *Poller) look(ctx context.Context, j *job,
	log *slog.Logger) (*Message, time.Duration) {
	e := p.e
	now := time.Now()
	cloud, err := e.clients.Cloud(ctx, j.Location)
	var stack *heat.Stack
	if err == nil && j.StackID == "" {
		id, asking := e.creates.take(j.RequestID)
		if asking {
			// This replica is still waiting for Heat's answer.
			return nil, e.set.PollInterval
		}
		j.StackID = id
	}
	if err == nil && j.StackID == "" {
		stack, err = p.findCreated(ctx, cloud, j)
		if stack == nil && err == nil {
			if now.Sub(j.Started) < e.createGrace() {
				return nil, e.set.PollInterval
			}
			return p.failed(j, failure.InternalError, fmt.Sprintf(
				"Heat has no stack %s for this request: Heat never "+
					"confirmed the create (the driver stopped, or Heat "+
					"did not answer in time)", j.StackName)), 0
		}
	} else if err == nil {
		if again, skip := p.unchanged(ctx, cloud, j, now, log); skip {
			return nil, again
		}
		stack, err = cloud.GetStack(ctx, j.StackName, j.StackID)
	}
	gone := heat.IsNotFound(err)
	if err != nil && !gone {
		if heat.IsUnavailable(err) || ctx.Err() != nil {
			j.Errors++
			log.Warn("stack could not be read; trying again",
				"error", err.Error(), "attempt", j.Errors)
			if now.After(j.Deadline) {
				return p.failed(j, failure.InfrastructureError,
					fmt.Sprintf("the cloud could not be reached until "+
						"the request's deadline: %v", err)), 0
			}
			return nil, backoff(j.Errors, e.set.PollMaxInterval)
		}
		return p.failed(j, failure.InfrastructureError, err.Error()), 0
	}
	j.Errors = 0
	if stack != nil {
		j.StackName = stack.Name
		j.lastStatus = stack.Status
		j.tagged = stack.HasTag(DriverTag)
	}

	switch j.Transition {
	case Delete:
		if gone || stack.Status == "DELETE_COMPLETE" {
			return &Message{RequestID: j.RequestID, Status: Complete}, 0
		}
		if !strings.HasPrefix(stack.Status, "DELETE_") && !j.deleteSent &&
			now.Sub(j.Started) > e.createGrace() {
			// The replica that took the request stopped before Heat
			// heard of the delete: ask again.
			j.deleteSent = true
			if err := cloud.DeleteStack(ctx, stack.Name,
				stack.ID); err != nil && !heat.IsNotFound(err) {
				log.Warn("stack delete not accepted; trying again",
					"error", err.Error())
				j.deleteSent = false
			}
		}
		if stack.Status == "DELETE_FAILED" {
			code, text := p.cause(ctx, cloud, stack)
			j.DeleteFailures = append(j.DeleteFailures, text)
			if len(j.DeleteFailures) > e.set.DeleteRetries {
				return p.failed(j, code, fmt.Sprintf(
					"the stack could not be deleted in %d attempts: %s",
					len(j.DeleteFailures),
					strings.Join(j.DeleteFailures, " | "))), 0
			}
			// Heat often succeeds on a second try, once whatever held
			// the resource has let go.
			log.Info("stack delete failed; asking again",
				"attempt", len(j.DeleteFailures), "reason", text)
			if err := cloud.DeleteStack(ctx, stack.Name,
				stack.ID); err != nil && !heat.IsNotFound(err) {
				log.Warn("stack delete not accepted", "error", err.Error())
			}
			return nil, e.set.PollInterval
		}
	default:
		if gone || stack.Deleted() {
			return p.failed(j, failure.ResourceNotFound, fmt.Sprintf(
				"stack %s disappeared before it was complete",
				j.StackID)), 0
		}
		if !stack.InProgress() {
			if slices.Contains(e.set.AdoptableStates, stack.Status) {
				return &Message{RequestID: j.RequestID, Status: Complete,
					Outputs:            stack.Outputs,
					AssociatedTopology: StackTopology(stack.ID)}, 0
			}
			code, text := p.cause(ctx, cloud, stack)
			if j.Transition == Adopt {
				code = failure.InfrastructureError
				text = fmt.Sprintf("stack %s is %s, which cannot be "+
					"adopted: %s", stack.Name, stack.Status, text)
			}
			return p.failed(j, code, text), 0
		}
	}
	if now.After(j.Deadline) {
		return p.failed(j, failure.InfrastructureError, fmt.Sprintf(
			"timed out after %s with the stack %s",
			now.Sub(j.Started).Round(time.Second), stackState(stack))), 0
	}
	if stack != nil && stack.InProgress() {
		p.report(ctx, cloud, j, stack, log)
	}
	return nil, e.nextLook(now.Sub(j.Started))
}

// unchanged asks the status board, when batch polling is on, whether the
// stack is still in the state it was in at the last full look; if so, the
// full look (with its outputs) is skipped, and the job comes back later.
func (p *Poller) unchanged(ctx context.Context, cloud *heat.Cloud, j *job,
	now time.Time, log *slog.Logger) (time.Duration, bool) {
	e := p.e
	if e.board == nil || !j.tagged || j.lastStatus == "" ||
		!strings.HasSuffix(j.lastStatus, "_IN_PROGRESS") ||
		now.After(j.Deadline) {
		return 0, false
	}
	status, listed, err := e.board.status(ctx, cloud, j.Location.Key(),
		j.StackID)
	if err != nil || !listed || status != j.lastStatus {
		return 0, false
	}
	p.report(ctx, cloud, j, &heat.Stack{ID: j.StackID, Name: j.StackName,
		Status: status}, log)
	return e.nextLook(now.Sub(j.Started)), true
}

func stackState(s *heat.Stack) string {
	if s == nil {
		return "not found"
	}
	return "in " + s.Status
}

// cause finds why a stack failed: the reason of the resource where the
// failure started, however deep in nested stacks, prefixed with its name
// and type, and the failure code that reason calls for. Heat's own reason
// for the stack is used when the resources cannot be read.
func (p *Poller) cause(ctx context.Context, cloud *heat.Cloud,
	stack *heat.Stack) (failure.Code, string) {
	resources, err := cloud.Resources(ctx, stack.Name, stack.ID,
		maxNestedDepth)
	if err != nil {
		p.e.log.Debug("resources of a failed stack not read",
			"stackId", stack.ID, "error", err.Error())
	}
	leaves := heat.FailedLeaves(resources)
	if len(leaves) == 0 {
		return failure.Classify(stack.StatusReason), failure.Describe("",
			"", stack.StatusReason, 0)
	}
	code := failure.Classify(leaves[0].StatusReason)
	var parts []string
	for _, r := range leaves[:min(len(leaves), 3)] {
		parts = append(parts, failure.Describe(r.Name, r.Type,
			r.StatusReason, 400))
	}
	if len(leaves) > 3 {
		parts = append(parts, fmt.Sprintf("and %d more failed resources",
			len(leaves)-3))
	}
	return code, failure.Describe("", "", strings.Join(parts, "; "), 0)
}

// maxNestedDepth is how deep nested stacks are searched for a cause.
const maxNestedDepth = 5

func (p *Poller) failed(j *job, code failure.Code, text string) *Message {
	topo := Topology{}
	if j.Transition != Delete && j.StackID != "" {
		topo = StackTopology(j.StackID)
	}
	return &Message{RequestID: j.RequestID, Status: Failed,
		FailureDetails: &FailureDetails{FailureCode: string(code),
			Description: failure.Describe("", "", text, 0)},
		AssociatedTopology: topo}
}

// findCreated finds a Create's stack by name; a stack of that name made
// for another resource is not this request's.
func (p *Poller) findCreated(ctx context.Context, cloud *heat.Cloud,
	j *job) (*heat.Stack, error) {
	stack, err := cloud.FindStack(ctx, j.StackName)
	if heat.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if j.ResourceTag != "" && !stack.HasTag(j.ResourceTag) {
		return nil, nil
	}
	j.StackID = stack.ID
	return stack, nil
}

// createGrace is how long a job may wait for the stack its replica is
// creating: the create call's own time limit, and a margin.
func (e *Engine) createGrace() time.Duration {
	return e.set.OpenStackTimeout + 30*time.Second
}

// finish publishes the final message. Should Kafka not take it, the job
// goes back to the heap with its message and is tried again later, never
// given up: a request without its final message would hang in Brent for
// ever. Only once it is published is the job ended on the queue.
func (p *Poller) finish(running context.Context, j *job, msg Message,
	log *slog.Logger) {
	ctx := context.WithoutCancel(running)
	err := p.e.publish(ctx, msg, j.Trace)
	if err != nil && kafka.IsTooLarge(err) {
		// Outputs too large for one Kafka message: Brent is told so
		// rather than left waiting for a message that cannot exist.
		size := 0
		if b, merr := json.Marshal(msg.Outputs); merr == nil {
			size = len(b)
		}
		msg = *p.failed(j, failure.InfrastructureError, fmt.Sprintf(
			"the stack's outputs (%d bytes of JSON) are larger than "+
				"Kafka takes in one message; the stack itself is %s",
			size, strings.ToLower(string(msg.Status))))
		err = p.e.publish(ctx, msg, j.Trace)
	}
	if err != nil {
		j.final = &msg
		j.Errors++
		log.Warn("final message not published; trying again",
			"error", err.Error(), "attempt", j.Errors)
		if running.Err() == nil {
			p.add(j, backoff(j.Errors, 30*time.Second))
		}
		return
	}
	p.done(ctx, j, log)
	took := time.Since(j.Started)
	attrs := []any{"status", msg.Status, "polls", j.Polls,
		"seconds", took.Seconds()}
	code := ""
	if msg.FailureDetails != nil {
		code = msg.FailureDetails.FailureCode
		attrs = append(attrs, "failureCode", code)
	}
	p.e.set.Observer.Finished(string(j.Transition), string(msg.Status),
		code, took)
	log.Info("request finished", attrs...)
}

// done ends the job on the queue and forgets it.
func (p *Poller) done(ctx context.Context, j *job, log *slog.Logger) {
	p.mu.Lock()
	if p.byID[j.RequestID] == j {
		delete(p.byID, j.RequestID)
	}
	p.mu.Unlock()
	if j.delivery == nil {
		return
	}
	for attempt := 1; attempt <= 5; attempt++ {
		err := p.e.queue.Done(ctx, j.delivery)
		if err == nil {
			return
		}
		log.Warn("job not ended on the queue; trying again",
			"error", err.Error(), "attempt", attempt)
		time.Sleep(backoff(attempt, 10*time.Second))
	}
	log.Error("job left on the queue: after a restart its final message " +
		"is published again")
}

// firstLook is how soon a new request's stack is first looked at: a
// trivial stack is done within half a second on a healthy Heat.
func (e *Engine) firstLook() time.Duration { return e.set.PollInterval }

// nextLook paces the looks at a stack by its age: every PollInterval
// while it is young, then every sixth of its age, up to PollMaxInterval.
// With the defaults (0.5 s, 30 s) a 20-second stack is looked at about 20
// times and noticed done within 3.4 s, a 5-minute one about 35 times, an
// hour-long one about 140 times.
func (e *Engine) nextLook(age time.Duration) time.Duration {
	return min(max(e.set.PollInterval, age/6), e.set.PollMaxInterval)
}

// backoff doubles from one second with each attempt, up to limit, with
// jitter so that many requests of one failing cloud do not retry in step.
func backoff(attempt int, limit time.Duration) time.Duration {
	d := time.Second << min(attempt-1, 10)
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

// jobQueue is a heap of jobs by due time.
type jobQueue []*job

func (q jobQueue) Len() int           { return len(q) }
func (q jobQueue) Less(i, k int) bool { return q[i].due.Before(q[k].due) }
func (q jobQueue) Swap(i, k int) {
	q[i], q[k] = q[k], q[i]
	q[i].index, q[k].index = i, k
}
func (q *jobQueue) Push(x any) {
	j := x.(*job)
	j.index = len(*q)
	*q = append(*q, j)
}
func (q *jobQueue) Pop() any {
	old := *q
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	j.index = -1
	return j
}
