package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/discovery"
	"github.com/tnco-drivers/openstack-driver/heat"
	"github.com/tnco-drivers/openstack-driver/kafka"
	"github.com/tnco-drivers/openstack-driver/lifecycle"
	"github.com/tnco-drivers/openstack-driver/resourcepkg"
	"github.com/tnco-drivers/openstack-driver/server"
)

// The OpenAPI specs check the document itself, then put the real HTTP
// handler between the document and the traffic: each request is checked
// against the document, sent to server.New's handler, and its answer is
// checked against the document too. The executor, finder and health
// behind the handler are fakes that still use the driver's own request
// checks, package reader, location parser and discovery templates, so
// that the answers are the ones Brent would get.

const (
	specDir = "testdata/openapi"
	// specNetID is the network the fake cloud knows, by the name below.
	specNetID   = "4d2c0b5e-7a61-4f0e-9c3b-0f1e2d3c4b5a"
	specNetName = "shared-mgmt-net"
	// specStackID is the stack id the fake executor hands out.
	specStackID = "9e8d7c6b-5a49-4382-b1a0-f0e1d2c3b4a5"
)

var specLimits = resourcepkg.Limits{MaxBytes: 1 << 20, MaxEntries: 100}

// loadSpec loads and resolves the served OpenAPI document.
func loadSpec() *openapi3.T {
	GinkgoHelper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(server.OpenAPIDocument())
	Expect(err).NotTo(HaveOccurred())
	return doc
}

// specCase reads a request or message of testdata/openapi.
func specCase(name string) []byte {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(specDir, name))
	Expect(err).NotTo(HaveOccurred())
	return data
}

// specExecutor stands in for the lifecycle engine: it checks a request
// as the engine does before touching Heat, and accepts it.
type specExecutor struct {
	mu    sync.Mutex
	calls int
	fail  error
}

func (f *specExecutor) Execute(_ context.Context,
	req *lifecycle.ExecuteRequest,
	_ lifecycle.Trace) (*lifecycle.Accepted, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	t, err := req.Validate()
	if err != nil {
		return nil, err
	}
	pkg, err := resourcepkg.Decode(*req.DriverFiles, specLimits)
	if err != nil {
		return nil, err
	}
	if _, _, ok := pkg.File("heat.yaml", "heat.yml"); !ok &&
		t == lifecycle.Create {
		return nil, &lifecycle.RequestError{Field: "driverFiles",
			Problem: "no heat.yaml at the zip root"}
	}
	_, err = heat.ParseLocation(req.DeploymentLocation.Name,
		req.DeploymentLocation.Properties)
	if err != nil {
		return nil, err
	}
	switch t {
	case lifecycle.Create:
		return &lifecycle.Accepted{RequestID: "Create-" + specStackID,
			AssociatedTopology: lifecycle.StackTopology(specStackID)}, nil
	case lifecycle.Adopt:
		for _, e := range req.AssociatedTopology {
			return &lifecycle.Accepted{RequestID: "Adopt-" + e.ID,
				AssociatedTopology: lifecycle.StackTopology(e.ID)}, nil
		}
	}
	return &lifecycle.Accepted{RequestID: "Delete-1"}, nil
}

func (f *specExecutor) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// specFinder runs the real discovery template of a request against a
// fake cloud.
type specFinder struct{ cloud *specCloud }

func (f specFinder) Find(ctx context.Context,
	req *discovery.FindRequest) (*discovery.Result, error) {
	if strings.TrimSpace(req.InstanceName) == "" {
		return nil, &lifecycle.RequestError{Field: "instanceName",
			Problem: "missing or empty"}
	}
	if req.DriverFiles == nil || req.DeploymentLocation == nil {
		return nil, &lifecycle.RequestError{Field: "driverFiles",
			Problem: "missing"}
	}
	pkg, err := resourcepkg.Decode(*req.DriverFiles, specLimits)
	if err != nil {
		return nil, err
	}
	tmpl, err := discovery.ReadPackage(pkg.Files)
	if err != nil {
		return nil, err
	}
	_, err = heat.ParseLocation(req.DeploymentLocation.Name,
		req.DeploymentLocation.Properties)
	if err != nil {
		return nil, err
	}
	return tmpl.Find(ctx, f.cloud, req.InstanceName)
}

// specCloud knows one network; fail makes every call fail.
type specCloud struct{ fail error }

func (c *specCloud) StacksNamed(context.Context, string) (
	[]discovery.Stack, error) {
	return nil, c.fail
}

