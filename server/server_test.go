package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
	"github.com/tnco-drivers/openstack-driver/server"
)

const executePath = "/api/driver/lifecycle/execute"

// fakeExecutor records what it is given and answers with do.
type fakeExecutor struct {
	mu    sync.Mutex
	calls []*lifecycle.ExecuteRequest
	trace lifecycle.Trace
	do    func(req *lifecycle.ExecuteRequest) (*lifecycle.Accepted, error)
}

func (f *fakeExecutor) Execute(_ context.Context, req *lifecycle.ExecuteRequest,
	trace lifecycle.Trace) (*lifecycle.Accepted, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.trace = trace
	f.mu.Unlock()
	return f.do(req)
}

func (f *fakeExecutor) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// healthy is a Health whose dependencies all work.
type healthy struct{}

func (healthy) Kafka(context.Context) error { return nil }
func (healthy) Workers() bool               { return true }
func (healthy) JobQueue() error             { return nil }

// errorBody is the shape of every error answer.
type errorBody struct {
	LocalizedMessage string `json:"localizedMessage"`
	Status           int    `json:"status"`
}

const minimalBody = `{"lifecycleName": "Create", "driverFiles": "UEsFBg==",
	"systemProperties": {"resourceId": "r-1", "resourceName": "web"},
	"resourceProperties": {"flavor": {"type": "string", "value": "m1.small"}, "count": 12},
	"deploymentLocation": {"name": "lab", "properties": {"os_api_url": "http://10.0.0.5:5000"}}}`

