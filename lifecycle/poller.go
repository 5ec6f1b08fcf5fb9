package lifecycle

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tnco-drivers/openstack-driver/failure"
	"github.com/tnco-drivers/openstack-driver/heat"
)

// job is an accepted request that waits for its stack to settle.
type job struct {
	RequestID  string
	Transition Transition
	StackID    string
	StackName  string
	Location   *heat.Location
	Trace      Trace
	Started    time.Time
	Deadline   time.Time
	Polls      int
	// Errors counts polls in a row that could not reach the cloud.
	Errors int

	due   time.Time
	index int
}

// Poller looks at each accepted request's stack when it is due, with a
// fixed number of workers, and publishes the request's end.
type Poller struct {
	e *Engine

	mu    sync.Mutex
	queue jobQueue
	wake  chan struct{}
}

func newPoller(e *Engine) *Poller {
	return &Poller{e: e, wake: make(chan struct{}, 1)}
}

func (p *Poller) add(j *job, after time.Duration) {
	j.due = time.Now().Add(after)
	p.mu.Lock()
	heap.Push(&p.queue, j)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Poller) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queue.Len()
}

// run hands due jobs to the workers until ctx ends. A job is never in two
// workers at once: it leaves the queue when handed out and comes back
// only when its poll is over.
func (p *Poller) run(ctx context.Context) {
	work := make(chan *job)
	var wg sync.WaitGroup
	for range max(1, p.e.set.Workers) {
		wg.Go(func() {
			for j := range work {
				p.poll(ctx, j)
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
func (p *Poller) poll(ctx context.Context, j *job) {
	e := p.e
	log := e.log.With("requestId", j.RequestID, "transition",
		string(j.Transition), "stackId", j.StackID)
	j.Polls++
	msg, again := p.look(ctx, j, log)
	if msg == nil {
		if ctx.Err() != nil {
			return
		}
		p.add(j, again)
		return
	}
	p.finish(ctx, j, *msg, log)
}

// look decides from the stack's state whether the request is over.
func (p *Poller) look(ctx context.Context, j *job,
	log *slog.Logger) (*Message, time.Duration) {
	e := p.e
	now := time.Now()
	cloud, err := e.clients.Cloud(ctx, j.Location)
	var stack *heat.Stack
	if err == nil {
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
	}

	switch j.Transition {
	case Delete:
		if gone || stack.Status == "DELETE_COMPLETE" {
			return &Message{RequestID: j.RequestID, Status: Complete}, 0
		}
		if stack.Status == "DELETE_FAILED" {
			return p.failed(j, failure.Classify(stack.StatusReason),
				stack.StatusReason), 0
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
			code := failure.Classify(stack.StatusReason)
			if j.Transition == Adopt {
				code = failure.InfrastructureError
			}
			return p.failed(j, code, fmt.Sprintf("stack %s is %s: %s",
				stack.Name, stack.Status, stack.StatusReason)), 0
		}
	}
	if now.After(j.Deadline) {
		return p.failed(j, failure.InfrastructureError, fmt.Sprintf(
			"timed out after %s with the stack %s",
			now.Sub(j.Started).Round(time.Second), stackState(stack))), 0
	}
	return nil, e.nextLook(now.Sub(j.Started))
}

func stackState(s *heat.Stack) string {
	if s == nil {
		return "not found"
	}
	return "in " + s.Status
}

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

// finish publishes the final message, trying until Kafka takes it: a
// request without its final message would hang in Brent forever.
func (p *Poller) finish(ctx context.Context, j *job, msg Message,
	log *slog.Logger) {
	for attempt := 1; ; attempt++ {
		err := p.e.publish(ctx, msg, j.Trace)
		if err == nil {
			attrs := []any{"status", msg.Status, "polls", j.Polls,
				"seconds", time.Since(j.Started).Seconds()}
			if msg.FailureDetails != nil {
				attrs = append(attrs, "failureCode",
					msg.FailureDetails.FailureCode)
			}
			log.Info("request finished", attrs...)
			return
		}
		log.Warn("final message not published; trying again",
			"error", err.Error(), "attempt", attempt)
		select {
		case <-time.After(backoff(attempt, 30*time.Second)):
		case <-ctx.Done():
			log.Error("final message not published before shutdown",
				"status", msg.Status)
			return
		}
	}
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
	return j
}
