package charts_test

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// dockerfile is the Dockerfile's instructions, one per entry, with line
// continuations joined and comments left out.
func dockerfile() []string {
	GinkgoHelper()
	text := strings.ReplaceAll(repoFile("Dockerfile"), "\\\n", " ")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Join(strings.Fields(line), " "))
	}
	return out
}

// instructions gives the arguments of every instruction named op.
func instructions(op string) []string {
	GinkgoHelper()
	var out []string
	for _, in := range dockerfile() {
		name, args, _ := strings.Cut(in, " ")
		if strings.EqualFold(name, op) {
			out = append(out, args)
		}
	}
	return out
}

// finalStage gives the instructions after the Dockerfile's last FROM:
// what the image that runs holds.
func finalStage() []string {
	GinkgoHelper()
	all := dockerfile()
	last := -1
	for i, in := range all {
		if strings.HasPrefix(strings.ToUpper(in), "FROM ") {
			last = i
		}
	}
	Expect(last).To(BeNumerically(">=", 0), "the Dockerfile has a FROM")
	return all[last:]
}

// buildArgs are the go build flags the image must use: no cgo, no local
// paths, no symbol tables.
var buildArgs = []string{"-trimpath", "-ldflags", "-s -w"}

var _ = Describe("The container image", func() {

	It("is built in two stages, the last one distroless static as the "+
		"nonroot user", func() {
		Expect(len(instructions("FROM"))).To(BeNumerically(">=", 2))
		final := finalStage()
		Expect(final[0]).To(Equal(
			"FROM gcr.io/distroless/static-debian12:nonroot"))
		Expect(final).To(ContainElement("USER 65532:65532"))
	})

	It("builds ./cmd/openstack-driver without cgo, trimmed and "+
		"stripped", func() {
		var build string
		for _, run := range instructions("RUN") {
			if strings.Contains(run, "go build") {
				build = run
			}
		}
		Expect(build).To(ContainSubstring("CGO_ENABLED=0 go build"))
		Expect(build).To(ContainSubstring(`-trimpath -ldflags "-s -w"`))
		Expect(build).To(HaveSuffix(" ./cmd/openstack-driver"))
	})

	It("exposes port 8292 and starts the driver binary", func() {
		final := finalStage()
		Expect(final).To(ContainElement("EXPOSE 8292"))
		Expect(final).To(ContainElement(
			`ENTRYPOINT ["/usr/local/bin/openstack-driver"]`))
		Expect(final).To(ContainElement(MatchRegexp(
			`^COPY --from=\S+ \S+ /usr/local/bin/openstack-driver$`)))
	})

	It("listens on the port the chart's probes and Service use", func() {
		port := dig(container(mustRender(required())), "ports", 0,
			"containerPort")
		Expect(finalStage()).To(ContainElement(
			fmt.Sprintf("EXPOSE %v", port)))
	})

	It("leaves local state, build outputs and version control out of "+
		"the build context", func() {
		ignored := strings.Fields(repoFile(".dockerignore"))
		for _, path := range []string{".git", "bin", "data", ".state"} {
			Expect(ignored).To(ContainElement(path))
		}
	})

	It("runs a driver binary that is statically linked: no dynamic "+
		"loader, no shared libraries", func() {
		if runtime.GOOS != "linux" {
			Skip("the image is Linux; its binary is checked on Linux only")
		}
		bin := filepath.Join(GinkgoT().TempDir(), "openstack-driver")
		args := append([]string{"build"}, buildArgs...)
		args = append(args, "-o", bin, "./cmd/openstack-driver")
		cmd := exec.Command("go", args...)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		f, err := elf.Open(bin)
		Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		for _, p := range f.Progs {
			Expect(p.Type).NotTo(Equal(elf.PT_INTERP),
				"a dynamic loader is requested")
			Expect(p.Type).NotTo(Equal(elf.PT_DYNAMIC),
				"the binary has a dynamic section")
		}
		libs, err := f.ImportedLibraries()
		Expect(err).NotTo(HaveOccurred())
		Expect(libs).To(BeEmpty())

		// With no shell or libc in the image, the binary must start on
		// its own: ask it for its help.
		help, err := exec.Command(bin, "--help").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(help))
		Expect(string(help)).To(ContainSubstring("DRIVER_KAFKA_BROKERS"))
	})
})
