package heat_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/heat"
)

// password is the secret every location in these specs uses; no error
// message may ever repeat it.
const password = "Pa55-w0rd-never-shown"

// validProps is a complete deployment location with Keystone.
func validProps() map[string]any {
	return map[string]any{
		"os_api_url":               "http://10.0.0.5:5000",
		"os_auth_api":              "v3",
		"os_auth_username":         "admin",
		"os_auth_password":         password,
		"os_auth_user_domain_name": "Default",
		"os_auth_project_name":     "demo",
	}
}

// with returns validProps changed by pairs of name, value; a nil value
// removes the property.
func with(pairs ...any) map[string]any {
	props := validProps()
	for i := 0; i+1 < len(pairs); i += 2 {
		name := pairs[i].(string)
		if pairs[i+1] == nil {
			delete(props, name)
		} else {
			props[name] = pairs[i+1]
		}
	}
	return props
}

// pemPair is a self-signed certificate and its key, as PEM text.
type pemPair struct{ cert, key string }

func selfSigned(commonName string) pemPair {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	return pemPair{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}
}

// keyBody is the base64 middle of a PEM key, the part that is secret.
func keyBody(keyPEM string) string {
	lines := strings.Split(strings.TrimSpace(keyPEM), "\n")
	return strings.Join(lines[1:len(lines)-1], "")
}

// expectLocationError checks that err is a LocationError about property
// and that its message names the property.
func expectLocationError(err error, property string) {
	GinkgoHelper()
	var le *heat.LocationError
	Expect(errors.As(err, &le)).To(BeTrue(), "want a *heat.LocationError, got %T: %v", err, err)
	Expect(le.Property).To(Equal(property))
	Expect(err.Error()).To(ContainSubstring(property))
	Expect(err.Error()).NotTo(ContainSubstring(password))
}

