package lifecycle_test

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/lifecycle"
)

const templateWithParameters = `heat_template_version: 2018-08-31
description: a web server
parameters:
  flavor:
    type: string
  count:
    type: number
    default: 1
  keypair:
    type: string
resources: {}
`

// mustProps decodes a property map or fails the spec.
func mustProps(text string) lifecycle.Properties {
	GinkgoHelper()
	ps, err := decodeProps(text)
	Expect(err).NotTo(HaveOccurred())
	return ps
}

// declared is a set of parameter names.
func declared(names ...string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

var _ = Describe("Reading the parameters a Heat template declares", func() {

	It("gives the names under the parameters section", func() {
		got, err := lifecycle.DeclaredParameters([]byte(templateWithParameters))

		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(declared("flavor", "count", "keypair")))
	})

	It("gives no names for a template without a parameters section", func() {
		got, err := lifecycle.DeclaredParameters([]byte(
			"heat_template_version: 2018-08-31\nresources: {}\n"))

		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeEmpty())
	})

	It("gives no names for an empty parameters section", func() {
		got, err := lifecycle.DeclaredParameters([]byte(
			"heat_template_version: 2018-08-31\nparameters:\nresources: {}\n"))

		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeEmpty())
	})

	It("does not take names from other sections for parameters", func() {
		got, err := lifecycle.DeclaredParameters([]byte(
			"resources:\n  flavor: {type: OS::Nova::Flavor}\n" +
				"outputs:\n  ip: {value: 1}\nparameters:\n  image: {type: string}\n"))

		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(declared("image")))
	})

	DescribeTable("refuses a template it cannot read, saying why",
		func(template, want string) {
			_, err := lifecycle.DeclaredParameters([]byte(template))

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("text that is not YAML", "parameters: [unclosed", "not valid YAML"),
		Entry("an empty file", "", "empty"),
		Entry("a file of comments only", "# nothing here\n", "empty"),
		Entry("a list instead of sections", "- parameters\n", "not a mapping of sections"),
		Entry("parameters given as a list", "parameters:\n  - flavor\n", "parameters section is not a mapping"),
	)
})

var _ = Describe("Choosing the parameters sent to Heat", func() {

	It("sends only the parameters the template declares", func() {
		resource := mustProps(`{"flavor": "m1.small", "image": "cirros", "extra": "x"}`)

		got := lifecycle.Parameters(declared("flavor"), resource, nil)

		Expect(got).To(Equal(map[string]any{"flavor": "m1.small"}))
	})

	It("sends a typed property's value itself, not its wrapper", func() {
		resource := mustProps(`{"flavor": {"type": "string", "value": "m1.small"}}`)

		got := lifecycle.Parameters(declared("flavor"), resource, nil)

		Expect(got).To(Equal(map[string]any{"flavor": "m1.small"}))
	})

	It("sends numbers with their text unchanged: 12 stays 12 and a typed \"2\" stays \"2\"", func() {
		resource := mustProps(`{"count": 12, "replicas": {"type": "integer", "value": "2"}, "ratio": 0.50}`)

		got := lifecycle.Parameters(declared("count", "replicas", "ratio"), resource, nil)

		body, err := json.Marshal(got)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(body)).To(MatchJSON(`{"count": 12, "replicas": "2", "ratio": 0.50}`))
		Expect(string(body)).To(ContainSubstring(`"ratio":0.50`))
	})

	It("sends a key property as its key name, and its public and private keys as NAME_public and NAME_private", func() {
		resource := mustProps(`{"keypair": {"type": "key", "keyName": "web-key",
			"publicKey": "ssh-ed25519 AAAA", "privateKey": "PRIVATE"}}`)

		got := lifecycle.Parameters(
			declared("keypair", "keypair_public", "keypair_private"), resource, nil)

		Expect(got).To(Equal(map[string]any{
			"keypair":         "web-key",
			"keypair_public":  "ssh-ed25519 AAAA",
			"keypair_private": "PRIVATE",
		}))
	})

	It("sends the private key only when the template declares NAME_private", func() {
		resource := mustProps(`{"keypair": {"type": "key", "keyName": "web-key",
			"publicKey": "ssh-ed25519 AAAA", "privateKey": "PRIVATE"}}`)

		got := lifecycle.Parameters(declared("keypair"), resource, nil)

		Expect(got).To(Equal(map[string]any{"keypair": "web-key"}))
	})

	It("sends system properties under a system_ prefix", func() {
		system := mustProps(`{"resourceId": "` + resourceID + `", "resourceName": "web", "requestId": "r1"}`)

		got := lifecycle.Parameters(
			declared("system_resourceId", "system_resourceName"), nil, system)

		Expect(got).To(Equal(map[string]any{
			"system_resourceId":   resourceID,
			"system_resourceName": "web",
		}))
	})

	It("does not send a system property under its bare name", func() {
		system := mustProps(`{"resourceId": "` + resourceID + `"}`)

		got := lifecycle.Parameters(declared("resourceId"), nil, system)

		Expect(got).To(BeEmpty())
	})

	It("does not send request properties as parameters", func() {
		var req lifecycle.ExecuteRequest
		Expect(json.Unmarshal([]byte(`{
			"resourceProperties": {"flavor": "m1.small"},
			"systemProperties": {"resourceId": "r"},
			"requestProperties": {"image": "cirros"}
		}`), &req)).To(Succeed())

		got := lifecycle.Parameters(declared("flavor", "image"),
			req.ResourceProperties, req.SystemProperties)

		Expect(got).To(Equal(map[string]any{"flavor": "m1.small"}))
	})

	It("leaves out null values so that the template's default applies", func() {
		resource := mustProps(`{"count": null, "flavor": {"type": "string", "value": null}}`)
		system := mustProps(`{"resourceName": null}`)

		got := lifecycle.Parameters(
			declared("count", "flavor", "system_resourceName"), resource, system)

		Expect(got).To(BeEmpty())
	})

	It("leaves out a key's null private and public keys so that the template's defaults apply", func() {
		resource := mustProps(`{"keypair": {"type": "key", "keyName": "web-key",
			"publicKey": null, "privateKey": null}}`)

		got := lifecycle.Parameters(
			declared("keypair", "keypair_public", "keypair_private"), resource, nil)

		Expect(got).To(Equal(map[string]any{"keypair": "web-key"}))
	})
})