var _ = Describe("The execute endpoint", func() {
	var (
		exec    *fakeExecutor
		ts      *httptest.Server
		limit   int64
		answers func(req *lifecycle.ExecuteRequest) (*lifecycle.Accepted, error)
	)

	BeforeEach(func() {
		limit = 64 << 10
		answers = func(*lifecycle.ExecuteRequest) (*lifecycle.Accepted, error) {
			return &lifecycle.Accepted{RequestID: "req-1",
				AssociatedTopology: lifecycle.StackTopology("stack-1")}, nil
		}
	})

	JustBeforeEach(func() {
		exec = &fakeExecutor{do: answers}
		log := slog.New(slog.NewTextHandler(GinkgoWriter, nil))
		// No Finder: these specs do not reach the find endpoint.
		ts = httptest.NewServer(server.New(server.Options{MaxBodyBytes: limit},
			exec, nil, healthy{}, log))
		DeferCleanup(ts.Close)
	})

	// send posts body with the content type to path and gives the answer's
	// status, content type and body.
	send := func(method, path, contentType, body string,
		headers ...string) (int, string, []byte) {
		GinkgoHelper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := ts.Client().Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		return resp.StatusCode, resp.Header.Get("Content-Type"), data
	}

	post := func(body string, headers ...string) (int, string, []byte) {
		GinkgoHelper()
		return send(http.MethodPost, executePath, "application/json", body, headers...)
	}

	// expectError checks an error answer's status and body shape and
	// gives its message.
	expectError := func(status int, contentType string, body []byte, want int) string {
		GinkgoHelper()
		Expect(status).To(Equal(want))
		Expect(contentType).To(Equal("application/json"))
		var fields map[string]any
		Expect(json.Unmarshal(body, &fields)).To(Succeed(), "body: %s", body)
		Expect(fields).To(HaveLen(2), "only localizedMessage and status: %s", body)
		var e errorBody
		Expect(json.Unmarshal(body, &e)).To(Succeed())
		Expect(e.Status).To(Equal(want))
		Expect(e.LocalizedMessage).NotTo(BeEmpty())
		return e.LocalizedMessage
	}

	Context("when the executor accepts the request", func() {
		It("answers 202 with the request id and the associated topology", func() {
			status, ct, body := post(minimalBody)

			Expect(status).To(Equal(http.StatusAccepted))
			Expect(ct).To(Equal("application/json"))
			Expect(body).To(MatchJSON(`{"requestId": "req-1",
				"associatedTopology": {"InfrastructureStack": {"id": "stack-1", "type": "Openstack"}}}`))
		})

		It("hands the executor the decoded request, numbers keeping their text", func() {
			post(minimalBody)

			Expect(exec.callCount()).To(Equal(1))
			req := exec.calls[0]
			Expect(req.LifecycleName).To(Equal("Create"))
			Expect(req.SystemProperties.String("resourceId")).To(Equal("r-1"))
			Expect(req.ResourceProperties.String("flavor")).To(Equal("m1.small"))
			Expect(req.ResourceProperties["count"].Value).To(Equal(json.Number("12")))
			Expect(req.DeploymentLocation.Name).To(Equal("lab"))
		})

		It("hands the executor the X-Tracectx-* headers with lower-case names", func() {
			post(minimalBody, "X-TraceCtx-TransactionId", "tx-9", "X-Other", "no")

			Expect(exec.trace).To(Equal(lifecycle.Trace{"x-tracectx-transactionid": "tx-9"}))
		})

		It("accepts a JSON content type with a charset", func() {
			status, _, _ := send(http.MethodPost, executePath,
				"application/json; charset=utf-8", minimalBody)

			Expect(status).To(Equal(http.StatusAccepted))
		})

		Context("with no topology", func() {
			BeforeEach(func() {
				answers = func(*lifecycle.ExecuteRequest) (*lifecycle.Accepted, error) {
					return &lifecycle.Accepted{RequestID: "req-2"}, nil
				}
			})

			It("answers an empty associatedTopology object, not null", func() {
				status, _, body := post(minimalBody)

				Expect(status).To(Equal(http.StatusAccepted))
				Expect(body).To(MatchJSON(`{"requestId": "req-2", "associatedTopology": {}}`))
			})
		})
	})

	Context("when the executor refuses the request", func() {
		var failWith error

		BeforeEach(func() {
			answers = func(*lifecycle.ExecuteRequest) (*lifecycle.Accepted, error) {
				return nil, failWith
			}
		})

		It("answers 400 with the problem for a request Brent must correct", func() {
			failWith = &lifecycle.RequestError{Field: "lifecycleName",
				Problem: `"Upgrade" is not supported`}

			status, ct, body := post(minimalBody)

			msg := expectError(status, ct, body, http.StatusBadRequest)
			Expect(msg).To(Equal(`lifecycleName: "Upgrade" is not supported`))
		})

		It("answers 503 when Kafka cannot be reached, so that Brent may retry", func() {
			failWith = &kafka.UnavailableError{Err: errors.New("no brokers")}

			status, ct, body := post(minimalBody)

			msg := expectError(status, ct, body, http.StatusServiceUnavailable)
			Expect(msg).To(ContainSubstring("no brokers"))
		})

		It("answers 500 for the driver's own fault, saying so", func() {
			failWith = errors.New("nil map")

			status, ct, body := post(minimalBody)

			msg := expectError(status, ct, body, http.StatusInternalServerError)
			Expect(msg).To(Equal("internal error in the driver: nil map"))
		})
	})

	Context("when the executor panics", func() {
		BeforeEach(func() {
			answers = func(req *lifecycle.ExecuteRequest) (*lifecycle.Accepted, error) {
				if req.LifecycleName == "Create" {
					panic("boom")
				}
				return &lifecycle.Accepted{RequestID: "req-after"}, nil
			}
		})

		It("answers 500 with a JSON error and keeps serving", func() {
			status, ct, body := post(minimalBody)

			msg := expectError(status, ct, body, http.StatusInternalServerError)
			Expect(msg).To(ContainSubstring("internal error"))
			Expect(msg).NotTo(ContainSubstring("boom"), "a panic's words stay in the log")

			status, _, body = post(strings.Replace(minimalBody, `"Create"`, `"Delete"`, 1))
			Expect(status).To(Equal(http.StatusAccepted))
			Expect(body).To(MatchJSON(`{"requestId": "req-after", "associatedTopology": {}}`))
		})
	})

	Context("when the body is too large", func() {
		BeforeEach(func() { limit = 1024 })

		It("answers 413 naming the limit, without calling the executor", func() {
			big := `{"lifecycleName": "Create", "driverFiles": "` +
				strings.Repeat("A", 4096) + `"}`

			status, ct, body := post(big)

			msg := expectError(status, ct, body, http.StatusRequestEntityTooLarge)
			Expect(msg).To(ContainSubstring("1024"))
			Expect(exec.callCount()).To(BeZero())
		})

		It("accepts a body of exactly the limit", func() {
			body := minimalBody + strings.Repeat(" ", 1024-len(minimalBody))
			Expect(body).To(HaveLen(1024))

			status, _, _ := post(body)

			Expect(status).To(Equal(http.StatusAccepted))
		})
	})

	It("answers 415 for a body that is not JSON, without calling the executor", func() {
		status, ct, body := send(http.MethodPost, executePath, "text/plain", minimalBody)

		msg := expectError(status, ct, body, http.StatusUnsupportedMediaType)
		Expect(msg).To(ContainSubstring("text/plain"))
		Expect(exec.callCount()).To(BeZero())
	})

	DescribeTable("answers 400 for malformed JSON, naming the problem, without calling the executor",
		func(body string, wants ...string) {
			status, ct, answer := post(body)

			msg := expectError(status, ct, answer, http.StatusBadRequest)
			for _, w := range wants {
				Expect(msg).To(ContainSubstring(w))
			}
			Expect(exec.callCount()).To(BeZero())
		},
		Entry("an empty body", "", "empty", "JSON object"),
		Entry("a truncated object", `{"lifecycleName": "Create",`, "not valid JSON"),
		Entry("a stray character", `{"lifecycleName": "Create"}x`, "not valid JSON"),
		Entry("a list instead of an object", `[]`, "must be a JSON object", "array"),
		Entry("a number for the lifecycle name", `{"lifecycleName": 5}`,
			"lifecycleName must be a string", "number"),
		Entry("a string for a property map", `{"resourceProperties": "flavor=m1"}`,
			"resourceProperties must be an object", "string"),
		Entry("a list for the deployment location", `{"deploymentLocation": []}`,
			"deploymentLocation must be an object", "array"),
		Entry("a key property whose name is not text",
			`{"resourceProperties": {"kp": {"type": "key", "keyName": 1}}}`, "resourceProperties.kp", "keyName"),
	)

	It("answers 404 in JSON for an unknown path", func() {
		status, ct, body := send(http.MethodGet, "/api/driver/nothing", "", "")

		msg := expectError(status, ct, body, http.StatusNotFound)
		Expect(msg).To(ContainSubstring("/api/driver/nothing"))
	})

	It("answers 405 in JSON for a GET of the execute endpoint", func() {
		status, ct, body := send(http.MethodGet, executePath, "", "")

		msg := expectError(status, ct, body, http.StatusMethodNotAllowed)
		Expect(msg).To(ContainSubstring("GET"))
	})
})

