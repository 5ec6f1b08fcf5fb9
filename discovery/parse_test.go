package discovery_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/discovery"
)

// parseErr parses src, expects a *TemplateError and returns it.
func parseErr(src string) *discovery.TemplateError {
	GinkgoHelper()
	t, err := discovery.Parse("discover.yaml", []byte(src))
	Expect(err).To(HaveOccurred())
	Expect(t).To(BeNil())
	var te *discovery.TemplateError
	Expect(errors.As(err, &te)).To(BeTrue(), "error %T: %v", err, err)
	Expect(te.File).To(Equal("discover.yaml"))
	Expect(err.Error()).To(HavePrefix("discover.yaml"))
	return te
}

func mustParse(src string) *discovery.Template {
	GinkgoHelper()
	t, err := discovery.Parse("discover.yaml", []byte(src))
	Expect(err).NotTo(HaveOccurred())
	return t
}

// netTemplate is a minimal network template; outputs are appended at
// line 9 onwards.
const netTemplate = `tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    net:
      type: tosca.nodes.network.Network
      properties:
        network_name: { get_input: instance_name }
  outputs:
`

// stackTemplate is a minimal stack template; outputs start at line 9.
const stackTemplate = `tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    app:
      type: os.nodes.heat.Stack
      properties:
        stack_name: { get_input: instance_name }
  outputs:
`

