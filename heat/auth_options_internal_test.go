package heat

import (
	"github.com/gophercloud/gophercloud/v2"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// internalProps is a complete Keystone location; pairs change it (a nil
// value removes the property).
func internalProps(pairs ...any) map[string]any {
	props := map[string]any{
		"os_api_url":               "http://10.0.0.5:5000",
		"os_auth_api":              "v3",
		"os_auth_username":         "admin",
		"os_auth_password":         "pw",
		"os_auth_user_domain_name": "Default",
		"os_auth_project_name":     "demo",
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == nil {
			delete(props, pairs[i].(string))
		} else {
			props[pairs[i].(string)] = pairs[i+1]
		}
	}
	return props
}

func authOptionsOf(props map[string]any) *gophercloud.AuthOptions {
	GinkgoHelper()
	loc, err := ParseLocation("lab", props)
	Expect(err).NotTo(HaveOccurred())
	return loc.authOptions()
}

var _ = Describe("Logging in to Keystone (auth options)", func() {

	It("logs in by user name in the user's domain, scoped to the project in the same domain", func() {
		opts := authOptionsOf(internalProps())

		Expect(opts.IdentityEndpoint).To(Equal("http://10.0.0.5:5000/v3/"))
		Expect(opts.Username).To(Equal("admin"))
		Expect(opts.UserID).To(BeEmpty())
		Expect(opts.Password).To(Equal("pw"))
		Expect(opts.DomainName).To(Equal("Default"))
		Expect(opts.AllowReauth).To(BeTrue(), "a token that expires is renewed")
		Expect(opts.Scope).To(Equal(&gophercloud.AuthScope{
			ProjectName: "demo", DomainName: "Default"}))
	})

	It("sends no domain with a user id, which Keystone would refuse", func() {
		opts := authOptionsOf(internalProps("os_auth_username", nil,
			"os_auth_user_id", "u-1", "os_auth_user_domain_id", "d-1"))

		Expect(opts.UserID).To(Equal("u-1"))
		Expect(opts.DomainName).To(BeEmpty())
		Expect(opts.DomainID).To(BeEmpty())
	})

	It("scopes to a project given by id, without its domain", func() {
		opts := authOptionsOf(internalProps("os_auth_project_id", "p-1"))

		Expect(opts.Scope).To(Equal(&gophercloud.AuthScope{ProjectID: "p-1"}))
	})

	It("scopes to a trust in preference to a project", func() {
		opts := authOptionsOf(internalProps("os_auth_trust_id", "t-1",
			"os_auth_project_id", "p-1"))

		Expect(opts.Scope).To(Equal(&gophercloud.AuthScope{TrustID: "t-1"}))
	})

	It("scopes to a domain by id or name when there is no project", func() {
		byID := authOptionsOf(internalProps("os_auth_project_name", nil,
			"os_auth_domain_id", "d-9"))
		byName := authOptionsOf(internalProps("os_auth_project_name", nil,
			"os_auth_domain_name", "Ops"))

		Expect(byID.Scope).To(Equal(&gophercloud.AuthScope{DomainID: "d-9"}))
		Expect(byName.Scope).To(Equal(&gophercloud.AuthScope{DomainName: "Ops"}))
	})

	It("asks for no scope when os_auth_unscoped is true", func() {
		opts := authOptionsOf(internalProps("os_auth_unscoped", "true",
			"os_auth_project_id", "p-1"))

		Expect(opts.Scope).To(BeNil())
	})
})
