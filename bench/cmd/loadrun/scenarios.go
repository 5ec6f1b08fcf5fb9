package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
	"github.com/tnco-drivers/openstack-driver/bench/simcloud"
)

func (r *runner) simConfig(create, del simcloud.Dist) simcloud.Config {
	return simcloud.Config{Username: "demo", Password: "demopass",
		CreateTime: create, DeleteTime: del,
		HeatLatency: r.o.heatLatency, TokenLatency: r.o.tokenLatency}
}

// resource names request i of a scenario: its id, name and Brent's
// request id.
func (r *runner) resource(scenario string, i int) []string {
	id := fmt.Sprintf("%s-%s-%06d", r.runID, scenario, i)
	return []string{id, fmt.Sprintf("bench-%s-%06d", scenario, i), id}
}

// loadProps are the resource properties of the load package, in both of
// Brent's shapes.
var loadProps = map[string]any{
	"flavor":   "m1.small",
	"image":    map[string]any{"type": "string", "value": "cirros"},
	"replicas": 2,
}

// throughput is scenario a: Creates at the target rate for a few
// seconds, then as many Deletes.
func (r *runner) throughput(ctx context.Context) *section {
	o := r.o
	n := int(o.rate * o.aSeconds.Seconds())
	s := &section{title: fmt.Sprintf("(a) throughput: %d Creates at "+
		"%.0f/s, then their Deletes", n, o.rate)}
	r.logf("scenario a: %d Creates, then Deletes, at %.0f/s", n, o.rate)
	files, zipSize, err := loadPackage(o.packageKB * 1024)
	if err != nil {
		return s.fail("%v", err)
	}
	env, err := startSimEnv(ctx, r, "a-throughput",
		r.simConfig(o.aStack.Dist, o.aDelete.Dist), nil)
	if err != nil {
		return s.fail("%v", err)
	}
	defer env.close()
	cb, err := newBody(createRequest(files, env.loc, loadProps))
	if err != nil {
		return s.fail("%v", err)
	}
	_, bodySize := cb.reader(r.resource("a", 0)...)
	s.note("package zip %d bytes, request body %d bytes; stacks take "+
		"%s to create, %s to delete (simulated)", zipSize, bodySize,
		o.aStack, o.aDelete)

	creates, ss := env.run(ctx, phaseSpec{name: "Create", body: cb, n: n,
		rate: o.rate, inflight: 512,
		values: func(i int) []string { return r.resource("a", i) },
		end: func(_ int, s sent) time.Time {
			info, _ := env.cloud.Stack(s.StackID)
			return info.CompleteAt
		},
		simLatency: o.heatLatency, wait: 3 * time.Minute})

	// Delete what was created.
	var made []int
	for i, x := range ss {
		if x.Status == 202 && x.StackID != "" {
			made = append(made, i)
		}
	}
	db, err := newBody(deleteRequest(files, env.loc))
	if err != nil {
		return s.fail("%v", err)
	}
	var deletes *phase
	if ctx.Err() == nil && len(made) > 0 {
		r.logf("scenario a: %d Deletes", len(made))
		deletes, _ = env.run(ctx, phaseSpec{name: "Delete", body: db,
			n: len(made), rate: o.rate, inflight: 512,
			values: func(i int) []string {
				v := r.resource("a", made[i])
				return []string{v[0], v[1], ss[made[i]].StackID}
			},
			end: func(i int, _ sent) time.Time {
				info, _ := env.cloud.Stack(ss[made[i]].StackID)
				return info.DeleteDone
			},
			// Delete's execute asks Heat for the stack by id (a
			// redirect, then the stack) and then deletes it.
			simLatency: 3 * o.heatLatency, wait: 3 * time.Minute})
	}
	if deletes != nil {
		phaseRows(s, creates, deletes)
	} else {
		phaseRows(s, creates)
	}
	s.footer("execute latency minus simulated latency: Create less one "+
		"Heat call (%s), Delete less three", o.heatLatency)
	s.footer("the first Create also waits for the one Keystone login "+
		"(%s simulated): it is the max", o.tokenLatency)
	checkPhase(s, creates)
	if deletes != nil {
		checkPhase(s, deletes)
	}
	return s
}

// checkPhase marks the section failed when requests were refused or
// lost, and says why.
func checkPhase(s *section, p *phase) {
	if p.Errors != "" {
		s.footer("%s: refused or failed execute requests: %s", p.Name,
			p.Errors)
	}
	if len(p.Failed) > 0 {
		s.footer("%s: FAILED messages: %s", p.Name,
			failedSummary(p.Failed))
	}
	if p.Accepted < p.Sent || p.Missing > 0 || len(p.Failed) > 0 {
		s.fail("%s: %d of %d accepted, %d final messages missing, %d "+
			"kinds of failure", p.Name, p.Accepted, p.Sent, p.Missing,
			len(p.Failed))
	}
}

