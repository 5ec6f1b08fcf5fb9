package testdrive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The specs labelled "heat" run the testdrive command line against a
// real Heat (scripts/openstack/heat.sh, no Keystone) and the real driver
// binary with its embedded Kafka broker, all on free loopback ports and
// in a temporary folder. They are skipped, loudly, where Heat cannot be
// installed, except under CI=true, where that fails the suite. Run the
// rest alone with: go test ./testdrive -ginkgo.label-filter='!heat'
var heatLabel = Label("heat")

// lab is what the suite started for the heat specs; nil when they do
// not run.
var lab *testLab

// labSkip says why the heat specs are skipped, when they are.
var labSkip string

var _ = BeforeSuite(func() {
	if !heatLabel.MatchesLabelFilter(GinkgoLabelFilter()) {
		labSkip = "the label filter leaves out the heat specs"
		return
	}
	var err error
	lab, err = startLab()
	var cannot *cannotInstall
	if errors.As(err, &cannot) && os.Getenv("CI") != "true" {
		labSkip = "Heat cannot be installed here: " + cannot.reason
		fmt.Fprintf(os.Stderr, "\n%s\nSKIPPING THE TESTDRIVE SPECS "+
			"AGAINST REAL HEAT: %s\n%s\n\n", banner, labSkip, banner)
		return
	}
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if lab != nil {
		lab.stop()
	}
})

const banner = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"

// cannotInstall is a machine where scripts/openstack/install.sh cannot
// install Heat (its exit code 3).
type cannotInstall struct{ reason string }

func (c *cannotInstall) Error() string { return c.reason }

// testLab is a Heat and a driver started by the suite.
type testLab struct {
	repo, dir string
	// bin is the driver binary built from ./cmd/openstack-driver.
	bin       string
	heatEnv   []string
	heatPID   int
	heatConf  string
	driver    *exec.Cmd
	driverLog syncBuffer
	driverURL string
	brokers   string
	location  string
}

func startLab() (_ *testLab, err error) {
	repo, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testdrive-lab-")
	if err != nil {
		return nil, err
	}
	l := &testLab{repo: repo, dir: dir,
		bin: filepath.Join(dir, "openstack-driver")}
	defer func() {
		if err != nil {
			l.stop()
		}
	}()

	install := exec.Command("bash", l.script("install.sh"))
	out, err := install.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		return nil, &cannotInstall{strings.TrimSpace(string(out))}
	}
	if err != nil {
		return nil, fmt.Errorf("install.sh: %w\n%s", err, out)
	}

	// Heat takes a few seconds of Python imports; the build runs
	// meanwhile.
	built := make(chan error, 1)
	go func() {
		build := exec.Command("go", "build", "-o", l.bin,
			"./cmd/openstack-driver")
		build.Dir = repo
		if out, err := build.CombinedOutput(); err != nil {
			built <- fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		built <- nil
	}()
	heatErr := l.startHeat()
	if err := errors.Join(heatErr, <-built); err != nil {
		return nil, err
	}
	if err := l.startDriver(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *testLab) script(name string) string {
	return filepath.Join(l.repo, "scripts", "openstack", name)
}

func (l *testLab) startHeat() error {
	state := filepath.Join(l.dir, "heat")
	l.heatEnv = []string{"HEAT_PORT=" + strconv.Itoa(freePort()),
		"HEAT_STATE_DIR=" + state}
	// heat.sh recognises its own process by this file on its command
	// line; so does stop, below, before it kills anything.
	l.heatConf = filepath.Join(state, "runtime.conf")
	cmd := exec.Command("bash", l.script("heat.sh"), "start")
	cmd.Env = append(os.Environ(), l.heatEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	vals := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			vals[k] = v
		}
	}
	l.heatPID, _ = strconv.Atoi(vals["HEAT_PID"])
	if err != nil || vals["HEAT_URL"] == "" {
		return fmt.Errorf("heat.sh start: %v\n%s%s", err, out,
			stderr.String())
	}
	l.location = filepath.Join(l.dir, "location.yaml")
	return os.WriteFile(l.location, []byte(fmt.Sprintf("name: lab\n"+
		"type: Openstack\nproperties:\n  os_api_url: %s\n"+
		"  os_auth_enabled: false\n", vals["HEAT_URL"])), 0o600)
}

func (l *testLab) startDriver() error {
	port, kafkaPort := freePort(), freePort()
	l.driverURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	l.brokers = fmt.Sprintf("127.0.0.1:%d", kafkaPort)
	cmd := exec.Command(l.bin)
	// The driver's own settings only: any DRIVER_ variable of the
	// caller's (an external broker, say) would change what is tested.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRIVER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		fmt.Sprintf("DRIVER_LISTEN=127.0.0.1:%d", port),
		"DRIVER_EMBEDDED_KAFKA_LISTEN="+l.brokers,
		"DRIVER_DATA_DIR="+filepath.Join(l.dir, "data"),
		"DRIVER_POLL_INTERVAL=300ms")
	cmd.Stdout, cmd.Stderr = &l.driverLog, &l.driverLog
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	l.driver = cmd
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("driver exited at start-up; its log:\n%s",
				l.driverLog.String())
		default:
		}
		resp, err := http.Get(l.driverURL + "/management/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("driver not ready after 30 s; its log:\n%s",
		l.driverLog.String())
}

