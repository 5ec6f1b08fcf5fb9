package lifecycle_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/lifecycle"
)

const resourceID = "be3870d2-891c-487e-9736-ca19e4741cf4"

var _ = Describe("Naming a resource's Heat stack", func() {

	It("joins resource name and id with a dot, removing characters Heat does not allow", func() {
		Expect(lifecycle.StackName("hello world #2", resourceID)).To(
			Equal("helloworld2.be3870d2-891c-487e-9736-ca19e4741cf4"))
	})

	It("keeps letters, digits, underscores, dots and dashes", func() {
		Expect(lifecycle.StackName("My_App-v1.2", "ID-9")).To(Equal("My_App-v1.2.ID-9"))
	})

	It("removes unicode letters too, not only punctuation", func() {
		Expect(lifecycle.StackName("café-ünïcode", "42")).To(Equal("caf-ncode.42"))
	})

	DescribeTable("puts an s in front of a name that does not start with a letter",
		func(resourceName, want string) {
			Expect(lifecycle.StackName(resourceName, "42")).To(Equal(want))
		},
		Entry("a digit first", "2fast", "s2fast.42"),
		Entry("an underscore first", "_hidden", "s_hidden.42"),
		Entry("a dash first", "-x", "s-x.42"),
		Entry("only removed characters before the dot", "日本 語", "s.42"),
		Entry("an empty resource name", "", "s.42"),
	)

	It("leaves a name of exactly 255 characters as it is", func() {
		name := "a" + strings.Repeat("b", 255-1-1-len(resourceID))

		got := lifecycle.StackName(name, resourceID)

		Expect(got).To(HaveLen(255))
		Expect(got).To(Equal(name + "." + resourceID))
	})

	It("shortens a long name to 255 characters, keeping its first letter and its end with the resource id", func() {
		// "x" + 299 "y" + "." + 36-character id is 337 characters;
		// removing the second character 82 times leaves 217 "y".
		got := lifecycle.StackName("x"+strings.Repeat("y", 299), resourceID)

		Expect(got).To(HaveLen(255))
		Expect(got).To(Equal("x" + strings.Repeat("y", 217) + "." + resourceID))
	})

	It("adds the s before shortening, so a long name that starts with a digit still starts with s", func() {
		got := lifecycle.StackName(strings.Repeat("9", 300), resourceID)

		Expect(got).To(HaveLen(255))
		Expect(got).To(Equal("s" + strings.Repeat("9", 217) + "." + resourceID))
	})

	It("measures the limit after removing characters, not before", func() {
		// 300 spaces vanish, so nothing needs shortening.
		got := lifecycle.StackName("web"+strings.Repeat(" ", 300), resourceID)

		Expect(got).To(Equal("web." + resourceID))
	})
})