// manyInFlight is scenario b: many Creates of long stacks held by one
// replica at once.
func (r *runner) manyInFlight(ctx context.Context) *section {
	o := r.o
	s := &section{title: fmt.Sprintf("(b) many in flight: %d Creates "+
		"of %s stacks held by one replica", o.bCreates, o.bStack)}
	r.logf("scenario b: %d Creates at up to %.0f/s", o.bCreates, o.bRate)
	files, _, err := loadPackage(o.packageKB * 1024)
	if err != nil {
		return s.fail("%v", err)
	}
	env, err := startSimEnv(ctx, r, "b-inflight",
		r.simConfig(o.bStack.Dist, simcloud.Fixed(time.Second)), nil)
	if err != nil {
		return s.fail("%v", err)
	}
	defer env.close()
	cb, err := newBody(createRequest(files, env.loc, loadProps))
	if err != nil {
		return s.fail("%v", err)
	}
	creates, _ := env.run(ctx, phaseSpec{name: "Create", body: cb,
		n: o.bCreates, rate: o.bRate, inflight: 256,
		values: func(i int) []string { return r.resource("b", i) },
		end: func(_ int, s sent) time.Time {
			info, _ := env.cloud.Stack(s.StackID)
			return info.CompleteAt
		},
		simLatency: o.heatLatency, wait: o.bStack.Max + 4*time.Minute})
	phaseRows(s, creates)
	s.footer("by default a driver holds at most 20,000 requests "+
		"(max_jobs_in_memory) and looks with 64 workers (the workers setting); every look "+
		"takes at least the simulated %s", o.heatLatency)
	checkPhase(s, creates)
	return s
}

// longStack is scenario c: one stack that takes o.cStack in real time,
// to count the looks the driver's pacing makes.
func (r *runner) longStack(ctx context.Context) *section {
	o := r.o
	s := &section{title: fmt.Sprintf("(c) one stack taking %s, in real "+
		"time", o.cStack)}
	r.logf("scenario c: one Create of a %s stack (in the background)",
		o.cStack)
	files, _, err := loadPackage(o.packageKB * 1024)
	if err != nil {
		return s.fail("%v", err)
	}
	env, err := startSimEnv(ctx, r, "c-long",
		r.simConfig(simcloud.Fixed(o.cStack), simcloud.Fixed(time.Second)),
		nil)
	if err != nil {
		return s.fail("%v", err)
	}
	defer env.close()
	cb, err := newBody(createRequest(files, env.loc, loadProps))
	if err != nil {
		return s.fail("%v", err)
	}
	p, ss := env.run(ctx, phaseSpec{name: "Create", body: cb, n: 1,
		rate: 1, inflight: 1,
		values: func(i int) []string { return r.resource("c", i) },
		end: func(_ int, s sent) time.Time {
			info, _ := env.cloud.Stack(s.StackID)
			return info.CompleteAt
		},
		simLatency: o.heatLatency, wait: o.cStack + 2*time.Minute})
	if len(ss) == 0 || ss[0].StackID == "" {
		checkPhase(s, p)
		return s.fail("the Create was not accepted: %s", p.Errors)
	}
	// The cloud holds this one stack: its calls are all the driver's
	// calls (stack lists included, which name no stack).
	s.row("", "this stack")
	s.row("Heat calls in all", fmt.Sprint(p.Calls.Heat()))
	for _, k := range calls.HeatKinds {
		if p.Calls[k] != 0 {
			s.row("  "+k.Short(), fmt.Sprint(p.Calls[k]))
		}
	}
	s.row("Keystone logins", fmt.Sprint(p.Calls[calls.TokenCreate]))
	s.row("detection delay", three(p.Detect))
	s.row("request start to final", two(p.EndToEnd))
	var n int64
	for _, v := range p.Kafka.Records {
		n += v
	}
	s.row("Kafka records in all", fmt.Sprint(n))
	for _, t := range []string{eventsTopic, jobsTopic, progressTopic} {
		s.row("  "+t, fmt.Sprint(p.Kafka.Records[t]))
	}
	s.row("  produce requests", fmt.Sprint(p.Kafka.ProduceRequests))
	s.row("  offset commits", fmt.Sprint(p.Kafka.OffsetCommits))
	s.row("driver CPU seconds", fmt.Sprintf("%.2f", p.CPU))
	s.row("driver peak RSS (VmHWM)", mib(p.Usage.hwm))
	checkPhase(s, p)
	return s
}