// syncBuffer is a bytes.Buffer that the driver's output goroutines and
// the suite may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stop ends the driver and Heat, each by the PID the suite has for it.
func (l *testLab) stop() {
	if l.driver != nil && l.driver.Process != nil {
		_ = l.driver.Process.Signal(syscall.SIGTERM)
		deadline := time.Now().Add(20 * time.Second)
		for alive(l.driver.Process.Pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(l.driver.Process.Pid) {
			_ = l.driver.Process.Kill()
		}
	}
	if l.heatEnv != nil {
		// heat.sh stops Heat by the PID in its pid file: SIGTERM, then
		// SIGKILL after 5 s.
		cmd := exec.Command("bash", l.script("heat.sh"), "stop")
		cmd.Env = append(os.Environ(), l.heatEnv...)
		_ = cmd.Run()
	}
	if l.heatPID > 0 && alive(l.heatPID) && isHeatOf(l.heatPID,
		l.heatConf) {
		_ = syscall.Kill(l.heatPID, syscall.SIGKILL)
	}
	if os.Getenv("KEEP_TEST_STATE") == "" {
		_ = os.RemoveAll(l.dir)
	}
}

// alive reports whether the process pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state is the field after the parenthesised command name.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat,
		')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// isHeatOf reports whether pid is the Heat started with conf, so that a
// PID the system has since given to another process is left alone.
func isHeatOf(pid int, conf string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(conf))
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testdrive runs the driver binary's testdrive command, as a package
// designer would, with the lab's driver and broker.
func (l *testLab) testdrive(args ...string) (int, string, string) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.bin, append([]string{"testdrive"},
		args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		Fail(fmt.Sprintf("testdrive %v: %v", args, err))
	}
	GinkgoWriter.Printf("testdrive %s -> %d\n%s%s\n",
		strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

var _ = Describe("testdrive against a real Heat", heatLabel, Ordered,
	func() {
		const hello = "../docs/examples/hello-stack"
		var resourceID, stackID string
		var created map[string]any

		BeforeAll(func() {
			if lab == nil {
				Skip(labSkip)
			}
			resourceID = strconv.FormatInt(time.Now().UnixNano(), 36)
		})

		It("creates the example stack, flags after the folder, and "+
			"prints STACK_ID and the COMPLETE message with the outputs",
			func() {
				code, out, errOut := lab.testdrive("create", hello,
					"--location", lab.location, "--driver", lab.driverURL,
					"--kafka-brokers", lab.brokers, "--resource-name",
					"td-hello", "--resource-id", resourceID,
					"--prop", "greeting=bonjour")
				Expect(code).To(Equal(0), out+errOut)
				_, after, ok := strings.Cut(out, "STACK_ID=")
				Expect(ok).To(BeTrue(), out)
				stackID, _, _ = strings.Cut(after, "\n")
				Expect(stackID).To(MatchRegexp(`^[0-9a-f-]{36}$`))

				created = lastMessage(out)
				Expect(created).To(HaveKeyWithValue("status", "COMPLETE"))
				Expect(created["outputs"]).To(HaveKeyWithValue(
					"test_output", HavePrefix("bonjour-")))
			})

		It("finds the stack by its name with the package's discover.yaml",
			func() {
				code, out, errOut := lab.testdrive("find", "--instance",
					"td-hello."+resourceID, hello, "--location",
					lab.location, "--driver", lab.driverURL)
				Expect(code).To(Equal(0), out+errOut)
				random := created["outputs"].(map[string]any)["random"]
				Expect(out).To(MatchJSON(fmt.Sprintf(`{"result": {
					"resourceId": %q,
					"associatedTopology": {"InfrastructureStack":
						{"id": %[1]q, "type": "Openstack"}},
					"outputs": {"stack_id": %[1]q,
						"stack_status": "CREATE_COMPLETE",
						"greeting": "bonjour",
						"random": %q,
						"motd": "welcome to the lab\n"}}}`, stackID,
					random)))
			})

		It("deletes the stack and prints the COMPLETE message", func() {
			code, out, errOut := lab.testdrive("delete", "--location",
				lab.location, "--driver", lab.driverURL, "--kafka-brokers",
				lab.brokers, "--stack-id", stackID)
			Expect(code).To(Equal(0), out+errOut)
			Expect(lastMessage(out)).To(HaveKeyWithValue("status",
				"COMPLETE"))
		})

		It("finds nothing once the stack is gone, and exits 3", func() {
			code, out, errOut := lab.testdrive("find", hello,
				"--location", lab.location, "--driver", lab.driverURL,
				"--instance", "td-hello."+resourceID)
			Expect(code).To(Equal(3), out+errOut)
			Expect(out).To(MatchJSON(`{"result": null}`))
			Expect(errOut).To(ContainSubstring("nothing named"))
		})

		It("exits 1 with Heat's words when the driver refuses a package",
			func() {
				code, out, errOut := lab.testdrive("create",
					"testdata/refused", "--location", lab.location,
					"--driver", lab.driverURL, "--kafka-brokers",
					lab.brokers)
				Expect(code).To(Equal(1), out+errOut)
				Expect(errOut).To(ContainSubstring("driver answered 400"))
				Expect(errOut).To(ContainSubstring("not_given"))
			})
	})

// lastMessage decodes the last Kafka message create or delete printed,
// from its line "[  1.2s] message on TOPIC: {...}".
func lastMessage(out string) map[string]any {
	GinkgoHelper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	_, text, ok := strings.Cut(last, "message on ")
	Expect(ok).To(BeTrue(), "no message in:\n%s", out)
	_, text, _ = strings.Cut(text, ": ")
	var msg map[string]any
	Expect(json.Unmarshal([]byte(text), &msg)).To(Succeed(), last)
	return msg
}
