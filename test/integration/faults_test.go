package integration

// Faults: the driver against a real Heat (and Keystone) seen through a
// reverse proxy of the test's own, on 127.0.0.1, that answers chosen
// requests with errors, delays them, lets them hang, refuses connections,
// or turns a token away, and forwards the rest.

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// faultProxy stands in front of a real OpenStack service. For each
// request its fault function either answers itself (and says how), or
// calls forward. It notes every request and what was done with it.
type faultProxy struct {
	server  *httptest.Server
	addr    string
	handler http.Handler

	mu    sync.Mutex
	calls []proxyCall
}

// proxyCall is one request the proxy saw.
type proxyCall struct {
	Method, Path string
	// Did is "forwarded" or the name of the fault the request met.
	Did   string
	Token string
	At    time.Time
}

// faultFunc handles one request: it calls forward to pass it on, or
// answers itself, and returns what it did.
type faultFunc func(w http.ResponseWriter, r *http.Request,
	forward http.HandlerFunc) string

// newFaultProxy starts a proxy to target (scheme://host:port). Heat sees
// the proxy's own Host header, so the redirects it makes point at the
// proxy.
func newFaultProxy(target string, fault faultFunc) *faultProxy {
	to, err := url.Parse(target)
	Expect(err).NotTo(HaveOccurred())
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(to)
			pr.Out.Host = pr.In.Host
			// Plain bodies, so that a test can read and rewrite them.
			pr.Out.Header.Del("Accept-Encoding")
		},
		ErrorLog: log.New(GinkgoWriter, "fault proxy: ", 0),
	}
	p := &faultProxy{}
	p.handler = http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		c := proxyCall{Method: r.Method, Path: r.URL.Path,
			Token: r.Header.Get("X-Auth-Token"), At: time.Now()}
		c.Did = fault(w, r, rp.ServeHTTP)
		p.mu.Lock()
		p.calls = append(p.calls, c)
		p.mu.Unlock()
	})
	p.server = httptest.NewServer(p.handler)
	p.addr = p.server.Listener.Addr().String()
	DeferCleanup(p.stop)
	return p
}

// URL is the proxy's base address; it stays the same across stop and
// start.
func (p *faultProxy) URL() string { return "http://" + p.addr }

// stop closes the proxy: connections to it are refused until start.
func (p *faultProxy) stop() {
	p.mu.Lock()
	s := p.server
	p.server = nil
	p.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// start listens again on the same address after stop.
func (p *faultProxy) start() {
	l, err := net.Listen("tcp", p.addr)
	Expect(err).NotTo(HaveOccurred(), "listening again on %s", p.addr)
	s := httptest.NewUnstartedServer(p.handler)
	_ = s.Listener.Close()
	s.Listener = l
	s.Start()
	p.mu.Lock()
	p.server = s
	p.mu.Unlock()
}

// seen gives the requests the proxy has seen so far.
func (p *faultProxy) seen() []proxyCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxyCall(nil), p.calls...)
}

// count is how many requests met the given treatment.
func (p *faultProxy) count(did string) int {
	n := 0
	for _, c := range p.seen() {
		if c.Did == did {
			n++
		}
	}
	return n
}

// heatLocation is a deployment location without Keystone whose Heat is
// the proxy (in front of the suite's noauth Heat).
func (p *faultProxy) heatLocation() map[string]any {
	u, err := url.Parse(env.heatURL)
	Expect(err).NotTo(HaveOccurred())
	loc := noauthLocation()
	loc["name"] = "lab-through-a-faulty-proxy"
	loc["properties"].(map[string]any)["os_api_url"] = p.URL() + u.Path
	return loc
}

// noauthHeat is the scheme, host and port of the noauth Heat.
func noauthHeat() string {
	u, err := url.Parse(env.heatURL)
	Expect(err).NotTo(HaveOccurred())
	return u.Scheme + "://" + u.Host
}

