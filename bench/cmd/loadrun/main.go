// Command loadrun is the driver's load harness. It builds the real driver
// binary, runs it against a Kafka-protocol broker in this process
// (franz-go's kfake) and a simulated Heat and Keystone (bench/simcloud),
// drives it through its HTTP API as Brent would, reads every result from
// the events topic, and prints what it measured: execute latency,
// accepted requests per second, how soon a finished stack is noticed,
// OpenStack calls and Kafka writes per request, the driver's memory and
// CPU. Its anchor scenario runs against a real Heat and Keystone
// (scripts/openstack) behind counting proxies, and puts the figures beside
// those measured for the earlier Python driver.
//
// Everything it starts listens on 127.0.0.1, is stopped by PID, and has a
// time limit: the whole run ends by -timeout at the latest.
//
//	go run ./bench/cmd/loadrun            # the default run, under 10 minutes
//	go run ./bench/cmd/loadrun -full      # 5-minute stack, longer runs
//	go run ./bench/cmd/loadrun -scenarios a,d
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/simcloud"
)

type options struct {
	scenarios string
	full      bool
	timeout   time.Duration
	repo      string
	keep      bool

	heatLatency  time.Duration
	tokenLatency time.Duration
	packageKB    int

	rate     float64
	aSeconds time.Duration
	aStack   distFlag
	aDelete  distFlag

	bCreates int
	bRate    float64
	bStack   distFlag

	cStack time.Duration

	anchorSecs int
	anchorN    int

	driverEnv string
}

// distFlag is a duration distribution on the command line: "2s-5s" or
// "30s".
type distFlag struct{ simcloud.Dist }

