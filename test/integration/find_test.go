package integration

import (
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const findPath = "/api/driver/references/find"

func discoveryFiles() string {
	data, err := os.ReadFile("testdata/discovery/discover.yaml")
	Expect(err).NotTo(HaveOccurred())
	return zipFiles(map[string]string{"discover.yaml": string(data)})
}

func findRequest(name string) map[string]any {
	return map[string]any{"instanceName": name,
		"driverFiles":        discoveryFiles(),
		"deploymentLocation": noauthLocation()}
}

var _ = Describe("Find", func() {
	It("finds a stack by name and returns the template's outputs, value "+
		"by value; after a Delete it finds nothing", func() {
		r := newResource("findme")
		reqID, stackID := accepted(env.post(executePath, r.create(
			zipPackage(helloPackage), noauthLocation(),
			map[string]any{"greeting": "bonjour"})))
		created := finalOf(reqID)
		Expect(created.Message.Status).To(Equal("COMPLETE"))
		name := "findme." + r.id

		a := env.post(findPath, findRequest(name))
		Expect(a.Status).To(Equal(200), a.Text)
		result := a.Body["result"].(map[string]any)
		Expect(result["resourceId"]).To(Equal(stackID))
		Expect(result["associatedTopology"]).To(Equal(map[string]any{
			"InfrastructureStack": map[string]any{"id": stackID,
				"type": "Openstack"}}))
		out := result["outputs"].(map[string]any)
		Expect(out["id"]).To(Equal(stackID))
		Expect(out["name"]).To(Equal(name))
		Expect(out["status"]).To(Equal("CREATE_COMPLETE"))
		Expect(out["greeting"]).To(Equal("bonjour"))
		Expect(out["random"]).To(Equal(created.Message.Outputs["random"]))
		Expect(out["motd"]).To(Equal("welcome to the lab\n"))
		Expect(out["rand_id"]).NotTo(BeEmpty())
		Expect(out["site"]).To(Equal("lab-1"))

		del := finalOf(mustAccept(env.post(executePath, r.other("Delete",
			stackTopology(stackID), noauthLocation()))))
		Expect(del.Message.Status).To(Equal("COMPLETE"))
		a = env.post(findPath, findRequest(name))
		Expect(a.Status).To(Equal(200), a.Text)
		Expect(a.Body).To(HaveKeyWithValue("result", BeNil()))
	})

	It("answers {\"result\": null} for a name no stack has", func() {
		a := env.post(findPath, findRequest("no-such-stack-anywhere"))
		Expect(a.Status).To(Equal(200), a.Text)
		Expect(a.Text).To(MatchJSON(`{"result": null}`))
	})

	It("answers 400 naming the file and line of a broken template", func() {
		req := findRequest("x")
		req["driverFiles"] = zipFiles(map[string]string{
			"discover.yaml": "tosca_definitions_version: x\n  bad: [\n"})
		a := env.post(findPath, req)
		Expect(a.Status).To(Equal(400), a.Text)
		Expect(a.Body["localizedMessage"]).To(ContainSubstring("discover.yaml"))
		Expect(a.Body["localizedMessage"]).To(ContainSubstring("line"))
	})

	It("answers 400 saying that finding networks needs Keystone", func() {
		data, err := os.ReadFile("../../discovery/testdata/neutron-network.yaml")
		Expect(err).NotTo(HaveOccurred())
		req := findRequest("mgmt-net")
		req["driverFiles"] = zipFiles(map[string]string{
			"discover.yaml": string(data)})
		a := env.post(findPath, req)
		Expect(a.Status).To(Equal(400), a.Text)
		Expect(a.Body["localizedMessage"]).To(ContainSubstring("Keystone"))
	})
})