// isStackRead is a GET of one stack, by name or by name and id: how the
// driver looks at a stack. Lists, resources and events are not.
func isStackRead(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	_, rest, ok := strings.Cut(r.URL.Path, "/stacks/")
	rest = strings.Trim(rest, "/")
	return ok && rest != "" && len(strings.Split(rest, "/")) <= 2
}

// isStackCreate is the POST that creates a stack.
func isStackCreate(r *http.Request) bool {
	return r.Method == http.MethodPost &&
		strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/stacks")
}

// heatExplanations are webob's words, which Heat's fault middleware puts
// in "explanation".
var heatExplanations = map[int]string{
	400: "The server could not comply with the request since it is " +
		"either malformed or otherwise incorrect.",
	401: "This server could not verify that you are authorized to " +
		"access the document you requested.",
	403: "Access was denied to this resource.",
	404: "The resource could not be found.",
	409: "There was a conflict when trying to complete your request.",
	413: "The body of your request was too large for this server.",
	500: "The server has either erred or is incapable of performing the " +
		"requested operation.",
	503: "The server is currently unavailable. Please try again at a " +
		"later time.",
}

// writeHeatError answers as Heat's fault middleware does.
func writeHeatError(w http.ResponseWriter, code int, errType,
	message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code":        code,
		"title":       http.StatusText(code),
		"explanation": heatExplanations[code],
		"error": map[string]any{"type": errType, "message": message,
			"traceback": nil},
	})
}

// statusesOf lists the statuses of every message of a request on the
// events topic, in order.
func statusesOf(reqID string) []string {
	var out []string
	for _, ev := range env.events.of(reqID) {
		if ev.Topic == eventsTopic {
			out = append(out, ev.Message.Status)
		}
	}
	return out
}

// logLines gives the lines of a driver's JSON log that carry the request
// id and the text.
func logLines(logText, reqID, text string) []string {
	var out []string
	for _, line := range strings.Split(logText, "\n") {
		if strings.Contains(line, `"requestId":"`+reqID+`"`) &&
			strings.Contains(line, text) {
			out = append(out, line)
		}
	}
	return out
}

const retryWarning = "stack could not be read; trying again"

// stacksNamed counts the stacks of the noauth Heat with that name that
// are not deleted.
func stacksNamed(name string) int {
	code, body := env.heatGet("/stacks?name=" + url.QueryEscape(name))
	ExpectWithOffset(1, code).To(Equal(200))
	n := 0
	stacks, _ := body["stacks"].([]any)
	for _, s := range stacks {
		st := s.(map[string]any)
		if st["stack_name"] == name &&
			!strings.HasPrefix(st["stack_status"].(string), "DELETE") {
			n++
		}
	}
	return n
}

