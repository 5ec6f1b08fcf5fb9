package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/kafka"
)

// Progress is an event on the progress topic: how far a request's stack
// has come. Brent does not read it; operators and tools may. It is
// published only when something changed, at most once per
// ProgressInterval for each request.
type Progress struct {
	RequestID  string     `json:"requestId"`
	Transition Transition `json:"transition"`
	StackID    string     `json:"stackId"`
	StackName  string     `json:"stackName"`
	// StackStatus is Heat's status of the stack, e.g. CREATE_IN_PROGRESS.
	StackStatus string `json:"stackStatus"`
	// ResourcesDone counts the stack's top-level resources whose current
	// action is complete, out of ResourcesTotal.
	ResourcesDone  int `json:"resourcesDone"`
	ResourcesTotal int `json:"resourcesTotal"`
	// Working names the resources in progress, as "name (type)".
	Working []string  `json:"working"`
	Time    time.Time `json:"time"`
}

// report tells Brent, once, that the request's stack is being worked on
// (an IN_PROGRESS message with the contract's fields only), and publishes
// a progress event when the stack's resources have moved on since the
// last one. Neither is essential: failures are logged and forgotten.
func (p *Poller) report(ctx context.Context, cloud *heat.Cloud, j *job,
	stack *heat.Stack, log *slog.Logger) {
	e := p.e
	if !j.announced {
		j.announced = true
		msg := Message{RequestID: j.RequestID, Status: InProgress,
			AssociatedTopology: Topology{}}
		if j.Transition != Delete {
			msg.AssociatedTopology = StackTopology(stack.ID)
		}
		if err := e.publish(ctx, msg, j.Trace); err != nil {
			log.Debug("IN_PROGRESS message not published",
				"error", err.Error())
		}
	}
	if e.set.ProgressTopic == "" ||
		time.Since(j.lastProgress) < e.set.ProgressInterval {
		return
	}
	j.lastProgress = time.Now()
	resources, err := cloud.Resources(ctx, stack.Name, stack.ID, 0)
	if err != nil {
		log.Debug("progress not read", "error", err.Error())
		return
	}
	ev := Progress{RequestID: j.RequestID, Transition: j.Transition,
		StackID: stack.ID, StackName: stack.Name,
		StackStatus: stack.Status, ResourcesTotal: len(resources),
		Working: []string{}, Time: time.Now().UTC()}
	action, _, _ := strings.Cut(stack.Status, "_")
	for _, r := range resources {
		switch {
		case r.Status == action+"_COMPLETE":
			ev.ResourcesDone++
		case strings.HasSuffix(r.Status, "_IN_PROGRESS"):
			ev.Working = append(ev.Working, r.Name+" ("+r.Type+")")
		}
	}
	slices.Sort(ev.Working)
	fingerprint := progressKey(ev)
	if fingerprint == j.lastProgressKey {
		return
	}
	j.lastProgressKey = fingerprint
	value, err := json.Marshal(ev)
	if err != nil {
		return
	}
	headers := make([]kafka.Header, 0, len(j.Trace))
	for _, k := range sortedKeys(j.Trace) {
		headers = append(headers, kafka.Header{Key: k, Value: j.Trace[k]})
	}
	if err := e.bus.Publish(ctx, e.set.ProgressTopic, j.RequestID, value,
		headers); err != nil {
		log.Debug("progress not published", "error", err.Error())
	}
}

// progressKey is what must change for a new progress event.
func progressKey(ev Progress) string {
	return fmt.Sprintf("%s|%d/%d|%s", ev.StackStatus, ev.ResourcesDone,
		ev.ResourcesTotal, strings.Join(ev.Working, ","))
}
