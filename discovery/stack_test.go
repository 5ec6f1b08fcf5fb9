package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/discovery"
)

const (
	webAppID      = "5b1d7e0a-1111-4c1c-9a9a-0000000000a1"
	twinA         = "5b1d7e0a-2222-4c1c-9a9a-0000000000b1"
	twinB         = "5b1d7e0a-2222-4c1c-9a9a-0000000000b2"
	goingAwayID   = "5b1d7e0a-3333-4c1c-9a9a-0000000000c1"
	goneID        = "5b1d7e0a-4444-4c1c-9a9a-0000000000d1"
	phoenixNewID  = "5b1d7e0a-5555-4c1c-9a9a-0000000000e2"
	frontServerID = "9c0e5a1f-77aa-4bbb-8ccc-0000000000f1"
)

// allStackAttributes reads every kind of stack attribute.
const allStackAttributes = stackTemplate + `    id: { value: { get_attribute: [app, id] } }
    name: { value: { get_attribute: [app, stack_name] } }
    status: { value: { get_attribute: [app, stack_status] } }
    reason: { value: { get_attribute: [app, stack_status_reason] } }
    created: { value: { get_attribute: [app, creation_time] } }
    flavor: { value: { get_attribute: [app, parameters, flavor] } }
    flavor_dotted: { value: { get_attribute: [app, parameters.flavor] } }
    ip_listed: { value: { get_attribute: [app, outputs, server_ip] } }
    ip_dotted: { value: { get_attribute: [app, outputs.server_ip] } }
    ip_bare: { value: { get_attribute: [app, server_ip] } }
    ports: { value: { get_attribute: [app, port_ids] } }
    second_port: { value: { get_attribute: [app, outputs, port_ids, 1] } }
    tls_port: { value: { get_attribute: [app, endpoint, port] } }
    tls_dotted: { value: { get_attribute: [app, outputs.endpoint, port] } }
    no_such_key: { value: { get_attribute: [app, endpoint, nope] } }
    replicas: { value: { get_attribute: [app, replicas] } }
    broken: { value: { get_attribute: [app, broken] } }
    output_named_id: { value: { get_attribute: [app, outputs.id] } }
    server: { value: { get_attribute: [app, resources, front, physical_resource_id] } }
    port: { value: { get_attribute: [app, resources.front_port.physical_resource_id] } }
    not_created: { value: { get_attribute: [app, resources, later, physical_resource_id] } }
    mixed:
      description: attributes inside a plain value
      value:
        kind: web
        ids: [{ get_attribute: [app, id] }, fixed]
`