var _ = Describe("Reading a deployment location", func() {

	It("reads a complete Keystone location", func() {
		loc, err := heat.ParseLocation("lab", validProps())

		Expect(err).NotTo(HaveOccurred())
		Expect(loc.Name).To(Equal("lab"))
		Expect(loc.APIURL).To(Equal("http://10.0.0.5:5000"))
		Expect(loc.AuthEnabled).To(BeTrue())
		Expect(loc.IdentityURL).To(Equal("http://10.0.0.5:5000/v3/"))
		Expect(loc.Username).To(Equal("admin"))
		Expect(loc.Password).To(Equal(password))
		Expect(loc.ProjectName).To(Equal("demo"))
		Expect(loc.Interface).To(Equal("public"))
		Expect(loc.TLS).To(BeNil())
	})

	It("accepts typed values as well as plain ones", func() {
		props := validProps()
		for k, v := range props {
			props[k] = map[string]any{"type": "string", "value": v}
		}

		loc, err := heat.ParseLocation("lab", props)

		Expect(err).NotTo(HaveOccurred())
		Expect(loc.Username).To(Equal("admin"))
		Expect(loc.IdentityURL).To(Equal("http://10.0.0.5:5000/v3/"))
	})

	It("joins os_api_url and os_auth_api with exactly one slash", func() {
		loc, err := heat.ParseLocation("lab", with(
			"os_api_url", "https://keystone.example.com/identity/",
			"os_auth_api", "/v3/"))

		Expect(err).NotTo(HaveOccurred())
		Expect(loc.IdentityURL).To(Equal("https://keystone.example.com/identity/v3/"))
	})

	It("refuses a value that is neither text, number nor boolean, naming the property", func() {
		_, err := heat.ParseLocation("lab", with("os_auth_username", []any{"admin"}))

		expectLocationError(err, "os_auth_username")
	})

	Describe("os_api_url", func() {
		It("is required", func() {
			_, err := heat.ParseLocation("lab", with("os_api_url", nil))

			expectLocationError(err, "os_api_url")
			Expect(err.Error()).To(ContainSubstring("missing"))
		})

		DescribeTable("must be an http or https address",
			func(url string) {
				_, err := heat.ParseLocation("lab", with("os_api_url", url))

				expectLocationError(err, "os_api_url")
			},
			Entry(nil, "ftp://10.0.0.5:5000"),
			Entry(nil, "10.0.0.5:5000"),
			Entry(nil, "http://"),
			Entry(nil, "keystone"),
		)

		It("accepts https", func() {
			loc, err := heat.ParseLocation("lab", with("os_api_url", "https://10.0.0.5:5000"))

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.IdentityURL).To(Equal("https://10.0.0.5:5000/v3/"))
		})

		DescribeTable("must not hold credentials, and the error does not repeat them",
			func(url string) {
				_, err := heat.ParseLocation("lab", with("os_api_url", url))

				expectLocationError(err, "os_api_url")
				Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
			},
			Entry("in an http address", "http://admin:hunter2@10.0.0.5:5000"),
			Entry("in an address of another scheme", "ftp://admin:hunter2@10.0.0.5:5000"),
		)
	})

	Describe("os_api_url without Keystone", func() {
		DescribeTable("must be Heat's endpoint with the project",
			func(address string, ok bool) {
				props := with("os_auth_enabled", false)
				props["os_api_url"] = address

				_, err := heat.ParseLocation("lab", props)

				if ok {
					Expect(err).NotTo(HaveOccurred())
				} else {
					expectLocationError(err, "os_api_url")
				}
			},
			Entry(nil, "http://10.0.0.5:8004/v1/admin", true),
			Entry(nil, "https://cloud.example/orchestration/v1/9f2c/", true),
			Entry(nil, "http://10.0.0.5:8004", false),
			Entry(nil, "http://10.0.0.5:8004/v1", false),
			Entry(nil, "http://10.0.0.5:5000/v3", false),
		)
	})

	Describe("os_auth_enabled", func() {
		It("is true when not given", func() {
			loc, err := heat.ParseLocation("lab", validProps())

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.AuthEnabled).To(BeTrue())
		})

		DescribeTable("accepts booleans and their text in any case",
			func(value any, want bool) {
				props := with("os_auth_enabled", value)
				// Without Keystone the address is Heat's own endpoint.
				props["os_api_url"] = "http://10.0.0.5:8004/v1/admin"

				loc, err := heat.ParseLocation("lab", props)

				Expect(err).NotTo(HaveOccurred())
				Expect(loc.AuthEnabled).To(Equal(want))
			},
			Entry(nil, "True", true),
			Entry(nil, "true", true),
			Entry(nil, "false", false),
			Entry(nil, "FALSE", false),
			Entry(nil, true, true),
			Entry(nil, false, false),
			Entry(nil, map[string]any{"type": "boolean", "value": false}, false),
		)

		It("refuses a value that is not a boolean, naming the property and the value", func() {
			_, err := heat.ParseLocation("lab", with("os_auth_enabled", "maybe"))

			expectLocationError(err, "os_auth_enabled")
			Expect(err.Error()).To(ContainSubstring(`"maybe"`))
		})

		It("needs only os_api_url when false, for a cloud without Keystone", func() {
			loc, err := heat.ParseLocation("heat-only", map[string]any{
				"os_api_url":      "http://10.0.0.5:8004/v1/0123456789abcdef",
				"os_auth_enabled": "false",
			})

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.AuthEnabled).To(BeFalse())
			Expect(loc.IdentityURL).To(BeEmpty())
		})
	})

	Describe("credentials when Keystone is on", func() {
		It("needs os_auth_api", func() {
			_, err := heat.ParseLocation("lab", with("os_auth_api", nil))

			expectLocationError(err, "os_auth_api")
		})

		It("refuses Keystone v2.0", func() {
			_, err := heat.ParseLocation("lab", with("os_auth_api", "v2.0"))

			expectLocationError(err, "os_auth_api")
			Expect(err.Error()).To(ContainSubstring("v3"))
		})

		It("needs a username or a user id, naming both", func() {
			_, err := heat.ParseLocation("lab", with("os_auth_username", nil))

			expectLocationError(err, "os_auth_username")
			Expect(err.Error()).To(ContainSubstring("os_auth_user_id"))
		})

		It("needs a password", func() {
			_, err := heat.ParseLocation("lab", with("os_auth_password", nil))

			expectLocationError(err, "os_auth_password")
		})

		It("needs the user's domain when the user is given by name", func() {
			_, err := heat.ParseLocation("lab", with("os_auth_user_domain_name", nil))

			expectLocationError(err, "os_auth_user_domain_name")
			Expect(err.Error()).To(ContainSubstring("os_auth_user_domain_id"))
		})

		It("accepts the user's domain by id", func() {
			loc, err := heat.ParseLocation("lab", with(
				"os_auth_user_domain_name", nil, "os_auth_user_domain_id", "default"))

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.UserDomainID).To(Equal("default"))
		})

		It("does not need a domain for a user given by id", func() {
			loc, err := heat.ParseLocation("lab", with(
				"os_auth_username", nil, "os_auth_user_domain_name", nil,
				"os_auth_user_id", "a1b2c3"))

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.UserID).To(Equal("a1b2c3"))
		})

		It("takes the project's domain from the user's domain when not given", func() {
			loc, err := heat.ParseLocation("lab", validProps())

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.ProjectDomainName).To(Equal("Default"))
		})

		It("takes the project's domain id from the user's domain id when not given", func() {
			loc, err := heat.ParseLocation("lab", with(
				"os_auth_user_domain_name", nil, "os_auth_user_domain_id", "d-1"))

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.ProjectDomainID).To(Equal("d-1"))
			Expect(loc.ProjectDomainName).To(BeEmpty())
		})

		It("keeps the project's domain when given", func() {
			loc, err := heat.ParseLocation("lab", with("os_auth_project_domain_name", "Projects"))

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.ProjectDomainName).To(Equal("Projects"))
		})
	})

	Describe("os_interface", func() {
		DescribeTable("picks the endpoint interface, in any case",
			func(value, want string) {
				loc, err := heat.ParseLocation("lab", with("os_interface", value))

				Expect(err).NotTo(HaveOccurred())
				Expect(loc.Interface).To(Equal(want))
			},
			Entry(nil, "internal", "internal"),
			Entry(nil, "Admin", "admin"),
			Entry(nil, "PUBLIC", "public"),
		)

		It("refuses another interface, naming the ones allowed", func() {
			_, err := heat.ParseLocation("lab", with("os_interface", "private"))

			expectLocationError(err, "os_interface")
			Expect(err.Error()).To(ContainSubstring("public, internal, admin"))
		})
	})

	Describe("TLS", func() {
		var ca, client, other pemPair

		BeforeEach(func() {
			ca = selfSigned("test CA")
			client = selfSigned("test client")
			other = selfSigned("another client")
		})

		It("trusts the CA bundle in os_cacert", func() {
			loc, err := heat.ParseLocation("lab", with("os_cacert", ca.cert))

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.TLS).NotTo(BeNil())
			Expect(loc.TLS.RootCAs).NotTo(BeNil())
			Expect(loc.TLS.Certificates).To(BeEmpty())
		})

		It("refuses an os_cacert that is not PEM", func() {
			_, err := heat.ParseLocation("lab", with("os_cacert", "not a certificate"))

			expectLocationError(err, "os_cacert")
			Expect(err.Error()).To(ContainSubstring("PEM"))
		})

		It("uses os_cert and os_key as the client certificate", func() {
			loc, err := heat.ParseLocation("lab", with("os_cert", client.cert, "os_key", client.key))

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.TLS).NotTo(BeNil())
			Expect(loc.TLS.Certificates).To(HaveLen(1))
		})

		It("refuses a certificate without its key", func() {
			_, err := heat.ParseLocation("lab", with("os_cert", client.cert))

			expectLocationError(err, "os_cert")
			Expect(err.Error()).To(ContainSubstring("os_key"))
		})

		It("refuses a key without its certificate, not repeating the key", func() {
			_, err := heat.ParseLocation("lab", with("os_key", client.key))

			expectLocationError(err, "os_cert")
			Expect(err.Error()).NotTo(ContainSubstring(keyBody(client.key)))
		})

		It("refuses a certificate and key that do not match, not repeating the key", func() {
			_, err := heat.ParseLocation("lab", with("os_cert", client.cert, "os_key", other.key))

			expectLocationError(err, "os_cert")
			Expect(err.Error()).NotTo(ContainSubstring(keyBody(other.key)))
			Expect(err.Error()).NotTo(ContainSubstring("PRIVATE KEY"))
		})

		It("refuses a key that is not PEM, not repeating it", func() {
			_, err := heat.ParseLocation("lab", with("os_cert", client.cert, "os_key", "secret-key-text-123"))

			expectLocationError(err, "os_cert")
			Expect(err.Error()).NotTo(ContainSubstring("secret-key-text-123"))
		})
	})

	Describe("secrets", func() {
		DescribeTable("never appear in an error message",
			func(props map[string]any) {
				_, err := heat.ParseLocation("lab", props)

				Expect(err).To(HaveOccurred())
				Expect(err.Error()).NotTo(ContainSubstring(password))
			},
			Entry("a missing os_api_url", with("os_api_url", nil)),
			Entry("a bad os_api_url", with("os_api_url", "ftp://x")),
			Entry("a missing os_auth_api", with("os_auth_api", nil)),
			Entry("a missing username", with("os_auth_username", nil)),
			Entry("a missing user domain", with("os_auth_user_domain_name", nil)),
			Entry("a bad os_auth_enabled", with("os_auth_enabled", "maybe")),
			Entry("a bad os_interface", with("os_interface", "x")),
			Entry("a bad os_cacert", with("os_cacert", "x")),
			Entry("a password that is not text", with("os_auth_password", []any{password})),
			Entry("a password in the URL", with("os_api_url", "http://admin:"+password+"@h:5000")),
		)

		It("never appear in the location's name for logs", func() {
			loc, err := heat.ParseLocation("lab", validProps())

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.String()).To(Equal("lab (http://10.0.0.5:5000)"))
		})
	})

	Describe("the location's key, which decides when requests share a client", func() {
		It("is the same for the same properties", func() {
			a, err := heat.ParseLocation("lab", validProps())
			Expect(err).NotTo(HaveOccurred())
			b, err := heat.ParseLocation("lab", validProps())
			Expect(err).NotTo(HaveOccurred())

			Expect(a.Key()).NotTo(BeEmpty())
			Expect(a.Key()).To(Equal(b.Key()))
		})

		It("differs when the password differs", func() {
			a, err := heat.ParseLocation("lab", validProps())
			Expect(err).NotTo(HaveOccurred())
			b, err := heat.ParseLocation("lab", with("os_auth_password", password+"2"))
			Expect(err).NotTo(HaveOccurred())

			Expect(a.Key()).NotTo(Equal(b.Key()))
		})

		It("differs when the address differs", func() {
			a, err := heat.ParseLocation("lab", validProps())
			Expect(err).NotTo(HaveOccurred())
			b, err := heat.ParseLocation("lab", with("os_api_url", "http://10.0.0.6:5000"))
			Expect(err).NotTo(HaveOccurred())

			Expect(a.Key()).NotTo(Equal(b.Key()))
		})

		It("does not contain the password", func() {
			loc, err := heat.ParseLocation("lab", validProps())

			Expect(err).NotTo(HaveOccurred())
			Expect(loc.Key()).NotTo(ContainSubstring(password))
		})
	})
})
