package testdrive_test

import (
	"bytes"
	"flag"
	"io"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/testdrive"
)

// flagSet is the shape of create's flags: string flags, a repeatable
// one, and a boolean.
type flagSet struct {
	fs       *flag.FlagSet
	location string
	props    []string
	verbose  bool
}

type listFlag struct{ values *[]string }

func (l listFlag) String() string { return "" }
func (l listFlag) Set(v string) error {
	*l.values = append(*l.values, v)
	return nil
}

func newFlagSet() *flagSet {
	f := &flagSet{fs: flag.NewFlagSet("t", flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.fs.StringVar(&f.location, "location", "", "")
	f.fs.Var(listFlag{&f.props}, "prop", "")
	f.fs.BoolVar(&f.verbose, "v", false, "")
	return f
}

var _ = Describe("Flags after the package folder", func() {
	DescribeTable("are read wherever they are, and the folder too",
		func(args []string, location string, props []string,
			verbose bool, positional []string) {
			f := newFlagSet()
			Expect(testdrive.ParseInterspersed(f.fs, args)).To(Succeed())
			Expect(f.location).To(Equal(location))
			Expect(f.props).To(Equal(props))
			Expect(f.verbose).To(Equal(verbose))
			Expect(f.fs.Args()).To(Equal(positional))
		},
		Entry("flags after the folder",
			[]string{"pkg", "--location", "l.yaml", "--prop", "a=1"},
			"l.yaml", []string{"a=1"}, false, []string{"pkg"}),
		Entry("flags on both sides, repeated ones in order",
			[]string{"--prop", "a=1", "pkg", "-prop=b=2", "--location=l"},
			"l", []string{"a=1", "b=2"}, false, []string{"pkg"}),
		Entry("a boolean flag does not take the folder as its value",
			[]string{"-v", "pkg", "--location", "l"},
			"l", []string(nil), true, []string{"pkg"}),
		Entry("a value that looks like a flag stays a value",
			[]string{"pkg", "--prop", "-x", "--location", "l"},
			"l", []string{"-x"}, false, []string{"pkg"}),
		Entry("everything after -- is positional",
			[]string{"--location", "l", "--", "--odd-folder", "-v"},
			"l", []string(nil), false, []string{"--odd-folder", "-v"}),
		Entry("several positional arguments keep their order",
			[]string{"a", "--location", "l", "b", "-", "c"},
			"l", []string(nil), false, []string{"a", "b", "-", "c"}),
	)

	It("still refuses a flag it does not know, after the folder", func() {
		f := newFlagSet()
		err := testdrive.ParseInterspersed(f.fs,
			[]string{"pkg", "--locaton", "l"})
		Expect(err).To(MatchError(ContainSubstring("locaton")))
	})

	It("still refuses a flag whose value is missing at the end", func() {
		f := newFlagSet()
		err := testdrive.ParseInterspersed(f.fs, []string{"pkg",
			"--location"})
		Expect(err).To(MatchError(ContainSubstring("location")))
	})

	It("lets create read --location given after the folder", func() {
		var stdout, stderr bytes.Buffer
		code := testdrive.Main([]string{"create",
			"../docs/examples/hello-stack", "--location",
			"testdata/no-such-location.yaml"}, &stdout, &stderr)
		Expect(code).To(Equal(testdrive.ExitUsage))
		// Before the fix this said "--location is required".
		Expect(stderr.String()).To(ContainSubstring(
			"no-such-location.yaml"))
		Expect(stderr.String()).NotTo(ContainSubstring("required"))
	})
})

var _ = Describe("The command line", func() {
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := testdrive.Main(args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	It("prints its usage, with every command and exit code, on help",
		func() {
			code, out, _ := run("help")
			Expect(code).To(Equal(testdrive.ExitOK))
			for _, word := range []string{"lint", "create", "delete",
				"find", "Exit status", "3  find: nothing found"} {
				Expect(out).To(ContainSubstring(word))
			}
		})

	DescribeTable("answers a usage error with exit 2 and a reason",
		func(args []string, reason string) {
			code, _, stderr := run(args...)
			Expect(code).To(Equal(testdrive.ExitUsage))
			Expect(stderr).To(ContainSubstring(reason))
		},
		Entry("no command", []string{}, "Usage"),
		Entry("an unknown command", []string{"crate"}, `"crate"`),
		Entry("create without --location",
			[]string{"create", "pkg"}, "--location is required"),
		Entry("create with two folders", []string{"create", "a", "b",
			"--location", "testdata/location.yaml"},
			"one PACKAGE_FOLDER, not 2"),
		Entry("find without a folder", []string{"find", "--instance",
			"x", "--location", "testdata/location.yaml"},
			"find needs a PACKAGE_FOLDER"),
		Entry("find without --instance", []string{"find", "pkg",
			"--location", "testdata/location.yaml"},
			"--instance is required"),
		Entry("lint of a folder that does not exist",
			[]string{"lint", "testdata/no-such-folder"}, "no-such-folder"),
	)
})