func (c *specCloud) StackByID(context.Context, string) (
	*discovery.Stack, error) {
	return nil, c.fail
}

func (c *specCloud) StackResources(context.Context, discovery.Stack) (
	map[string]string, error) {
	return nil, c.fail
}

func (c *specCloud) NetworksNamed(_ context.Context, name string) (
	[]discovery.Network, error) {
	if c.fail != nil || name != specNetName {
		return nil, c.fail
	}
	return []discovery.Network{{ID: specNetID, Name: specNetName,
		Status: "ACTIVE", SubnetIDs: []string{"sub-1"}}}, nil
}

func (c *specCloud) NetworkByID(_ context.Context, id string) (
	*discovery.Network, error) {
	if c.fail != nil || id != specNetID {
		return nil, c.fail
	}
	return &discovery.Network{ID: specNetID, Name: specNetName,
		Status: "ACTIVE", SubnetIDs: []string{"sub-1"}}, nil
}

func (c *specCloud) Subnets(context.Context, string) (
	[]discovery.Subnet, error) {
	return []discovery.Subnet{{ID: "sub-1", NetworkID: specNetID,
		IPVersion: 4, CIDR: "192.168.40.0/24",
		GatewayIP: "192.168.40.1"}}, c.fail
}

// specHealth is a Health whose parts fail on demand.
type specHealth struct {
	kafka, queue error
	workersDown  bool
}

func (h *specHealth) Kafka(context.Context) error { return h.kafka }
func (h *specHealth) JobQueue() error             { return h.queue }
func (h *specHealth) Workers() bool               { return !h.workersDown }

// specExchange is one request and its answer, each with the document's
// verdict on it.
type specExchange struct {
	routeErr    error
	requestErr  error
	responseErr error
	status      int
	contentType string
	body        []byte
}

// specHarness is the real handler behind an httptest server, and the
// document to hold its traffic against.
type specHarness struct {
	doc    *openapi3.T
	router routers.Router
	ts     *httptest.Server
	exec   *specExecutor
	health *specHealth
	cloud  *specCloud
}

func newSpecHarness(limit int64) *specHarness {
	GinkgoHelper()
	h := &specHarness{doc: loadSpec(), exec: &specExecutor{},
		health: &specHealth{}, cloud: &specCloud{}}
	var err error
	h.router, err = gorillamux.NewRouter(h.doc)
	Expect(err).NotTo(HaveOccurred())
	log := slog.New(slog.NewTextHandler(GinkgoWriter, nil))
	s := server.New(server.Options{MaxBodyBytes: limit,
		Pinger: unreachablePinger{}}, h.exec,
		specFinder{cloud: h.cloud}, h.health, log)
	h.ts = httptest.NewServer(s)
	DeferCleanup(h.ts.Close)
	return h
}

// do checks the request against the document, sends it to the server,
// and checks the answer against the document. A request the document
// has no route for is still sent, and routeErr says so.
func (h *specHarness) do(method, path, contentType string, body []byte,
	headers ...string) specExchange {
	GinkgoHelper()
	build := func() *http.Request {
		req, err := http.NewRequest(method, h.ts.URL+path,
			bytes.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return req
	}
	var ex specExchange
	checked := build()
	route, params, err := h.router.FindRoute(checked)
	ex.routeErr = err
	var input *openapi3filter.RequestValidationInput
	if err == nil {
		input = &openapi3filter.RequestValidationInput{Request: checked,
			PathParams: params, Route: route}
		ex.requestErr = openapi3filter.ValidateRequest(
			context.Background(), input)
	}

	resp, err := h.ts.Client().Do(build())
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	ex.body, err = io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	ex.status = resp.StatusCode
	ex.contentType = resp.Header.Get("Content-Type")
	if input != nil {
		ex.responseErr = openapi3filter.ValidateResponse(
			context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: input,
				Status:                 resp.StatusCode,
				Header:                 resp.Header,
				Body:                   io.NopCloser(bytes.NewReader(ex.body)),
				Options: &openapi3filter.Options{
					IncludeResponseStatus: true},
			})
	}
	return ex
}

func (h *specHarness) postJSON(path string, body []byte,
	headers ...string) specExchange {
	GinkgoHelper()
	return h.do(http.MethodPost, path, "application/json", body, headers...)
}