var _ = Describe("Parse", func() {
	Describe("templates it accepts", func() {
		It("reads the earlier driver's network example unchanged", func() {
			data, err := os.ReadFile(
				filepath.Join("testdata", "neutron-network.yaml"))
			Expect(err).NotTo(HaveOccurred())
			t, err := discovery.Parse("discover.yaml", data)
			Expect(err).NotTo(HaveOccurred())
			Expect(t.Kind()).To(Equal(discovery.KindNetwork))
			Expect(t.NodeName()).To(Equal("net"))
			Expect(t.NodeType()).To(
				Equal("tosca.nodes.network.NetworkWithAttr"))
			Expect(t.File()).To(Equal("discover.yaml"))
			Expect(t.OutputNames()).To(Equal([]string{
				"network_name", "network_id", "segmentation_id",
				"network_type", "physical_network", "ip_version", "cidr",
				"start_ip", "end_ip", "gateway_ip", "dhcp_enabled",
			}))
		})

		DescribeTable("accepts every built-in network type name",
			func(typ string) {
				t := mustParse(strings.Replace(netTemplate,
					"tosca.nodes.network.Network", typ, 1))
				Expect(t.Kind()).To(Equal(discovery.KindNetwork))
			},
			Entry("TOSCA's own", "tosca.nodes.network.Network"),
			Entry("with attributes", "tosca.nodes.network.NetworkWithAttr"),
			Entry("earlier driver's", "os.nodes.network.Network"),
			Entry("earlier driver's ext", "os.ext.nodes.network.Network"),
		)

		It("accepts the stack node type", func() {
			t := mustParse(stackTemplate)
			Expect(t.Kind()).To(Equal(discovery.KindStack))
			Expect(t.Kind().String()).To(Equal("stack"))
			Expect(t.NodeType()).To(Equal(discovery.StackNodeType))
		})

		It("accepts types derived through a chain in node_types", func() {
			t := mustParse(`tosca_definitions_version: tosca_simple_yaml_1_3
node_types:
  acme.nodes.TenantNetwork:
    derived_from: acme.nodes.BaseNetwork
  acme.nodes.BaseNetwork:
    derived_from: tosca.nodes.network.Network
    properties:
      owner: { type: string }
  acme.nodes.App:
    derived_from: os.nodes.heat.Stack
topology_template:
  node_templates:
    n:
      type: acme.nodes.TenantNetwork
      properties:
        network_id: 0c6a3b3e-5d0f-4a55-9d8e-1f2a3b4c5d01
`)
			Expect(t.Kind()).To(Equal(discovery.KindNetwork))
			Expect(t.NodeType()).To(Equal("acme.nodes.TenantNetwork"))
		})

		It("accepts a template re-declaring a built-in type", func() {
			t := mustParse(`tosca_definitions_version: tosca_simple_yaml_1_0
node_types:
  os.nodes.network.Network:
    derived_from: tosca.nodes.network.Network
topology_template:
  node_templates:
    n:
      type: os.nodes.network.Network
      properties:
        network_name: fixed-name
`)
			Expect(t.Kind()).To(Equal(discovery.KindNetwork))
		})

		It("accepts outputs written without value:, anchors and merges",
			func() {
				t := mustParse(`tosca_definitions_version: tosca_simple_yaml_1_0
dsl_definitions:
  common: &common
    description: shared
topology_template:
  node_templates:
    app:
      type: os.nodes.heat.Stack
      properties:
        stack_id: 5b1d7e0a-1111-4c1c-9a9a-0000000000a1
  outputs:
    short: { get_attribute: [app, id] }
    merged:
      <<: *common
      value: { get_attribute: [app, stack_status] }
`)
				Expect(t.OutputNames()).To(Equal([]string{"short", "merged"}))
			})

		It("accepts a UTF-8 byte order mark", func() {
			t := mustParse("\ufeff" + stackTemplate)
			Expect(t.Kind()).To(Equal(discovery.KindStack))
		})

		It("accepts every stack attribute form", func() {
			mustParse(stackTemplate + `    a: { value: { get_attribute: [app, id] } }
    b: { value: { get_attribute: [app, stack_name] } }
    c: { value: { get_attribute: [app, stack_status] } }
    d: { value: { get_attribute: [app, stack_status_reason] } }
    e: { value: { get_attribute: [app, creation_time] } }
    f: { value: { get_attribute: [app, parameters, flavor] } }
    g: { value: { get_attribute: [app, parameters.flavor] } }
    h: { value: { get_attribute: [app, outputs, server_ip] } }
    i: { value: { get_attribute: [app, outputs.server_ip] } }
    j: { value: { get_attribute: [app, server_ip] } }
    k: { value: { get_attribute: [app, resources, front, physical_resource_id] } }
    l: { value: { get_attribute: [app, resources.front.physical_resource_id] } }
    m: { value: { get_attribute: [app, outputs, endpoint, port] } }
    n: { value: [ { get_attribute: [app, id] }, plain ] }
`)
		})
	})

	Describe("errors", func() {
		It("reports YAML syntax errors with the parser's line", func() {
			te := parseErr("tosca_definitions_version: x\n" +
				"topology_template:\n  inputs: [1, 2\n  outputs: {}\n")
			Expect(te.Line).To(BeNumerically(">", 0))
			Expect(te.Problem).To(HavePrefix("not valid YAML: "))
			Expect(te.Error()).To(MatchRegexp(
				`^discover\.yaml line \d+: not valid YAML: `))
		})

		It("reports a tab-indented document with its line", func() {
			te := parseErr("tosca_definitions_version: x\n" +
				"topology_template:\n\tinputs: {}\n")
			Expect(te.Line).To(Equal(3))
			Expect(te.Error()).To(HavePrefix("discover.yaml line 3: "))
		})

		DescribeTable("documents that are not mappings",
			func(src, shape string) {
				te := parseErr(src)
				Expect(te.Problem).To(ContainSubstring("must be a mapping"))
				Expect(te.Problem).To(ContainSubstring(shape))
			},
			Entry("a list", "- a\n- b\n", "a list"),
			Entry("a string", "just text\n", `"just text"`),
			Entry("null", "~\n", "null"),
		)

		It("reports an empty file", func() {
			Expect(parseErr("").Problem).To(ContainSubstring("empty"))
			Expect(parseErr("# only a comment\n").Problem).To(
				ContainSubstring("empty"))
		})

		It("reports a second YAML document", func() {
			te := parseErr(stackTemplate + "---\nother: 1\n")
			Expect(te.Problem).To(ContainSubstring("more than one"))
			Expect(te.Line).To(Equal(9)) // the "---" line
		})

		It("reports a missing tosca_definitions_version", func() {
			te := parseErr(strings.Replace(stackTemplate,
				"tosca_definitions_version: tosca_simple_yaml_1_0\n", "", 1))
			Expect(te.Problem).To(ContainSubstring(
				"tosca_definitions_version is missing"))
		})

		It("reports a tosca_definitions_version that is not TOSCA", func() {
			te := parseErr(strings.Replace(stackTemplate,
				"tosca_simple_yaml_1_0", "heat_2018", 1))
			Expect(te.Line).To(Equal(1))
			Expect(te.Problem).To(ContainSubstring(`"heat_2018"`))
		})

		It("reports unknown top-level keys", func() {
			te := parseErr(stackTemplate + "topology_templates: {}\n")
			Expect(te.Line).To(Equal(9))
			Expect(te.Problem).To(ContainSubstring(`"topology_templates"`))
		})

		It("reports a missing topology_template", func() {
			te := parseErr("tosca_definitions_version: tosca_simple_yaml_1_0\n")
			Expect(te.Problem).To(ContainSubstring(
				"topology_template is missing"))
		})

		It("reports zero node templates", func() {
			te := parseErr(`tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates: {}
`)
			Expect(te.Line).To(Equal(3))
			Expect(te.Problem).To(ContainSubstring("exactly one"))
			te = parseErr(`tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs: {}
`)
			Expect(te.Problem).To(ContainSubstring(
				"node_templates is missing"))
		})

		It("reports two node templates, naming both", func() {
			te := parseErr(`tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    one:
      type: os.nodes.heat.Stack
      properties: { stack_name: a }
    two:
      type: os.nodes.heat.Stack
      properties: { stack_name: b }
`)
			Expect(te.Line).To(Equal(7))
			Expect(te.Problem).To(ContainSubstring("2 node templates (one, two)"))
		})

		It("reports an unknown node type, naming it", func() {
			te := parseErr(strings.Replace(netTemplate,
				"tosca.nodes.network.Network", "tosca.nodes.Compute", 1))
			Expect(te.Line).To(Equal(5))
			Expect(te.Problem).To(ContainSubstring(
				`unknown node type "tosca.nodes.Compute"`))
			Expect(te.Problem).To(ContainSubstring(discovery.StackNodeType))
		})

		It("reports a declared type that derives from no supported type",
			func() {
				te := parseErr(`tosca_definitions_version: tosca_simple_yaml_1_0
node_types:
  acme.Thing:
    derived_from: acme.Base
  acme.Base:
    derived_from: tosca.nodes.Root
topology_template:
  node_templates:
    n:
      type: acme.Thing
      properties: { network_name: x }
`)
				Expect(te.Line).To(Equal(10))
				Expect(te.Problem).To(ContainSubstring(`"acme.Thing"`))
				Expect(te.Problem).To(ContainSubstring(
					"acme.Thing -> acme.Base -> tosca.nodes.Root"))
			})

		It("reports a derived_from loop", func() {
			te := parseErr(`tosca_definitions_version: tosca_simple_yaml_1_0
node_types:
  a.A: { derived_from: a.B }
  a.B: { derived_from: a.A }
topology_template:
  node_templates:
    n:
      type: a.A
      properties: { network_name: x }
`)
			Expect(te.Problem).To(ContainSubstring("derives from itself"))
		})

		It("reports both network_name and network_id", func() {
			te := parseErr(strings.Replace(netTemplate,
				"        network_name: { get_input: instance_name }\n",
				"        network_name: a\n        network_id: b\n", 1))
			Expect(te.Line).To(Equal(8))
			Expect(te.Problem).To(ContainSubstring(
				"sets both network_name and network_id"))
		})

		It("reports both stack_name and stack_id", func() {
			te := parseErr(strings.Replace(stackTemplate,
				"        stack_name: { get_input: instance_name }\n",
				"        stack_id: a\n        stack_name: b\n", 1))
			Expect(te.Line).To(Equal(8))
			Expect(te.Problem).To(ContainSubstring("sets both"))
		})

		It("reports neither network_name nor network_id", func() {
			te := parseErr(strings.Replace(netTemplate,
				"        network_name: { get_input: instance_name }\n",
				"", 1))
			Expect(te.Problem).To(ContainSubstring(
				"needs a network_name or a network_id"))
			te = parseErr(strings.Replace(netTemplate,
				"      properties:\n"+
					"        network_name: { get_input: instance_name }\n",
				"      properties: {}\n", 1))
			Expect(te.Line).To(Equal(6))
			Expect(te.Problem).To(ContainSubstring(
				"needs a network_name or a network_id"))
		})

		It("reports properties discovery does not search by", func() {
			te := parseErr(strings.Replace(netTemplate,
				"        network_name: { get_input: instance_name }\n",
				"        network_name: a\n        cidr: 10.0.0.0/8\n", 1))
			Expect(te.Line).To(Equal(8))
			Expect(te.Problem).To(ContainSubstring(`property "cidr"`))
		})

		It("reports an empty selecting property", func() {
			te := parseErr(strings.Replace(stackTemplate,
				"{ get_input: instance_name }", `""`, 1))
			Expect(te.Problem).To(ContainSubstring("stack_name is empty"))
			te = parseErr(strings.Replace(stackTemplate,
				"{ get_input: instance_name }", "", 1))
			Expect(te.Problem).To(ContainSubstring("has no value"))
		})

		It("reports functions other than get_input in properties", func() {
			te := parseErr(strings.Replace(stackTemplate,
				"{ get_input: instance_name }",
				"{ concat: [a, { get_input: instance_name }] }", 1))
			Expect(te.Line).To(Equal(7))
			Expect(te.Problem).To(ContainSubstring("uses function concat"))
		})

		It("reports get_input of an undeclared input", func() {
			te := parseErr(strings.Replace(stackTemplate,
				"get_input: instance_name", "get_input: region", 1))
			Expect(te.Problem).To(ContainSubstring(
				`input "region", which is not declared`))
		})

		It("reports get_input of an input without a default", func() {
			te := parseErr(`tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  inputs:
    region: { type: string }
  node_templates:
    app:
      type: os.nodes.heat.Stack
      properties:
        stack_name: { get_input: region }
`)
			Expect(te.Line).To(Equal(9))
			Expect(te.Problem).To(ContainSubstring("has no default"))
		})

		DescribeTable("functions outputs may not use, naming output and "+
			"function",
			func(value, function string) {
				te := parseErr(stackTemplate +
					"    address:\n      value: " + value + "\n")
				Expect(te.Line).To(Equal(10))
				Expect(te.Problem).To(ContainSubstring(`output "address"`))
				Expect(te.Problem).To(ContainSubstring(
					"uses function " + function))
			},
			Entry("get_property", "{ get_property: [app, stack_name] }",
				"get_property"),
			Entry("concat", "{ concat: [a, b] }", "concat"),
			Entry("join", "{ join: [[a, b], '-'] }", "join"),
			Entry("token", "{ token: [a-b, '-', 0] }", "token"),
			Entry("get_operation_output",
				"{ get_operation_output: [app, Standard, create, x] }",
				"get_operation_output"),
			Entry("get_input", "{ get_input: instance_name }", "get_input"),
			Entry("a misspelt get_attribute",
				"{ get_attributes: [app, id] }", "get_attributes"),
			Entry("nested in a list",
				"[ { get_attribute: [app, id] }, { concat: [a] } ]",
				"concat"),
		)

		It("reports get_attribute pointing at a different node", func() {
			te := parseErr(stackTemplate +
				"    x:\n      value: { get_attribute: [other, id] }\n")
			Expect(te.Line).To(Equal(10))
			Expect(te.Problem).To(ContainSubstring(`of "other"`))
			Expect(te.Problem).To(ContainSubstring(`is "app"`))
			te = parseErr(stackTemplate +
				"    x:\n      value: { get_attribute: [SELF, id] }\n")
			Expect(te.Problem).To(ContainSubstring(`"SELF"`))
		})

		It("reports malformed get_attribute calls", func() {
			te := parseErr(stackTemplate +
				"    x:\n      value: { get_attribute: [app] }\n")
			Expect(te.Problem).To(ContainSubstring("needs a list"))
			te = parseErr(stackTemplate +
				"    x:\n      value: { get_attribute: app.id }\n")
			Expect(te.Problem).To(ContainSubstring("needs a list"))
			te = parseErr(stackTemplate +
				"    x:\n      value: { get_attribute: [app, [id]] }\n")
			Expect(te.Problem).To(ContainSubstring("plain names"))
		})

		It("reports unknown network attributes, listing the known ones",
			func() {
				te := parseErr(netTemplate +
					"    x:\n      value: { get_attribute: [net, mtu] }\n")
				Expect(te.Line).To(Equal(10))
				Expect(te.Problem).To(ContainSubstring(`attribute "mtu"`))
				Expect(te.Problem).To(ContainSubstring("segmentation_id"))
			})

		It("reports paths into single-valued attributes", func() {
			te := parseErr(netTemplate +
				"    x: { value: { get_attribute: [net, cidr, 0] } }\n")
			Expect(te.Problem).To(ContainSubstring("single value"))
			te = parseErr(stackTemplate +
				"    x: { value: { get_attribute: [app, id, 0] } }\n")
			Expect(te.Problem).To(ContainSubstring("single value"))
		})

		It("reports resource attributes other than physical_resource_id",
			func() {
				te := parseErr(stackTemplate + "    x: { value: " +
					"{ get_attribute: [app, resources, front, status] } }\n")
				Expect(te.Problem).To(ContainSubstring(
					"physical_resource_id"))
				te = parseErr(stackTemplate + "    x: { value: " +
					"{ get_attribute: [app, resources.front.status] } }\n")
				Expect(te.Problem).To(ContainSubstring(
					"physical_resource_id"))
			})

		It("reports an output without a value", func() {
			te := parseErr(stackTemplate +
				"    x:\n      description: nothing here\n")
			Expect(te.Line).To(Equal(10))
			Expect(te.Problem).To(ContainSubstring(`output "x" has no value`))
		})

		It("reports plain output values JSON cannot hold", func() {
			te := parseErr(stackTemplate + "    x: { value: .nan }\n")
			Expect(te.Line).To(Equal(9))
			Expect(te.Problem).To(ContainSubstring("JSON"))
		})

		It("reports a key given twice", func() {
			te := parseErr(stackTemplate +
				"    x: { value: 1 }\n    x: { value: 2 }\n")
			Expect(te.Line).To(Equal(10))
			Expect(te.Problem).To(ContainSubstring(`"x" appears twice`))
		})

		It("refuses an alias bomb quickly", func() {
			bomb := `tosca_definitions_version: tosca_simple_yaml_1_0
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
			te := parseErr(bomb)
			Expect(te.Problem).To(ContainSubstring("alias"))
			Expect(te.Problem).To(ContainSubstring("10000"))
		})

		It("refuses an alias bomb hidden in an output value", func() {
			bomb := stackTemplate + `    x:
      value: &a [[*b, *b], [*b, *b]]
`
			// *b is undefined: yaml.v3 rejects it before expansion.
			te := parseErr(bomb)
			Expect(te.Problem).To(ContainSubstring("not valid YAML"))
			bomb = `tosca_definitions_version: tosca_simple_yaml_1_0
dsl_definitions:
  a: &a [x, x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
topology_template:
  node_templates:
    app:
      type: os.nodes.heat.Stack
      properties: { stack_name: x }
  outputs:
    x: { value: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c] }
`
			te = parseErr(bomb)
			Expect(te.Problem).To(ContainSubstring("10000"))
		})

		It("refuses deep nesting", func() {
			deep := stackTemplate + "    x: { value: " +
				strings.Repeat("[", 100) + strings.Repeat("]", 100) + " }\n"
			te := parseErr(deep)
			Expect(te.Problem).To(ContainSubstring("nest"))
		})

		It("refuses an oversized file", func() {
			big := stackTemplate + "# " +
				strings.Repeat("x", discovery.MaxTemplateSize) + "\n"
			te := parseErr(big)
			Expect(te.Line).To(Equal(0))
			Expect(te.Problem).To(ContainSubstring("bytes"))
			Expect(te.Error()).To(HavePrefix("discover.yaml: the file is "))
		})

		It("refuses non-UTF-8, naming the line", func() {
			latin1 := strings.Replace(stackTemplate, "app:",
				"app:\n    # caf\xe9", 1)
			te := parseErr(latin1)
			Expect(te.Line).To(Equal(5))
			Expect(te.Problem).To(ContainSubstring("not valid UTF-8"))
			utf16 := "\xff\xfet\x00o\x00s\x00"
			Expect(parseErr(utf16).Problem).To(ContainSubstring("UTF-8"))
		})
	})
})

var _ = Describe("ReadPackage", func() {
	It("reads discover.yaml from the package root", func() {
		t, err := discovery.ReadPackage(map[string][]byte{
			"discover.yaml":       []byte(stackTemplate),
			"Definitions/x.yaml":  []byte("not: read"),
			"nested/discover.yml": []byte("ignored"),
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(t.File()).To(Equal("discover.yaml"))
	})

	It("reads discover.yml, also when the zip names it ./discover.yml",
		func() {
			t, err := discovery.ReadPackage(map[string][]byte{
				"./discover.yml": []byte(netTemplate),
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(t.File()).To(Equal("discover.yml"))
			Expect(t.Kind()).To(Equal(discovery.KindNetwork))
		})

	It("names discover.yml in errors from that file", func() {
		_, err := discovery.ReadPackage(map[string][]byte{
			"discover.yml": []byte("- a\n"),
		})
		Expect(err).To(MatchError(HavePrefix("discover.yml line 1: ")))
	})

	It("reports a missing template, naming the expected files", func() {
		_, err := discovery.ReadPackage(map[string][]byte{
			"Lifecycle/openstack/discover.yaml": []byte(stackTemplate),
		})
		var te *discovery.TemplateError
		Expect(errors.As(err, &te)).To(BeTrue())
		Expect(te.Line).To(Equal(0))
		Expect(te.Problem).To(ContainSubstring(
			"no discover.yaml or discover.yml at its root"))
		Expect(te.Problem).To(ContainSubstring(
			"Lifecycle/openstack/discover.yaml"))

		_, err = discovery.ReadPackage(nil)
		Expect(errors.As(err, &te)).To(BeTrue())
		Expect(err.Error()).To(Equal("discover.yaml: the driver package " +
			"has no discover.yaml or discover.yml at its root"))
	})

	It("refuses a package with both file names", func() {
		_, err := discovery.ReadPackage(map[string][]byte{
			"discover.yaml": []byte(stackTemplate),
			"discover.yml":  []byte(stackTemplate),
		})
		Expect(err).To(MatchError(ContainSubstring("keep only one")))
	})
})
