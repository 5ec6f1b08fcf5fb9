package config_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tnco-drivers/openstack-driver/config"
)

// update rewrites docs/configuration.md instead of comparing with it.
var update = flag.Bool("update", false,
	"rewrite docs/configuration.md from config.Settings()")

// referencePath is the generated configuration reference.
var referencePath = filepath.Join("..", "docs", "configuration.md")

// howToUpdate is what a failing comparison tells the reader to run.
const howToUpdate = "run: go test ./config -update"

// referenceIntro opens the reference page; ~ stands for a backquote.
const referenceIntro = `# Configuration reference

<!-- Generated from config.Settings() by config/docs_test.go: do not edit.
     After changing a setting, ` + howToUpdate + ` -->

Every setting of the driver can be given in three ways, all derived from
one name:

- an environment variable: ~DRIVER_~ and the name in capitals
  (~DRIVER_KAFKA_BROKERS~);
- a command-line flag: the name with dashes (~--kafka-brokers~);
- a key of the YAML file named by ~--config~ or ~DRIVER_CONFIG~
  (~kafka_brokers~).

A flag beats the variable, which beats the file, which beats the default.
The driver refuses a file with a key it does not know. A list (brokers,
adoptable states) is comma-separated text in a variable or a flag; in the
file it may also be a YAML list. Durations are written like ~500ms~,
~30s~, ~10m~ or ~1h~; sizes as a number of bytes or with a unit (~B~,
~KB~, ~MB~, ~GB~, ~KiB~, ~MiB~, ~GiB~). ~openstack-driver --help~ prints
the same list.

In the Helm chart these are the keys of ~config~, except the ones the
chart sets itself (see [install.md](install.md)).

| setting | environment variable | flag | default | what it does |
| --- | --- | --- | --- | --- |
`

// reference renders the configuration reference page from the settings.
// It lives in this test so that the page needs no generator program: the
// test that checks the page is also the one that writes it.
func reference(settings []config.Setting) string {
	var b strings.Builder
	// The intro is written with ~ for Markdown's backquote, which a Go
	// raw string cannot hold.
	b.WriteString(strings.ReplaceAll(referenceIntro, "~", "`"))
	for _, s := range settings {
		def := "(empty)"
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `--%s` | %s | %s |\n", s.Name,
			s.Env(), s.Flag(), def, strings.ReplaceAll(s.Help, "|", `\|`))
	}
	return b.String()
}

var _ = Describe("The configuration reference in docs/configuration.md",
	func() {
		It("lists every setting with its variable, flag, default and "+
			"help, as the driver has them", func() {
			want := reference(config.Settings())
			if *update {
				Expect(os.WriteFile(referencePath, []byte(want),
					0o644)).To(Succeed())
				return
			}
			got, err := os.ReadFile(referencePath)
			Expect(err).NotTo(HaveOccurred(), howToUpdate)
			Expect(string(got)).To(Equal(want),
				"docs/configuration.md is out of date; "+howToUpdate)
		})

		It("keeps a help text with a | in its own table cell, and shows "+
			"an empty default as (empty)", func() {
			page := reference([]config.Setting{{Name: "some_list",
				Help: "a | b"}})
			Expect(page).To(ContainSubstring(
				"| `some_list` | `DRIVER_SOME_LIST` | `--some-list` | " +
					"(empty) | a \\| b |\n"))
		})
	})