var _ = Describe("Finding stacks through Heat", func() {
	var (
		heat  *fakeAPI
		cloud discovery.Cloud
		ctx   context.Context
	)

	BeforeEach(func() {
		heat = newHeat()
		DeferCleanup(heat.close)
		cloud = discovery.NewOpenStackCloud(heat.heatClient(), nil)
		ctx = context.Background()
	})

	It("finds a stack by name with every kind of attribute", func() {
		res, err := mustParse(allStackAttributes).Find(ctx, cloud, "web-app")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal(webAppID))
		Expect(res.AssociatedTopology).To(Equal(
			map[string]discovery.TopologyEntry{
				"InfrastructureStack": {ID: webAppID, Type: "Openstack"},
			}))
		o := res.Outputs
		Expect(o["id"]).To(Equal(webAppID))
		Expect(o["name"]).To(Equal("web-app"))
		Expect(o["status"]).To(Equal("CREATE_COMPLETE"))
		Expect(o["reason"]).To(Equal("Stack CREATE completed successfully"))
		Expect(o["created"]).To(Equal("2024-05-02T09:41:17Z"))
		Expect(o["flavor"]).To(Equal("m1.small"))
		Expect(o["flavor_dotted"]).To(Equal("m1.small"))
		Expect(o["ip_listed"]).To(Equal("10.20.30.40"))
		Expect(o["ip_dotted"]).To(Equal("10.20.30.40"))
		Expect(o["ip_bare"]).To(Equal("10.20.30.40"))
		Expect(o["ports"]).To(Equal([]any{"a5e1-port-1", "a5e1-port-2"}))
		Expect(o["second_port"]).To(Equal("a5e1-port-2"))
		Expect(o["tls_port"]).To(BeNumerically("==", 8443))
		Expect(o["tls_dotted"]).To(BeNumerically("==", 8443))
		Expect(o).To(HaveKeyWithValue("no_such_key", BeNil()))
		Expect(o["replicas"]).To(BeNumerically("==", 2))
		Expect(o).To(HaveKeyWithValue("broken", BeNil()))
		Expect(o["output_named_id"]).To(Equal("output-named-id"))
		Expect(o["server"]).To(Equal(frontServerID))
		Expect(o["port"]).To(Equal("a5e1-port-1"))
		Expect(o).To(HaveKeyWithValue("not_created", BeNil()))
		Expect(o["mixed"]).To(Equal(map[string]any{
			"kind": "web", "ids": []any{webAppID, "fixed"},
		}))
		Expect(o).To(HaveLen(22))

		prefix := "GET /v1/" + heatTenant + "/stacks"
		Expect(heat.requests()).To(Equal([]string{
			prefix + "?name=web-app",
			prefix + "?id=" + webAppID,
			prefix + "/web-app/" + webAppID,
			prefix + "/web-app/" + webAppID + "/resources",
		}))
	})

	It("does not list resources when no output needs them", func() {
		t := mustParse(stackTemplate +
			"    ip: { value: { get_attribute: [app, server_ip] } }\n")
		res, err := t.Find(ctx, cloud, "web-app")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Outputs).To(Equal(map[string]any{"ip": "10.20.30.40"}))
		Expect(countPrefix(heat.requests(), "GET")).To(Equal(3))
	})

	It("gives whole parameter, output and resource maps", func() {
		t := mustParse(stackTemplate + `    p: { value: { get_attribute: [app, parameters] } }
    o: { value: { get_attribute: [app, outputs] } }
    r: { value: { get_attribute: [app, resources] } }
`)
		res, err := t.Find(ctx, cloud, "web-app")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Outputs["p"]).To(HaveKeyWithValue("flavor", "m1.small"))
		Expect(res.Outputs["o"]).To(HaveKeyWithValue("server_ip",
			"10.20.30.40"))
		Expect(res.Outputs["r"]).To(Equal(map[string]any{
			"front": frontServerID, "front_port": "a5e1-port-1",
			"later": nil,
		}))
	})

	It("finds a stack by id", func() {
		t := mustParse(strings.Replace(stackTemplate,
			"stack_name: { get_input: instance_name }",
			"stack_id: "+webAppID, 1) +
			"    name: { value: { get_attribute: [app, stack_name] } }\n")
		res, err := t.Find(ctx, cloud, "ignored-instance-name")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal(webAppID))
		Expect(res.Outputs).To(Equal(map[string]any{"name": "web-app"}))
	})

	DescribeTable("answers nil when nothing lasting matches",
		func(property, value string) {
			t := mustParse(strings.Replace(stackTemplate, "stack_name",
				property, 1) +
				"    id: { value: { get_attribute: [app, id] } }\n")
			res, err := t.Find(ctx, cloud, value)
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(BeNil())
		},
		Entry("an unknown name", "stack_name", "nobody"),
		Entry("an unknown id", "stack_id", "00000000-0000-0000-0000-0"),
		Entry("a stack being deleted, by name", "stack_name", "going-away"),
		Entry("a stack being deleted, by id", "stack_id", goingAwayID),
		Entry("a deleted stack, by name", "stack_name", "gone"),
		Entry("a deleted stack, by id", "stack_id", goneID),
	)

	It("ignores a same-named stack that is being deleted", func() {
		t := mustParse(stackTemplate +
			"    status: { value: { get_attribute: [app, stack_status] } }\n")
		res, err := t.Find(ctx, cloud, "phoenix")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal(phoenixNewID))
		Expect(res.Outputs).To(Equal(
			map[string]any{"status": "CREATE_COMPLETE"}))
	})

	It("refuses to pick one of two stacks with the same name", func() {
		res, err := mustParse(stackTemplate).Find(ctx, cloud, "twin")
		Expect(res).To(BeNil())
		var amb *discovery.AmbiguousError
		Expect(errors.As(err, &amb)).To(BeTrue())
		Expect(amb.Count()).To(Equal(2))
		Expect(amb.IDs).To(Equal([]string{twinA, twinB}))
		Expect(err.Error()).To(Equal(`2 stacks are named "twin" (ids ` +
			twinA + ", " + twinB + "); set stack_id instead of the name " +
			"to say which one is meant"))
	})

	DescribeTable("reports attributes the found stack lacks",
		func(attr, want string) {
			t := mustParse(stackTemplate +
				"    x:\n      value: { get_attribute: [app, " + attr +
				"] }\n")
			_, err := t.Find(ctx, cloud, "web-app")
			var te *discovery.TemplateError
			Expect(errors.As(err, &te)).To(BeTrue(), "%v", err)
			Expect(te.Line).To(Equal(10))
			Expect(te.Problem).To(ContainSubstring(`output "x"`))
			Expect(te.Problem).To(ContainSubstring(want))
		},
		Entry("an output", "no_output", `output or attribute "no_output"`),
		Entry("a listed output", "outputs, nope", `"nope"`),
		Entry("a parameter", "parameters.image", `parameter "image"`),
		Entry("a resource", "resources, db, physical_resource_id",
			`resource "db"`),
	)

	It("names what the stack has when an output is missing", func() {
		t := mustParse(stackTemplate +
			"    x: { value: { get_attribute: [app, server_addr] } }\n")
		_, err := t.Find(ctx, cloud, "web-app")
		Expect(err).To(MatchError(ContainSubstring(
			"it has: broken, endpoint, id, port_ids, replicas, server_ip")))
		Expect(err).To(MatchError(HavePrefix("discover.yaml line 9: ")))
	})

	It("passes Heat failures through, wrapped", func() {
		heat.failWith = http.StatusInternalServerError
		_, err := mustParse(stackTemplate).Find(ctx, cloud, "web-app")
		Expect(err).To(HaveOccurred())
		Expect(gophercloud.ResponseCodeIs(err,
			http.StatusInternalServerError)).To(BeTrue())
		Expect(err.Error()).To(HavePrefix(
			`looking up stacks named "web-app": `))
	})
})