// expectSpecConforming checks that the document accepts both the request and
// the answer, and that the answer has the status wanted.
func expectSpecConforming(ex specExchange, status int) {
	GinkgoHelper()
	Expect(ex.routeErr).NotTo(HaveOccurred())
	Expect(ex.requestErr).NotTo(HaveOccurred(), "the request")
	Expect(ex.responseErr).NotTo(HaveOccurred(), "the answer %d: %s",
		ex.status, ex.body)
	Expect(ex.status).To(Equal(status), "answer: %s", ex.body)
}

// expectSpecRefused checks that the document refuses the request and
// that the server's error answer, with the status wanted, conforms.
func expectSpecRefused(ex specExchange, status int) {
	GinkgoHelper()
	Expect(ex.routeErr).NotTo(HaveOccurred())
	Expect(ex.requestErr).To(HaveOccurred(),
		"the document should refuse the request")
	Expect(ex.status).To(Equal(status), "answer: %s", ex.body)
	Expect(ex.responseErr).NotTo(HaveOccurred(), "the answer %d: %s",
		ex.status, ex.body)
}

// specSchema gives a component schema of the document.
func specSchema(doc *openapi3.T, name string) *openapi3.Schema {
	GinkgoHelper()
	ref, ok := doc.Components.Schemas[name]
	Expect(ok).To(BeTrue(), "no schema %s", name)
	Expect(ref.Value).NotTo(BeNil())
	return ref.Value
}

// specVisit checks a JSON text against a schema.
func specVisit(schema *openapi3.Schema, text []byte) error {
	GinkgoHelper()
	var v any
	Expect(json.Unmarshal(text, &v)).To(Succeed(), "JSON: %s", text)
	return schema.VisitJSON(v)
}

