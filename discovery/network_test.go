package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/discovery"
)

const (
	accessNetID   = "0c6a3b3e-5d0f-4a55-9d8e-1f2a3b4c5d01"
	twinNetA      = "1d7b4c4f-6e10-4b66-ae9f-2a3b4c5d6e02"
	twinNetB      = "2e8c5d50-7f21-4c77-bfa0-3b4c5d6e7f03"
	bareFlatNetID = "3f9d6e61-8032-4d88-80b1-4c5d6e7f8004"
)

// earlierExample is testdata/neutron-network.yaml, the earlier driver's
// network template.
func earlierExample() *discovery.Template {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join("testdata", "neutron-network.yaml"))
	Expect(err).NotTo(HaveOccurred())
	t, err := discovery.Parse("discover.yaml", data)
	Expect(err).NotTo(HaveOccurred())
	return t
}

var _ = Describe("Finding networks through Neutron", func() {
	var (
		neutron *fakeAPI
		cloud   discovery.Cloud
		ctx     context.Context
	)

	BeforeEach(func() {
		neutron = newNeutron()
		DeferCleanup(neutron.close)
		cloud = discovery.NewOpenStackCloud(nil, neutron.neutronClient())
		ctx = context.Background()
	})

	It("finds a network by name with all 11 outputs", func() {
		res, err := earlierExample().Find(ctx, cloud, "tnco-access")
		Expect(err).NotTo(HaveOccurred())
		Expect(res).NotTo(BeNil())
		Expect(res.ResourceID).To(Equal(accessNetID))
		Expect(res.AssociatedTopology).To(Equal(
			map[string]discovery.TopologyEntry{
				"InfrastructureNetwork": {ID: accessNetID,
					Type: "OpenstackNetwork"},
			}))
		o := res.Outputs
		Expect(o).To(HaveLen(11))
		Expect(o["network_name"]).To(Equal("tnco-access"))
		Expect(o["network_id"]).To(Equal(accessNetID))
		Expect(o["segmentation_id"]).To(Equal(int64(1203)))
		Expect(o["network_type"]).To(Equal("vlan"))
		Expect(o["physical_network"]).To(Equal("physnet-data"))
		// Subnet values come from the network's first subnet (the IPv4
		// one), although Neutron's subnet list gives the IPv6 one first.
		Expect(o["ip_version"]).To(Equal(4))
		Expect(o["cidr"]).To(Equal("192.168.77.0/24"))
		Expect(o["start_ip"]).To(Equal("192.168.77.10"))
		Expect(o["end_ip"]).To(Equal("192.168.77.99"))
		Expect(o["gateway_ip"]).To(Equal("192.168.77.1"))
		Expect(o["dhcp_enabled"]).To(Equal(true))

		Expect(neutron.requests()).To(Equal([]string{
			"GET /v2.0/networks?name=tnco-access",
			"GET /v2.0/subnets?network_id=" + accessNetID,
		}))
	})

	It("answers with the JSON shape of the find-reference result", func() {
		res, err := earlierExample().Find(ctx, cloud, "tnco-access")
		Expect(err).NotTo(HaveOccurred())
		body, err := json.Marshal(map[string]any{"result": res})
		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(MatchJSON(`{"result": {
			"resourceId": "` + accessNetID + `",
			"associatedTopology": {"InfrastructureNetwork":
				{"id": "` + accessNetID + `", "type": "OpenstackNetwork"}},
			"outputs": {
				"network_name": "tnco-access",
				"network_id": "` + accessNetID + `",
				"segmentation_id": 1203,
				"network_type": "vlan",
				"physical_network": "physnet-data",
				"ip_version": 4,
				"cidr": "192.168.77.0/24",
				"start_ip": "192.168.77.10",
				"end_ip": "192.168.77.99",
				"gateway_ip": "192.168.77.1",
				"dhcp_enabled": true
			}}}`))
	})

	It("finds a network by id", func() {
		t := mustParse(`tosca_definitions_version: tosca_simple_yaml_1_0
topology_template:
  node_templates:
    net:
      type: tosca.nodes.network.Network
      properties:
        network_id: { get_input: instance_name }
  outputs:
    name: { value: { get_attribute: [net, network_name] } }
    cidr: { value: { get_attribute: [net, cidr] } }
`)
		res, err := t.Find(ctx, cloud, accessNetID)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal(accessNetID))
		Expect(res.Outputs).To(Equal(map[string]any{
			"name": "tnco-access", "cidr": "192.168.77.0/24",
		}))
		Expect(neutron.requests()[0]).To(Equal(
			"GET /v2.0/networks/" + accessNetID))
	})

	It("answers nil for an id Neutron does not know", func() {
		t := mustParse(strings.Replace(netTemplate, "network_name",
			"network_id", 1))
		res, err := t.Find(ctx, cloud, "9999aaaa-0000-0000-0000-000000000000")
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(BeNil())
	})

	It("answers nil for a name nothing has, without asking for subnets",
		func() {
			res, err := earlierExample().Find(ctx, cloud, "no-such-net")
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(BeNil())
			Expect(countPrefix(neutron.requests(), "GET /v2.0/subnets")).
				To(BeZero())
		})

	It("refuses to pick one of two networks with the same name", func() {
		res, err := earlierExample().Find(ctx, cloud, "twin-net")
		Expect(res).To(BeNil())
		var amb *discovery.AmbiguousError
		Expect(errors.As(err, &amb)).To(BeTrue())
		Expect(amb.Count()).To(Equal(2))
		Expect(amb.Kind).To(Equal("network"))
		Expect(amb.Name).To(Equal("twin-net"))
		Expect(amb.IDs).To(ConsistOf(twinNetA, twinNetB))
		Expect(err.Error()).To(HavePrefix(`2 networks are named "twin-net"`))
		Expect(err.Error()).To(ContainSubstring("network_id"))
	})

	It("gives null for values a network without subnets lacks", func() {
		res, err := earlierExample().Find(ctx, cloud, "bare-flat")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal(bareFlatNetID))
		Expect(res.Outputs["network_type"]).To(Equal("flat"))
		Expect(res.Outputs["physical_network"]).To(Equal("physnet-ext"))
		Expect(res.Outputs).To(HaveKeyWithValue("segmentation_id", BeNil()))
		for _, k := range []string{"ip_version", "cidr", "start_ip",
			"end_ip", "gateway_ip", "dhcp_enabled"} {
			Expect(res.Outputs).To(HaveKeyWithValue(k, BeNil()), k)
		}
	})

	It("gives null for provider fields Neutron hides and no gateway",
		func() {
			res, err := earlierExample().Find(ctx, cloud, "v6-only")
			Expect(err).NotTo(HaveOccurred())
			o := res.Outputs
			Expect(o).To(HaveKeyWithValue("network_type", BeNil()))
			Expect(o).To(HaveKeyWithValue("physical_network", BeNil()))
			Expect(o).To(HaveKeyWithValue("segmentation_id", BeNil()))
			Expect(o).To(HaveKeyWithValue("gateway_ip", BeNil()))
			Expect(o["ip_version"]).To(Equal(6))
			Expect(o["dhcp_enabled"]).To(Equal(false))
			Expect(o["start_ip"]).To(Equal("fd00:99::10"))
			Expect(o["end_ip"]).To(Equal("fd00:99::20"))
		})

	It("does not list subnets when no output needs them", func() {
		t := mustParse(netTemplate +
			"    id: { value: { get_attribute: [net, network_id] } }\n" +
			"    fixed: { value: { answer: 42, list: [a, 1.5, true, null] } }\n")
		res, err := t.Find(ctx, cloud, "tnco-access")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Outputs).To(Equal(map[string]any{
			"id": accessNetID,
			"fixed": map[string]any{"answer": int64(42),
				"list": []any{"a", 1.5, true, nil}},
		}))
		Expect(neutron.requests()).To(HaveLen(1))
	})

	It("says finding networks needs Neutron when there is no client",
		func() {
			noNet := discovery.NewOpenStackCloud(nil, nil)
			_, err := earlierExample().Find(ctx, noNet, "tnco-access")
			var nn *discovery.ErrNoNetworkService
			Expect(errors.As(err, &nn)).To(BeTrue())
			Expect(err.Error()).To(ContainSubstring("Keystone"))
		})

	It("passes Neutron failures through, wrapped", func() {
		neutron.failWith = http.StatusServiceUnavailable
		_, err := earlierExample().Find(ctx, cloud, "tnco-access")
		Expect(err).To(HaveOccurred())
		var te *discovery.TemplateError
		Expect(errors.As(err, &te)).To(BeFalse())
		Expect(gophercloud.ResponseCodeIs(err,
			http.StatusServiceUnavailable)).To(BeTrue())
		Expect(err.Error()).To(HavePrefix(
			`looking up networks named "tnco-access": `))
	})

	It("stops when the context is cancelled", func() {
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err := earlierExample().Find(cancelled, cloud, "tnco-access")
		Expect(err).To(MatchError(context.Canceled))
	})
})
