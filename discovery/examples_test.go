package discovery_test

import (
	"context"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/discovery"
)

// The examples in docs/examples must stay valid as the parser changes.
var _ = Describe("The documented example packages", func() {
	read := func(dir string) *discovery.Template {
		GinkgoHelper()
		data, err := os.ReadFile(filepath.Join("..", "docs", "examples",
			dir, "discover.yaml"))
		Expect(err).NotTo(HaveOccurred())
		t, err := discovery.ReadPackage(map[string][]byte{
			"discover.yaml": data,
		})
		Expect(err).NotTo(HaveOccurred())
		return t
	}

	It("parses and resolves the stack example", func() {
		t := read("stack-discovery")
		Expect(t.Kind()).To(Equal(discovery.KindStack))
		heat := newHeat()
		DeferCleanup(heat.close)
		cloud := discovery.NewOpenStackCloud(heat.heatClient(), nil)
		res, err := t.Find(context.Background(), cloud, "web-app")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Outputs).To(Equal(map[string]any{
			"stack_id":     webAppID,
			"stack_status": "CREATE_COMPLETE",
			"created":      "2024-05-02T09:41:17Z",
			"flavor":       "m1.small",
			"server_ip":    "10.20.30.40",
			"server_id":    frontServerID,
			"site":         "lab-1",
		}))
	})

	It("parses and resolves the network example", func() {
		t := read("network-discovery")
		Expect(t.Kind()).To(Equal(discovery.KindNetwork))
		Expect(t.NodeType()).To(Equal("example.nodes.TenantNetwork"))
		neutron := newNeutron()
		DeferCleanup(neutron.close)
		cloud := discovery.NewOpenStackCloud(nil, neutron.neutronClient())
		res, err := t.Find(context.Background(), cloud, "tnco-access")
		Expect(err).NotTo(HaveOccurred())
		Expect(res.ResourceID).To(Equal(accessNetID))
		Expect(res.Outputs).To(HaveLen(11))
		Expect(res.Outputs["cidr"]).To(Equal("192.168.77.0/24"))
	})
})