// specMutate decodes a JSON object, lets change alter it and encodes it again.
func specMutate(text []byte, change func(m map[string]any)) []byte {
	GinkgoHelper()
	var m map[string]any
	Expect(json.Unmarshal(text, &m)).To(Succeed())
	change(m)
	out, err := json.Marshal(m)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// specObj gives the object under key, for specMutate's changes.
func specObj(m map[string]any, key string) map[string]any {
	GinkgoHelper()
	v, ok := m[key].(map[string]any)
	Expect(ok).To(BeTrue(), "%s is not an object", key)
	return v
}

var _ = Describe("The OpenAPI document", func() {
	It("is a valid OpenAPI 3.0 document, examples included", func() {
		doc := loadSpec()

		Expect(doc.OpenAPI).To(HavePrefix("3.0."))
		Expect(doc.Validate(context.Background(),
			openapi3.EnableExamplesValidation())).To(Succeed())
	})

	It("describes exactly the endpoints of the contract", func() {
		doc := loadSpec()

		var ops []string
		for path, item := range doc.Paths.Map() {
			for method := range item.Operations() {
				ops = append(ops, method+" "+path)
			}
		}
		sort.Strings(ops)
		Expect(ops).To(Equal([]string{
			"GET /api/driver/openapi.yaml",
			"GET /management/health",
			"GET /management/live",
			"GET /management/ready",
			"POST /api/driver/lifecycle/execute",
			"POST /api/driver/references/find",
			"POST /api/os/ping",
		}))
	})

	It("describes the Kafka message as the LifecycleEvent component", func() {
		event := specSchema(loadSpec(), "LifecycleEvent")

		Expect(event.Properties).To(HaveLen(5))
		for _, name := range []string{"requestId", "status",
			"failureDetails", "outputs", "associatedTopology"} {
			Expect(event.Properties).To(HaveKey(name))
		}
		Expect(event.Required).To(ConsistOf("requestId", "status",
			"outputs", "associatedTopology"))
	})

	It("gives a copy, so that no caller can change what is served", func() {
		first := server.OpenAPIDocument()
		first[0] = '#'

		Expect(server.OpenAPIDocument()[0]).NotTo(Equal(byte('#')))
	})

	Describe("served by the real handler", func() {
		var h *specHarness

		BeforeEach(func() { h = newSpecHarness(1 << 20) })

		It("answers GET with the embedded document as application/yaml",
			func() {
				ex := h.do(http.MethodGet, server.OpenAPIPath, "", nil)

				expectSpecConforming(ex, http.StatusOK)
				Expect(ex.contentType).To(Equal("application/yaml"))
				Expect(ex.body).To(Equal(server.OpenAPIDocument()))
				served, err := openapi3.NewLoader().LoadFromData(ex.body)
				Expect(err).NotTo(HaveOccurred())
				Expect(served.Validate(context.Background())).To(Succeed())
			})

		It("serves every operation the document lists", func() {
			for path, item := range h.doc.Paths.Map() {
				for method := range item.Operations() {
					var body []byte
					if method == http.MethodPost {
						body = []byte(`{}`)
					}
					ex := h.do(method, path, "application/json", body)

					Expect(ex.status).NotTo(BeElementOf(
						http.StatusNotFound, http.StatusMethodNotAllowed),
						"%s %s: %s", method, path, ex.body)
					Expect(ex.responseErr).NotTo(HaveOccurred(),
						"%s %s", method, path)
				}
			}
		})
	})
})

var _ = Describe("Execute traffic held against the OpenAPI document", func() {
	var h *specHarness

	BeforeEach(func() { h = newSpecHarness(1 << 20) })

	post := func(body []byte, headers ...string) specExchange {
		GinkgoHelper()
		return h.postJSON("/api/driver/lifecycle/execute", body, headers...)
	}

	DescribeTable("Brent's requests and the 202 answers conform",
		func(file, wantTopology string) {
			ex := post(specCase(file))

			expectSpecConforming(ex, http.StatusAccepted)
			Expect(h.exec.callCount()).To(Equal(1))
			var answer struct {
				RequestID          string          `json:"requestId"`
				AssociatedTopology json.RawMessage `json:"associatedTopology"`
			}
			Expect(json.Unmarshal(ex.body, &answer)).To(Succeed())
			Expect(answer.RequestID).NotTo(BeEmpty())
			Expect(answer.AssociatedTopology).To(MatchJSON(wantTopology))
		},
		Entry("a Create with typed properties and a key",
			"execute-create-typed.json",
			`{"InfrastructureStack": {"id": "`+specStackID+
				`", "type": "Openstack"}}`),
		Entry("a Create with plain properties, lower-case name",
			"execute-create-plain.json",
			`{"InfrastructureStack": {"id": "`+specStackID+
				`", "type": "Openstack"}}`),
		Entry("a Delete", "execute-delete.json", `{}`),
		Entry("an Adopt", "execute-adopt.json",
			`{"InfrastructureStack": {"type": "Openstack",
				"id": "2f4e6a8c-1111-4222-8333-944455566677"}}`),
	)

	It("accepts the tracing headers", func() {
		ex := post(specCase("execute-delete.json"),
			"X-Tracectx-TransactionId", "tx-1",
			"X-Tracectx-ProcessId", "p-1")

		expectSpecConforming(ex, http.StatusAccepted)
	})

	It("holds packages whose zips are the sources kept beside them", func() {
		for file, pkg := range map[string]string{
			"execute-create-typed.json": "router",
			"execute-create-plain.json": "hello",
			"execute-delete.json":       "hello",
			"execute-adopt.json":        "hello",
			"find.json":                 "net",
		} {
			var req struct {
				DriverFiles string `json:"driverFiles"`
			}
			Expect(json.Unmarshal(specCase(file), &req)).To(Succeed())
			got, err := resourcepkg.Decode(req.DriverFiles, specLimits)
			Expect(err).NotTo(HaveOccurred(), file)

			want := map[string][]byte{}
			root := filepath.Join(specDir, "packages", pkg)
			Expect(filepath.WalkDir(root, func(p string, d fs.DirEntry,
				err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, err := filepath.Rel(root, p)
				if err != nil {
					return err
				}
				want[filepath.ToSlash(rel)], err = os.ReadFile(p)
				return err
			})).To(Succeed())
			Expect(got.Files).To(Equal(want), file)
		}
	})

	typed := func() []byte { return specCase("execute-create-typed.json") }
	plain := func() []byte { return specCase("execute-create-plain.json") }

	DescribeTable("bad requests: the document refuses them, and the "+
		"server's 400 conforms",
		func(body func() []byte, inMessage string) {
			ex := post(body())

			expectSpecRefused(ex, http.StatusBadRequest)
			Expect(string(ex.body)).To(ContainSubstring(inMessage))
		},
		Entry("an unsupported lifecycle name", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				m["lifecycleName"] = "Upgrade"
			})
		}, "Create, Delete, Adopt"),
		Entry("no lifecycle name", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				delete(m, "lifecycleName")
			})
		}, "lifecycleName"),
		Entry("no driver files", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				delete(m, "driverFiles")
			})
		}, "driverFiles"),
		Entry("driver files that are not base64", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				m["driverFiles"] = "not a zip!"
			})
		}, "base64"),
		Entry("no system properties", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				delete(m, "systemProperties")
			})
		}, "systemProperties"),
		Entry("system properties as a string", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				m["systemProperties"] = "resourceId=1"
			})
		}, "systemProperties"),
		Entry("a key property whose keyName is a number", func() []byte {
			return specMutate(typed(), func(m map[string]any) {
				key := specObj(specObj(m, "resourceProperties"), "mgmt_key")
				key["keyName"] = 5
			})
		}, "keyName"),
		Entry("no deployment location", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				delete(m, "deploymentLocation")
			})
		}, "deploymentLocation"),
		Entry("a deployment location without properties", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				delete(specObj(m, "deploymentLocation"), "properties")
			})
		}, "deploymentLocation.properties"),
		Entry("a deployment location of another type", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				specObj(m, "deploymentLocation")["type"] = "Kubernetes"
			})
		}, "Kubernetes"),
		Entry("a deployment location without os_api_url", func() []byte {
			return specMutate(typed(), func(m map[string]any) {
				loc := specObj(m, "deploymentLocation")
				delete(specObj(loc, "properties"), "os_api_url")
			})
		}, "os_api_url"),
		Entry("a user name that is a list", func() []byte {
			return specMutate(typed(), func(m map[string]any) {
				loc := specObj(m, "deploymentLocation")
				specObj(loc, "properties")["os_auth_username"] = []any{"a"}
			})
		}, "os_auth_username"),
		Entry("a topology entry without an id", func() []byte {
			return specMutate(specCase("execute-delete.json"),
				func(m map[string]any) {
					topo := specObj(m, "associatedTopology")
					specObj(topo, "InfrastructureStack")["id"] = " "
				})
		}, "has no id"),
		Entry("a list instead of an object", func() []byte {
			return []byte(`[]`)
		}, "JSON object"),
		Entry("JSON cut short", func() []byte {
			return plain()[:40]
		}, "not valid JSON"),
	)

	DescribeTable("bad requests the document cannot tell: the server's "+
		"400 still conforms",
		func(body func() []byte, inMessage string) {
			ex := post(body())

			expectSpecConforming(ex, http.StatusBadRequest)
			Expect(string(ex.body)).To(ContainSubstring(inMessage))
		},
		Entry("driver files that are base64 but no zip", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				m["driverFiles"] = base64.StdEncoding.EncodeToString(
					[]byte("hello"))
			})
		}, "zip"),
		Entry("a Create without a resource name", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				delete(specObj(m, "systemProperties"), "resourceName")
			})
		}, "resourceName"),
		Entry("a Create of a package without heat.yaml", func() []byte {
			return specMutate(plain(), func(m map[string]any) {
				m["driverFiles"] = specCaseField("find.json", "driverFiles")
			})
		}, "heat.yaml"),
	)

	It("answers 415 for a body that is not JSON, which the document "+
		"refuses", func() {
		ex := h.do(http.MethodPost, "/api/driver/lifecycle/execute",
			"text/plain", specCase("execute-delete.json"))

		expectSpecRefused(ex, http.StatusUnsupportedMediaType)
		Expect(h.exec.callCount()).To(BeZero())
	})

	It("answers a conforming 413 for a body over the limit", func() {
		h = newSpecHarness(512)

		ex := post(specCase("execute-create-typed.json"))

		expectSpecConforming(ex, http.StatusRequestEntityTooLarge)
		Expect(string(ex.body)).To(ContainSubstring("512"))
	})

	It("answers a conforming 503 when Kafka cannot be reached", func() {
		h.exec.fail = &kafka.UnavailableError{Err: errors.New("no brokers")}

		ex := post(specCase("execute-create-plain.json"))

		expectSpecConforming(ex, http.StatusServiceUnavailable)
	})

	It("answers a conforming 500 for the driver's own fault", func() {
		h.exec.fail = errors.New("nil map")

		ex := post(specCase("execute-create-plain.json"))

		expectSpecConforming(ex, http.StatusInternalServerError)
	})
})