var _ = Describe("Collecting a request's trace headers", func() {
	It("keeps the X-Tracectx-* headers under lower-case names, first value only", func() {
		h := http.Header{}
		h.Set("X-TraceCtx-TransactionId", "tx-1")
		h.Add("x-tracectx-ProcessId", "p-1")
		h.Add("x-tracectx-ProcessId", "p-2")
		h.Set("X-Request-Id", "not trace")

		Expect(server.TraceOf(h)).To(Equal(lifecycle.Trace{
			"x-tracectx-transactionid": "tx-1",
			"x-tracectx-processid":     "p-1",
		}))
	})

	It("gives no trace for a request without trace headers", func() {
		Expect(server.TraceOf(http.Header{"Accept": {"application/json"}})).To(BeEmpty())
	})
})

var _ = Describe("Deciding the HTTP status of an error", func() {
	DescribeTable("follows the contract's table",
		func(err error, want int) {
			Expect(server.StatusOf(err)).To(Equal(want))
			Expect(server.StatusOf(fmt.Errorf("while executing: %w", err))).To(Equal(want),
				"the same when wrapped")
		},
		Entry("a request Brent must correct: 400",
			&lifecycle.RequestError{Field: "x", Problem: "y"}, http.StatusBadRequest),
		Entry("a broken package: 400",
			&resourcepkg.Error{Problem: "not a zip"}, http.StatusBadRequest),
		Entry("a malformed deployment location: 400",
			&heat.LocationError{Property: "os_api_url", Problem: "missing"}, http.StatusBadRequest),
		Entry("a catalog without Heat: 400", heat.ErrNoEndpoint, http.StatusBadRequest),
		Entry("a location without Neutron: 400", heat.ErrNoNetworkService, http.StatusBadRequest),
		Entry("Keystone refusing the credentials: 400",
			&heat.APIError{Service: "Keystone", Status: 401}, http.StatusBadRequest),
		Entry("Heat refusing the template: 400",
			&heat.APIError{Service: "Heat", Status: 400}, http.StatusBadRequest),
		Entry("Kafka unavailable: 503",
			&kafka.UnavailableError{Err: errors.New("down")}, http.StatusServiceUnavailable),
		Entry("OpenStack unreachable: 503",
			&heat.UnreachableError{Service: "Heat", Address: "h:8004", Err: errors.New("refused")},
			http.StatusServiceUnavailable),
		Entry("OpenStack failing on its side: 503",
			&heat.APIError{Service: "Heat", Status: 502}, http.StatusServiceUnavailable),
		Entry("a deadline passed: 503", context.DeadlineExceeded, http.StatusServiceUnavailable),
		Entry("anything else: 500", errors.New("bug"), http.StatusInternalServerError),
	)
})
