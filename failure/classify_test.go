package failure_test

import (
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"

	"github.com/tnco-drivers/openstack-driver/failure"
)

// reasonCase is one entry of testdata/reasons.yaml.
type reasonCase struct {
	Reason string `yaml:"reason"`
	Code   string `yaml:"code"`
	Source string `yaml:"source"`
}

// loadReasons reads the collected failure texts. Unknown fields, unknown
// codes and empty fields are errors, so that a typo cannot hide a case.
func loadReasons(path string) ([]reasonCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var cases []reasonCase
	if err := dec.Decode(&cases); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	known := map[failure.Code]bool{
		failure.InsufficientCapacity:  true,
		failure.ResourceAlreadyExists: true,
		failure.ResourceNotFound:      true,
		failure.InfrastructureError:   true,
		failure.InternalError:         true,
	}
	for i, c := range cases {
		if c.Reason == "" || c.Source == "" {
			return nil, fmt.Errorf("%s: entry %d: reason and source "+
				"are required", path, i+1)
		}
		if !known[failure.Code(c.Code)] {
			return nil, fmt.Errorf("%s: entry %d: unknown code %q",
				path, i+1, c.Code)
		}
	}
	return cases, nil
}

// short gives the start of a reason for an entry's description.
func short(s string) string {
	r := []rune(s)
	if len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

var _ = Describe("Classify", func() {
	cases, loadErr := loadReasons(filepath.Join("testdata", "reasons.yaml"))

	It("has enough collected reasons for every code it can give", func() {
		Expect(loadErr).NotTo(HaveOccurred())
		Expect(len(cases)).To(BeNumerically(">=", 45))
		perCode := map[failure.Code]int{}
		for _, c := range cases {
			perCode[failure.Code(c.Code)]++
		}
		for _, code := range []failure.Code{
			failure.InsufficientCapacity,
			failure.ResourceAlreadyExists,
			failure.ResourceNotFound,
			failure.InfrastructureError,
		} {
			Expect(perCode[code]).To(BeNumerically(">=", 5),
				"reasons for %s", code)
		}
	})

	// DescribeTable takes its body and entries as one list of arguments.
	table := []any{func(reason string, want failure.Code, source string) {
		Expect(failure.Classify(reason)).To(Equal(want),
			"reason %q (from %s)", reason, source)
	}}
	for i, c := range cases {
		table = append(table, Entry(
			fmt.Sprintf("#%02d %s: %s", i+1, c.Code, short(c.Reason)),
			c.Reason, failure.Code(c.Code), c.Source))
	}
	DescribeTable("collected OpenStack reasons", table...)

	DescribeTable("edge cases and rule order",
		func(reason string, want failure.Code) {
			Expect(failure.Classify(reason)).To(Equal(want))
		},
		Entry("empty text", "", failure.InfrastructureError),
		Entry("blank text", " \t\n ", failure.InfrastructureError),
		Entry("unknown text", "Something odd happened",
			failure.InfrastructureError),
		Entry("case does not matter", "QUOTA EXCEEDED FOR CORES",
			failure.InsufficientCapacity),
		Entry("upper-case not found", "IMAGE X COULD NOT BE FOUND",
			failure.ResourceNotFound),
		Entry("no valid host is capacity though it says found",
			"No valid host was found. ", failure.InsufficientCapacity),
		Entry("capacity beats not found in the same text",
			"Flavor f1 could not be found; No valid host was found.",
			failure.InsufficientCapacity),
		Entry("not found beats already exists",
			"Network n1 could not be found. Port p1 already exists.",
			failure.ResourceNotFound),
		Entry("stack that exists", "Stack svc-b already exists",
			failure.ResourceAlreadyExists),
		Entry("a bare timeout", "Operation Timeout: volume attach",
			failure.InfrastructureError),
		Entry("a timeout wins over an exists in the same text",
			"Create timed out; key k1 already exists",
			failure.InfrastructureError),
		Entry("rate limit is not quota", "Rate limit exceeded for api",
			failure.InfrastructureError),
		Entry("nesting depth is not quota",
			"Request limit exceeded: Recursion depth exceeds 5.",
			failure.InfrastructureError),
		Entry("template fetch 404 is not a missing thing",
			`Could not fetch remote template "x.yaml": 404 Client `+
				`Error: Not Found for url: http://192.0.2.1/x.yaml`,
			failure.InfrastructureError),
		Entry("missing Neutron extension is the cloud's",
			"The neutron extension (trunk) could not be found.",
			failure.InfrastructureError),
		Entry("a flavor too small is not capacity",
			"Build of instance i1 aborted: Flavor's memory is too "+
				"small for requested image.",
			failure.InfrastructureError),
		Entry("not enough memory is capacity",
			"Host h1 has not enough free memory to schedule this "+
				"instance", failure.InsufficientCapacity),
		Entry("non-UTF-8 bytes do not break matching",
			"\xff\xfeQuota exceeded for instances\xc3",
			failure.InsufficientCapacity),
	)
})

var _ = Describe("IsQuota", func() {
	DescribeTable("quota and limit texts",
		func(msg string, want bool) {
			Expect(failure.IsQuota(msg)).To(Equal(want))
		},
		Entry("Nova cores", "Quota exceeded for cores: Requested 2, "+
			"but already used 8 of 8 cores", true),
		Entry("Neutron OverQuota", "Quota exceeded for resources: "+
			"['network'].", true),
		Entry("neutronclient class name",
			"OverQuotaClient: resources.p1: no details", true),
		Entry("Cinder volumes", "VolumeLimitExceeded: Maximum number "+
			"of volumes allowed (5) exceeded for quota 'volumes'. "+
			"(HTTP 413)", true),
		Entry("Cinder gigabytes", "Requested volume or snapshot exceeds "+
			"allowed gigabytes quota. Requested 9G, quota is 10G and "+
			"5G has been consumed.", true),
		Entry("Nova ports", "Maximum number of ports exceeded", true),
		Entry("Nova metadata", "Maximum number of metadata items "+
			"exceeds 128", true),
		Entry("bare over limit", "Over limit", true),
		Entry("OverLimit class name", "OverLimit: resources.v1: x", true),
		Entry("Heat stacks per tenant", "You have reached the maximum "+
			"stacks per tenant, 50. Please delete some stacks.", true),
		Entry("no valid host is not a quota",
			"No valid host was found. There are not enough hosts "+
				"available.", false),
		Entry("exhausted hosts is not a quota",
			"Exceeded maximum number of retries. Exhausted all hosts "+
				"available for retrying build failures", false),
		Entry("IP exhaustion is not a quota",
			"No more IP addresses available on network n1.", false),
		Entry("template size is not a quota",
			"Request limit exceeded: Template size (600001 bytes) "+
				"exceeds maximum allowed size (524288 bytes).", false),
		Entry("rate limit is not a quota",
			"Rate limit exceeded, retry later", false),
		Entry("connection retries are not a quota",
			"Max retries exceeded with url: /v2.1/servers", false),
		Entry("policy refusal is not a quota",
			"Policy doesn't allow os_compute_api:servers:create to be "+
				"performed. (HTTP 403)", false),
		Entry("empty", "", false),
	)
})

var _ = Describe("IsMissingReference", func() {
	DescribeTable("Heat validation texts",
		func(msg string, want bool) {
			Expect(failure.IsMissingReference(msg)).To(Equal(want))
		},
		Entry("image by name", "Property error: resources.server."+
			"properties.image: Error validating value 'cirros-x': "+
			"No images matching {'name': u'cirros-x'}.", true),
		Entry("flavor id", "The Flavor ID (m1.huge) could not be found",
			true),
		Entry("network", "Property error: resources.p.properties."+
			"network: Error validating value 'net-x': Unable to find "+
			"network with name or id 'net-x'", true),
		Entry("subnet", "Unable to find subnet with name or id 'sub-y'",
			true),
		Entry("key pair", "The Key (mykey) could not be found.", true),
		Entry("volume", "Error validating value 'vol-1': The Volume "+
			"(vol-1) could not be found.", true),
		Entry("port", "Port 0e5f could not be found.", true),
		Entry("security group", "Security group sg-web not found.",
			true),
		Entry("server group", "Instance group g1 could not be found.",
			true),
		Entry("keystone attribute", "Expecting to find domain in "+
			"project. The server could not comply with the request "+
			"since it is either malformed or otherwise incorrect.",
			true),
		Entry("missing parameter", "The Parameter (foo) was not "+
			"provided.", false),
		Entry("unknown property", "Property error: resources.x."+
			"properties: Unknown Property bar", false),
		Entry("bad section", "The template section is invalid: "+
			"resourcez", false),
		Entry("unknown type", "Unknown resource Type : OS::Foo", false),
		Entry("type not registered", "The Resource Type (OS::Foo) "+
			"could not be found.", false),
		Entry("remote template", `Could not fetch remote template `+
			`"x.yaml": Failed to retrieve template: 404 Client Error: `+
			`Not Found`, false),
		Entry("bad reference", `The specified reference "res" (in `+
			`output) is incorrect.`, false),
		Entry("ambiguous image", "Error validating value 'ubuntu': No "+
			"image unique match found for {'name': 'ubuntu'}.", false),
		Entry("no valid host", "No valid host was found.", false),
		Entry("empty", "", false),
	)
})