var _ = Describe("Faults", func() {
	It("keeps following a stack through a burst of 503 and 500 answers "+
		"to its reads, and completes it without a spurious FAILED", func() {
		var mu sync.Mutex
		created := false
		burst := []int{503, 500, 503, 503}
		p := newFaultProxy(noauthHeat(), func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			mu.Lock()
			created = created || isStackCreate(r)
			code := 0
			if created && isStackRead(r) && len(burst) > 0 {
				code, burst = burst[0], burst[1:]
			}
			mu.Unlock()
			switch code {
			case 503:
				// A load balancer with no Heat API behind it.
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(503)
				_, _ = fmt.Fprint(w, "<html><body><h1>503 Service "+
					"Unavailable</h1>\nNo server is available to handle "+
					"this request.\n</body></html>\n")
				return "503"
			case 500:
				// Heat's API when its engine does not answer in time.
				writeHeatError(w, 500, "MessagingTimeout", "Timed out "+
					"waiting for a reply to message ID "+
					"8d2bc0a1b34c4bd6a6d4d2ad1e1f4c37")
				return "500"
			}
			forward(w, r)
			return "forwarded"
		})

		r := newResource("faults 5xx burst")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), p.heatLocation(), nil)))
		Expect(stackID).NotTo(BeEmpty())
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(ev.Message.AssociatedTopology["InfrastructureStack"].ID).
			To(Equal(stackID))
		Expect(ev.Message.Outputs).To(HaveKey("random"))
		Expect(statusesOf(reqID)).NotTo(ContainElement("FAILED"))

		Expect(p.count("503")).To(Equal(3), "the whole burst was answered")
		Expect(p.count("500")).To(Equal(1))
		var lastFault time.Time
		readsAfter := 0
		for _, c := range p.seen() {
			switch {
			case c.Did != "forwarded":
				lastFault = c.At
			case c.Method == http.MethodGet && c.At.After(lastFault) &&
				strings.Contains(c.Path, "/stacks/"):
				readsAfter++
			}
		}
		Expect(readsAfter).To(BeNumerically(">=", 1),
			"the driver read the stack again after the burst")
		Expect(logLines(env.driverLogText(), reqID, retryWarning)).
			To(HaveLen(4), "one warning per failed read, each retried")
	})

	It("waits for a Heat that takes 3 s for every read, without "+
		"counting a slow answer as a failure", func() {
		const delay = 3 * time.Second
		p := newFaultProxy(noauthHeat(), func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			if r.Method != http.MethodGet {
				forward(w, r)
				return "forwarded"
			}
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return "given up by the driver"
			}
			forward(w, r)
			return "delayed"
		})

		r := newResource("faults slow heat")
		start := time.Now()
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), p.heatLocation(), nil)))
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(ev.Message.AssociatedTopology["InfrastructureStack"].ID).
			To(Equal(stackID))
		Expect(time.Since(start)).To(BeNumerically(">=", delay))
		Expect(p.count("delayed")).To(BeNumerically(">=", 1))
		Expect(p.count("given up by the driver")).To(BeZero(),
			"3 s is well within the driver's openstack_timeout")
		Expect(logLines(env.driverLogText(), reqID, retryWarning)).
			To(BeEmpty())
	})

	It("gives up on reads that hang past openstack_timeout, reads again, "+
		"and completes the request", func() {
		const timeout = 3 * time.Second
		d, err := env.startDriverProc("faults-timeout",
			"DRIVER_CONSUMER_GROUP=faults-timeout",
			"DRIVER_JOBS_TOPIC=faults_timeout_jobs",
			fmt.Sprintf("DRIVER_OPENSTACK_TIMEOUT=%s", timeout))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = d.term() })

		var mu sync.Mutex
		created := false
		hangs := 3
		var hung []time.Duration
		p := newFaultProxy(noauthHeat(), func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			mu.Lock()
			created = created || isStackCreate(r)
			hang := created && isStackRead(r) && hangs > 0
			if hang {
				hangs--
			}
			mu.Unlock()
			if !hang {
				forward(w, r)
				return "forwarded"
			}
			start := time.Now()
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
				writeHeatError(w, 503, "ServiceUnavailable", "held 30 s")
				return "hung for good"
			}
			mu.Lock()
			hung = append(hung, time.Since(start))
			mu.Unlock()
			return "hung"
		})

		r := newResource("faults hanging heat")
		a := postTo(d.url, executePath, r.create(zipPackage(helloPackage),
			p.heatLocation(), nil))
		reqID, stackID := accepted(a)
		ev, err := env.events.final(reqID, 90*time.Second)
		Expect(err).NotTo(HaveOccurred(), d.logText())
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(ev.Message.AssociatedTopology["InfrastructureStack"].ID).
			To(Equal(stackID))
		Expect(statusesOf(reqID)).NotTo(ContainElement("FAILED"))

		Expect(p.count("hung")).To(Equal(3), "three reads hung")
		mu.Lock()
		defer mu.Unlock()
		for _, h := range hung {
			Expect(h).To(BeNumerically("~", timeout, time.Second),
				"the driver hung up at its openstack_timeout")
		}
		Expect(logLines(d.logText(), reqID, retryWarning)).To(HaveLen(3))
	})

	It("fails with INFRASTRUCTURE_ERROR, and not before its deadline, a "+
		"request whose Heat stays unreachable", func() {
		// The shortest deadline a request can have: timeout_mins 1 and
		// no margin, on a driver of its own.
		d, err := env.startDriverProc("deadline",
			"DRIVER_DEADLINE_MARGIN=0s",
			"DRIVER_CONSUMER_GROUP=faults-deadline",
			"DRIVER_JOBS_TOPIC=faults_deadline_jobs")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = d.term() })
		p := newFaultProxy(noauthHeat(), func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			forward(w, r)
			return "forwarded"
		})
		DeferCleanup(p.start)

		r := newResource("faults heat gone")
		req := r.create(zipPackage("testdata/packages/slow"),
			p.heatLocation(), map[string]any{"secs": 120})
		req["requestProperties"] = map[string]any{"timeout_mins": 1}
		start := time.Now()
		reqID, _ := accepted(postTo(d.url, executePath, req))
		p.stop()

		ev, err := env.events.final(reqID, 3*time.Minute)
		Expect(err).NotTo(HaveOccurred(), d.logText())
		Expect(time.Since(start)).To(BeNumerically(">=", time.Minute),
			"not before the deadline")
		Expect(ev.Message.Status).To(Equal("FAILED"))
		Expect(ev.Message.FailureDetails.FailureCode).
			To(Equal("INFRASTRUCTURE_ERROR"))
		Expect(ev.Message.FailureDetails.Description).To(ContainSubstring(
			"could not be reached until the request's deadline"))
	})

	It("keeps following a stack while Heat refuses connections for 10 s, "+
		"and completes it once Heat is back", func() {
		p := newFaultProxy(noauthHeat(), func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			forward(w, r)
			return "forwarded"
		})
		r := newResource("faults heat away")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage("testdata/packages/slow"), p.heatLocation(),
			map[string]any{"secs": 3})))
		p.stop()
		time.Sleep(10 * time.Second)
		Expect(statusesOf(reqID)).NotTo(ContainElement("FAILED"))
		Expect(statusesOf(reqID)).NotTo(ContainElement("COMPLETE"))
		back := time.Now()
		p.start()

		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(ev.Message.AssociatedTopology["InfrastructureStack"].ID).
			To(Equal(stackID))
		Expect(ev.Message.Outputs["out"]).To(Equal("slow-done"))
		Expect(ev.Time).To(BeTemporally(">=", back.Add(-time.Second)))
		Expect(logLines(env.driverLogText(), reqID,
			"connection refused")).NotTo(BeEmpty(),
			"the driver tried while Heat was away")
	})

	It("logs in to Keystone again when Heat refuses the token in the "+
		"middle of polling, and completes the request", func() {
		var mu sync.Mutex
		reads, refusedToken := 0, ""
		heatProxy := newFaultProxy(env.keystoneHeat, func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			mu.Lock()
			refuse := false
			if isStackRead(r) {
				reads++
				// The first read after the create: this replica knows
				// the stack's id from Heat's answer, so there may be no
				// other read before the stack is complete.
				refuse = reads == 1
				if refuse {
					refusedToken = r.Header.Get("X-Auth-Token")
				}
			}
			mu.Unlock()
			if !refuse {
				forward(w, r)
				return "forwarded"
			}
			// What keystonemiddleware answers for an expired token.
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(
				"Keystone uri=\"http://127.0.0.1:%d\"", env.keystonePort))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			_, _ = fmt.Fprint(w, `{"error": {"code": 401, "title": `+
				`"Unauthorized", "message": "The request you have made `+
				`requires authentication."}}`)
			return "401"
		})
		rewritten := 0
		keystone := newFaultProxy(fmt.Sprintf("http://127.0.0.1:%d",
			env.keystonePort), func(w http.ResponseWriter, r *http.Request,
			forward http.HandlerFunc) string {
			if !(r.Method == http.MethodPost &&
				strings.HasSuffix(r.URL.Path, "/auth/tokens")) {
				forward(w, r)
				return "forwarded"
			}
			// The token's catalog sends the driver to the Heat proxy.
			rec := httptest.NewRecorder()
			forward(rec, r)
			body := rec.Body.String()
			mu.Lock()
			rewritten += strings.Count(body, env.keystoneHeat)
			mu.Unlock()
			body = strings.ReplaceAll(body, env.keystoneHeat,
				heatProxy.URL())
			for k, v := range rec.Header() {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.Code)
			_, _ = fmt.Fprint(w, body)
			return "login"
		})

		loc := keystoneLocation(demoPassword)
		loc["name"] = "lab-keystone-through-proxies"
		loc["properties"].(map[string]any)["os_api_url"] = keystone.URL()
		r := newResource("faults token refused")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage("testdata/packages/slow"), loc,
			map[string]any{"secs": 4})))
		Expect(stackID).NotTo(BeEmpty())
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(ev.Message.Outputs["out"]).To(Equal("slow-done"))
		Expect(statusesOf(reqID)).NotTo(ContainElement("FAILED"))

		mu.Lock()
		Expect(rewritten).To(BeNumerically(">", 0),
			"the catalog named the Keystone-backed Heat")
		token := refusedToken
		mu.Unlock()
		Expect(heatProxy.count("401")).To(Equal(1),
			"the token was refused mid-poll")
		Expect(keystone.count("login")).To(BeNumerically(">=", 2),
			"the driver logged in again after the refusal")
		var after []string
		refusedAt := time.Time{}
		for _, c := range heatProxy.seen() {
			if c.Did == "401" {
				refusedAt = c.At
			} else if !refusedAt.IsZero() && c.At.After(refusedAt) {
				after = append(after, c.Token)
			}
		}
		Expect(after).NotTo(BeEmpty(), "Heat was asked again")
		Expect(after).NotTo(ContainElement(token),
			"the refused token was not used again")
	})

	It("answers 503 when Heat's answer to the create is lost, and reuses "+
		"the stack when Brent repeats the Create", func() {
		var mu sync.Mutex
		lost, lostID := false, ""
		p := newFaultProxy(noauthHeat(), func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			mu.Lock()
			lose := isStackCreate(r) && !lost
			lost = lost || lose
			mu.Unlock()
			if !lose {
				forward(w, r)
				return "forwarded"
			}
			// Heat creates the stack; its answer never reaches the
			// driver: the gateway in between timed out.
			rec := httptest.NewRecorder()
			forward(rec, r)
			var created struct {
				Stack struct {
					ID string `json:"id"`
				} `json:"stack"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &created)
			mu.Lock()
			lostID = created.Stack.ID
			mu.Unlock()
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(504)
			_, _ = fmt.Fprint(w, "<html><body><h1>504 Gateway Time-out"+
				"</h1>\nThe server didn't respond in time.\n</body></html>\n")
			return "504"
		})

		r := newResource("faults lost answer")
		files := zipPackage(helloPackage)
		first := env.post(executePath, r.create(files, p.heatLocation(), nil))
		Expect(first.Status).To(Equal(503), first.Text)
		Expect(first.Body["localizedMessage"]).To(ContainSubstring("Heat"))
		Expect(first.Body["localizedMessage"]).To(ContainSubstring("504"))
		mu.Lock()
		stackID := lostID
		mu.Unlock()
		Expect(stackID).NotTo(BeEmpty(), "Heat created the stack")
		env.noteStack(stackID)

		reqID, again := accepted(env.post(executePath, r.create(files,
			p.heatLocation(), nil)))
		Expect(again).To(Equal(stackID), "the stack is reused, by its tag")
		ev := finalOf(reqID)
		Expect(ev.Message.Status).To(Equal("COMPLETE"), ev.Raw)
		Expect(stacksNamed("faultslostanswer."+r.id)).To(Equal(1),
			"no second stack was made")

		// The first request stayed on record: it ends too, on the same
		// stack, though Brent never learnt its id.
		Eventually(func() []string {
			var out []string
			for _, ev := range env.events.ofStack(stackID) {
				out = append(out, ev.Message.Status)
			}
			return out
		}, "30s", "200ms").Should(Equal([]string{"COMPLETE", "COMPLETE"}))
	})

	// refusingCreate is a Heat whose stack create answers with the given
	// error; everything else is forwarded.
	refusingCreate := func(code int, errType, message string) *faultProxy {
		return newFaultProxy(noauthHeat(), func(w http.ResponseWriter,
			r *http.Request, forward http.HandlerFunc) string {
			if !isStackCreate(r) {
				forward(w, r)
				return "forwarded"
			}
			writeHeatError(w, code, errType, message)
			return "refused"
		})
	}

	DescribeTable("accepts a Create that Heat refuses for a reason with "+
		"a failure code, and fails it at once with that code",
		func(code int, errType, message, failureCode string) {
			p := refusingCreate(code, errType, message)
			r := newResource(fmt.Sprintf("faults refused %d", code))
			reqID, stackID := accepted(env.post(executePath, r.create(
				zipPackage(helloPackage), p.heatLocation(), nil)))
			Expect(stackID).To(BeEmpty(), "no stack is ours")
			Expect(p.count("refused")).To(Equal(1))
			ev := finalOf(reqID)
			Expect(ev.Message.Status).To(Equal("FAILED"))
			Expect(ev.Message.FailureDetails.FailureCode).
				To(Equal(failureCode))
			Expect(ev.Message.FailureDetails.Description).
				To(ContainSubstring(message))
			Expect(ev.Message.AssociatedTopology).To(BeEmpty())
			Consistently(func() []string { return statusesOf(reqID) },
				"2s", "250ms").Should(Equal([]string{"FAILED"}),
				"one message, and nothing follows it")
		},
		Entry("413 quota exceeded", 413, "OverQuota",
			"Quota exceeded for instances: Requested 1, but already "+
				"used 10 of 10 instances", "INSUFFICIENT_CAPACITY"),
		Entry("403 over quota", 403, "Forbidden",
			"Quota exceeded for cores: Requested 8, but already used 20 "+
				"of 20 cores", "INSUFFICIENT_CAPACITY"),
		Entry("404 of something the template names", 404,
			"EntityNotFound", "The Image (cirros-0.6-missing) could not "+
				"be found.", "RESOURCE_NOT_FOUND"),
		Entry("400 saying a network cannot be found", 400,
			"StackValidationFailed", "Property error: : resources.vm."+
				"properties.networks[0].network: Error validating value "+
				"'private-net': Unable to find network with name or id "+
				"'private-net'", "RESOURCE_NOT_FOUND"),
		// Heat's own per-project stack limit comes as a 400
		// RequestLimitExceeded (heat/engine/service.py,
		// _validate_new_stack; fault.py maps it to HTTPBadRequest).
		Entry("400 of Heat's maximum stacks per project", 400,
			"RequestLimitExceeded", "Request limit exceeded: You have "+
				"reached the maximum stacks per tenant, 512. Please "+
				"delete some stacks.", "INSUFFICIENT_CAPACITY"),
	)

	DescribeTable("answers 400 with Heat's own words when Heat refuses a "+
		"Create for any other reason",
		func(code int, errType, message string) {
			p := refusingCreate(code, errType, message)
			r := newResource(fmt.Sprintf("faults rejected %d", code))
			a := env.post(executePath, r.create(zipPackage(helloPackage),
				p.heatLocation(), nil))
			Expect(a.Status).To(Equal(400), a.Text)
			Expect(a.Body["status"]).To(BeNumerically("==", 400))
			Expect(a.Body["localizedMessage"]).To(ContainSubstring(message))
			Expect(p.count("refused")).To(Equal(1))
		},
		Entry("a 400 about a parameter", 400, "StackValidationFailed",
			"Parameter 'flavor' is invalid: Value 'huge' is not an "+
				"integer"),
		Entry("a 403 that is not about quota", 403, "Forbidden",
			"You are not authorized to use stacks:create."),
	)
})