// specCaseField gives one string field of a testdata request.
func specCaseField(file, field string) string {
	GinkgoHelper()
	var m map[string]any
	Expect(json.Unmarshal(specCase(file), &m)).To(Succeed())
	s, ok := m[field].(string)
	Expect(ok).To(BeTrue(), "%s in %s", field, file)
	return s
}

var _ = Describe("Find traffic held against the OpenAPI document", func() {
	var h *specHarness

	BeforeEach(func() { h = newSpecHarness(1 << 20) })

	post := func(body []byte) specExchange {
		GinkgoHelper()
		return h.postJSON("/api/driver/references/find", body)
	}

	It("conforms when the network is found", func() {
		ex := post(specCase("find.json"))

		expectSpecConforming(ex, http.StatusOK)
		Expect(ex.body).To(MatchJSON(`{"result": {
			"resourceId": "` + specNetID + `",
			"associatedTopology": {"InfrastructureNetwork":
				{"id": "` + specNetID + `", "type": "OpenstackNetwork"}},
			"outputs": {"network_id": "` + specNetID + `",
				"network_name": "shared-mgmt-net", "segmentation_id": null,
				"cidr": "192.168.40.0/24", "gateway_ip": "192.168.40.1"}}}`))
	})

	It("conforms when nothing is found", func() {
		ex := post(specMutate(specCase("find.json"), func(m map[string]any) {
			m["instanceName"] = "no-such-net"
		}))

		expectSpecConforming(ex, http.StatusOK)
		Expect(ex.body).To(MatchJSON(`{"result": null}`))
	})

	It("refuses a blank instance name, as the server does", func() {
		ex := post(specMutate(specCase("find.json"), func(m map[string]any) {
			m["instanceName"] = "  "
		}))

		expectSpecRefused(ex, http.StatusBadRequest)
	})

	It("answers a conforming 400 for a package without discover.yaml",
		func() {
			other := specCaseField("execute-delete.json", "driverFiles")
			ex := post(specMutate(specCase("find.json"),
				func(m map[string]any) { m["driverFiles"] = other }))

			expectSpecConforming(ex, http.StatusBadRequest)
		})

	It("answers a conforming 503 when the cloud cannot be reached", func() {
		h.cloud.fail = &heat.UnreachableError{Service: "Neutron",
			Address: "127.0.0.1:9696", Err: errors.New("connection refused")}

		ex := post(specCase("find.json"))

		expectSpecConforming(ex, http.StatusServiceUnavailable)
		Expect(string(ex.body)).To(ContainSubstring("127.0.0.1:9696"))
	})
})