func (d *distFlag) Set(s string) error {
	a, b, ok := strings.Cut(s, "-")
	lo, err := time.ParseDuration(a)
	if err != nil {
		return err
	}
	hi := lo
	if ok {
		if hi, err = time.ParseDuration(b); err != nil {
			return err
		}
	}
	if hi < lo {
		return fmt.Errorf("%s: the end is before the start", s)
	}
	d.Dist = simcloud.Uniform(lo, hi)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{
		aStack:  distFlag{simcloud.Uniform(2*time.Second, 5*time.Second)},
		aDelete: distFlag{simcloud.Uniform(time.Second, 2*time.Second)},
		bStack:  distFlag{simcloud.Uniform(45*time.Second, 60*time.Second)},
	}
	fs := flag.NewFlagSet("loadrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenarios, "scenarios", "a,b,c,d", "scenarios to run: "+
		"a throughput, b many in flight, c one long stack, d anchor "+
		"against real Heat and Keystone")
	fs.BoolVar(&o.full, "full", false, "the long run: a 5-minute stack "+
		"in c, 10 s of throughput in a (about 6 minutes in all)")
	fs.DurationVar(&o.timeout, "timeout", 0, "hard limit of the whole "+
		"run (default 9m30s, 20m with -full)")
	fs.StringVar(&o.repo, "repo", ".", "the driver's repository (where "+
		"go.mod is)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work folder (driver "+
		"logs, Heat and Keystone logs)")
	fs.DurationVar(&o.heatLatency, "heat-latency", 20*time.Millisecond,
		"simulated latency of every Heat call")
	fs.DurationVar(&o.tokenLatency, "token-latency", 300*time.Millisecond,
		"simulated latency of a Keystone login")
	fs.IntVar(&o.packageKB, "package-kb", 20, "size of the package zip "+
		"in KiB")
	fs.Float64Var(&o.rate, "rate", 1000, "a: target requests per second")
	fs.DurationVar(&o.aSeconds, "a-duration", 5*time.Second, "a: how "+
		"long Creates (then Deletes) are sent at -rate")
	fs.Var(&o.aStack, "a-stack", "a: simulated create time of a stack "+
		"(uniform between the two)")
	fs.Var(&o.aDelete, "a-delete", "a: simulated delete time of a stack")
	fs.IntVar(&o.bCreates, "b-creates", 20000, "b: Creates held at once")
	fs.Float64Var(&o.bRate, "b-rate", 1000, "b: target requests per "+
		"second")
	fs.Var(&o.bStack, "b-stack", "b: simulated create time of a stack")
	fs.DurationVar(&o.cStack, "c-stack", 0, "c: create time of the one "+
		"long stack, in real time (default 2m, 5m with -full)")
	fs.IntVar(&o.anchorSecs, "anchor-secs", 20, "d: seconds the real "+
		"Heat stack takes to create")
	fs.IntVar(&o.anchorN, "anchor-n", 20, "d: Creates sent at once")
	fs.StringVar(&o.driverEnv, "driver-env", "", "extra driver "+
		"settings for every driver started, as DRIVER_X=v,DRIVER_Y=w")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.full {
		if o.cStack == 0 {
			o.cStack = 5 * time.Minute
		}
		if o.timeout == 0 {
			o.timeout = 20 * time.Minute
		}
		if !flagSet(fs, "a-duration") {
			o.aSeconds = 10 * time.Second
		}
	}
	if o.cStack == 0 {
		o.cStack = 2 * time.Minute
	}
	if o.timeout == 0 {
		o.timeout = 9*time.Minute + 30*time.Second
	}
	return o, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runner holds what every scenario shares.
type runner struct {
	o       *options
	repo    string
	work    string
	bin     string
	keyFile string
	out     io.Writer
	log     io.Writer
	runID   string
}

func (r *runner) driverSettings(k *broker) map[string]string {
	s := map[string]string{
		"DRIVER_KAFKA_BROKERS": strings.Join(k.addrs, ","),
		"DRIVER_JOB_KEY_FILE":  r.keyFile,
		"DRIVER_LOG_LEVEL":     "info",
	}
	for kv := range strings.SplitSeq(r.o.driverEnv, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			s[k] = v
		}
	}
	return s
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "loadrun %s  %s\n", time.Now().Format("15:04:05"),
		fmt.Sprintf(format, args...))
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	repo, err := filepath.Abs(o.repo)
	if err == nil {
		_, err = os.Stat(filepath.Join(repo, "cmd", "openstack-driver"))
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadrun: %s is not the driver's repository "+
			"(no cmd/openstack-driver); run from it or pass -repo\n", o.repo)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	work, err := os.MkdirTemp("", "loadrun-")
	if err != nil {
		fmt.Fprintf(stderr, "loadrun: %v\n", err)
		return 1
	}
	if o.keep {
		defer fmt.Fprintf(stderr, "loadrun: work folder kept: %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	r := &runner{o: o, repo: repo, work: work, out: stdout, log: stderr,
		runID: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)}
	start := time.Now()

	r.logf("building the driver")
	if r.bin, err = buildDriver(ctx, repo, work); err != nil {
		fmt.Fprintf(stderr, "loadrun: %v\n", err)
		return 1
	}
	if r.keyFile, err = writeKeyFile(work); err != nil {
		fmt.Fprintf(stderr, "loadrun: %v\n", err)
		return 1
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(o.scenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}

	report := &report{}
	report.header(r)
	fmt.Fprint(stdout, report.take())

	// c runs in the background from the start: one stack followed in
	// real time costs the driver next to nothing, and the others need
	// not wait for it.
	var longDone chan *section
	if want["c"] {
		longDone = make(chan *section, 1)
		go func() { longDone <- r.longStack(ctx) }()
	}
	failed := false
	for _, sc := range []struct {
		key string
		fn  func(context.Context) *section
	}{{"a", r.throughput}, {"b", r.manyInFlight}, {"d", r.anchor}} {
		if !want[sc.key] {
			continue
		}
		s := sc.fn(ctx)
		failed = failed || s.failed
		fmt.Fprint(stdout, s.text())
	}
	if longDone != nil {
		r.logf("waiting for scenario c's long stack")
		s := <-longDone
		failed = failed || s.failed
		fmt.Fprint(stdout, s.text())
	}
	fmt.Fprintf(stdout, "\nGoroutines are not sampled by the harness; the "+
		"driver's /metrics has them (go_goroutines). OS threads are "+
		"shown instead.\n")
	fmt.Fprintf(stdout, "\nloadrun: done in %s\n",
		time.Since(start).Round(time.Second))
	if ctx.Err() != nil {
		fmt.Fprintf(stdout, "loadrun: stopped early (%v): the figures "+
			"above are partial\n", context.Cause(ctx))
		return 1
	}
	if failed {
		return 1
	}
	return 0
}
