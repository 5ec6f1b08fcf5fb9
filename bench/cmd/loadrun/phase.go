package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
	"github.com/tnco-drivers/openstack-driver/bench/simcloud"
)

// simEnv is one driver process with its own kfake broker and simulated
// cloud: what the simulated scenarios run against.
type simEnv struct {
	name   string
	cloud  *simcloud.Cloud
	kafka  *broker
	driver *driverProc
	loc    map[string]any
}

func startSimEnv(ctx context.Context, r *runner, name string,
	cfg simcloud.Config, extra map[string]string) (*simEnv, error) {
	cloud, err := simcloud.Start(cfg, 0)
	if err != nil {
		return nil, err
	}
	k, err := startBroker()
	if err != nil {
		cloud.Close()
		return nil, err
	}
	settings := r.driverSettings(k)
	for key, v := range extra {
		settings[key] = v
	}
	d, err := startDriver(ctx, r.bin, r.work, name, settings)
	if err != nil {
		k.close()
		cloud.Close()
		return nil, err
	}
	if err := k.follow(); err != nil {
		d.stop()
		k.close()
		cloud.Close()
		return nil, err
	}
	return &simEnv{name: name, cloud: cloud, kafka: k, driver: d,
		loc: keystoneLocation("sim-"+name, cloud.URL())}, nil
}

func (e *simEnv) close() {
	e.driver.stop()
	e.kafka.close()
	e.cloud.Close()
}

// phase is the measurement of one batch of requests of one transition.
type phase struct {
	Name     string
	Sent     int
	Accepted int
	Rate     float64 // accepted per second
	Errors   string
	Exec     durations // execute latency of accepted requests, sorted
	// SimLatency is the simulated latency of the calls on the execute
	// path, subtracted to give the driver's own time.
	SimLatency time.Duration
	Detect     durations // final message minus the stack's end, sorted
	EndToEnd   durations // final message minus the request's start
	Missing    int       // accepted requests without a final message
	Failed     map[string]int
	InProgress int // IN_PROGRESS messages
	Calls      calls.Counts
	Kafka      kafkaCounts
	CPU        float64 // driver CPU seconds over the phase
	HarnessCPU float64 // this process's CPU seconds (load, kfake, cloud)
	Wall       time.Duration
	Usage      usage // at the end of the phase
	PeakHeld   int   // most requests accepted but not finished at once
	HeldRSS    int64 // VmRSS when PeakHeld was sampled
}

// phaseSpec says what a phase sends.
type phaseSpec struct {
	name     string
	body     *body
	n        int
	rate     float64
	inflight int
	values   func(i int) []string
	// end gives when the stack of request i reached the state its
	// request waits for (zero when unknown).
	end        func(i int, s sent) time.Time
	simLatency time.Duration
	wait       time.Duration // how long to wait for final messages
}

// run sends a phase's requests, waits for their final messages, and
// measures.
func (e *simEnv) run(ctx context.Context, spec phaseSpec) (*phase, []sent) {
	c0, k0, u0 := e.cloud.Calls(), e.kafka.counts(), e.driver.usage()
	h0, _ := readCPU(os.Getpid())
	finals0 := e.kafka.events.finals.Load()
	t0 := time.Now()
	var ok atomic.Int64

	// Sample how many requests are held (accepted, not finished) and
	// the RSS then.
	p := &phase{Name: spec.name, SimLatency: spec.simLatency,
		Failed: map[string]int{}}
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			held := int(ok.Load() - (e.kafka.events.finals.Load() - finals0))
			if held > p.PeakHeld {
				p.PeakHeld = held
				st, _ := readStatus(e.driver.pid)
				p.HeldRSS = st.rss
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()

	client := newHTTPClient(spec.inflight)
	ss := fire(ctx, client, e.driver.url, spec.body, spec.n, spec.rate,
		spec.inflight, spec.values, &ok)
	client.CloseIdleConnections()
	acc := accepted(ss)
	ids := make([]string, len(acc))
	for i, s := range acc {
		ids[i] = s.RequestID
	}
	wctx, cancel := context.WithTimeout(ctx, spec.wait)
	p.Missing = e.kafka.events.waitFinals(wctx, ids)
	cancel()
	close(stopSampling)
	<-sampled
	// The job tombstones follow the final messages, and offsets are
	// committed every 2 s: let them land before counting.
	settle(ctx, 2500*time.Millisecond)

	p.Sent, p.Accepted = spec.n, len(acc)
	p.Rate = acceptRate(ss)
	p.Errors = errorsOf(ss)
	for i, s := range ss {
		if s.Status != 202 || s.RequestID == "" {
			continue
		}
		p.Exec = append(p.Exec, s.latency())
		ev, found := e.kafka.events.get(s.RequestID)
		if !found || ev.Status == "" {
			continue
		}
		p.InProgress += ev.InProgress
		if ev.Status == "FAILED" {
			p.Failed[ev.Failure]++
		}
		p.EndToEnd = append(p.EndToEnd, ev.Final.Sub(s.Start))
		if spec.end != nil {
			if end := spec.end(i, s); !end.IsZero() {
				p.Detect = append(p.Detect, ev.Final.Sub(end))
			}
		}
	}
	p.Exec, p.Detect = p.Exec.sorted(), p.Detect.sorted()
	p.EndToEnd = p.EndToEnd.sorted()
	p.Calls = e.cloud.Calls().Sub(c0)
	p.Kafka = e.kafka.counts().sub(k0)
	p.Usage = e.driver.usage()
	p.CPU = p.Usage.cpuSeconds - u0.cpuSeconds
	h1, _ := readCPU(os.Getpid())
	p.HarnessCPU = h1 - h0
	p.Wall = time.Since(t0)
	return p, ss
}

func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// failedSummary lists failure reasons by count.
func failedSummary(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%d x %s", v, firstLine(k)))
	}
	return strings.Join(parts, "; ")
}
