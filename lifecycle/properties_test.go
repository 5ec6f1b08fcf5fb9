package lifecycle_test

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/lifecycle"
)

// decodeProps reads a property map as the driver reads it from Brent.
func decodeProps(text string) (lifecycle.Properties, error) {
	var ps lifecycle.Properties
	err := json.Unmarshal([]byte(text), &ps)
	return ps, err
}

var _ = Describe("Reading a property map", func() {

	Context("with plain and typed values mixed in one map", func() {
		var ps lifecycle.Properties

		BeforeEach(func() {
			var err error
			ps, err = decodeProps(`{
				"flavor": "m1.small",
				"image": {"type": "string", "value": "cirros"},
				"count": 12,
				"replicas": {"type": "integer", "value": "2"},
				"ratio": 1.50,
				"huge": 1e400,
				"enabled": true,
				"nothing": null,
				"typedNothing": {"type": "string", "value": null},
				"tags": ["a", "b"],
				"meta": {"owner": "ops"},
				"service": {"type": "web", "port": 80}
			}`)
			Expect(err).NotTo(HaveOccurred())
		})

		It("keeps a plain value as it is, with no type", func() {
			Expect(ps["flavor"].Type).To(BeEmpty())
			Expect(ps["flavor"].Value).To(Equal("m1.small"))
			Expect(ps.String("flavor")).To(Equal("m1.small"))
		})

		It("unwraps a typed value and remembers its type", func() {
			Expect(ps["image"].Type).To(Equal("string"))
			Expect(ps["image"].Value).To(Equal("cirros"))
			Expect(ps.String("image")).To(Equal("cirros"))
		})

		It("keeps a number's text: 12 stays 12", func() {
			Expect(ps["count"].Value).To(Equal(json.Number("12")))
			Expect(ps.String("count")).To(Equal("12"))
		})

		It("keeps a typed integer sent as text as that text: \"2\" stays \"2\"", func() {
			Expect(ps["replicas"].Type).To(Equal("integer"))
			Expect(ps["replicas"].Value).To(Equal("2"))
			Expect(ps.String("replicas")).To(Equal("2"))
		})

		It("keeps a number's digits exactly, even ones a float would change", func() {
			Expect(ps.String("ratio")).To(Equal("1.50"))
			Expect(ps.String("huge")).To(Equal("1e400"))
		})

		It("gives booleans, lists and objects as text too", func() {
			Expect(ps.String("enabled")).To(Equal("true"))
			Expect(ps.String("tags")).To(Equal(`["a","b"]`))
			Expect(ps.String("meta")).To(Equal(`{"owner":"ops"}`))
		})

		It("keeps a null, plain or typed, as no value", func() {
			Expect(ps).To(HaveKey("nothing"))
			Expect(ps["nothing"].Value).To(BeNil())
			Expect(ps.String("nothing")).To(Equal(""))
			Expect(ps["typedNothing"].Type).To(Equal("string"))
			Expect(ps["typedNothing"].Value).To(BeNil())
		})

		It("takes an object with a type but no value for a plain object", func() {
			Expect(ps["service"].Type).To(BeEmpty())
			Expect(ps["service"].Value).To(Equal(map[string]any{
				"type": "web", "port": json.Number("80")}))
		})

		It("gives an empty text for a property that is absent", func() {
			Expect(ps.String("absent")).To(Equal(""))
		})

		It("lists the property names in sorted order", func() {
			Expect(ps.Names()).To(Equal([]string{"count", "enabled",
				"flavor", "huge", "image", "meta", "nothing", "ratio",
				"replicas", "service", "tags", "typedNothing"}))
		})
	})

	Context("with a key pair", func() {
		It("reads the key's name, public key and private key", func() {
			ps, err := decodeProps(`{"keypair": {"type": "key",
				"keyName": "web-key", "publicKey": "ssh-ed25519 AAAA",
				"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----"}}`)

			Expect(err).NotTo(HaveOccurred())
			kp := ps["keypair"]
			Expect(kp.IsKey()).To(BeTrue())
			Expect(kp.KeyName).To(Equal("web-key"))
			Expect(kp.PublicKey).To(Equal("ssh-ed25519 AAAA"))
			Expect(kp.PrivateKey).To(Equal("-----BEGIN OPENSSH PRIVATE KEY-----"))
		})

		It("uses the key's name as its value", func() {
			ps, err := decodeProps(`{"keypair": {"type": "key", "keyName": "web-key"}}`)

			Expect(err).NotTo(HaveOccurred())
			Expect(ps.String("keypair")).To(Equal("web-key"))
		})

		It("does not take a typed string for a key", func() {
			ps, err := decodeProps(`{"flavor": {"type": "string", "value": "m1"}}`)

			Expect(err).NotTo(HaveOccurred())
			Expect(ps["flavor"].IsKey()).To(BeFalse())
		})

		It("refuses a key whose name is not text, naming the property", func() {
			_, err := decodeProps(`{"keypair": {"type": "key", "keyName": 7}}`)

			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(HavePrefix("keypair: "))
			Expect(err.Error()).To(ContainSubstring("keyName"))
		})
	})

	It("refuses a property map that is not an object", func() {
		_, err := decodeProps(`["flavor", "m1.small"]`)

		Expect(err).To(HaveOccurred())
	})
})