var _ = Describe("Management traffic held against the OpenAPI document",
	func() {
		var h *specHarness

		BeforeEach(func() { h = newSpecHarness(1 << 20) })

		get := func(path string) specExchange {
			GinkgoHelper()
			return h.do(http.MethodGet, path, "", nil)
		}

		It("conforms when healthy", func() {
			ex := get("/management/health")

			expectSpecConforming(ex, http.StatusOK)
			Expect(string(ex.body)).To(ContainSubstring(`"app"`))
		})

		It("conforms when Kafka is down", func() {
			h.health.kafka = errors.New("no brokers")

			expectSpecConforming(get("/management/health"),
				http.StatusServiceUnavailable)
			expectSpecConforming(get("/management/ready"),
				http.StatusServiceUnavailable)
			expectSpecConforming(get("/management/live"), http.StatusOK)
		})

		It("conforms when the workers or the job queue are down", func() {
			h.health.workersDown = true
			h.health.queue = errors.New("consumer stopped")

			expectSpecConforming(get("/management/health"),
				http.StatusServiceUnavailable)
			expectSpecConforming(get("/management/ready"),
				http.StatusServiceUnavailable)
		})

		It("conforms when live and ready", func() {
			expectSpecConforming(get("/management/live"), http.StatusOK)
			expectSpecConforming(get("/management/ready"), http.StatusOK)
		})

		// errorAnswer checks a body against one of the document's
		// component responses.
		errorAnswer := func(name string, body []byte) error {
			GinkgoHelper()
			ref, ok := h.doc.Components.Responses[name]
			Expect(ok).To(BeTrue(), "no response %s", name)
			media := ref.Value.Content.Get("application/json")
			Expect(media).NotTo(BeNil())
			return specVisit(media.Schema.Value, body)
		}

		It("has no route for an unknown path, whose 404 conforms", func() {
			ex := get("/api/driver/nothing")

			Expect(ex.routeErr).To(HaveOccurred())
			Expect(ex.status).To(Equal(http.StatusNotFound))
			Expect(errorAnswer("NotFound", ex.body)).To(Succeed())
			Expect(errorAnswer("MethodNotAllowed", ex.body)).NotTo(Succeed(),
				"the status in the body must match")
		})

		It("has no route for GET of execute, whose 405 conforms", func() {
			ex := get("/api/driver/lifecycle/execute")

			Expect(ex.routeErr).To(HaveOccurred())
			Expect(ex.status).To(Equal(http.StatusMethodNotAllowed))
			Expect(errorAnswer("MethodNotAllowed", ex.body)).To(Succeed())
		})
	})