var _ = Describe("Find's inputs", func() {
	It("uses the template's default when no instance name is given",
		func() {
			t := mustParse(`tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    instance_name: { type: string, default: web-app }
    suffix: { type: string, default: 42 }
  node_templates:
    app:
      type: os.nodes.heat.Stack
      properties:
        stack_name: { get_input: instance_name }
`)
			cloud := &memoryCloud{stacks: []discovery.Stack{
				{ID: "s1", Name: "web-app", Status: "CREATE_COMPLETE"},
			}}
			res, err := t.Find(context.Background(), cloud, "")
			Expect(err).NotTo(HaveOccurred())
			Expect(res.ResourceID).To(Equal("s1"))
			Expect(res.Outputs).To(BeEmpty())

			res, err = t.Find(context.Background(), cloud, "other")
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(BeNil())
		})

	It("uses another input's default", func() {
		t := mustParse(`tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    net: { type: string, default: 7 }
  node_templates:
    n:
      type: tosca.nodes.network.Network
      properties:
        network_name: { get_input: [net] }
`)
		cloud := &memoryCloud{networks: []discovery.Network{
			{ID: "n7", Name: "7"},
		}}
		res, err := t.Find(context.Background(), cloud, "ignored")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal("n7"))
	})

	It("reports an instance_name that has no value", func() {
		_, err := mustParse(stackTemplate).Find(context.Background(),
			&memoryCloud{}, "")
		var te *discovery.TemplateError
		Expect(errors.As(err, &te)).To(BeTrue())
		Expect(te.Line).To(Equal(7))
		Expect(te.Problem).To(ContainSubstring("no value"))
	})

	It("lists at most ten ids when many objects share a name", func() {
		cloud := &memoryCloud{}
		for i := range 12 {
			cloud.networks = append(cloud.networks, discovery.Network{
				ID: fmt.Sprintf("n%02d", i), Name: "crowd",
			})
		}
		_, err := mustParse(netTemplate).Find(context.Background(), cloud,
			"crowd")
		var amb *discovery.AmbiguousError
		Expect(errors.As(err, &amb)).To(BeTrue())
		Expect(amb.Count()).To(Equal(12))
		Expect(err.Error()).To(HavePrefix(`12 networks are named "crowd"`))
		Expect(err.Error()).To(ContainSubstring("n09 and 2 more"))
	})

	It("gives each result its own copy of plain values", func() {
		t := mustParse(netTemplate + "    fixed: { value: { a: [1] } }\n")
		cloud := &memoryCloud{networks: []discovery.Network{
			{ID: "n1", Name: "x"},
		}}
		first, err := t.Find(context.Background(), cloud, "x")
		Expect(err).NotTo(HaveOccurred())
		first.Outputs["fixed"].(map[string]any)["a"] = "changed"
		second, err := t.Find(context.Background(), cloud, "x")
		Expect(err).NotTo(HaveOccurred())
		Expect(second.Outputs["fixed"]).To(Equal(
			map[string]any{"a": []any{int64(1)}}))
	})

	It("re-checks names and states a cloud gives back", func() {
		cloud := &memoryCloud{stacks: []discovery.Stack{
			{ID: "a", Name: "Web-App", Status: "CREATE_COMPLETE"},
			{ID: "b", Name: "web-app", Status: "DELETE_IN_PROGRESS"},
			{ID: "c", Name: "web-app", Status: "UPDATE_COMPLETE"},
		}}
		res, err := mustParse(stackTemplate).Find(context.Background(),
			cloud, "web-app")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal("c"))
	})
})

