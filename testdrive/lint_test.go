package testdrive_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/testdrive"
)

// bad is the folder of the small broken packages.
const bad = "testdata/lint"

// lint runs the lint command and gives its exit code and output lines.
func lint(dir string) (int, []string) {
	GinkgoHelper()
	var stdout, stderr bytes.Buffer
	code := testdrive.Main([]string{"lint", dir}, &stdout, &stderr)
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		return code, nil
	}
	return code, strings.Split(out, "\n")
}

// finding is the start of an expected output line and a part of its
// message.
type finding struct{ prefix, message string }

// expectFindings checks that each expected finding is one of lines.
func expectFindings(lines []string, want ...finding) {
	GinkgoHelper()
	for _, w := range want {
		Expect(lines).To(ContainElement(SatisfyAll(
			HavePrefix(w.prefix), ContainSubstring(w.message))),
			"no finding %q ... %q", w.prefix, w.message)
	}
}

var _ = Describe("lint", func() {
	Describe("the example packages in docs/examples", func() {
		examples, _ := filepath.Glob("../docs/examples/*")

		It("are all there to be checked", func() {
			Expect(len(examples)).To(BeNumerically(">=", 4))
			Expect(examples).To(ContainElement(
				"../docs/examples/compute-server"))
		})

		for _, dir := range examples {
			It("passes "+filepath.Base(dir)+" with nothing to say", func() {
				code, lines := lint(dir)
				Expect(lines).To(BeEmpty())
				Expect(code).To(Equal(testdrive.ExitOK))
			})
		}

		It("finds compute-server's descriptor from its Lifecycle/openstack "+
			"folder and checks its parameters against it", func() {
			dir := "../docs/examples/compute-server/Lifecycle/openstack"
			code, lines := lint(dir)
			Expect(lines).To(BeEmpty())
			Expect(code).To(Equal(testdrive.ExitOK))

			// Without the descriptor, lint says what it could not check.
			tmp := GinkgoT().TempDir()
			data, err := os.ReadFile(filepath.Join(dir, "heat.yaml"))
			Expect(err).NotTo(HaveOccurred())
			Expect(os.WriteFile(filepath.Join(tmp, "heat.yaml"), data,
				0o600)).To(Succeed())
			Expect(os.MkdirAll(filepath.Join(tmp, "files"), 0o700)).To(
				Succeed())
			Expect(os.WriteFile(filepath.Join(tmp, "files",
				"user_data.yaml"), []byte("#cloud-config\n"), 0o600)).To(
				Succeed())
			code, lines = lint(tmp)
			Expect(code).To(Equal(testdrive.ExitOK))
			Expect(lines).To(ConsistOf(SatisfyAll(
				ContainSubstring("heat.yaml: info: no resource descriptor"),
				ContainSubstring("flavor, image, network, ssh_key, "+
					"ssh_key_public"))))
		})
	})

	It("prints file:line: level: message and exits 1 on errors", func() {
		code, lines := lint(bad + "/bad-yaml")
		Expect(code).To(Equal(testdrive.ExitFailed))
		Expect(lines).To(Equal([]string{bad + "/bad-yaml/heat.yaml:5: " +
			"error: not valid YAML: did not find expected ',' or ']'"}))
	})

	It("exits 0 when it has only warnings", func() {
		code, lines := lint(bad + "/warnings-only")
		Expect(code).To(Equal(testdrive.ExitOK))
		Expect(lines).To(HaveLen(5))
		p := bad + "/warnings-only/"
		expectFindings(lines,
			finding{p + "heat.yaml:1: warning:",
				`heat_template_version "2018-08-30" is not one Heat`},
			finding{p + "heat.yaml:1: warning:", "no resources"},
			finding{p + "heat.yaml:3: warning:",
				`"description" is written twice`},
			finding{p + "heat.yaml:5: warning:",
				"db_password looks like it receives a secret"},
			finding{p + "heat.yml: warning:", "ignored: the driver " +
				"reads heat.yaml"})
	})

	It("reports a template that is not a mapping", func() {
		code, lines := lint(bad + "/not-mapping")
		Expect(code).To(Equal(testdrive.ExitFailed))
		expectFindings(lines, finding{bad + "/not-mapping/heat.yaml:1: " +
			"error:", "a Heat template is a mapping of sections"})
	})

	It("reports every shape of template Heat refuses, on its line",
		func() {
			code, lines := lint(bad + "/shape")
			Expect(code).To(Equal(testdrive.ExitFailed))
			p := bad + "/shape/heat.yaml:"
			expectFindings(lines,
				finding{p + "1: error:", "no heat_template_version"},
				finding{p + "3: error:", "parameter untyped has no type"},
				finding{p + "6: error:", `Heat has no type "String"`},
				finding{p + "9: error:", `the key "defualt"`},
				finding{p + "10: error:", `the section "resource"`},
				finding{p + "13: error:", "resource no_type has no type"},
				finding{p + "17: error:", `the key "propertes"`},
				finding{p + "18: error:", "resource not_a_mapping must " +
					"be a mapping"},
				finding{p + "20: error:", "output no_value has no value"})
		})

	It("reports nested templates, get_file targets and registry entries "+
		"that are not under files/, with a hint where it can", func() {
		code, lines := lint(bad + "/missing-files")
		Expect(code).To(Equal(testdrive.ExitFailed))
		p := bad + "/missing-files/"
		expectFindings(lines,
			finding{p + "heat.yaml:8: error:",
				`nested template "nested/missing.yaml": no files/` +
					"nested/missing.yaml"},
			finding{p + "heat.yaml:15: error:",
				`nested template "group-member.yaml"`},
			finding{p + "heat.yaml:22: error:", `get_file "missing.txt"`},
			finding{p + "heat.yaml:23: error:", `write it as "motd.txt"`},
			finding{p + "heat.yaml:24: error:",
				"boot.sh is at the package root: move it to files/boot.sh"},
			finding{p + "heat.yaml:25: error:",
				"names are relative to files/"},
			finding{p + "files/nested/child.yaml:6: error:",
				`get_file "nested/child-missing.txt"`},
			finding{p + "files/nested/child.yaml:10: error:",
				`not to the folder of the template: write it as ` +
					`"nested/sibling.txt"`},
			finding{p + "environment.yaml:1: error:",
				`environment section "parameter_default"`},
			finding{p + "environment.yaml:4: error:",
				`resource_registry entry "registered-missing.yaml"`},
			finding{p + "files/cloud-config.yaml:2: warning:",
				"not valid YAML"})
		// The nested template that is there, and a get_file computed
		// from a parameter, are not findings.
		Expect(lines).To(HaveLen(11))
	})

	It("checks parameters against the descriptor's properties, from the "+
		"package root or its Lifecycle/openstack folder", func() {
		for _, dir := range []string{bad + "/params",
			bad + "/params/Lifecycle/openstack"} {
			code, lines := lint(dir)
			Expect(code).To(Equal(testdrive.ExitOK))
			p := bad + "/params/Lifecycle/openstack/heat.yaml:"
			// flavor (a property), zone (the environment), size (a
			// default), ssh_key and ssh_key_public (a key property) and
			// system_resourceName have a source.
			Expect(lines).To(HaveLen(4))
			expectFindings(lines,
				finding{p + "5: warning:", "parameter image has no " +
					"default and no source"},
				finding{p + "16: warning:", "ssh_key_private looks " +
					"like it receives a secret"},
				finding{p + "18: warning:", "plain is of type string"},
				finding{p + "22: warning:", "bogus is not a system " +
					"property"})
		}
	})

	It("reports a descriptor that is not valid YAML, on its line", func() {
		code, lines := lint(bad + "/bad-descriptor")
		Expect(code).To(Equal(testdrive.ExitFailed))
		Expect(lines).To(Equal([]string{bad + "/bad-descriptor/" +
			"Definitions/lm/resource.yaml:3: error: not valid YAML: did " +
			"not find expected ',' or '}'"}))
	})

	It("reports a discovery template the driver would refuse", func() {
		code, lines := lint(bad + "/bad-discovery")
		Expect(code).To(Equal(testdrive.ExitFailed))
		expectFindings(lines, finding{bad + "/bad-discovery/" +
			"discover.yaml:5: error:", `unknown node type ` +
			`"os.nodes.heat.Stak"`})
	})

	DescribeTable("reports a folder that is not an OpenStack package",
		func(dir, want string) {
			code, lines := lint(bad + "/" + dir)
			Expect(code).To(Equal(testdrive.ExitFailed))
			Expect(lines).To(ConsistOf(ContainSubstring(want)))
		},
		Entry("only a TOSCA template", "tosca-only",
			"tosca.yaml: error: TOSCA Create templates are not supported"),
		Entry("no template at all", "not-a-package",
			"not-a-package: error: no heat.yaml (or heat.yml) and no "+
				"discover.yaml"),
		Entry("a Lifecycle folder without openstack", "no-openstack",
			"no-openstack/Lifecycle: error: no openstack folder"),
	)

	It("warns when what goes to Heat is over Heat's 1 MiB", func() {
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "heat.yaml"), []byte(
			"heat_template_version: 2018-08-31\nresources:\n  v:\n"+
				"    type: OS::Heat::Value\n    properties:\n"+
				"      value: {get_file: big.txt}\n"), 0o600)).To(Succeed())
		Expect(os.MkdirAll(filepath.Join(dir, "files"), 0o700)).To(
			Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "files", "big.txt"),
			bytes.Repeat([]byte("x"), 1<<20), 0o600)).To(Succeed())
		code, lines := lint(dir)
		Expect(code).To(Equal(testdrive.ExitOK))
		Expect(lines).To(ConsistOf(SatisfyAll(
			HavePrefix(filepath.Join(dir, "heat.yaml")+": warning:"),
			ContainSubstring("Heat takes at most 1048576"))))
	})

	It("gives the findings to Go callers too, sorted by file and line",
		func() {
			findings, err := testdrive.Lint(bad + "/shape")
			Expect(err).NotTo(HaveOccurred())
			Expect(testdrive.HasErrors(findings)).To(BeTrue())
			for i := 1; i < len(findings); i++ {
				Expect(findings[i].Line).To(BeNumerically(">=",
					findings[i-1].Line))
			}
			Expect(findings[0].Level).To(Equal(testdrive.LevelInfo))
		})
})
