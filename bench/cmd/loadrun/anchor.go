package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tnco-drivers/openstack-driver/bench/calls"
	"github.com/tnco-drivers/openstack-driver/bench/countproxy"
)

// The earlier Python driver's figures, measured on this kind of machine
// against the same real Heat and Keystone (the project's anchor figures,
// shared/ANCHOR-FIGURES.md). A figure given as a range is kept as its
// two ends.
var earlier = struct {
	execOne             [2]float64 // s
	finalAfter          [2]float64 // s, for the 20 s stack
	heatCalls           float64
	logins              float64
	keystoneAll         float64 // "about"
	jobRecords          float64
	allDone             float64 // s, 20 at once
	execMin, execMean   float64
	execMax             float64
	rssMB               float64 // over its 5 processes
	processes           int
	eventsPerRequest    float64 // one final message per request
	heatCallsPerPollFmt string
}{
	execOne: [2]float64{1.0, 1.3}, finalAfter: [2]float64{21.8, 22.1},
	heatCalls: 67, logins: 34, keystoneAll: 71, jobRecords: 33,
	allDone: 52.9, execMin: 2.6, execMean: 15.7, execMax: 29.3,
	rssMB: 400, processes: 5, eventsPerRequest: 1,
	heatCallsPerPollFmt: "1 POST, then 33 polls of 2 GETs each",
}

// openstack is a real Keystone and Heat started by scripts/openstack on
// free ports, each behind a counting proxy: Keystone's catalog sends
// clients to the Heat proxy, and Heat checks tokens through the Keystone
// proxy.
type openstack struct {
	r         *runner
	ksEnv     []string
	heatEnv   []string
	ksProxy   *countproxy.Proxy
	heatProxy *countproxy.Proxy
	started   []func()
}

func (r *runner) script(name string) string {
	return filepath.Join(r.repo, "scripts", "openstack", name)
}

// runScript runs one of the OpenStack scripts with extra environment.
func (r *runner) runScript(ctx context.Context, env []string,
	args ...string) error {
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err,
			strings.TrimSpace(out.String()))
	}
	return nil
}

// openStackInstalled checks that Debian's Heat and Keystone are there,
// as the scripts would.
func (r *runner) openStackInstalled() error {
	py := os.Getenv("OPENSTACK_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	err := exec.Command(py, "-c",
		"import heat, keystone, keystonemiddleware").Run()
	if err != nil {
		return fmt.Errorf("real Heat and Keystone are not installed (%s "+
			"cannot import heat, keystone, keystonemiddleware); "+
			"scripts/openstack/install.sh installs them, as root", py)
	}
	return nil
}

func (r *runner) startOpenStack(ctx context.Context) (*openstack, error) {
	var ports [5]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	ksPort, ksProxyPort, heatPort, heatProxyPort, neutronPort := ports[0],
		ports[1], ports[2], ports[3], ports[4]
	st := &openstack{r: r,
		ksEnv: []string{fmt.Sprintf("KEYSTONE_PORT=%d", ksPort),
			fmt.Sprintf("HEAT_PORT=%d", heatProxyPort),
			fmt.Sprintf("NEUTRON_PORT=%d", neutronPort),
			"KEYSTONE_STATE_DIR=" + filepath.Join(r.work, "keystone")},
		heatEnv: []string{fmt.Sprintf("HEAT_PORT=%d", heatPort),
			fmt.Sprintf("KEYSTONE_PORT=%d", ksProxyPort),
			"HEAT_STATE_DIR=" + filepath.Join(r.work, "heat"),
			"HEAT_SCHEMA_CACHE_DIR=" + filepath.Join(r.work, "cache")},
	}
	ok := false
	defer func() {
		if !ok {
			st.stop()
		}
	}()
	// Stopping is registered before starting: a start that fails half
	// way may leave a process, and stop is harmless without one.
	st.started = append(st.started, func() {
		_ = r.runScript(context.Background(), st.ksEnv,
			r.script("keystone.sh"), "stop")
	})
	r.logf("scenario d: starting Keystone (port %d, proxy %d)", ksPort,
		ksProxyPort)
	if err := r.runScript(ctx, st.ksEnv, r.script("keystone.sh"),
		"start"); err != nil {
		return nil, err
	}
	var err error
	st.ksProxy, err = countproxy.Start(fmt.Sprintf("http://127.0.0.1:%d",
		ksPort), ksProxyPort, calls.ClassifyKeystone)
	if err != nil {
		return nil, err
	}
	st.heatProxy, err = countproxy.Start(fmt.Sprintf(
		"http://127.0.0.1:%d", heatPort), heatProxyPort, calls.ClassifyHeat)
	if err != nil {
		return nil, err
	}
	st.started = append(st.started, func() {
		_ = r.runScript(context.Background(), st.heatEnv,
			r.script("heat.sh"), "stop")
	})
	if err := st.catalogThroughProxy(ctx); err != nil {
		return nil, err
	}
	r.logf("scenario d: starting Heat with Keystone (port %d, proxy %d)",
		heatPort, heatProxyPort)
	if err := r.runScript(ctx, st.heatEnv, r.script("heat.sh"), "start",
		"--keystone"); err != nil {
		return nil, err
	}
	ok = true
	return st, nil
}