var _ = Describe("Answers the OpenAPI document refuses", func() {
	var h *specHarness

	BeforeEach(func() { h = newSpecHarness(1 << 20) })

	// check holds a made-up answer to a request against the document.
	check := func(method, path string, status int, body string) error {
		GinkgoHelper()
		req, err := http.NewRequest(method, h.ts.URL+path, nil)
		Expect(err).NotTo(HaveOccurred())
		route, params, err := h.router.FindRoute(req)
		Expect(err).NotTo(HaveOccurred())
		return openapi3filter.ValidateResponse(context.Background(),
			&openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{
					Request: req, PathParams: params, Route: route},
				Status: status,
				Header: http.Header{"Content-Type": {"application/json"}},
				Body:   io.NopCloser(strings.NewReader(body)),
				Options: &openapi3filter.Options{
					IncludeResponseStatus: true},
			})
	}
	const execute = "/api/driver/lifecycle/execute"

	It("accepts the well-formed answer the others are made from", func() {
		Expect(check(http.MethodPost, execute, 202,
			`{"requestId": "r", "associatedTopology": {}}`)).To(Succeed())
	})

	DescribeTable("refuses", func(method, path string, status int,
		body string) {
		Expect(check(method, path, status, body)).NotTo(Succeed())
	},
		Entry("a 202 with an extra field", http.MethodPost, execute, 202,
			`{"requestId": "r", "associatedTopology": {}, "stack": "s"}`),
		Entry("a 202 without the topology", http.MethodPost, execute, 202,
			`{"requestId": "r"}`),
		Entry("a topology entry without a type", http.MethodPost, execute,
			202, `{"requestId": "r", "associatedTopology":
				{"InfrastructureStack": {"id": "s"}}}`),
		Entry("a 400 whose body says 500", http.MethodPost, execute, 400,
			`{"localizedMessage": "bad", "status": 500}`),
		Entry("an error without a message", http.MethodPost, execute, 400,
			`{"localizedMessage": "", "status": 400}`),
		Entry("a status the operation does not list", http.MethodPost,
			execute, 409, `{"localizedMessage": "x", "status": 409}`),
		Entry("a find result without outputs", http.MethodPost,
			"/api/driver/references/find", 200,
			`{"result": {"resourceId": "n", "associatedTopology": {}}}`),
		Entry("a vital of an unknown state", http.MethodGet,
			"/management/health", 200,
			`{"vitals": {"app": {"status": "DEGRADED"}}}`),
		Entry("health without the app vital", http.MethodGet,
			"/management/health", 200,
			`{"vitals": {"kafka": {"status": "OK"}}}`),
		Entry("readiness of an unknown state", http.MethodGet,
			"/management/ready", 200, `{"status": "MAYBE"}`),
	)
})

var _ = Describe("Property values against the OpenAPI document", func() {
	// Each value must be judged alike by the document's PropertyValue
	// schema and by the server's decoder of property maps.
	DescribeTable("agree with the server's decoder",
		func(value string, valid bool) {
			schema := specSchema(loadSpec(), "PropertyValue")
			var props lifecycle.Properties
			decodeErr := json.Unmarshal([]byte(`{"p": `+value+`}`), &props)

			if valid {
				Expect(specVisit(schema, []byte(value))).To(Succeed())
				Expect(decodeErr).NotTo(HaveOccurred())
			} else {
				Expect(specVisit(schema, []byte(value))).NotTo(Succeed())
				Expect(decodeErr).To(HaveOccurred())
			}
		},
		Entry("plain text", `"m1.small"`, true),
		Entry("a plain number", `12`, true),
		Entry("a plain boolean", `true`, true),
		Entry("null", `null`, true),
		Entry("a plain list", `[1, "a"]`, true),
		Entry("a plain object", `{"a": 1}`, true),
		Entry("a plain object with a type among others",
			`{"type": "vm", "size": 2}`, true),
		Entry("an object whose type is no text", `{"type": 5, "value": 1}`,
			true),
		Entry("a typed value", `{"type": "string", "value": "m1.small"}`,
			true),
		Entry("a typed value with no value", `{"type": "string"}`, true),
		Entry("a key", `{"type": "key", "keyName": "k", "publicKey": "p",
			"privateKey": "s"}`, true),
		Entry("a key with a null name", `{"type": "key", "keyName": null}`,
			true),
		Entry("a KEY, which is not a key", `{"type": "KEY", "keyName": 1}`,
			true),
		Entry("a key whose name is a number",
			`{"type": "key", "keyName": 1}`, false),
		Entry("a key whose public key is a list",
			`{"type": "key", "publicKey": ["p"]}`, false),
		Entry("a key whose private key is an object",
			`{"type": "key", "privateKey": {"pem": "s"}}`, false),
	)
})