// memoryCloud is a Cloud over fixed slices, for logic that needs no HTTP.
// It deliberately matches names loosely (case-insensitively) and keeps
// deleting stacks, to show Find does not rely on the cloud for either.
type memoryCloud struct {
	stacks   []discovery.Stack
	networks []discovery.Network
}

func (m *memoryCloud) StacksNamed(_ context.Context, name string) (
	[]discovery.Stack, error) {
	var out []discovery.Stack
	for _, s := range m.stacks {
		if strings.EqualFold(s.Name, name) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memoryCloud) StackByID(_ context.Context, id string) (
	*discovery.Stack, error) {
	for _, s := range m.stacks {
		if s.ID == id {
			return &s, nil
		}
	}
	return nil, nil
}

func (m *memoryCloud) StackResources(context.Context, discovery.Stack) (
	map[string]string, error) {
	return map[string]string{}, nil
}

func (m *memoryCloud) NetworksNamed(_ context.Context, name string) (
	[]discovery.Network, error) {
	var out []discovery.Network
	for _, n := range m.networks {
		if strings.EqualFold(n.Name, name) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (m *memoryCloud) NetworkByID(_ context.Context, id string) (
	*discovery.Network, error) {
	for _, n := range m.networks {
		if n.ID == id {
			return &n, nil
		}
	}
	return nil, nil
}

func (m *memoryCloud) Subnets(context.Context, string) ([]discovery.Subnet,
	error) {
	return nil, nil
}
