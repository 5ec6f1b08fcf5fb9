package failure_test

import (
	"strings"
	"unicode/utf8"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/failure"
)

var _ = Describe("Describe", func() {
	DescribeTable("prefix and white space",
		func(name, kind, reason string, max int, want string) {
			Expect(failure.Describe(name, kind, reason, max)).
				To(Equal(want))
		},
		Entry("name and type", "vm", "OS::Nova::Server",
			"Flavor f could not be found.", 0,
			"vm (OS::Nova::Server): Flavor f could not be found."),
		Entry("name without type", "vm", "", "Timed out", 0,
			"vm: Timed out"),
		Entry("no name: Heat's words only", "", "OS::Nova::Server",
			"Timed out", 0, "Timed out"),
		Entry("white space collapsed everywhere", " my\tvm ",
			"OS::Nova::Server\n", "Quota\n\n exceeded \t for  cores ", 0,
			"my vm (OS::Nova::Server): Quota exceeded for cores"),
		Entry("no reason", "vm", "OS::Nova::Server", "  ", 0,
			"vm (OS::Nova::Server)"),
		Entry("nothing at all", "", "", "", 0, ""),
		Entry("fits exactly", "", "", "abcde fghij", 11, "abcde fghij"),
	)

	DescribeTable("cutting",
		func(reason string, max int, want string) {
			got := failure.Describe("", "", reason, max)
			Expect(got).To(Equal(want))
			Expect(utf8.RuneCountInString(got)).
				To(BeNumerically("<=", max))
		},
		Entry("a cut that lands on a space",
			"alpha beta gamma delta", 17, "alpha beta …[cut]"),
		Entry("a cut inside a word drops that word",
			"alpha beta gamma delta", 19, "alpha beta …[cut]"),
		Entry("cut right after a word",
			"alpha beta gamma delta epsilon", 23,
			"alpha beta gamma …[cut]"),
		Entry("a word too long for any line is cut at a rune",
			"go "+strings.Repeat("x", 40), 20,
			"go xxxxxxxxxx …[cut]"),
		Entry("a single long word",
			strings.Repeat("y", 50), 12, "yyyyy …[cut]"),
		Entry("multi-byte runes are counted as runes",
			"żółw żółw żółw żółw", 18, "żółw żółw …[cut]"),
		Entry("a long multi-byte word is cut between runes",
			strings.Repeat("雪", 30), 10, "雪雪雪 …[cut]"),
		Entry("too small for the marker", "alpha beta", 4, "alph"),
	)

	It("cuts the prefix and reason together", func() {
		got := failure.Describe("vm", "OS::Nova::Server",
			"Quota exceeded for cores", 35)
		Expect(got).To(Equal("vm (OS::Nova::Server): Quota …[cut]"))
	})

	It("uses 1000 runes when max is not positive", func() {
		// Words of 6 runes and a space: the room before the marker
		// (993 runes) ends right after a word.
		long := strings.Repeat("abcdef ", 300)
		for _, max := range []int{0, -5} {
			got := failure.Describe("", "", long, max)
			Expect(utf8.RuneCountInString(got)).To(Equal(1000))
			Expect(got).To(HaveSuffix("abcdef …[cut]"))
		}
		fits := strings.Repeat("a", 1000)
		Expect(failure.Describe("", "", fits, 0)).To(Equal(fits))
	})

	It("turns bytes that are not UTF-8 into replacement runes", func() {
		got := failure.Describe("v\xffm", "", "bad \xc3\x28 text \xed\xa0\x80",
			0)
		Expect(utf8.ValidString(got)).To(BeTrue())
		Expect(got).To(HavePrefix("v\uFFFDm: bad \uFFFD( text \uFFFD"))
	})

	It("never leaves a broken rune when cutting bad input", func() {
		got := failure.Describe("", "", strings.Repeat("\xe2\x82", 40), 9)
		Expect(utf8.ValidString(got)).To(BeTrue())
		Expect(utf8.RuneCountInString(got)).To(BeNumerically("<=", 9))
	})
})