var _ = Describe("Kafka messages against the LifecycleEvent schema", func() {
	var event *openapi3.Schema

	BeforeEach(func() { event = specSchema(loadSpec(), "LifecycleEvent") })

	DescribeTable("the example messages conform", func(file string) {
		Expect(specVisit(event, specCase(file))).To(Succeed())
	},
		Entry("a COMPLETE message", "message-complete.json"),
		Entry("a FAILED message", "message-failed.json"),
	)

	DescribeTable("the driver's own messages conform",
		func(msg lifecycle.Message) {
			text, err := json.Marshal(msg)
			Expect(err).NotTo(HaveOccurred())

			Expect(specVisit(event, text)).To(Succeed(), "%s", text)
		},
		Entry("a Create's COMPLETE", lifecycle.Message{RequestID: "r-1",
			Status:             lifecycle.Complete,
			Outputs:            map[string]any{"ip": "10.1.1.1", "n": 2},
			AssociatedTopology: lifecycle.StackTopology("s-1")}),
		Entry("a Delete's COMPLETE, all empty", lifecycle.Message{
			RequestID: "r-2", Status: lifecycle.Complete}),
		Entry("an IN_PROGRESS", lifecycle.Message{RequestID: "r-3",
			Status:             lifecycle.InProgress,
			AssociatedTopology: lifecycle.StackTopology("s-3")}),
		Entry("a FAILED with a code", lifecycle.Message{RequestID: "r-4",
			Status: lifecycle.Failed,
			FailureDetails: &lifecycle.FailureDetails{
				FailureCode: "RESOURCE_NOT_FOUND",
				Description: "stack s-4 does not exist"}}),
	)

	failed := func() []byte { return specCase("message-failed.json") }
	complete := func() []byte { return specCase("message-complete.json") }

	DescribeTable("made-up messages that break the contract are refused",
		func(text func() []byte) {
			Expect(specVisit(event, text())).NotTo(Succeed())
		},
		Entry("an extra field", func() []byte {
			return specMutate(complete(), func(m map[string]any) {
				m["progress"] = "3 of 7 resources"
			})
		}),
		Entry("FAILED without failureDetails", func() []byte {
			return specMutate(failed(), func(m map[string]any) {
				delete(m, "failureDetails")
			})
		}),
		Entry("COMPLETE with failureDetails", func() []byte {
			return specMutate(failed(), func(m map[string]any) {
				m["status"] = "COMPLETE"
			})
		}),
		Entry("IN_PROGRESS with outputs", func() []byte {
			return specMutate(complete(), func(m map[string]any) {
				m["status"] = "IN_PROGRESS"
			})
		}),
		Entry("an unknown status", func() []byte {
			return specMutate(complete(), func(m map[string]any) {
				m["status"] = "DONE"
			})
		}),
		Entry("an unknown failure code", func() []byte {
			return specMutate(failed(), func(m map[string]any) {
				specObj(m, "failureDetails")["failureCode"] = "QUOTA"
			})
		}),
		Entry("failureDetails without a description", func() []byte {
			return specMutate(failed(), func(m map[string]any) {
				delete(specObj(m, "failureDetails"), "description")
			})
		}),
		Entry("no outputs", func() []byte {
			return specMutate(complete(), func(m map[string]any) {
				delete(m, "outputs")
			})
		}),
		Entry("a null associatedTopology", func() []byte {
			return specMutate(complete(), func(m map[string]any) {
				m["associatedTopology"] = nil
			})
		}),
		Entry("no requestId", func() []byte {
			return specMutate(complete(), func(m map[string]any) {
				delete(m, "requestId")
			})
		}),
	)
})

// unreachablePinger answers every ping with a cloud that did not answer,
// as a location on a closed port would.
type unreachablePinger struct{}

func (unreachablePinger) Ping(context.Context, *heat.Location) (bool,
	[]heat.Check) {
	return false, []heat.Check{{Name: "keystone", OK: false,
		Detail: "Keystone at 127.0.0.1:1 cannot be reached"}}
}