// catalogThroughProxy points the catalog's identity endpoints at the
// Keystone proxy (as Keystone's admin), so that Heat's own calls to
// Keystone, which find Keystone through the catalog, are counted too.
func (o *openstack) catalogThroughProxy(ctx context.Context) error {
	base := fmt.Sprintf("http://127.0.0.1:%d/v3", o.ksProxy.Port())
	call := func(method, path, token string, body any,
		out any) (http.Header, error) {
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return nil, err
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("Keystone %s %s: HTTP %d: %s", method,
				path, resp.StatusCode, firstLine(string(data)))
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return nil, err
			}
		}
		return resp.Header, nil
	}
	// The admin of keystone.sh's fresh Keystone (its documented
	// defaults, KEYSTONE_ADMIN_PASSWORD).
	pw := os.Getenv("KEYSTONE_ADMIN_PASSWORD")
	if pw == "" {
		pw = "adminpass"
	}
	domain := map[string]any{"id": "default"}
	h, err := call("POST", "/auth/tokens", "", map[string]any{
		"auth": map[string]any{
			"identity": map[string]any{"methods": []string{"password"},
				"password": map[string]any{"user": map[string]any{
					"name": "admin", "domain": domain, "password": pw}}},
			"scope": map[string]any{"project": map[string]any{
				"name": "admin", "domain": domain}}}}, nil)
	if err != nil {
		return err
	}
	token := h.Get("X-Subject-Token")
	var svcs struct {
		Services []struct {
			ID string `json:"id"`
		} `json:"services"`
	}
	if _, err := call("GET", "/services?type=identity", token, nil,
		&svcs); err != nil {
		return err
	}
	for _, svc := range svcs.Services {
		var eps struct {
			Endpoints []struct {
				ID string `json:"id"`
			} `json:"endpoints"`
		}
		if _, err := call("GET", "/endpoints?service_id="+svc.ID, token,
			nil, &eps); err != nil {
			return err
		}
		for _, ep := range eps.Endpoints {
			if _, err := call("PATCH", "/endpoints/"+ep.ID, token,
				map[string]any{"endpoint": map[string]any{
					"url": base + "/"}}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o *openstack) stop() {
	for i := len(o.started) - 1; i >= 0; i-- {
		o.started[i]()
	}
	if o.heatProxy != nil {
		o.heatProxy.Close()
	}
	if o.ksProxy != nil {
		o.ksProxy.Close()
	}
}

func (o *openstack) location() map[string]any {
	return keystoneLocation("anchor", fmt.Sprintf("http://127.0.0.1:%d",
		o.ksProxy.Port()))
}

// anchorRun is one batch of Creates sent at once to a fresh driver.
type anchorRun struct {
	n          int
	exec       durations
	execFirst  time.Duration
	allDone    time.Duration // first send to last final message
	finals     durations     // each request's start to its final
	missing    int
	failed     map[string]int
	heat       calls.Counts // the driver's calls to Heat
	heatOther  calls.Counts // anyone else's calls to Heat
	ksDriver   calls.Counts // the driver's calls to Keystone
	ksAll      calls.Counts // every call to Keystone, Heat's included
	kafka      kafkaCounts
	usage      usage
	cpu        float64
	refused    string
	inProgress int
	// heatPost and login are how long Heat's answers to the driver's
	// stack creates, and Keystone's to its logins, took.
	heatPost durations
	login    durations
}

func (r *runner) anchorBatch(ctx context.Context, o *openstack,
	name string, n int) (*anchorRun, error) {
	k, err := startBroker()
	if err != nil {
		return nil, err
	}
	defer k.close()
	d, err := startDriver(ctx, r.bin, r.work, name, r.driverSettings(k))
	if err != nil {
		return nil, err
	}
	defer d.stop()
	if err := k.follow(); err != nil {
		return nil, err
	}
	z, err := zipFiles(map[string]string{"heat.yaml": slowTemplate})
	if err != nil {
		return nil, err
	}
	files := base64.StdEncoding.EncodeToString(z)
	b, err := newBody(createRequest(files, o.location(),
		map[string]any{"secs": r.o.anchorSecs}))
	if err != nil {
		return nil, err
	}
	h0, ho0 := o.heatProxy.Calls("driver"), o.heatProxy.Calls("other")
	kd0, ka0 := o.ksProxy.Calls("driver"), o.ksProxy.All()
	kf0, u0 := k.counts(), d.usage()
	post0 := len(o.heatProxy.Took("driver", calls.StackCreate))
	login0 := len(o.ksProxy.Took("driver", calls.TokenCreate))

	client := newHTTPClient(n)
	t0 := time.Now()
	ss := fire(ctx, client, d.url, b, n, 0, n,
		func(i int) []string { return r.resource(name, i) }, nil)
	client.CloseIdleConnections()
	acc := accepted(ss)
	ids := make([]string, len(acc))
	for i, s := range acc {
		ids[i] = s.RequestID
	}
	wctx, cancel := context.WithTimeout(ctx,
		time.Duration(r.o.anchorSecs)*time.Second+4*time.Minute)
	missing := k.events.waitFinals(wctx, ids)
	cancel()
	settle(ctx, 2500*time.Millisecond)

	a := &anchorRun{n: n, missing: missing, failed: map[string]int{},
		refused: errorsOf(ss)}
	var last time.Time
	for _, s := range ss {
		if s.Status != 202 {
			continue
		}
		a.exec = append(a.exec, s.latency())
		if ev, ok := k.events.get(s.RequestID); ok && ev.Status != "" {
			a.finals = append(a.finals, ev.Final.Sub(s.Start))
			if ev.Final.After(last) {
				last = ev.Final
			}
			if ev.Status == "FAILED" {
				a.failed[ev.Failure]++
			}
			a.inProgress += ev.InProgress
		}
	}
	if len(a.exec) > 0 {
		a.execFirst = a.exec[0]
	}
	a.exec, a.finals = a.exec.sorted(), a.finals.sorted()
	if !last.IsZero() {
		a.allDone = last.Sub(t0)
	}
	a.heat = o.heatProxy.Calls("driver").Sub(h0)
	a.heatOther = o.heatProxy.Calls("other").Sub(ho0)
	a.ksDriver = o.ksProxy.Calls("driver").Sub(kd0)
	a.ksAll = o.ksProxy.All().Sub(ka0)
	a.kafka = k.counts().sub(kf0)
	a.heatPost = durations(o.heatProxy.Took("driver",
		calls.StackCreate)[post0:]).sorted()
	a.login = durations(o.ksProxy.Took("driver",
		calls.TokenCreate)[login0:]).sorted()
	a.usage = d.usage()
	a.cpu = a.usage.cpuSeconds - u0.cpuSeconds
	return a, nil
}

// anchor is scenario d: the earlier driver's measurements, repeated
// against a real Heat and Keystone.
func (r *runner) anchor(ctx context.Context) *section {
	s := &section{title: fmt.Sprintf("(d) anchor: real Heat + Keystone, "+
		"a %d s stack, beside the earlier Python driver", r.o.anchorSecs)}
	if err := r.openStackInstalled(); err != nil {
		if os.Getenv("CI") == "true" {
			return s.fail("%v", err)
		}
		s.footer("SKIPPED: %v", err)
		return s
	}
	o, err := r.startOpenStack(ctx)
	if err != nil {
		return s.fail("real Heat and Keystone could not be started "+
			"(scripts/openstack/install.sh installs them, as root): %v",
			err)
	}
	defer o.stop()

	r.logf("scenario d: one Create of a %d s stack", r.o.anchorSecs)
	one, err := r.anchorBatch(ctx, o, "d-one", 1)
	if err != nil {
		return s.fail("%v", err)
	}
	r.logf("scenario d: %d Creates at once", r.o.anchorN)
	many, err := r.anchorBatch(ctx, o, "d-many", r.o.anchorN)
	if err != nil {
		return s.fail("%v", err)
	}

	s.note("Heat and Keystone from scripts/openstack, each behind a " +
		"counting proxy; a fresh driver (and kfake) for each batch")
	s.note("earlier: the earlier Python driver (2.1.0, 4 gunicorn " +
		"workers), same setup, from ANCHOR-FIGURES.md")
	s.row("", "ours", "earlier Python driver", "earlier / ours")
	e := earlier
	rng := func(a [2]float64, unit string) string {
		return fmt.Sprintf("%.1f-%.1f%s", a[0], a[1], unit)
	}
	ratio := func(theirs, ours float64) string {
		if ours <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1fx", theirs/ours)
	}
	ratioRange := func(theirs [2]float64, ours float64) string {
		if ours <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f-%.1fx", theirs[0]/ours, theirs[1]/ours)
	}
	sec := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

	s.row("ONE CREATE", "", "", "")
	s.row("execute latency (with the one login)", sec(one.execFirst),
		rng(e.execOne, " s"), ratioRange(e.execOne, one.execFirst.Seconds()))
	s.row("  of which Keystone's login / Heat's POST",
		fmt.Sprintf("%s / %s", sec(sum(one.login)), sec(sum(one.heatPost))),
		"about 0.3 s / -", "")
	s.row("  the driver's own part", sec(one.execFirst-sum(one.login)-
		sum(one.heatPost)), "-", "")
	var final time.Duration
	if len(one.finals) > 0 {
		final = one.finals[0]
	}
	s.row("final message after", sec(final), rng(e.finalAfter, " s"),
		ratioRange(e.finalAfter, final.Seconds()))
	s.row("Heat calls", fmt.Sprint(one.heat.Heat()),
		fmt.Sprintf("%.0f", e.heatCalls),
		ratio(e.heatCalls, float64(one.heat.Heat())))
	s.row("  by kind", callsByKind(one.heat, calls.HeatKinds, 1),
		e.heatCallsPerPollFmt, "")
	s.row("Keystone logins by the driver",
		fmt.Sprint(one.ksDriver[calls.TokenCreate]),
		fmt.Sprintf("%.0f", e.logins),
		ratio(e.logins, float64(one.ksDriver[calls.TokenCreate])))
	s.row("Keystone requests in all (Heat's too)",
		fmt.Sprint(one.ksAll.Keystone()),
		fmt.Sprintf("about %.0f", e.keystoneAll),
		ratio(e.keystoneAll, float64(one.ksAll.Keystone())))
	s.row("  by kind", callsByKind(one.ksAll, calls.KeystoneKinds, 1), "",
		"")
	jobs := one.kafka.Records[jobsTopic]
	s.row("job-queue records", fmt.Sprintf("%d (record + tombstone)",
		jobs), fmt.Sprintf("%.0f (one per poll)", e.jobRecords),
		ratio(e.jobRecords, float64(jobs)))
	var all int64
	for _, v := range one.kafka.Records {
		all += v
	}
	s.row("Kafka records in all", fmt.Sprintf("%d (events %d, progress "+
		"%d)", all, one.kafka.Records[eventsTopic],
		one.kafka.Records[progressTopic]),
		fmt.Sprintf("%.0f (33 jobs + 1 event, derived)",
			e.jobRecords+e.eventsPerRequest),
		ratio(e.jobRecords+e.eventsPerRequest, float64(all)))
	s.row("  produce requests / offset commits", fmt.Sprintf("%d / %d",
		one.kafka.ProduceRequests, one.kafka.OffsetCommits), "-", "")
	s.row("driver CPU seconds for it", fmt.Sprintf("%.2f", one.cpu), "-", "")

	s.row(fmt.Sprintf("%d CREATES AT ONCE", many.n), "", "", "")
	s.row("all complete after", sec(many.allDone),
		fmt.Sprintf("%.1f s", e.allDone),
		ratio(e.allDone, many.allDone.Seconds()))
	if len(many.exec) > 0 {
		s.row("execute latency min", sec(many.exec[0]),
			fmt.Sprintf("%.1f s", e.execMin),
			ratio(e.execMin, many.exec[0].Seconds()))
		s.row("execute latency mean", sec(many.exec.mean()),
			fmt.Sprintf("%.1f s", e.execMean),
			ratio(e.execMean, many.exec.mean().Seconds()))
		s.row("execute latency max (worst)", sec(many.exec[len(many.exec)-1]),
			fmt.Sprintf("%.1f s", e.execMax),
			ratio(e.execMax, many.exec[len(many.exec)-1].Seconds()))
	}
	if len(many.heatPost) > 0 {
		s.row("  Heat's POST min / mean / max", fmt.Sprintf(
			"%s / %s / %s", sec(many.heatPost[0]), sec(many.heatPost.mean()),
			sec(many.heatPost[len(many.heatPost)-1])), "-", "")
	}
	s.row("request start to final p50 / max", two2(many.finals), "-", "")
	s.row("Heat calls per request", per(many.heat.Heat(), many.n),
		fmt.Sprintf("%.0f", e.heatCalls),
		ratio(e.heatCalls, float64(many.heat.Heat())/float64(many.n)))
	s.row("Keystone logins by the driver (total)",
		fmt.Sprint(many.ksDriver[calls.TokenCreate]),
		fmt.Sprintf("%.0f x %d = %.0f", e.logins, many.n,
			e.logins*float64(many.n)), "")
	s.row("driver peak RSS (VmHWM)", mib(many.usage.hwm),
		fmt.Sprintf("about %.0f MB (%d processes)", e.rssMB, e.processes),
		ratio(e.rssMB*1e6, float64(many.usage.hwm)))
	s.row("driver threads, most sampled", fmt.Sprint(many.usage.maxThreads),
		"-", "")
	if len(many.heatPost) > 0 && len(many.exec) > 0 {
		s.footer("%d at once: execute latency is Heat's POST (mean %s) "+
			"plus the driver's own part (mean %s); the driver sends every "+
			"POST at once, where the earlier driver's 4 workers sent 4 at "+
			"a time", many.n, sec(many.heatPost.mean()),
			sec(many.exec.mean()-many.heatPost.mean()))
	}
	s.footer("Heat calls by kind, %d at once, per request: %s", many.n,
		callsByKind(many.heat, calls.HeatKinds, many.n))
	s.footer("Keystone requests in all, %d at once: %d (%s); logins by "+
		"the driver %d", many.n, many.ksAll.Keystone(),
		callsByKind(many.ksAll, calls.KeystoneKinds, 1),
		many.ksDriver[calls.TokenCreate])
	if n := many.heatOther.Heat() + one.heatOther.Heat(); n > 0 {
		s.footer("calls to Heat not from the driver: %d", n)
	}
	for _, a := range []*anchorRun{one, many} {
		if a.refused != "" {
			s.footer("refused: %s", a.refused)
		}
		if len(a.failed) > 0 {
			s.footer("FAILED messages: %s", failedSummary(a.failed))
		}
		if a.missing > 0 || len(a.failed) > 0 || len(a.exec) < a.n {
			s.fail("%d of %d accepted, %d final messages missing",
				len(a.exec), a.n, a.missing)
		}
	}
	return s
}

func sum(d durations) time.Duration {
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t
}

func two2(d durations) string {
	if len(d) == 0 {
		return "-"
	}
	return ms(d.pct(50)) + " / " + ms(d[len(d)-1])
}
